/**
 * Structured output, property tests (issue 16, "Done when" 1): for thousands of generated JSON
 * Schemas, every answer that completes parses with JSON.parse and validates under ajv 8
 * (+ ajv-formats), an independent validator; an answer cut short used exactly max_tokens tokens; no
 * answer holds a control token or invalid UTF-8; answers are compact (one line). The same for
 * json_object (a JSON object). A schema Cria does not enforce is a `bad-argument` before any token
 * (the engine's tokensEvaluated does not move).
 *
 * Two drivers:
 * - models with random sampling settings (temperature 0–2, top-k, top-p, min-p, repetition /
 *   presence / frequency penalties, seeds) through Engine.completion on the CPU reference:
 *   stories260K (trained; llama2.c's SentencePiece vocabulary with byte fallback), the random-weight
 *   qwen2 and llama-gqa fixtures (a synthetic SentencePiece vocabulary), and a random-weight qwen2
 *   with Qwen2.5's real byte-level BPE vocabulary (151,665 tokens, control tokens such as
 *   <|im_start|>; xgrammar takes 1–4 s to compile a schema for it, so it gets few runs);
 * - walks: the constraint alone (src/grammar/constraint.ts), each token drawn at random among those
 *   its mask allows (the end token taken half the time it is allowed), on the same vocabularies. A
 *   walk costs a compile and no forward pass, so most of the thousands of schemas are walked.
 *
 * fast-check's seed is fixed (reproducible CI); CRIA_PROPERTY_SEED=<n> explores others, and
 * CRIA_PROPERTY_SCALE=<x> multiplies the number of runs. Counts are printed at the end.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConstraint } from '../../src/grammar/constraint.ts';
import { CriaError } from '../../src/shared/errors.ts';
import { createTokenizer, type Tokenizer } from '../../src/tokenizer/index.ts';
import type { ResponseFormat } from '../../src/protocol/api.ts';
import { anySchema, samplingArb, supportedSchema, type Sampling, type Schema } from './helpers/json-schemas.ts';
import { fixtureGguf } from './helpers/models.ts';
import { fixtureModel, qwen2VocabModel, type TestModel } from './helpers/structured-models.ts';

const addFormats = addFormatsModule as unknown as (a: InstanceType<typeof Ajv2020>) => void;
const SEED = Number(process.env.CRIA_PROPERTY_SEED ?? 20260716);
const SCALE = Number(process.env.CRIA_PROPERTY_SCALE ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));

const ajv = new Ajv2020({ strict: true, strictTuples: false, strictTypes: false, allErrors: false });
addFormats(ajv);

interface Counts {
  tried: number;
  refused: number;
  completed: number;
  cut: number;
  tokens: number;
}
const counts = new Map<string, Counts>();
const refusals = new Map<string, number>();
const count = (key: string) => {
  let c = counts.get(key);
  if (!c) counts.set(key, (c = { tried: 0, refused: 0, completed: 0, cut: 0, tokens: 0 }));
  return c;
};
const refusedFor = (c: Counts, message: string) => {
  c.refused++;
  const reason = message.replace(/^.*?cannot be enforced: /, '').replace(/^at \S*: /, '').replace(/\d+(\.\d+)?/g, 'N').slice(0, 70);
  refusals.set(reason, (refusals.get(reason) ?? 0) + 1);
};

const PROMPTS = ['Once upon a time', 'The answer is', 'Hello', '{"', 'Tom said'];

/** As a request carries it: fast-check makes some objects without a prototype, which ajv's const/enum comparison tells apart. */
const plain = (s: Schema) => JSON.parse(JSON.stringify(s)) as Schema;

function parsed(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: the answer is not JSON (${(e as Error).message}): ${JSON.stringify(text)}`);
  }
}

/** A completed answer under a schema: JSON, compact, valid under ajv. */
function validates(schema: Schema, text: string): void {
  const value = parsed(text, `schema ${JSON.stringify(schema)}`);
  expect(text.includes('\n'), `not compact: ${JSON.stringify(text)}`).toBe(false);
  const validate = ajv.compile(schema);
  if (!validate(value)) throw new Error(`the answer ${JSON.stringify(text)} does not validate under ${JSON.stringify(schema)}: ${ajv.errorsText(validate.errors)}`);
}

function isObjectText(text: string): void {
  const v = parsed(text, 'json_object');
  expect(typeof v === 'object' && v !== null && !Array.isArray(v), `not an object: ${text}`).toBe(true);
}

// ---- driver 1: models ----

type Outcome = { kind: 'refused'; message: string } | { kind: 'cut' | 'completed'; text: string; tokens: number[] };

/** One constrained completion, with the checks every answer must pass whatever its format. */
async function complete(m: TestModel, format: ResponseFormat, sampling: Sampling, prompt: string, maxTokens: number): Promise<Outcome> {
  const before = (await m.engine.stats()).tokensEvaluated;
  let r;
  try {
    r = await m.engine.completion({ prompt, max_tokens: maxTokens, ...sampling, response_format: format });
  } catch (e) {
    // refused: a bad-argument, and before any token was evaluated
    if (!(e instanceof CriaError) || e.code !== 'bad-argument') throw e;
    expect((await m.engine.stats()).tokensEvaluated, 'a refused schema evaluated tokens').toBe(before);
    return { kind: 'refused', message: e.message };
  }
  const c = r.choices[0]!;
  const ids = c.token_ids ?? [];
  expect(ids.filter((id) => m.controlIds.has(id)), `control tokens in ${JSON.stringify(c.text)}`).toEqual([]);
  for (const t of m.controlTexts) expect(c.text.includes(t), `${t} in ${JSON.stringify(c.text)}`).toBe(false);
  if (c.finish_reason === 'length') {
    expect(r.usage.completion_tokens, `cut short before max_tokens: ${JSON.stringify(c.text)}`).toBe(maxTokens);
    return { kind: 'cut', text: c.text, tokens: ids };
  }
  expect(c.finish_reason).toBe('stop');
  // (a cut answer may end inside a character; a completed one is whole UTF-8)
  expect(c.text.includes('\uFFFD'), `invalid UTF-8 in ${JSON.stringify(c.text)}`).toBe(false);
  return { kind: 'completed', text: c.text, tokens: ids };
}

/** Run a schema on a model; a completed answer must validate. */
async function modelRun(key: string, m: TestModel, generated: Schema, sampling: Sampling, prompt: string, maxTokens: number, mustAccept: boolean): Promise<void> {
  const schema = plain(generated);
  const c = count(key);
  c.tried++;
  const o = await complete(m, { type: 'json_schema', json_schema: { name: 'p', schema } }, sampling, prompt, maxTokens);
  if (o.kind === 'refused') {
    if (mustAccept) throw new Error(`a supported schema was refused: ${o.message}\n${JSON.stringify(schema)}`);
    return refusedFor(c, o.message);
  }
  c.tokens += o.tokens.length;
  if (o.kind === 'cut') return void c.cut++;
  c.completed++;
  validates(schema, o.text);
}

// ---- driver 2: walks ----

interface Vocab {
  name: string;
  tok: Tokenizer;
  eos: number[];
  control: number[];
}

function vocabOf(name: string, meta: Map<string, unknown>, controlIds: Set<number>): Vocab {
  const tok = createTokenizer(meta as Parameters<typeof createTokenizer>[0]);
  const eos: number[] = [];
  for (let id = 0; id < tok.vocabSize; id++) if (tok.isEog(id)) eos.push(id);
  return { name, tok, eos, control: [...controlIds].filter((id) => !eos.includes(id)) };
}

const bit = (mask: Uint32Array, id: number) => ((mask[id >>> 5]! >>> (id & 31)) & 1) === 1;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Walk a format's constraint: tokens drawn at random among those allowed (a third of the time the
 * lowest id allowed, which in these vocabularies is a byte such as '"' or ',' and ends strings), the
 * end token taken half the time it is allowed. Returns the text when the walk ended, else undefined.
 */
async function walk(v: Vocab, format: Parameters<typeof compileConstraint>[2], seed: number, maxSteps: number): Promise<{ text?: string; steps: number }> {
  let s = seed >>> 0 || 1;
  const rand = () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), (s >>> 0) / 2 ** 32);
  const c = await compileConstraint(v.tok, v.tok.vocabSize, format);
  try {
    const ids: number[] = [];
    for (let step = 0; step < maxSteps; step++) {
      const mask = await c.allowed();
      for (const id of v.control) if (bit(mask, id)) throw new Error(`control token ${id} allowed after ${JSON.stringify(v.tok.decode(ids))}`);
      const allowed: number[] = [];
      let end = false;
      for (let w = 0; w < mask.length; w++) {
        for (let x = mask[w]!; x !== 0; x &= x - 1) {
          const id = w * 32 + (31 - Math.clz32(x & -x));
          if (v.eos.includes(id)) end = true;
          else allowed.push(id);
        }
      }
      if (end && (allowed.length === 0 || rand() < 0.5)) {
        const bytes = v.tok.decodeBytes(ids, { startOfText: false });
        return { text: strictUtf8.decode(bytes), steps: step };
      }
      if (allowed.length === 0) throw new Error(`nothing allowed after ${JSON.stringify(v.tok.decode(ids))}`);
      const id = rand() < 0.33 ? allowed[0]! : allowed[Math.floor(rand() * allowed.length)]!;
      expect(c.accept(id)).toBe(true);
      ids.push(id);
    }
    return { steps: maxSteps };
  } finally {
    c.dispose();
  }
}

/** Walk a schema twice (the second compile is xgrammar's cache); completed walks must validate. */
async function walkSchema(key: string, v: Vocab, generated: Schema, seed: number, mustAccept: boolean): Promise<void> {
  const schema = plain(generated);
  const c = count(key);
  c.tried++;
  for (let k = 0; k < 2; k++) {
    let w;
    try {
      w = await walk(v, { type: 'json_schema', name: 'w', schema }, seed + k, 48);
    } catch (e) {
      if (!(e instanceof CriaError) || e.code !== 'bad-argument') throw e;
      if (mustAccept) throw new Error(`a supported schema was refused: ${e.message}\n${JSON.stringify(schema)}`);
      return refusedFor(c, e.message);
    }
    c.tokens += w.steps;
    if (w.text === undefined) {
      c.cut++;
      continue;
    }
    c.completed++;
    validates(schema, w.text);
  }
}

// ---- the models and vocabularies ----

let stories: TestModel;
let qwen2: TestModel;
let llama: TestModel;
let qwenVocab: TestModel;
const vocabs: Record<string, Vocab> = {};

beforeAll(async () => {
  stories = await fixtureModel('stories260K/stories260K-f32.gguf');
  qwen2 = await fixtureModel('random/qwen2-f32/qwen2-f32.gguf');
  llama = await fixtureModel('random/llama-gqa-f32/llama-gqa-f32.gguf');
  qwenVocab = await qwen2VocabModel();
  vocabs.synthetic = vocabOf('synthetic SPM (random fixtures)', llama.meta, llama.controlIds);
  vocabs.stories = vocabOf('stories260K SPM', stories.meta, stories.controlIds);
  vocabs.qwen = vocabOf('Qwen2.5 BPE', qwenVocab.meta, qwenVocab.controlIds);
}, 120_000);

afterAll(() => {
  const rows = [...counts].map(([k, c]) => `  ${k.padEnd(46)} tried ${String(c.tried).padStart(5)}  refused ${String(c.refused).padStart(4)}  completed ${String(c.completed).padStart(5)}  cut ${String(c.cut).padStart(4)}  tokens ${c.tokens}`);
  const total = [...counts.values()].reduce((n, c) => n + c.tried, 0);
  const reasons = [...refusals].sort((a, b) => b[1] - a[1]).map(([r, n]) => `  ${String(n).padStart(4)} × ${r}`);
  console.log(`structured output property tests (seed ${SEED}, scale ${SCALE}): ${total} formats tried (walks: 2 per schema)\n${rows.join('\n')}\nrefusal reasons:\n${reasons.join('\n')}`);
});

const fixtures = (): [string, TestModel][] => [
  ['stories260K', stories],
  ['random qwen2 (synthetic SPM)', qwen2],
  ['random llama-gqa (synthetic SPM)', llama],
];
const opts = (numRuns: number, seed: number) => ({ numRuns: runs(numRuns), seed: SEED + seed, endOnFailure: true });

describe('JSON Schema answers from models with random sampling settings validate under ajv', () => {
  it.each([0, 1, 2])('supported schemas on fixture model %i: accepted; every completed answer validates', async (i) => {
    const [name, m] = fixtures()[i]!;
    await fc.assert(
      fc.asyncProperty(supportedSchema, samplingArb, fc.constantFrom(...PROMPTS), async (schema, sampling, prompt) => {
        await modelRun(`model · supported · ${name}`, m, schema, sampling, prompt, 40, true);
      }),
      opts(120, i),
    );
  }, 300_000);

  it('supported schemas on the real Qwen2.5 vocabulary (byte-level BPE, control tokens)', async () => {
    await fc.assert(
      fc.asyncProperty(supportedSchema, samplingArb, fc.constantFrom(...PROMPTS), async (schema, sampling, prompt) => {
        await modelRun('model · supported · qwen2 (Qwen2.5 vocab)', qwenVocab, schema, sampling, prompt, 24, true);
      }),
      opts(4, 10),
    );
  }, 300_000);

  it('schemas outside the subset: refused with bad-argument before any token, or enforced', async () => {
    await fc.assert(
      fc.asyncProperty(anySchema, samplingArb, fc.constantFrom(...PROMPTS), fc.constantFrom(0, 1, 2), async (schema, sampling, prompt, i) => {
        await modelRun('model · any schema · fixtures', fixtures()[i]![1], schema, sampling, prompt, 32, false);
      }),
      opts(300, 20),
    );
  }, 300_000);
});

describe('json_object answers from models are JSON objects', () => {
  const check = async (key: string, m: TestModel, sampling: Sampling, prompt: string, maxTokens: number) => {
    const c = count(key);
    c.tried++;
    const o = await complete(m, { type: 'json_object' }, sampling, prompt, maxTokens);
    if (o.kind === 'refused') throw new Error(`json_object refused: ${o.message}`);
    c.tokens += o.tokens.length;
    if (o.kind === 'cut') return void c.cut++;
    c.completed++;
    isObjectText(o.text);
  };
  it('on the fixture models', async () => {
    await fc.assert(
      fc.asyncProperty(samplingArb, fc.constantFrom(...PROMPTS), fc.constantFrom(0, 1, 2), async (sampling, prompt, i) => {
        await check('model · json_object · fixtures', fixtures()[i]![1], sampling, prompt, 40);
      }),
      opts(90, 30),
    );
  }, 300_000);
  it('on the real Qwen2.5 vocabulary', async () => {
    await fc.assert(
      fc.asyncProperty(samplingArb, fc.constantFrom(...PROMPTS), async (sampling, prompt) => {
        await check('model · json_object · qwen2 (Qwen2.5 vocab)', qwenVocab, sampling, prompt, 24);
      }),
      opts(4, 40),
    );
  }, 300_000);
});

describe('JSON Schema constraints walked at random validate under ajv', () => {
  it.each([
    ['synthetic', 1400],
    ['stories', 400],
    ['qwen', 6],
  ] as const)('supported schemas on the %s vocabulary: accepted; every completed walk validates', async (name, n) => {
    const v = vocabs[name]!;
    await fc.assert(
      fc.asyncProperty(supportedSchema, fc.integer(), async (schema, seed) => {
        await walkSchema(`walk · supported · ${v.name}`, v, schema, seed, true);
      }),
      opts(n, 50 + n),
    );
  }, 300_000);

  it('schemas outside the subset: refused with bad-argument, or every completed walk validates', async () => {
    await fc.assert(
      fc.asyncProperty(anySchema, fc.integer(), async (schema, seed) => {
        await walkSchema('walk · any schema · synthetic SPM', vocabs.synthetic!, schema, seed, false);
      }),
      opts(800, 60),
    );
  }, 300_000);

  it('json_object: every completed walk is a JSON object', async () => {
    for (const v of [vocabs.synthetic!, vocabs.stories!, vocabs.qwen!]) {
      await fc.assert(
        fc.asyncProperty(fc.integer(), async (seed) => {
          const c = count(`walk · json_object · ${v.name}`);
          c.tried++;
          const w = await walk(v, { type: 'json_object' }, seed, 48);
          c.tokens += w.steps;
          if (w.text === undefined) return void c.cut++;
          c.completed++;
          isObjectText(w.text);
        }),
        opts(v === vocabs.qwen ? 10 : 100, 70),
      );
    }
  }, 300_000);
});

/**
 * What the property tests found, pinned as small deterministic cases at the level of the constraint
 * (src/grammar/constraint.ts): a text is "accepted" when its bytes, fed one byte token at a time
 * (the synthetic SentencePiece vocabulary has a token per byte: id 3 + byte), are each allowed by
 * the mask and the end-of-generation token is allowed after the last one.
 */
describe('regressions found by the property tests (constraint level)', () => {
  const EOS = 2;
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = createTokenizer((await fixtureGguf('models/random/llama-gqa-f32/llama-gqa-f32.gguf')).metadata);
  });
  async function accepts(schema: Schema, bytes: number[]): Promise<boolean> {
    const c = await compileConstraint(tok, tok.vocabSize, { type: 'json_schema', name: 't', schema });
    try {
      for (const b of bytes) {
        if (!bit(await c.allowed(), 3 + b)) return false;
        if (!c.accept(3 + b)) return false;
      }
      return bit(await c.allowed(), EOS);
    } finally {
      c.dispose();
    }
  }
  const utf8 = (s: string) => [...new TextEncoder().encode(s)];
  async function refused(schema: Schema): Promise<string> {
    try {
      (await compileConstraint(tok, tok.vocabSize, { type: 'json_schema', name: 't', schema })).dispose();
    } catch (e) {
      expect(e).toBeInstanceOf(CriaError);
      expect((e as CriaError).code).toBe('bad-argument');
      return (e as CriaError).message;
    }
    throw new Error(`accepted: ${JSON.stringify(schema)}`);
  }

  it('a length-bounded string holds no raw control character (xgrammar allows U+0000–U+001F there: not JSON)', async () => {
    expect(await accepts({ type: 'string', maxLength: 3 }, utf8('"ab"'))).toBe(true);
    for (const ch of ['\u0002', '\t', '\u001a', '\u0000']) expect(await accepts({ type: 'string', maxLength: 3 }, utf8(`"a${ch}"`)), JSON.stringify(ch)).toBe(false);
    expect(await accepts({ type: 'string', minLength: 1 }, utf8('"\u0010"'))).toBe(false);
  });

  it('no invalid UTF-8 in an answer (xgrammar takes overlong forms, surrogates, and lead bytes F5–F7)', async () => {
    expect(await accepts({ type: 'string' }, utf8('"é日😀"'))).toBe(true);
    for (const bad of [[0xc0, 0xbe], [0xc1, 0x81], [0xe0, 0x80, 0xbe], [0xed, 0xa0, 0x80], [0xf0, 0x80, 0x80, 0xbe], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80]]) {
      expect(await accepts({ type: 'string' }, [0x22, ...bad, 0x22]), bad.map((b) => b.toString(16)).join(' ')).toBe(false);
      expect(await accepts({ type: 'string', maxLength: 5 }, [0x22, ...bad, 0x22]), bad.map((b) => b.toString(16)).join(' ')).toBe(false);
    }
  });

  it('integer bounds on one side, or exclusive, are enforced (xgrammar 0.1.27 gets them wrong)', async () => {
    const cases: [Schema, string, boolean][] = [
      [{ type: 'integer', minimum: 2 }, '1', false],
      [{ type: 'integer', minimum: 2 }, '2', true],
      [{ type: 'integer', minimum: 2 }, '123', true],
      [{ type: 'integer', minimum: -5 }, '-3', true],
      [{ type: 'integer', minimum: -5 }, '-5', true],
      [{ type: 'integer', minimum: -5 }, '-', false],
      [{ type: 'integer', minimum: -5 }, '-6', false],
      [{ type: 'integer', maximum: -5 }, '-1', false],
      [{ type: 'integer', maximum: -5 }, '-5', true],
      [{ type: 'integer', maximum: -5 }, '-50', true],
      [{ type: 'integer', exclusiveMinimum: 3 }, '3', false],
      [{ type: 'integer', exclusiveMinimum: 3 }, '4', true],
      [{ type: 'integer', exclusiveMaximum: 3 }, '3', false],
      [{ type: 'integer', exclusiveMaximum: 3 }, '-7', true],
      [{ type: 'integer', minimum: 2.5 }, '2', false],
      [{ type: 'integer', minimum: 2.5 }, '3', true],
      [{ type: 'integer', minimum: -10, exclusiveMaximum: 10 }, '10', false],
      [{ type: 'integer', minimum: -10, exclusiveMaximum: 10 }, '9', true],
    ];
    for (const [schema, text, ok] of cases) expect(await accepts(schema, utf8(text)), `${text} under ${JSON.stringify(schema)}`).toBe(ok);
  });

  it('two-sided integer ranges are enforced (xgrammar 0.1.27 let 1000000 and 1999999 into [1000001, 1000198])', async () => {
    const range = { type: 'integer', exclusiveMinimum: 1000000, exclusiveMaximum: 1000199 };
    for (const [text, ok] of [['1000000', false], ['1000001', true], ['1000198', true], ['1000199', false], ['1999999', false], ['1000100', true], ['100000', false]] as const) {
      expect(await accepts(range, utf8(text)), text).toBe(ok);
    }
    for (const [text, ok] of [['-15', true], ['-16', false], ['0', true], ['300', true], ['301', false], ['-0', false], ['07', false]] as const) {
      expect(await accepts({ type: 'integer', minimum: -15, maximum: 300 }, utf8(text)), text).toBe(ok);
    }
  });

  it('bounds on numbers are enforced (xgrammar 0.1.27 took -105 and "-0\'00001" for them)', async () => {
    const cases: [Schema, string, boolean][] = [
      [{ type: 'number', minimum: -1.5, maximum: 2.5 }, '-105', false],
      [{ type: 'number', minimum: -1.5, maximum: 2.5 }, '-1.5', true],
      [{ type: 'number', minimum: -1.5, maximum: 2.5 }, '-1.51', false],
      [{ type: 'number', minimum: -1.5, maximum: 2.5 }, '-1.49999', true],
      [{ type: 'number', minimum: -1.5, maximum: 2.5 }, '2.5', true],
      [{ type: 'number', minimum: -1.5, maximum: 2.5 }, '2.50000', true],
      [{ type: 'number', minimum: -1.5, maximum: 2.5 }, '2.500001', false],
      [{ type: 'number', minimum: -1.5, maximum: 2.5 }, '0', true],
      [{ type: 'number', minimum: -1.5, maximum: 2.5 }, '-0', false],
      [{ type: 'number', minimum: -1e-5, maximum: 1e-5 }, "-0'00001", false],
      [{ type: 'number', minimum: -1e-5, maximum: 1e-5 }, '-0.00001', true],
      [{ type: 'number', minimum: -1e-5, maximum: 1e-5 }, '0.000011', false],
      [{ type: 'number', exclusiveMinimum: 0 }, '0', false],
      [{ type: 'number', exclusiveMinimum: 0 }, '0.000', false],
      [{ type: 'number', exclusiveMinimum: 0 }, '0.001', true],
      [{ type: 'number', exclusiveMinimum: 0 }, '123.5', true],
      [{ type: 'number', minimum: 0, maximum: 100 }, '100.5', false],
      [{ type: 'number', minimum: 0, maximum: 100 }, '99.999', true],
      [{ type: 'number', maximum: -0.001 }, '-0.0005', false],
      [{ type: 'number', maximum: -0.001 }, '-0.001', true],
      [{ type: 'number', maximum: -0.001 }, '-7', true],
      [{ type: 'number', minimum: -2.5 }, '-', false],
      [{ type: 'number', minimum: -2.5 }, '-2', true],
    ];
    for (const [schema, text, ok] of cases) expect(await accepts(schema, utf8(text)), `${text} under ${JSON.stringify(schema)}`).toBe(ok);
  });

  it('numbers stay finite (xgrammar took "9E+48368715", which parses to Infinity)', async () => {
    expect(await accepts({ type: 'number' }, utf8('9E+48368715'))).toBe(false);
    expect(await accepts({ type: 'number' }, utf8('9E+48'))).toBe(true);
    expect(await accepts({ type: 'integer' }, utf8('1'.repeat(19)))).toBe(true);
    expect(await accepts({ type: 'integer' }, utf8('1'.repeat(400)))).toBe(false);
    expect(await accepts({ type: 'number', minimum: 1e300 }, utf8(`1${'0'.repeat(300)}.5`))).toBe(true);
    expect(await accepts({ type: 'number', minimum: 1e300 }, utf8(`1${'0'.repeat(400)}`))).toBe(false);
    expect(await accepts({ type: 'object', properties: { a: {} }, required: ['a'] }, utf8('{"a": 1e999}'))).toBe(false);
  });

  it('formats follow RFC 3339 and ajv-formats (xgrammar took Feb 31, minute 60, leap seconds anywhere, ipv4 leading zeros, one-label email domains)', async () => {
    const cases: [string, string, boolean][] = [
      ['date', '2024-02-28', true],
      ['date', '2023-02-31', false],
      ['date', '2023-04-31', false],
      ['date', '2023-12-31', true],
      ['time', '20:08:59.5Z', true],
      ['time', '20:08:60.49449Z', false],
      ['time', '20:08:59', false],
      ['date-time', '2024-01-02T03:04:05+01:00', true],
      ['date-time', '2024-01-02T03:60:05Z', false],
      ['ipv4', '50.200.0.40', true],
      ['ipv4', '50.200.00.40', false],
      ['email', 'a.b@example.com', true],
      ['email', 'a@b', false],
      ['json-pointer', '/a~1b/c', true],
      ['json-pointer', '/a"b', false],
      ['json-pointer', '/a\u0001', false],
    ];
    for (const [format, text, ok] of cases) expect(await accepts({ type: 'string', format }, utf8(JSON.stringify(text))), `${text} as ${format}`).toBe(ok);
  });

  it('a pattern\'s "." and negated classes never take a raw quote, backslash or control character (xgrammar copies the class into the JSON text)', async () => {
    expect(await accepts({ type: 'string', pattern: '^[^,]{0,5}$' }, utf8('"ab;c"'))).toBe(true);
    expect(await accepts({ type: 'string', pattern: '^[^,]{0,5}$' }, utf8('"a"b"'))).toBe(false);
    expect(await accepts({ type: 'string', pattern: '^[^,]{0,5}$' }, utf8('"a\\b"'))).toBe(false);
    expect(await accepts({ type: 'string', pattern: '^[^,]{0,5}$' }, utf8('"a\tb"'))).toBe(false);
    expect(await accepts({ type: 'string', pattern: '^a.b$' }, utf8('"a"b"'))).toBe(false);
    expect(await accepts({ type: 'string', pattern: '^a.b$' }, utf8('"a-b"'))).toBe(true);
    expect(await accepts({ type: 'string', pattern: '^[ -~]+$' }, utf8('"x\"y"'))).toBe(false);
    expect(await refused({ type: 'string', pattern: '^a\\nb$' })).toMatch(/cannot hold unescaped/);
  });

  it('string lengths count characters, not bytes, and pattern classes beyond ASCII match characters (xgrammar matches classes byte by byte)', async () => {
    const cases: [Schema, string, boolean][] = [
      [{ type: 'string', minLength: 3 }, 'éa', false],
      [{ type: 'string', minLength: 3 }, 'éab', true],
      [{ type: 'string', maxLength: 3 }, '日本語', true],
      [{ type: 'string', maxLength: 2 }, '😀😀', true],
      [{ type: 'string', maxLength: 2 }, '😀😀x', false],
      [{ type: 'string', pattern: '^a.b$' }, 'aéb', true],
      [{ type: 'string', pattern: '^a.b$' }, 'a\u2028b', false],
      [{ type: 'string', pattern: '^a.b$' }, 'a(b', true],
      [{ type: 'string', pattern: '^a\\sb$' }, 'a b', true],
      [{ type: 'string', pattern: '^a\\sb$' }, 'a\u00a0b', true],
      [{ type: 'string', pattern: '^a\\sb$' }, 'a(b', false],
      [{ type: 'string', pattern: '^a\\Sb$' }, 'aéb', true],
      [{ type: 'string', pattern: '^a\\Sb$' }, 'a\u3000b', false],
      [{ type: 'string', pattern: '^[à-ÿ]+$' }, 'éü', true],
      [{ type: 'string', pattern: '^[à-ÿ]+$' }, 'A', false],
      [{ type: 'string', pattern: '^[^é]+$' }, 'Aü', true],
      [{ type: 'string', pattern: '^[^é]+$' }, 'é', false],
    ];
    for (const [schema, text, ok] of cases) expect(await accepts(schema, utf8(JSON.stringify(text))), `${JSON.stringify(text)} under ${JSON.stringify(schema)}`).toBe(ok);
  });

  it('enum and const answer only values of the schema\'s type (xgrammar takes the enum alone)', async () => {
    expect(await accepts({ type: 'string', enum: [1, 'a'] }, utf8('1'))).toBe(false);
    expect(await accepts({ type: 'string', enum: [1, 'a'] }, utf8('"a"'))).toBe(true);
    expect(await accepts({ type: 'integer', enum: [1.5, 2, 'x'] }, utf8('2'))).toBe(true);
    expect(await accepts({ type: 'integer', enum: [1.5, 2, 'x'] }, utf8('1.5'))).toBe(false);
    expect(await refused({ type: 'string', enum: [1, 2] })).toMatch(/enum/);
    expect(await refused({ type: 'string', const: 1 })).toMatch(/const/);
  });

  it('keywords xgrammar ignores or compiles wrongly are refused, naming the place', async () => {
    const cases: [Schema, RegExp][] = [
      [{ type: 'integer', multipleOf: 3 }, /multipleOf/],
      [{ type: 'integer', not: { const: 3 } }, /not/],
      [{ type: 'integer', allOf: [{ minimum: 3 }, { maximum: 5 }] }, /allOf/],
      [{ oneOf: [{ type: 'integer' }, { type: 'number' }] }, /oneOf/],
      [{ type: 'array', items: { type: 'boolean' }, uniqueItems: true }, /uniqueItems/],
      [{ type: 'array', contains: { const: 1 } }, /contains/],
      [{ type: 'object', properties: { a: { type: 'integer' } }, required: ['c'] }, /"c"/],
      [{ type: 'object', properties: { a: { type: 'integer' } }, minProperties: 1 }, /minProperties/],
      [{ type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, dependentRequired: { a: ['b'] } }, /dependentRequired/],
      [{ type: 'string', format: 'date', maxLength: 3 }, /maxLength/],
      [{ type: 'string', pattern: '^a+$', minLength: 2 }, /minLength/],
      [{ type: 'string', format: 'idn-email' }, /idn-email/],
      [{ type: 'string', minLenght: 3 }, /minLenght/],
      [{ type: 'integer', minimum: 0, anyOf: [{ const: 7 }, { type: 'string' }] }, /anyOf/],
      [{ type: 'object', properties: { nested: { type: 'array', items: { type: 'integer', multipleOf: 2 } } } }, /\/properties\/nested\/items/],
      [{ type: 'object', properties: { 'q"uote': { type: 'integer' } } }, /q\\?"uote/],
      [{ type: 'integer', minimum: 5, maximum: 3 }, /no integer/],
      [{ type: 'integer', exclusiveMinimum: 3, exclusiveMaximum: 4 }, /no integer/],
      [{ type: 'number', exclusiveMinimum: 1, maximum: 1 }, /no number/],
    ];
    for (const [schema, message] of cases) expect(await refused(schema), JSON.stringify(schema)).toMatch(message);
  });
});

/**
 * xgrammar's WebAssembly traps on a JSON Schema nested ~100 levels deep ("memory access out of
 * bounds"), and every later call into it fails the same way. Last in this file: on the tree before
 * the fix it leaves xgrammar broken.
 */
describe('a schema nested too deeply', () => {
  it('is a bad-argument before it reaches xgrammar, and schemas still compile after it', async () => {
    const tok = createTokenizer((await fixtureGguf('models/random/llama-gqa-f32/llama-gqa-f32.gguf')).metadata);
    const nest = (depth: number) => {
      let s: Schema = { type: 'integer' };
      for (let i = 0; i < depth; i++) s = { type: 'array', items: s, maxItems: 2 };
      return s;
    };
    const e = await compileConstraint(tok, tok.vocabSize, { type: 'json_schema', name: 'deep', schema: nest(150) }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'bad-argument' });
    expect((e as Error).message).toMatch(/nested/);
    (await compileConstraint(tok, tok.vocabSize, { type: 'json_schema', name: 'ok', schema: nest(20) })).dispose();
    (await compileConstraint(tok, tok.vocabSize, { type: 'json_schema', name: 'ok', schema: { type: 'integer' } })).dispose();
  });
});
