/**
 * The `cria` command, run as a real process (node bin/cria.js), against the
 * fixtures: inspect, tokenize, generate (greedy tokens and dumped logits vs
 * the stories260K golden file and every random model vs llama.cpp), score,
 * and the errors a user sees. Everything here runs on the CPU reference
 * (`--engine cpu`); cli-webgpu.test.ts drives the default engine, WebGPU in
 * headless Chromium.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readGguf } from '../../src/formats/gguf.ts';
import { fileSource } from '../../src/formats/source-node.ts';
import { logSoftmax } from '../../src/sampling/sampler.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { formatFlags } from '../../src/cli/commands/generate.ts';
import { maxAbsDiff, readJson } from './helpers/models.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'cria-cli-'));

function cria(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin/cria.js'), ...args], { cwd: root, maxBuffer: 64 << 20, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function criaJson(args: string[]): Promise<any> {
  const r = await cria(args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const stories = (f: string) => fixturePath(`models/stories260K/${f}`);
const golden = readJson('models/stories260K/expected_greedy.json');

describe('cria inspect', () => {
  it('describes stories260K with the documented field names', async () => {
    const out = await criaJson(['inspect', stories('stories260K-f32.gguf')]);
    const file = await readGguf(await fileSource(stories('stories260K-f32.gguf')));
    expect(out.architecture).toBe('llama');
    expect(out.context_length).toBe(128); // the converter's quirk, see the fixture README
    expect(out.parameters).toBe(file.tensors.reduce((a, t) => a + t.nElements, 0));
    expect(out.tensor_types).toEqual({ F32: file.tensors.reduce((a, t) => a + t.byteLength, 0) });
    expect(out.tokenizer).toEqual({ model: 'llama', pre: null, vocab_size: 512 });
    expect(out.chat_template).toBe(false);
  });

  it('reports the mix of tensor types of a quantized model', async () => {
    const out = await criaJson(['inspect', fixturePath('models/random/llama-gqa-q4_k_m/llama-gqa-q4_k_m.gguf')]);
    const e = readJson('models/random/llama-gqa-q4_k_m/expected.json');
    expect(Object.keys(out.tensor_types).sort()).toEqual([...e.tensor_types_present].sort());
  });
});

describe('cria tokenize', () => {
  it('adds BOS as the metadata says, and none with --no-bos', async () => {
    const c = golden.cases.find((x: any) => x.prompt === 'Once upon a time');
    expect((await criaJson(['tokenize', '--model', stories('stories260K-f32.gguf'), '--text', c.prompt])).ids).toEqual(c.prompt_tokens);
    expect((await criaJson(['tokenize', '--model', stories('stories260K-f32.gguf'), '--text', c.prompt, '--no-bos'])).ids).toEqual(c.prompt_tokens.slice(1));
  });

  it('matches a llama.cpp test vector (--no-bos, no --parse-special) from a text file', async () => {
    const inp = readFileSync(fixturePath('gguf-vocab/ggml-vocab-llama-spm.gguf.inp'), 'utf8').split('\n__ggml_vocab_test__\n');
    const outLines = readFileSync(fixturePath('gguf-vocab/ggml-vocab-llama-spm.gguf.out'), 'utf8').split('\n');
    const i = inp.findIndex((s) => s.length > 20);
    const path = join(tmp, 'text.txt');
    writeFileSync(path, inp[i]);
    const out = await criaJson(['tokenize', '--model', fixturePath('gguf-vocab/ggml-vocab-llama-spm.gguf'), '--text-file', path, '--no-bos']);
    expect(out.ids).toEqual(outLines[i].trim().split(/\s+/).map(Number));
  });

  it('treats special-token text as text unless --parse-special', async () => {
    const m = stories('stories260K-f32.gguf');
    const plain = (await criaJson(['tokenize', '--model', m, '--text', '</s>', '--no-bos'])).ids;
    const special = (await criaJson(['tokenize', '--model', m, '--text', '</s>', '--no-bos', '--parse-special'])).ids;
    expect(special).toEqual([2]);
    expect(plain).not.toContain(2);
  });
});

describe.each(['stories260K-f32.gguf', 'stories260K-f16.gguf'])('cria generate --engine cpu on %s', (f) => {
  it.each(golden.cases as any[])('greedy tokens equal expected_greedy.json for "$prompt"', async (c) => {
    const n = c.greedy_tokens.length - c.prompt_tokens.length;
    const out = await criaJson(['generate', '--model', stories(f), '--prompt-tokens', c.prompt_tokens.join(','), '--max-tokens', String(n), '--engine', 'cpu', '--ignore-eos', '--json']);
    expect(out.engine).toBe('cpu');
    expect(out.prompt_tokens).toEqual(c.prompt_tokens);
    expect(out.tokens).toEqual(c.greedy_tokens.slice(c.prompt_tokens.length));
    expect(out.text.length).toBeGreaterThan(0);
    expect(out.timings.decode_tokens).toBe(n);
  });
});

describe('cria generate', () => {
  it('tokenizes --prompt text and decodes the output text', async () => {
    const c = golden.cases.find((x: any) => x.prompt === 'Once upon a time');
    const n = c.greedy_tokens.length - c.prompt_tokens.length;
    const out = await criaJson(['generate', '--model', stories('stories260K-f32.gguf'), '--prompt', c.prompt, '--max-tokens', String(n), '--ignore-eos', '--engine', 'cpu', '--json']);
    expect(out.prompt_tokens).toEqual(c.prompt_tokens);
    expect(c.prompt + out.text).toBe(c.text);
  });

  it('--dump-logits writes the prompt logits (n_prompt × n_vocab f32) matching the golden teacher-forced logits', async () => {
    const tf = golden.teacher_forced_logits;
    const path = join(tmp, 'logits.f32');
    await criaJson(['generate', '--model', stories('stories260K-f32.gguf'), '--prompt-tokens', tf.tokens.join(','), '--max-tokens', '1', '--dump-logits', path, '--engine', 'cpu', '--json']);
    const b = readFileSync(path);
    const got = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    expect(got.length).toBe(tf.tokens.length * 512);
    expect(maxAbsDiff(got, (tf.logits_per_position as number[][]).flat()).max).toBeLessThan(1e-4);
  });

  it('samples reproducibly with a seed', async () => {
    const args = ['generate', '--model', stories('stories260K-f32.gguf'), '--prompt', 'Once', '--max-tokens', '24', '--temperature', '1', '--top-k', '40', '--engine', 'cpu', '--json'];
    const a = await criaJson([...args, '--seed', '7']);
    const b = await criaJson([...args, '--seed', '7']);
    expect(b.tokens).toEqual(a.tokens);
    expect(a.seed).toBe(7);
  });
});

describe('cria generate --json-schema / --json-object / --grammar', () => {
  const schema = { type: 'object', properties: { name: { type: 'string', maxLength: 8 }, n: { type: 'integer', minimum: 1, maximum: 5 } }, required: ['name', 'n'], additionalProperties: false };

  it('the flags as the request\'s response_format / grammar: a bare schema or OpenAI\'s { name, schema }, JSON mode, GBNF; two at once refused', async () => {
    writeFileSync(join(tmp, 'bare.json'), JSON.stringify(schema));
    writeFileSync(join(tmp, 'named.json'), JSON.stringify({ name: 'thing', schema }));
    writeFileSync(join(tmp, 'yn.gbnf'), 'root ::= "yes" | "no"\n');
    expect(await formatFlags({ 'json-schema': join(tmp, 'bare.json') })).toEqual({ response_format: { type: 'json_schema', json_schema: { name: 'bare', schema } } });
    expect(await formatFlags({ 'json-schema': join(tmp, 'named.json') })).toEqual({ response_format: { type: 'json_schema', json_schema: { name: 'thing', schema } } });
    expect(await formatFlags({ 'json-object': true })).toEqual({ response_format: { type: 'json_object' } });
    expect(await formatFlags({ grammar: join(tmp, 'yn.gbnf') })).toEqual({ grammar: 'root ::= "yes" | "no"\n' });
    expect(await formatFlags({})).toEqual({});
    await expect(formatFlags({ 'json-object': true, grammar: join(tmp, 'yn.gbnf') })).rejects.toThrow(/give one of --json-schema, --json-object and --grammar/);
    await expect(formatFlags({ 'json-schema': join(tmp, 'nope.json') })).rejects.toThrow(/--json-schema: cannot read/);
    writeFileSync(join(tmp, 'notjson.json'), '{');
    await expect(formatFlags({ 'json-schema': join(tmp, 'notjson.json') })).rejects.toThrow(/is not JSON/);
  });

  it('a real process: the answer follows the schema; one the grammar engine cannot enforce is a bad-argument', async () => {
    writeFileSync(join(tmp, 'schema.json'), JSON.stringify(schema));
    const base = ['generate', '--model', stories('stories260K-f32.gguf'), '--prompt', 'Once upon a time', '--max-tokens', '60', '--temperature', '0.8', '--seed', '3', '--engine', 'cpu', '--json'];
    const out = await criaJson([...base, '--json-schema', join(tmp, 'schema.json')]);
    expect(out.finish_reason).toBe('stop');
    const v = JSON.parse(out.text);
    expect(Object.keys(v).sort()).toEqual(['n', 'name']);
    expect(v.n).toBeGreaterThanOrEqual(1);
    expect(v.n).toBeLessThanOrEqual(5);
    writeFileSync(join(tmp, 'bad.json'), JSON.stringify({ type: 'string', minLength: 5, maxLength: 2 }));
    const bad = await cria([...base, '--json-schema', join(tmp, 'bad.json')]);
    expect(bad.stderr).toMatch(/bad-argument.*cannot be enforced.*minLength 5 is greater than maxLength 2/);
  });
});

describe('cria generate --engine reference on every random model vs llama.cpp', () => {
  const dir = fixturePath('models/random/');
  const names = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  it.each(names)('%s: greedy continuation of prompt 0', async (name) => {
    const e = readJson(`models/random/${name}/expected.json`);
    // quantized models: we use f32 activations, so llama.cpp's dequantized-F32 twin is the reference (see model-random.test.ts)
    const want = (e.dequantized_f32_reference ?? e).prompts[0].greedy_continuation;
    // the TypeScript reference: f32 activations, the dequantized twin's arithmetic (the cpu engine takes llama.cpp's int8 one: wasm-model.test.ts)
    const out = await criaJson(['generate', '--model', `${dir}${name}/${name}.gguf`, '--prompt-tokens', e.prompts[0].tokens.join(','), '--max-tokens', '32', '--ignore-eos', '--engine', 'reference', '--json']);
    expect(out.tokens).toEqual(want);
  });
});

describe('cria score', () => {
  it('gives log-probabilities equal to log-softmax of the golden logits', async () => {
    const out = await criaJson(['score', '--model', stories('stories260K-f32.gguf'), '--text', 'Once upon a time', '--engine', 'cpu', '--json']);
    const tf = golden.teacher_forced_logits;
    expect(out.tokens).toEqual(tf.tokens);
    expect(out.count).toBe(tf.tokens.length - 1);
    tf.tokens.slice(1).forEach((id: number, i: number) => {
      expect(Math.abs(out.logprobs[i] - logSoftmax(tf.logits_per_position[i])[id])).toBeLessThan(1e-4);
    });
    expect(out.sum).toBeCloseTo(out.logprobs.reduce((a: number, b: number) => a + b, 0), 10);
    expect(out.perplexity).toBeCloseTo(Math.exp(-out.sum / out.count), 10);
  });
});

describe('cria errors', () => {
  it('--engine takes webgpu, cpu or reference', async () => {
    const r = await cria(['generate', '--model', stories('stories260K-f32.gguf'), '--prompt', 'x', '--engine', 'cuda']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[bad-argument\]: --engine must be one of webgpu, cpu, reference, got "cuda"/);
  });

  it('the default engine is webgpu: with no browser found, it says where it looked (and starts nothing)', async () => {
    const nowhere = join(tmp, 'no-chrome');
    const r = await cria(['generate', '--model', stories('stories260K-f32.gguf'), '--prompt', 'x'], { CHROME_PATH: nowhere });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`[bad-argument]: CHROME_PATH is set to "${nowhere}", but no file is there`);
    const s = await cria(['score', '--model', stories('stories260K-f32.gguf'), '--text', 'x y'], { CHROME_PATH: nowhere });
    expect(s.stderr).toContain('CHROME_PATH is set to');
  });

  it('a missing file is a usage error', async () => {
    const r = await cria(['inspect', join(tmp, 'nope.gguf')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[bad-argument\]: cannot open/);
  });

  it('a truncated model is bad-file', async () => {
    const path = join(tmp, 'truncated.gguf');
    writeFileSync(path, readFileSync(stories('stories260K-f32.gguf')).subarray(0, 5000));
    const r = await cria(['inspect', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[bad-file\].*truncated/);
  });

  it('an unsupported architecture is named', async () => {
    const r = await cria(['generate', '--model', fixturePath('quant/q8_0.gguf'), '--prompt-tokens', '1', '--engine', 'cpu']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[unsupported-arch\].*"quanttest"/);
  });

  it('a prompt longer than the context is refused clearly (max_tokens is a ceiling: a prompt that fits gets the room left)', async () => {
    const fits = await criaJson(['generate', '--model', stories('stories260K-f32.gguf'), '--prompt-tokens', Array(120).fill(5).join(','), '--max-tokens', '20', '--ignore-eos', '--engine', 'cpu', '--json']);
    expect(fits.tokens).toHaveLength(128 - 120);
    expect(fits.finish_reason).toBe('length');
    const r = await cria(['generate', '--model', stories('stories260K-f32.gguf'), '--prompt-tokens', Array(130).fill(5).join(','), '--max-tokens', '20', '--engine', 'cpu']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[context-overflow\]/);
  });

  it('bad option values are usage errors', async () => {
    const r = await cria(['generate', '--model', stories('stories260K-f32.gguf'), '--prompt', 'x', '--max-tokens', 'lots']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--max-tokens must be a whole number/);
  });
});
