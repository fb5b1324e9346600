/**
 * Structured output with the GBNF grammars llama.cpp ships (issue 16, "Done when" 2): json,
 * json_arr, arithmetic, list, chess, english, japanese and c (node-llama-cpp's copies, in
 * node_modules/node-llama-cpp/llama/grammars/) constrain Cria's answers on fixture models, and
 * every answer is accepted by an independent implementation of the grammar: llama.cpp's own
 * (libllama through node-llama-cpp 3.21, CPU), given the same GGUF's vocabulary.
 *
 * llama.cpp checks each answer two ways:
 * - token by token, as its grammar sampler does when it generates: a grammar evaluation state over
 *   the model's vocabulary (llama_sampler_init_grammar) must allow each of Cria's tokens in turn
 *   (node-llama-cpp's addon: AddonSampler.canBeNextTokenForGrammarEvaluationState, then
 *   acceptGrammarEvaluationStateToken; the API its LlamaChat and token predictors use internally).
 *   This checks an answer cut by max_tokens as a prefix. For a completed answer the end-of-generation
 *   token must be allowed after the last token (llama.cpp allows it only where the grammar is
 *   complete);
 * - as text: a completed answer must be accepted whole by a fresh parse of the grammar over its
 *   code points (LlamaGrammar._testText, llama_grammar_accept over the text).
 *
 * Cria's side is xgrammar with GBNF's empty alternatives rewritten (src/grammar/gbnf.ts). Answers
 * come from stories260K (trained, SentencePiece with byte fallback), the random-weight llama-gqa
 * fixture (a synthetic SentencePiece vocabulary) and a random-weight qwen2 with Qwen2.5's byte-level
 * BPE vocabulary, at several sampling settings; max_tokens is modest (english, japanese and c can
 * run long), so some answers are cut and checked as prefixes. Counts are printed at the end.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConstraint } from '../../src/grammar/constraint.ts';
import type { CompletionRequest } from '../../src/protocol/api.ts';
import { createTokenizer, type Tokenizer } from '../../src/tokenizer/index.ts';
import { fixtureGguf } from './helpers/models.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { fixtureModel, qwen2VocabModel, type TestModel } from './helpers/structured-models.ts';

type NodeLlamaCpp = typeof import('node-llama-cpp');
type Llama = Awaited<ReturnType<NodeLlamaCpp['getLlama']>>;
type LlamaModel = Awaited<ReturnType<Llama['loadModel']>>;
type LlamaGrammar = Awaited<ReturnType<Llama['createGrammar']>>;

const GRAMMARS = ['json', 'json_arr', 'arithmetic', 'list', 'chess', 'english', 'japanese', 'c'] as const;
const grammarText = (name: string) => readFileSync(new URL(`../../node_modules/node-llama-cpp/llama/grammars/${name}.gbnf`, import.meta.url), 'utf8');

/** Sampling settings per answer: greedy, and sampled with the sampler options. */
const SETTINGS: Partial<CompletionRequest>[] = [
  { temperature: 0 },
  { temperature: 0.8, seed: 1 },
  { temperature: 1, seed: 2, top_k: 20 },
  { temperature: 1.2, seed: 3, top_p: 0.9 },
  { temperature: 1, seed: 4, min_p: 0.05, repetition_penalty: 1.3 },
  { temperature: 1.5, seed: 5, presence_penalty: 0.5, frequency_penalty: 0.5 },
];

interface Subject {
  name: string;
  model: TestModel;
  /** Cria's tokenizer of the model (token bytes, end tokens) */
  tok: Tokenizer;
  /** the same GGUF, vocabulary only, in llama.cpp */
  vocab: LlamaModel;
  prompt: string;
  maxTokens: number;
  settings: Partial<CompletionRequest>[];
  grammars: readonly string[];
}

let nlc: NodeLlamaCpp;
let llama: Llama;
const dir = mkdtempSync(join(tmpdir(), 'cria-gbnf-'));
const subjects: Subject[] = [];
const grammars = new Map<string, LlamaGrammar>();
const tally = new Map<string, { completed: number; cut: number; tokens: number }>();

beforeAll(async () => {
  nlc = await import('node-llama-cpp');
  llama = await nlc.getLlama({ gpu: false, logLevel: nlc.LlamaLogLevel.error });
  for (const g of GRAMMARS) grammars.set(g, await llama.createGrammar({ grammar: grammarText(g) }));
  const stories = await fixtureModel('stories260K/stories260K-f32.gguf');
  const random = await fixtureModel('random/llama-gqa-f32/llama-gqa-f32.gguf');
  const qwen = await qwen2VocabModel();
  const qwenPath = join(dir, 'qwen2-real-vocab.gguf');
  writeFileSync(qwenPath, qwen.bytes);
  const vocab = (path: string) => llama.loadModel({ modelPath: path, vocabOnly: true });
  subjects.push(
    { name: 'stories260K', model: stories, tok: createTokenizer(stories.meta), vocab: await vocab(fixturePath('models/stories260K/stories260K-f32.gguf')), prompt: 'Once upon a time', maxTokens: 48, settings: SETTINGS, grammars: GRAMMARS },
    { name: 'random llama-gqa (synthetic SPM)', model: random, tok: createTokenizer(random.meta), vocab: await vocab(fixturePath('models/random/llama-gqa-f32/llama-gqa-f32.gguf')), prompt: 'Hello', maxTokens: 48, settings: SETTINGS, grammars: GRAMMARS },
    // xgrammar compiles a grammar for 151k tokens in about a second: fewer answers
    { name: 'random qwen2 (Qwen2.5 BPE)', model: qwen, tok: createTokenizer(qwen.meta), vocab: await vocab(qwenPath), prompt: 'Hello', maxTokens: 32, settings: SETTINGS.slice(0, 3), grammars: GRAMMARS },
  );
}, 300_000);

afterAll(async () => {
  const rows = [...tally].map(([k, t]) => `  ${k.padEnd(50)} completed ${String(t.completed).padStart(3)}  cut ${String(t.cut).padStart(3)}  tokens ${t.tokens}`);
  console.log(`GBNF answers checked by llama.cpp's grammar:\n${rows.join('\n')}`);
  for (const s of subjects) await s.vocab.dispose();
  await llama?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** Continuation bytes still needed after `bytes`, from `pending` (UTF-8). */
function pendingAfter(pending: number, bytes: Uint8Array): number {
  for (const b of bytes) {
    if (pending > 0 && (b & 0xc0) === 0x80) pending--;
    else pending = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : 0;
  }
  return pending;
}

/**
 * llama.cpp's grammar over a vocabulary, fed a token at a time. `next(id)` fails if llama.cpp refuses
 * the token. One allowance: llama.cpp refuses a token that ends inside a character as soon as any
 * character it could complete to is outside a negated class (llama_grammar_match_partial_char: list's
 * [^…\x85…] refuses every lone C2 byte), though its grammar's language holds the others; so a
 * refusal counts at a character boundary, and mid-character the token is accepted (accepting checks
 * every whole character exactly) and the character checked when the token completing it comes.
 */
function llamaCppChecker(s: Subject, grammar: LlamaGrammar, where: () => string) {
  const addon = (llama as unknown as { _bindings: { AddonSampler: { canBeNextTokenForGrammarEvaluationState(s: unknown, t: number): boolean; acceptGrammarEvaluationStateToken(s: unknown, t: number): void } } })._bindings.AddonSampler;
  const state = (new nlc.LlamaGrammarEvaluationState({ model: s.vocab, grammar }) as unknown as { _state: unknown })._state;
  let pending = 0;
  return {
    next(id: number) {
      const after = pendingAfter(pending, s.tok.decodeBytes([id], { startOfText: false }));
      const allowed = addon.canBeNextTokenForGrammarEvaluationState(state, id);
      if (!allowed && after === 0) expect(allowed, `llama.cpp refuses token ${id} ${JSON.stringify(s.tok.decode([id]))}: ${where()}`).toBe(true);
      try {
        addon.acceptGrammarEvaluationStateToken(state, id);
      } catch (e) {
        throw new Error(`llama.cpp refuses token ${id} ${JSON.stringify(s.tok.decode([id]))} (${(e as Error).message}): ${where()}`);
      }
      pending = after;
    },
    /** the grammar is complete here (llama.cpp allows an end-of-generation token only then) */
    canEnd: () => pending === 0 && addon.canBeNextTokenForGrammarEvaluationState(state, s.model.eosId),
  };
}

describe.each(GRAMMARS)('the %s grammar', (g) => {
  it('constrains answers that llama.cpp\'s grammar accepts (completed whole, cut as a prefix)', async () => {
    const grammar = grammars.get(g)!;
    const text = grammarText(g);
    for (const s of subjects) {
      if (!s.grammars.includes(g)) continue;
      const t = tally.get(`${g} · ${s.name}`) ?? { completed: 0, cut: 0, tokens: 0 };
      tally.set(`${g} · ${s.name}`, t);
      for (const settings of s.settings) {
        const r = await s.model.engine.completion({ prompt: s.prompt, max_tokens: s.maxTokens, grammar: text, ...settings });
        const c = r.choices[0]!;
        const ids = c.token_ids ?? [];
        const where = `${g} on ${s.name} with ${JSON.stringify(settings)}: ${JSON.stringify(c.text)}`;
        t.tokens += ids.length;
        // token by token, as llama.cpp's grammar sampler would allow them
        const check = llamaCppChecker(s, grammar, () => where);
        for (const id of ids) check.next(id);
        if (c.finish_reason === 'length') {
          expect(ids.length, `cut before max_tokens: ${where}`).toBe(s.maxTokens);
          t.cut++;
          continue;
        }
        expect(c.finish_reason).toBe('stop');
        t.completed++;
        // complete: llama.cpp would end it here, and parses the whole text
        expect(check.canEnd(), `llama.cpp does not let the answer end here: ${where}`).toBe(true);
        expect((grammar as unknown as { _testText(t: string): boolean })._testText(c.text), `llama.cpp does not accept the text: ${where}`).toBe(true);
      }
    }
  }, 300_000);
});

/**
 * Walks: Cria's constraint alone, each token drawn at random among those its mask allows (a third of
 * the time the lowest id, the end token half the time it is allowed), so that many answers end
 * within a few dozen tokens whatever the grammar; each walk checked by llama.cpp as above.
 */
describe.each(GRAMMARS)('walks of the %s grammar', (g) => {
  it('llama.cpp accepts every walk (ended ones whole, the others as prefixes)', async () => {
    const grammar = grammars.get(g)!;
    const text = grammarText(g);
    for (const s of subjects) {
      const tok = s.tok;
      const eos: number[] = [];
      for (let id = 0; id < tok.vocabSize; id++) if (tok.isEog(id)) eos.push(id);
      const t = tally.get(`${g} · ${s.name} · walks`) ?? { completed: 0, cut: 0, tokens: 0 };
      tally.set(`${g} · ${s.name} · walks`, t);
      const n = s.name.includes('Qwen') ? 4 : 20;
      for (let w = 0; w < n; w++) {
        let r = (w + 1) * 2654435761;
        const rand = () => ((r ^= r << 13), (r ^= r >>> 17), (r ^= r << 5), (r >>> 0) / 2 ** 32);
        const c = await compileConstraint(tok, tok.vocabSize, { type: 'grammar', grammar: text });
        const ids: number[] = [];
        const check = llamaCppChecker(s, grammar, () => `${g} walk ${w} on ${s.name}: ${JSON.stringify(tok.decode(ids))}`);
        let ended = false;
        try {
          for (let step = 0; step < 64 && !ended; step++) {
            const mask = await c.allowed();
            const allowed: number[] = [];
            let end = false;
            for (let wd = 0; wd < mask.length; wd++) {
              for (let x = mask[wd]!; x !== 0; x &= x - 1) {
                const id = wd * 32 + (31 - Math.clz32(x & -x));
                if (eos.includes(id)) end = true;
                else allowed.push(id);
              }
            }
            if (end && (allowed.length === 0 || rand() < 0.5)) {
              ended = true;
              break;
            }
            const id = rand() < 0.33 ? allowed[0]! : allowed[Math.floor(rand() * allowed.length)]!;
            check.next(id);
            expect(c.accept(id)).toBe(true);
            ids.push(id);
          }
        } finally {
          c.dispose();
        }
        t.tokens += ids.length;
        if (!ended) {
          t.cut++;
          continue;
        }
        t.completed++;
        const answer = new TextDecoder('utf-8', { fatal: true }).decode(tok.decodeBytes(ids, { startOfText: false }));
        expect(check.canEnd(), `llama.cpp does not let the walk end: ${g} on ${s.name}: ${JSON.stringify(answer)}`).toBe(true);
        expect((grammar as unknown as { _testText(t: string): boolean })._testText(answer), `llama.cpp does not accept the text: ${g} on ${s.name}: ${JSON.stringify(answer)}`).toBe(true);
      }
    }
  }, 300_000);
});

/**
 * Found by the japanese grammar (and by walks of list and c, for U+0000): xgrammar 0.1.27 matches a character class with several members byte
 * by byte, each bound cut to 8 bits, so [ぁ-ゟ] (U+3041–U+309F) allowed the bytes 0x41–0x9F ('A'…),
 * [一-鿿] every byte, and [^\u2028] refused '(' (0x28). Checked on the constraint: a text is accepted
 * when its bytes, fed as byte tokens of the synthetic vocabulary (id 3 + byte), are each allowed and
 * the end token is allowed after them.
 */
describe('non-ASCII character classes (constraint level)', () => {
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = createTokenizer((await fixtureGguf('models/random/llama-gqa-f32/llama-gqa-f32.gguf')).metadata);
  });
  async function accepts(grammar: string, text: string): Promise<boolean> {
    const c = await compileConstraint(tok, tok.vocabSize, { type: 'grammar', grammar });
    const bit = (m: Uint32Array, id: number) => ((m[id >>> 5]! >>> (id & 31)) & 1) === 1;
    try {
      for (const b of new TextEncoder().encode(text)) {
        if (!bit(await c.allowed(), 3 + b) || !c.accept(3 + b)) return false;
      }
      return bit(await c.allowed(), 2);
    } finally {
      c.dispose();
    }
  }
  it.each([
    ['root ::= [ぁ-ゟ]+', 'ぁあゟ', true],
    ['root ::= [ぁ-ゟ]+', 'A', false],
    ['root ::= [ぁ-ゟ]+', 'ア', false],
    ['root ::= [一-鿿]+', '日本', true],
    ['root ::= [一-鿿]+', 'x', false],
    ['root ::= [a-zé-ü]+', 'aéü', true],
    ['root ::= [a-zé-ü]+', 'ÿ', false],
    ['root ::= [^\\u2028]+', '(x)', true],
    ['root ::= [^\\u2028]+', 'a\u2028', false],
    ['root ::= [^a\\x85]+', 'é😀', true],
    ['root ::= [^a\\x85]+', '\u0085', false],
    ['root ::= [\\U0001F600-\\U0001F64F]', '😀', true],
    ['root ::= [\\U0001F600-\\U0001F64F]', '🙐', false],
    // llama.cpp never matches U+0000 (its grammar engine ends a text there): found by walks of list and c
    ['root ::= [^\\n]+', 'a\u0000', false],
    ['root ::= [^\\n]+', 'a\u0001', true],
    ['root ::= [\\x00-\\x1f]+', '\u0000', false],
    ['root ::= [\\x00-\\x1f]+', '\u0001', true],
  ] as const)('%s on %j: %s', async (grammar, text, ok) => {
    expect(await accepts(grammar, text)).toBe(ok);
  });
});

/**
 * Found while writing the number grammars: xgrammar's WebAssembly traps ("table index is out of
 * bounds") on an expression nested ~200 groups deep, and every later call into it fails the same
 * way, so one request would break grammars for all that follow. Last in this file: on the tree
 * before the fix it leaves xgrammar broken.
 */
describe('a grammar nested too deeply', () => {
  it('is a bad-argument before it reaches xgrammar, and grammars still compile after it', async () => {
    const tok = createTokenizer((await fixtureGguf('models/random/llama-gqa-f32/llama-gqa-f32.gguf')).metadata);
    const deep = `root ::= ${'('.repeat(300)}"a"${')'.repeat(300)}`;
    const e = await compileConstraint(tok, tok.vocabSize, { type: 'grammar', grammar: deep }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'bad-argument' });
    expect((e as Error).message).toMatch(/nested/);
    const ok = `root ::= ${'('.repeat(60)}"a"${')'.repeat(60)}`;
    (await compileConstraint(tok, tok.vocabSize, { type: 'grammar', grammar: ok })).dispose();
    (await compileConstraint(tok, tok.vocabSize, { type: 'grammar', grammar: 'root ::= "b"' })).dispose();
  });
});
