/**
 * The ONNX runtime (src/runtimes/onnx/runtime.ts) behind the engine's request side, in Node on
 * onnxruntime-web's WASM EP, against Cria's own runtime on the same weights: stories260K (with a chat
 * template added) exported by `exportOnnx`, loaded from its files. The same requests must give the
 * same greedy and seeded text and tokens, and log-probabilities within 2e-3 (the export's logit bound is
 * 1e-4 · max |logit| ≈ 1.7e-3 here, test/unit/onnx-export.test.ts; measured ~1e-5).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { exportOnnx } from '../../src/export/onnx.ts';
import { readGguf } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { OnnxRuntime } from '../../src/runtimes/onnx/runtime.ts';
import { DT, GraphBuilder } from '../../src/formats/onnx/graph.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { parseHellaswagText } from '../../src/eval/data/hellaswag.ts';
import { reportsToCsv } from '../../src/eval/report.ts';
import { runTask } from '../../src/eval/runner.ts';
import { fromClient } from '../../src/eval/target.ts';
import type { Task } from '../../src/eval/types.ts';
import { engineClient, rewriteGguf } from './helpers/eval-engine.ts';
import { MemoryEvalStore } from './helpers/eval-memory-store.ts';

const TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

let gguf: ArrayBuffer;
let files: Record<string, Uint8Array>;

beforeAll(async () => {
  gguf = await rewriteGguf('models/stories260K/stories260K-f32.gguf', { chatTemplate: TEMPLATE });
  const ex = await exportOnnx(await readGguf(bytesSource(new Uint8Array(gguf))), { externalThreshold: 64 << 10 });
  files = Object.fromEntries(ex.files);
});

async function engines() {
  const cria = new Engine({ createBackend: async () => new CpuBackend() });
  await cria.load({ bytes: gguf, name: 'stories' });
  const onnx = new Engine({ createBackend: async () => new CpuBackend(), runtimes: [new OnnxRuntime()] });
  await onnx.load({ onnx: { files, name: 'stories (onnx)' } });
  return { cria, onnx };
}

describe('the ONNX runtime behind the engine, against Cria\'s own on the same weights', () => {
  it('says what runs the model', async () => {
    const { cria, onnx } = await engines();
    const a = (await cria.modelInfo())!;
    const b = (await onnx.modelInfo())!;
    expect(a.runtime).toBe('cria');
    expect(b).toMatchObject({ runtime: 'onnx', architecture: 'llama', vocabSize: 512, nCtx: a.nCtx, hasChatTemplate: true, activations: 'f32' });
    expect(b.backend.detail).toMatch(/onnxruntime-web .*WASM/);
    expect(b.parameters, 'counted from config.json as the GGUF\'s tensors count').toBe(a.parameters);
    expect((await onnx.stats()).backend).toMatch(/onnxruntime-web/);
  });

  it('LoRA adapters are Cria\'s own engine\'s: on an ONNX model, loadAdapter and a request naming one are refused saying so; `lora: []` is fine', async () => {
    const { onnx } = await engines();
    const refused = (p: Promise<unknown>) => p.then(() => 'no error', (e: { code?: string; message: string }) => `${e.code}: ${e.message}`);
    expect(await refused(onnx.loadAdapter({ bytes: gguf.slice(0) }))).toMatch(/^not-implemented: LoRA adapters run on Cria's own engine \(GGUF models\); this model runs on onnx/);
    expect(await refused(onnx.completion({ prompt: 'Once', max_tokens: 2, lora: [{ id: 'a' }] }))).toMatch(/^not-implemented: LoRA adapters run on Cria's own engine/);
    expect((await onnx.completion({ prompt: 'Once', max_tokens: 2, lora: [] })).choices[0].token_ids).toHaveLength(2);
    expect((await onnx.modelInfo())!.adapters).toBeUndefined();
  });

  it('greedy completions: the same tokens and text, streamed the same way', async () => {
    const { cria, onnx } = await engines();
    for (const prompt of ['Once upon a time', 'The little dog']) {
      const req = { prompt, max_tokens: 40, temperature: 0 };
      const a = await cria.completion(req);
      const chunks: string[] = [];
      const b = await onnx.completion({ ...req, stream: true }, (c) => chunks.push(c.choices[0].text));
      expect(b.choices[0].token_ids).toEqual(a.choices[0].token_ids);
      expect(b.choices[0].text).toBe(a.choices[0].text);
      expect(chunks.join('')).toBe(a.choices[0].text);
      expect(b.usage.prompt_tokens).toBe(a.usage.prompt_tokens);
    }
  });

  it('chat through the model\'s template, stop strings, seeded sampling and logprobs', async () => {
    const { cria, onnx } = await engines();
    const req = { messages: [{ role: 'user' as const, content: 'Tell me a story.' }], max_tokens: 30, temperature: 0.8, seed: 7, stop: ['.'], logprobs: true, top_logprobs: 3 };
    const a = await cria.chatCompletion(req);
    const b = await onnx.chatCompletion(req);
    expect(b.choices[0].message.content).toBe(a.choices[0].message.content);
    expect(b.choices[0].finish_reason).toBe(a.choices[0].finish_reason);
    const la = a.choices[0].logprobs!.content!;
    const lb = b.choices[0].logprobs!.content!;
    expect(lb.map((x) => x.token)).toEqual(la.map((x) => x.token));
    lb.forEach((x, i) => expect(Math.abs(x.logprob - la[i].logprob)).toBeLessThan(2e-3));
  });

  it('structured output: a JSON Schema and a grammar give the answers Cria gives (the mask applied to ORT\'s row on the CPU)', async () => {
    const { cria, onnx } = await engines();
    const schema = { type: 'object', properties: { name: { type: 'string', maxLength: 10 }, age: { type: 'integer', minimum: 1, maximum: 9 } }, required: ['name', 'age'], additionalProperties: false };
    for (const req of [
      { prompt: 'Once upon a time', max_tokens: 50, temperature: 0, response_format: { type: 'json_schema' as const, json_schema: { name: 'p', schema } } },
      { prompt: 'The dog', max_tokens: 50, temperature: 0.8, seed: 2, response_format: { type: 'json_schema' as const, json_schema: { name: 'p', schema } } },
      { prompt: 'Tom', max_tokens: 10, temperature: 0, grammar: 'root ::= "yes" | "no"' },
    ]) {
      const a = await cria.completion(req);
      const b = await onnx.completion(req);
      expect(b.choices[0].token_ids).toEqual(a.choices[0].token_ids);
      if (b.choices[0].finish_reason === 'stop' && req.response_format) expect(Object.keys(JSON.parse(b.choices[0].text)).sort()).toEqual(['age', 'name']);
    }
  });

  it('scores continuations as Cria does (lm-evaluation-harness loglikelihood)', async () => {
    const { cria, onnx } = await engines();
    for (const [context, continuation] of [
      ['Once upon a time, there was a', ' little girl'],
      ['The cat sat on the', ' mat and slept.'],
    ]) {
      const a = await cria.score({ context, continuation });
      const b = await onnx.score({ context, continuation });
      expect(b.tokens).toEqual(a.tokens);
      expect(b.greedy).toBe(a.greedy);
      b.logprobs.forEach((l, i) => expect(Math.abs(l - a.logprobs[i])).toBeLessThan(2e-3));
    }
  });

  it('a repository without its tokenizer: bad-file naming the file; an engine without the ONNX runtime: not-implemented', async () => {
    const onnx = new Engine({ createBackend: async () => new CpuBackend(), runtimes: [new OnnxRuntime()] });
    const { 'tokenizer.json': _, ...rest } = files;
    const err = await onnx.load({ onnx: { files: rest } }).catch((e) => e);
    expect(isCriaError(err, 'bad-file'), String(err)).toBe(true);
    expect(err.message).toMatch(/no tokenizer\.json/);
    const plain = new Engine({ createBackend: async () => new CpuBackend() });
    const err2 = await plain.load({ onnx: { files } }).catch((e) => e);
    expect(isCriaError(err2, 'not-implemented'), String(err2)).toBe(true);
  });

  it('runs a multiple-choice eval as Cria does, and the run records which runtime ran the model', async () => {
    const { cria, onnx } = await engines();
    const items = parseHellaswagText(readFileSync(fixturePath('eval/hellaswag/hellaswag_val_first1000.txt'), 'utf8'))
      .slice(0, 12)
      .map((it) => ({ ...it, context: it.context.slice(-120), choices: it.choices.map((c) => c.slice(0, 60)) }));
    const task: Task = { name: 'hellaswag-short', version: '1', kind: 'multiple-choice', source: 'fixture', items };
    const run = async (engine: Engine) => runTask({ task, store: new MemoryEvalStore(), loadModel: async () => fromClient(engineClient(engine)) });
    const a = await run(cria);
    const b = await run(onnx);
    expect(a.run.identity.model.runtime).toBe('cria');
    expect(b.run.identity.model.runtime).toBe('onnx');
    expect(b.report.n).toBe(items.length);
    // the same choices (log-likelihoods within the runtime bound above; no near-tie among 12 items here)
    expect(b.results.map((r) => (r as { pred?: number }).pred)).toEqual(a.results.map((r) => (r as { pred?: number }).pred));
    expect(b.report.metrics.acc).toBe(a.report.metrics.acc);
    expect(reportsToCsv([a.report, b.report]).split('\n')[2]).toMatch(/^hellaswag-short,1,[^,]*,onnx,/);
  });

  it('a graph whose KV cache is float16 (an fp16 / q4f16 export) is refused, naming the float32 graphs, before any step runs', async () => {
    // a tiny graph in that shape: float16 past_key_values passed through as present, float32 logits
    const g = new GraphBuilder();
    const ids = g.input('input_ids', DT.INT64, ['batch_size', 'sequence_length']);
    g.input('attention_mask', DT.INT64, ['batch_size', 'total_sequence_length']);
    const config = JSON.parse(new TextDecoder().decode(files['config.json']));
    const kvDims = ['batch_size', config.num_key_value_heads, 'past_sequence_length', config.head_dim];
    for (let i = 0; i < config.num_hidden_layers; i++) {
      for (const kv of ['key', 'value']) g.output(g.input(`past_key_values.${i}.${kv}`, DT.FLOAT16, kvDims), `present.${i}.${kv}`, DT.FLOAT16, kvDims);
    }
    const x = g.node('Cast', [g.node('Unsqueeze', [ids, g.i64([2])])], { attrs: { to: DT.FLOAT } });
    g.output(g.node('Expand', [x, g.i64([1, 1, config.vocab_size])]), 'logits', DT.FLOAT, ['batch_size', 'sequence_length', config.vocab_size]);
    const fp16 = { ...files, 'onnx/model.onnx': g.encode().model };
    delete (fp16 as Record<string, Uint8Array>)['onnx/model.onnx_data'];
    const engine = new Engine({ createBackend: async () => new CpuBackend(), runtimes: [new OnnxRuntime()] });
    const err = await engine.load({ onnx: { files: fp16 } }).catch((e: unknown) => e);
    expect(isCriaError(err, 'unsupported-type'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/KV cache as float16.*model_q4\.onnx/);
  });
});

