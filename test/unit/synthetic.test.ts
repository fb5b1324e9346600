/**
 * Synthetic models (src/model/synthetic.ts): every type of the tiny shapes read
 * back, loaded on the CPU reference and run; the per-tensor type mix against
 * files llama-quantize itself made (the random-model fixtures); the real shapes'
 * tensor lists and parameter counts through the header alone (no file written);
 * `cria make-bench-model` as a process.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readGguf, type GgufFile } from '../../src/formats/gguf.ts';
import { metaNumber, metaString, metaStringArray } from '../../src/formats/gguf-meta.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { Session } from '../../src/engine/session.ts';
import { summarize } from '../../src/model/inspect.ts';
import { Model, planModel } from '../../src/model/model.ts';
import { SYNTHETIC_SHAPES, SYNTHETIC_TYPES, syntheticModel, type SyntheticShape, type SyntheticType } from '../../src/model/synthetic.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { createTokenizer } from '../../src/tokenizer/index.ts';
import { readJson } from './helpers/models.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const readBack = (bytes: Uint8Array) => readGguf(bytesSource(bytes, 'synthetic.gguf'));

function expectSameTensors(file: GgufFile, m: ReturnType<typeof syntheticModel>) {
  expect(file.tensors.map((t) => t.name)).toEqual(m.tensors.map((t) => t.name));
  file.tensors.forEach((t, i) => {
    expect([t.name, t.type.name, [...t.dims]]).toEqual([m.tensors[i].name, m.tensors[i].type.name, [...m.tensors[i].dims]]);
    expect(t.byteLength).toBe(m.tensors[i].byteLength);
  });
}

describe('tiny synthetic models, every type: read back, CPU reference forward', () => {
  for (const shape of ['tiny', 'tiny-qwen2']) {
    for (const type of SYNTHETIC_TYPES) {
      it(`${shape} ${type}`, async () => {
        const m = syntheticModel(shape, type, 7);
        const bytes = m.toBytes();
        expect(bytes.byteLength).toBe(m.fileSize);
        const file = await readBack(bytes);
        expectSameTensors(file, m);

        const s = SYNTHETIC_SHAPES[shape];
        expect(metaString(file, 'general.architecture')).toBe(s.arch);
        expect(metaNumber(file, 'general.file_type')).toBe({ F32: 0, F16: 1, Q4_0: 2, Q8_0: 7, Q4_K_M: 15, Q6_K: 18 }[type]);
        const { config } = planModel(file);
        expect(config).toMatchObject({ nEmbd: s.nEmbd, nLayer: s.nLayer, nHead: s.nHead, nHeadKv: s.nHeadKv, headDim: s.headDim, nFf: s.nFf, nVocab: s.nVocab, nCtxTrain: s.nCtxTrain });
        expect(config.rope.base).toBe(s.ropeTheta);
        expect(config.rmsEps).toBeCloseTo(s.rmsEps, 12);
        expect(file.tensorsByName.has('output.weight')).toBe(!s.tied);
        expect(file.tensorsByName.has('rope_freqs.weight')).toBe(!!s.ropeScaling);
        for (const t of file.tensors) if (t.dims.length === 1) expect(t.type.name).toBe('F32');

        // the tokenizer loads through the normal path
        const vocab = metaStringArray(file, 'tokenizer.ggml.tokens');
        expect(vocab.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
        expect(vocab[258]).toBe('<0xFF>');
        const tok = createTokenizer(file);
        expect(tok.vocabSize).toBe(s.nVocab);
        const ids = tok.encode('hello, world');
        expect(ids[0]).toBe(1);
        expect(ids.every((id) => id >= 0 && id < s.nVocab)).toBe(true);

        const model = await Model.load(file, new CpuBackend());
        const session = new Session(model, { nCtx: 32 });
        const logits = await session.eval(ids, 'last');
        expect(logits.length).toBe(s.nVocab);
        let ss = 0;
        for (const v of logits) {
          expect(Number.isFinite(v)).toBe(true);
          ss += v * v;
        }
        const rms = Math.sqrt(ss / logits.length);
        expect(rms).toBeGreaterThan(0.1);
        expect(rms).toBeLessThan(10);
      });
    }
  }
});

describe('generation', () => {
  it('is deterministic in the seed, and the on-demand source gives the same bytes as the file', async () => {
    const a = syntheticModel('tiny-qwen2', 'Q4_K_M', 1).toBytes();
    expect(sha(syntheticModel('tiny-qwen2', 'Q4_K_M', 1).toBytes())).toBe(sha(a));
    expect(sha(syntheticModel('tiny-qwen2', 'Q4_K_M', 2).toBytes())).not.toBe(sha(a));

    const src = syntheticModel('tiny-qwen2', 'Q4_K_M', 1).source();
    expect(src.size).toBe(a.byteLength);
    // ranges inside one part, across parts, out of order
    for (const [o, n] of [[0, 1000], [a.byteLength - 77, 77], [5000, 300000], [123456, 1], [a.byteLength >> 1, a.byteLength >> 2], [0, a.byteLength]]) {
      expect(sha(await src.read(o, n)), `${o}+${n}`).toBe(sha(a.subarray(o, o + n)));
    }
    await expect(src.read(a.byteLength - 1, 2)).rejects.toThrow(/outside/);
  });

  it('streams SmolLM2-135M Q4_K_M (the slowest quantizers) in seconds', () => {
    const t0 = performance.now();
    const m = syntheticModel('smollm2-135m', 'Q4_K_M', 0);
    let n = 0;
    for (const p of m.parts()) n += p.byteLength;
    const ms = performance.now() - t0;
    expect(n).toBe(m.fileSize);
    console.log(`smollm2-135m Q4_K_M: ${(m.fileSize / 1e6).toFixed(1)} MB generated in ${ms.toFixed(0)} ms`);
    // a sanity bound far above the ~0.5 s it takes, so only a regression to per-row quantization trips it
    expect(ms).toBeLessThan(30_000);
  });
});

/** Shapes of the llama.cpp random-model fixtures (expected.json → hyperparameters). */
function fixtureShape(caseName: string): { shape: SyntheticShape; expected: any } {
  const e = readJson(`models/random/${caseName}/expected.json`);
  const h = e.hyperparameters;
  const shape: SyntheticShape = {
    name: e.base_model, arch: e.architecture, nEmbd: h.n_embd, nLayer: h.n_layer, nHead: h.n_head, nHeadKv: h.n_head_kv, headDim: h.head_dim,
    nFf: h.n_ff, nVocab: h.n_vocab, nCtxTrain: h.n_ctx_train, tied: h.tied_embeddings, ropeTheta: h.rope_freq_base, rmsEps: h.rms_norm_eps,
  };
  return { shape, expected: e };
}

describe("llama.cpp's per-tensor types", () => {
  // every fixture case made by llama-quantize (or the converter) with a type the generator offers
  const cases: [string, SyntheticType][] = [
    ['llama-gqa-f32', 'F32'], ['llama-gqa-f16', 'F16'], ['llama-gqa-q8_0', 'Q8_0'], ['llama-gqa-q4_0', 'Q4_0'],
    ['llama-gqa-q6_k', 'Q6_K'], ['llama-gqa-q4_k_m', 'Q4_K_M'], ['qwen2-f32', 'F32'], ['qwen2-q8_0', 'Q8_0'], ['qwen2-q4_k_m', 'Q4_K_M'],
  ];
  for (const [name, type] of cases) {
    it(`match the llama.cpp fixture ${name}: names, dims and types of every tensor`, () => {
      const { shape, expected } = fixtureShape(name);
      const m = syntheticModel(shape, type);
      const want = new Map<string, [string, number[]]>(expected.tensors.map((t: any) => [t.name, [t.type, t.ne]]));
      const got = new Map(m.tensors.map((t) => [t.name, [t.type.name, [...t.dims]]]));
      expect(got).toEqual(want);
      const ftype = expected.gguf_metadata['general.file_type'];
      if (ftype !== undefined) expect(metaNumber(m.metadata, 'general.file_type')).toBe(ftype);
    });
  }

  const typeOf = (m: ReturnType<typeof syntheticModel>, name: string) => m.tensors.find((t) => t.name === name)!.type.name;

  it('SmolLM2-135M Q4_K_M: rows of 576 fall back (Q4_K → Q5_0, Q6_K → Q8_0); ffn_down rows of 1536 stay K-quants', () => {
    const m = syntheticModel('smollm2-135m', 'Q4_K_M');
    expect(typeOf(m, 'token_embd.weight')).toBe('Q8_0'); // tied output, 576 % 256 ≠ 0
    expect(typeOf(m, 'blk.0.attn_q.weight')).toBe('Q5_0');
    expect(typeOf(m, 'blk.0.attn_v.weight')).toBe('Q8_0'); // use_more_bits(0, 30)
    expect(typeOf(m, 'blk.3.attn_v.weight')).toBe('Q5_0');
    expect(typeOf(m, 'blk.5.attn_v.weight')).toBe('Q8_0'); // (5 − 3) % 3 = 2
    expect(typeOf(m, 'blk.0.ffn_down.weight')).toBe('Q6_K');
    expect(typeOf(m, 'blk.3.ffn_down.weight')).toBe('Q4_K');
    expect(typeOf(m, 'blk.29.ffn_down.weight')).toBe('Q6_K');
    const moreBits = m.tensors.filter((t) => t.name.endsWith('ffn_down.weight') && t.type.name === 'Q6_K').length;
    expect(moreBits).toBe(3 + 4 + 7); // layers 0-2, 26-29, and 5, 8, …, 23
  });

  it('Llama-3.2-1B: Q4_0 puts the tied embedding in Q6_K; Q4_K_M mixes Q4_K and Q6_K; llama3 rope factors', async () => {
    expect(typeOf(syntheticModel('llama-3.2-1b', 'Q4_0'), 'token_embd.weight')).toBe('Q6_K');
    const m = syntheticModel('llama-3.2-1b', 'Q4_K_M');
    expect(typeOf(m, 'token_embd.weight')).toBe('Q6_K');
    expect(typeOf(m, 'blk.0.attn_q.weight')).toBe('Q4_K');
    expect(typeOf(m, 'blk.0.attn_v.weight')).toBe('Q6_K');
    expect(typeOf(m, 'blk.4.attn_v.weight')).toBe('Q6_K'); // (4 − 2) % 3 = 2
    expect(typeOf(m, 'blk.5.attn_v.weight')).toBe('Q4_K');
    const file = await readGguf(m.source());
    const f = file.tensorsByName.get('rope_freqs.weight')!;
    const factors = new Float32Array((await file.source.read(f.offset, f.byteLength)).slice().buffer);
    // high frequencies unscaled, low ones divided by the factor 32, a smooth ramp between
    expect(factors[0]).toBe(1);
    expect(factors[31]).toBe(32);
    expect([...factors].every((v, i) => i === 0 || v >= factors[i - 1])).toBe(true);
  });
});

describe('--pure (llama-quantize --pure)', () => {
  it('the default files are byte for byte what they were before --pure existed', () => {
    // sha-256 of the files the generator wrote before the option was added (commit 34da77e)
    expect(sha(syntheticModel('tiny-qwen2', 'Q4_0', 3).toBytes())).toBe('18303d901797c960bf52c6bce4ea729e46a2d497c1a353ef406bc31a3243d174');
    expect(sha(syntheticModel('tiny', 'Q4_K_M', 3).toBytes())).toBe('1f5b26e8e52fc0421a44b8b96677b84b7ecf3b567f291a2c21f31675001d264d');
    expect(sha(syntheticModel('tiny-qwen2', 'Q8_0', 3).toBytes())).toBe('6efb8faea47e96e20d804b19855719bcec5340ab721e26ecf45a8222b3c2788d');
  });

  it('puts every matrix, the tied output too, in the base type; 1-D tensors stay F32; the file loads and runs', async () => {
    for (const [shape, type, base] of [['tiny-qwen2', 'Q4_0', 'Q4_0'], ['qwen2.5-0.5b', 'Q4_0', 'Q4_0'], ['tiny', 'Q4_K_M', 'Q4_K'], ['llama-3.2-1b', 'Q6_K', 'Q6_K']] as const) {
      const m = syntheticModel(shape, type, 0, { pure: true });
      expect(m.pure).toBe(true);
      for (const t of m.tensors) expect(t.type.name, `${shape} ${t.name}`).toBe(t.dims.length === 1 ? 'F32' : base);
      expect(metaString(m.metadata, 'general.name')).toBe(`synthetic-${shape}-${type.toLowerCase()}-pure-seed0`);
    }
    // the default Q4_0 differs exactly where llama.cpp's mixture does: the (tied) output matrix
    const mixed = syntheticModel('tiny-qwen2', 'Q4_0', 7);
    const pure = syntheticModel('tiny-qwen2', 'Q4_0', 7, { pure: true });
    expect(pure.tensors.filter((t, i) => t.type.name !== mixed.tensors[i].type.name).map((t) => t.name)).toEqual(['token_embd.weight']);
    const file = await readBack(pure.toBytes());
    expectSameTensors(file, pure);
    const session = new Session(await Model.load(file, new CpuBackend()), { nCtx: 16 });
    const logits = await session.appendAll([1, 300, 301]);
    expect(logits.every(Number.isFinite)).toBe(true);
  });

  it('refuses a matrix whose rows are not a multiple of the type\'s block (no fallback)', () => {
    expect(() => syntheticModel('qwen2.5-0.5b', 'Q4_K_M', 0, { pure: true })).toThrow(/a pure Q4_K_M file cannot hold token_embd\.weight: its rows of 896 are not a multiple of the Q4_K block of 256/);
    expect(() => syntheticModel('tiny-qwen2', 'Q6_K', 0, { pure: true })).toThrow(/rows of 192/);
  });
});

describe('the real shapes, through the header only', () => {
  const expectParams: Record<string, number> = { 'smollm2-135m': 134_515_008, 'qwen2.5-0.5b': 494_032_768, 'llama-3.2-1b': 1_235_814_432 };

  it('SmolLM2-135M Q8_0: what `cria inspect` reports, and the expected tensor list', async () => {
    const m = syntheticModel('smollm2-135m', 'Q8_0', 0);
    const file = await readGguf(m.source()); // reads the header; no tensor data is generated
    const s = summarize(file);
    expect(s.architecture).toBe('llama');
    expect(s.parameters).toBe(134_515_008); // "135M"
    expect(s.context_length).toBe(8192);
    expect(s.tokenizer).toEqual({ model: 'llama', pre: null, vocab_size: 49152 });
    expect(s.tensor_count).toBe(2 + 30 * 9);
    expect(Object.keys(s.tensor_types).sort()).toEqual(['F32', 'Q8_0']);
    expect(s.tensor_types.F32).toBe((2 * 30 + 1) * 576 * 4);
    expect(s.file_size).toBe(m.fileSize);

    const want = [['token_embd.weight', 576, 49152]];
    for (let i = 0; i < 30; i++) {
      want.push(
        [`blk.${i}.attn_norm.weight`, 576], [`blk.${i}.attn_q.weight`, 576, 576], [`blk.${i}.attn_k.weight`, 576, 192], [`blk.${i}.attn_v.weight`, 576, 192],
        [`blk.${i}.attn_output.weight`, 576, 576], [`blk.${i}.ffn_norm.weight`, 576], [`blk.${i}.ffn_gate.weight`, 576, 1536],
        [`blk.${i}.ffn_up.weight`, 576, 1536], [`blk.${i}.ffn_down.weight`, 1536, 576],
      );
    }
    want.push(['output_norm.weight', 576]);
    expect(file.tensors.map((t) => [t.name, ...t.dims])).toEqual(want);
    // and it is exactly what the llama architecture asks for
    expect(planModel(file).tensors.length).toBe(file.tensors.length);
  });

  for (const name of ['qwen2.5-0.5b', 'llama-3.2-1b']) {
    it(`${name}: parameters, every tensor the architecture needs, nothing else`, async () => {
      const m = syntheticModel(name, 'Q4_K_M', 0);
      const file = await readGguf(m.source());
      expect(summarize(file).parameters).toBe(expectParams[name]);
      const plan = planModel(file);
      expect(plan.tensors.length).toBe(file.tensors.length);
      expect(plan.config.nVocab).toBe(SYNTHETIC_SHAPES[name].nVocab);
    });
  }
});

describe('cria make-bench-model', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const cria = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(root, 'bin/cria.js'), ...args], { cwd: root }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });

  it('writes the file, prints its summary, and `cria inspect` agrees', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cria-bench-')), 'tiny.gguf');
    const r = await cria(['make-bench-model', '--shape', 'tiny', '--type', 'q4_k_m', '--out', out, '--seed', '5']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    const m = syntheticModel('tiny', 'Q4_K_M', 5);
    expect(j).toEqual({ shape: 'tiny', type: 'q4_k_m', seed: 5, bytes: m.fileSize, parameters: m.parameters, tensor_types: m.tensorTypes, out });
    expect(sha(readFileSync(out))).toBe(sha(m.toBytes()));
    const i = await cria(['inspect', out]);
    expect(i.code, i.stderr).toBe(0);
    expect(JSON.parse(i.stdout)).toMatchObject({ architecture: 'llama', parameters: m.parameters, tensor_types: m.tensorTypes, file_size: m.fileSize });
  });

  it('--pure: the summary says so and the file holds only the base type', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cria-bench-')), 'pure.gguf');
    const r = await cria(['make-bench-model', '--shape', 'tiny-qwen2', '--type', 'q4_0', '--pure', '--out', out, '--seed', '5']);
    expect(r.code, r.stderr).toBe(0);
    const m = syntheticModel('tiny-qwen2', 'Q4_0', 5, { pure: true });
    expect(JSON.parse(r.stdout)).toEqual({ shape: 'tiny-qwen2', type: 'q4_0', seed: 5, pure: true, bytes: m.fileSize, parameters: m.parameters, tensor_types: m.tensorTypes, out });
    expect(Object.keys(m.tensorTypes).sort()).toEqual(['F32', 'Q4_0']);
    expect(sha(readFileSync(out))).toBe(sha(m.toBytes()));
    const bad = await cria(['make-bench-model', '--shape', 'qwen2.5-0.5b', '--type', 'q4_k_m', '--pure', '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a multiple of the Q4_K block of 256/);
  });

  it('refuses an unknown shape or type with the known ones', async () => {
    const r = await cria(['make-bench-model', '--shape', 'gpt-5', '--type', 'q4_0', '--out', '/tmp/never.gguf']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown synthetic shape "gpt-5"; known: smollm2-135m/);
    const t = await cria(['make-bench-model', '--shape', 'tiny', '--type', 'q3_k', '--out', '/tmp/never.gguf']);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/unknown type "q3_k"; choose one of f32, f16, q8_0/);
  });
});
