/**
 * Synthetic models: random-weight GGUF files shaped exactly like real ones
 * (same architecture, hyperparameters, tensor names, dims and llama.cpp
 * per-tensor quantization mix), for benchmarks and structural tests. Speed
 * and memory do not depend on weight values, so these stand in for the real
 * downloads. Pure TypeScript: runs in Node (`cria make-bench-model`) and in
 * the browser (test/gpu/cost.spec.ts builds one in memory).
 *
 *   const m = syntheticModel('smollm2-135m', 'Q8_0', 1);
 *   for (const part of m.parts()) write(part);     // streamed: one tensor at a time
 *   const file = await readGguf(m.source());        // or random access, nothing materialized
 *
 * Shapes (SYNTHETIC_SHAPES) follow the models' Hugging Face config.json, checked
 * against public copies: HuggingFaceTB/SmolLM2-135M (hidden 576, 30 layers, 9/3
 * heads, ffn 1536, vocab 49152, rope_theta 1e5, eps 1e-5, 8192 positions, tied;
 * some third-party summaries say rope_theta 1e4 or 2048 positions: those describe
 * other SmolLM checkpoints); Qwen/Qwen2.5-0.5B (896, 24 layers, 14/2 heads, ffn
 * 4864, vocab 151936, q/k/v bias, rope_theta 1e6, eps 1e-6, 32768 positions,
 * tied); meta-llama/Llama-3.2-1B (2048, 16 layers, 32/8 heads, head 64, ffn 8192,
 * vocab 128256, rope_theta 5e5, llama3 rope scaling factor 32 / low 1 / high 4 /
 * original 8192, eps 1e-5, 131072 positions, tied). Tensor names and dims are
 * those llama.cpp's converter writes (the same the architectures in ./arch/ read),
 * including `rope_freqs.weight` for llama3 scaling.
 *
 * Types are llama.cpp file types (`llama-quantize` ftypes without an imatrix),
 * reproducing its per-tensor choices (llama_tensor_get_type in src/llama-quant.cpp;
 * checked against the llama.cpp-made fixtures in test/unit/synthetic.test.ts):
 * - 1-D tensors (norms, biases, rope factors) stay F32 in every type;
 * - F32 / F16: every matrix in that type;
 * - Q8_0, Q4_0, Q6_K: every matrix in that type, except the output matrix
 *   (`output.weight`, or `token_embd.weight` when the embeddings are tied), which
 *   becomes Q6_K (Q8_0 stays Q8_0), or Q8_0 when its rows are not a multiple of 256;
 * - Q4_K_M: Q4_K, with Q6_K for the output matrix (as above) and for `attn_v` and
 *   `ffn_down` of the layers where use_more_bits(i, n) holds: i < n/8, i ≥ 7n/8,
 *   or (i − n/8) mod 3 = 2 (integer division);
 * - then llama.cpp's fallback for rows that are not a multiple of the block size
 *   (256 for K-quants): Q4_K → Q5_0, Q6_K → Q8_0. SmolLM2 (576) and Qwen2.5-0.5B
 *   (896) have such rows, so their Q4_K_M files are mostly Q5_0 and Q8_0, as the
 *   published GGUFs are.
 * `pure` (llama-quantize --pure): every matrix, the output one included, in the
 * type's base type (Q4_K for Q4_K_M), with no mixture and no fallback; a matrix
 * whose rows are not a multiple of that type's block is refused. `cria export mlc`
 * needs it: q4f32_1 holds Q4_0 exactly, and only Q4_0.
 *
 * Weights: every matrix N(0, 1/row_length), norm weights 1 + N(0, 0.1²), biases
 * N(0, 0.1²), rope factors the llama3 formula. With them, activations stay O(1)
 * through the layers and logits are finite with std ≈ 1. Generating is fast
 * because the slow reference quantizers (Q4_K: ~1.5 M values/s) never see a
 * whole tensor: per (type, row length) a pool of 2^17 random values is quantized
 * once, and each tensor is filled with runs of whole blocks (~2 KiB each) copied
 * from random block offsets of its pool. Blocks are self-contained (each has its
 * own scales), so every byte is a valid encoding of values of the intended
 * magnitude; rows are not statistically independent, which costs nothing for
 * speed and structure tests. Everything derives from (seed, tensor name) through
 * the seeded Rng: the same seed gives the same bytes, in any read order.
 */
import { CriaError } from '../shared/errors.ts';
import { Rng } from '../shared/rng.ts';
import { GgmlType, ggmlByteSize, ggmlTypeInfo, type GgmlTypeInfo, type GgmlTypeName } from '../formats/ggml-types.ts';
import type { GgufValue } from '../formats/gguf.ts';
import { encodeGguf, gv } from '../formats/gguf-writer.ts';
import { quantize } from '../formats/quant.ts';
import type { ByteSource } from '../formats/source.ts';
import type { DecoderDims } from '../formats/decoder-dims.ts';

export interface SyntheticShape extends DecoderDims {
  readonly name: string;
  /** `general.architecture`; qwen2 adds q/k/v biases and NeoX RoPE */
  readonly arch: 'llama' | 'qwen2';
  readonly nCtxTrain: number;
  readonly ropeTheta: number;
  readonly rmsEps: number;
  /** llama3 frequency scaling, written as `rope_freqs.weight` like llama.cpp's converter does */
  readonly ropeScaling?: { readonly factor: number; readonly lowFreqFactor: number; readonly highFreqFactor: number; readonly originalContext: number };
}

export const SYNTHETIC_SHAPES: Readonly<Record<string, SyntheticShape>> = {
  'smollm2-135m': {
    name: 'smollm2-135m', arch: 'llama', nEmbd: 576, nLayer: 30, nHead: 9, nHeadKv: 3, headDim: 64, nFf: 1536,
    nVocab: 49152, nCtxTrain: 8192, tied: true, ropeTheta: 100000, rmsEps: 1e-5,
  },
  'qwen2.5-0.5b': {
    name: 'qwen2.5-0.5b', arch: 'qwen2', nEmbd: 896, nLayer: 24, nHead: 14, nHeadKv: 2, headDim: 64, nFf: 4864,
    nVocab: 151936, nCtxTrain: 32768, tied: true, ropeTheta: 1000000, rmsEps: 1e-6,
  },
  'llama-3.2-1b': {
    name: 'llama-3.2-1b', arch: 'llama', nEmbd: 2048, nLayer: 16, nHead: 32, nHeadKv: 8, headDim: 64, nFf: 8192,
    nVocab: 128256, nCtxTrain: 131072, tied: true, ropeTheta: 500000, rmsEps: 1e-5,
    ropeScaling: { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 },
  },
  /** tests: K-quant-friendly rows, untied output, llama3 rope factors (CPU reference in milliseconds) */
  tiny: {
    name: 'tiny', arch: 'llama', nEmbd: 256, nLayer: 2, nHead: 4, nHeadKv: 2, headDim: 64, nFf: 512,
    nVocab: 512, nCtxTrain: 256, tied: false, ropeTheta: 10000, rmsEps: 1e-5,
    ropeScaling: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 128 },
  },
  /** tests: rows that are not multiples of 256 (llama.cpp's K-quant fallbacks), biases, tied */
  'tiny-qwen2': {
    name: 'tiny-qwen2', arch: 'qwen2', nEmbd: 192, nLayer: 2, nHead: 3, nHeadKv: 1, headDim: 64, nFf: 384,
    nVocab: 320, nCtxTrain: 256, tied: true, ropeTheta: 1000000, rmsEps: 1e-6,
  },
};

/** llama.cpp file types this generator reproduces. */
export const SYNTHETIC_TYPES = ['F32', 'F16', 'Q8_0', 'Q4_0', 'Q6_K', 'Q4_K_M'] as const;
export type SyntheticType = (typeof SYNTHETIC_TYPES)[number];

/** `general.file_type` (llama_ftype) of each type. */
const FILE_TYPE: Record<SyntheticType, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7, Q4_K_M: 15, Q6_K: 18 };
/** the type most matrices get */
const BASE_TYPE: Record<SyntheticType, GgmlTypeName> = { F32: 'F32', F16: 'F16', Q4_0: 'Q4_0', Q8_0: 'Q8_0', Q4_K_M: 'Q4_K', Q6_K: 'Q6_K' };
/** llama.cpp's replacement when rows are not a multiple of the block size (convert_incompatible_tensor) */
const FALLBACK: Partial<Record<GgmlTypeName, GgmlTypeName>> = { Q4_K: 'Q5_0', Q6_K: 'Q8_0' };

export interface SyntheticTensor {
  readonly name: string;
  readonly type: GgmlTypeInfo;
  /** ggml order: dims[0] is the row length */
  readonly dims: readonly number[];
  readonly nElements: number;
  readonly byteLength: number;
}

export interface SyntheticModel {
  readonly shape: SyntheticShape;
  readonly type: SyntheticType;
  readonly seed: number;
  /** every matrix in the base type (llama-quantize --pure) */
  readonly pure: boolean;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  /** in file order */
  readonly tensors: readonly SyntheticTensor[];
  readonly parameters: number;
  /** bytes of tensor data (without header and padding) */
  readonly tensorBytes: number;
  /** tensor bytes per ggml type, as `cria inspect` reports them */
  readonly tensorTypes: Readonly<Record<string, number>>;
  /** size of the whole GGUF file */
  readonly fileSize: number;
  /** The file's bytes in order; each tensor's data is generated when its part is reached (hold on to none of them). */
  parts(): Generator<Uint8Array>;
  /** Random access to the file without materializing it; each tensor read is generated on demand. */
  source(name?: string): ByteSource;
  /** The whole file in one buffer (small models, or where a bytes source is wanted). */
  toBytes(): Uint8Array;
}

const info = (name: GgmlTypeName): GgmlTypeInfo => ggmlTypeInfo(GgmlType[name])!;

/** llama.cpp's use_more_bits (int arithmetic). */
function useMoreBits(i: number, n: number): boolean {
  const n8 = Math.trunc(n / 8);
  return i < n8 || i >= Math.trunc((7 * n) / 8) || (i - n8) % 3 === 2;
}

/** The type llama.cpp gives a tensor of this file type (see the header comment). */
export function syntheticTensorType(type: SyntheticType, name: string, dims: readonly number[], shape: Pick<SyntheticShape, 'nLayer' | 'tied'>, pure = false): GgmlTypeInfo {
  if (dims.length === 1) return info('F32');
  let t = BASE_TYPE[type];
  if (pure) {
    const bs = info(t).blockSize;
    if (dims[0] % bs !== 0) {
      throw new CriaError('bad-argument', `a pure ${type} file cannot hold ${name}: its rows of ${dims[0]} are not a multiple of the ${t} block of ${bs} (llama-quantize would fall back to another type); choose another type or drop --pure`, { tensor: name, type: t });
    }
    return info(t);
  }
  if (type === 'F32' || type === 'F16') return info(t);
  const isOutput = name === 'output.weight' || (shape.tied && name === 'token_embd.weight');
  const layer = /^blk\.(\d+)\./.exec(name);
  if (isOutput) {
    if (dims[0] % 256 !== 0) t = 'Q8_0';
    else if (t !== 'Q8_0') t = 'Q6_K';
  } else if (type === 'Q4_K_M' && layer && /\.(attn_v|ffn_down)\.weight$/.test(name) && useMoreBits(Number(layer[1]), shape.nLayer)) {
    t = 'Q6_K';
  }
  if (dims[0] % info(t).blockSize !== 0) {
    const f = FALLBACK[t];
    if (!f) throw new CriaError('internal', `no fallback for ${t} rows of ${dims[0]}`);
    t = f;
  }
  return info(t);
}

/** Tensor names and dims in the order llama.cpp's converter writes them. */
function tensorList(s: SyntheticShape): { name: string; dims: number[] }[] {
  const q = s.nHead * s.headDim;
  const kv = s.nHeadKv * s.headDim;
  const out: { name: string; dims: number[] }[] = [{ name: 'token_embd.weight', dims: [s.nEmbd, s.nVocab] }];
  if (s.ropeScaling) out.push({ name: 'rope_freqs.weight', dims: [s.headDim / 2] });
  for (let il = 0; il < s.nLayer; il++) {
    const b = (n: string, dims: number[]) => out.push({ name: `blk.${il}.${n}`, dims });
    b('attn_norm.weight', [s.nEmbd]);
    b('attn_q.weight', [s.nEmbd, q]);
    if (s.arch === 'qwen2') b('attn_q.bias', [q]);
    b('attn_k.weight', [s.nEmbd, kv]);
    if (s.arch === 'qwen2') b('attn_k.bias', [kv]);
    b('attn_v.weight', [s.nEmbd, kv]);
    if (s.arch === 'qwen2') b('attn_v.bias', [kv]);
    b('attn_output.weight', [q, s.nEmbd]);
    b('ffn_norm.weight', [s.nEmbd]);
    b('ffn_gate.weight', [s.nEmbd, s.nFf]);
    b('ffn_up.weight', [s.nEmbd, s.nFf]);
    b('ffn_down.weight', [s.nFf, s.nEmbd]);
  }
  out.push({ name: 'output_norm.weight', dims: [s.nEmbd] });
  if (!s.tied) out.push({ name: 'output.weight', dims: [s.nEmbd, s.nVocab] });
  return out;
}

/** llama3 rope frequency divisors, as llama.cpp's convert_hf_to_gguf.py computes them. */
function llama3RopeFactors(s: SyntheticShape): Float32Array {
  const r = s.ropeScaling!;
  const dim = s.headDim;
  const lowWavelen = r.originalContext / r.lowFreqFactor;
  const highWavelen = r.originalContext / r.highFreqFactor;
  const out = new Float32Array(dim / 2);
  for (let j = 0; j < dim / 2; j++) {
    const freq = 1 / Math.pow(s.ropeTheta, (2 * j) / dim);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) out[j] = 1;
    else if (wavelen > lowWavelen) out[j] = r.factor;
    else {
      const smooth = (r.originalContext / wavelen - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor);
      out[j] = 1 / ((1 - smooth) / r.factor + smooth);
    }
  }
  return out;
}

/** `<unk>`, `<s>`, `</s>`, 256 byte tokens, then made-up ▁pieces with descending scores (SentencePiece layout). */
export function vocabMetadata(nVocab: number): [string, GgufValue][] {
  if (nVocab < 3 + 256 + 1) throw new CriaError('bad-argument', `a synthetic vocabulary needs at least 260 tokens, got ${nVocab}`);
  const tokens: string[] = ['<unk>', '<s>', '</s>'];
  const types = new Int32Array(nVocab);
  const scores = new Float32Array(nVocab);
  types.set([2, 3, 3]); // UNKNOWN, CONTROL, CONTROL
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types[3 + b] = 6; // BYTE
  }
  for (let k = 0; tokens.length < nVocab; k++) {
    // bijective base 26 (a..z, aa..zz, …): every piece is distinct
    let s = '';
    for (let n = k + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(97 + ((n - 1) % 26)) + s;
    types[tokens.length] = 1; // NORMAL
    scores[tokens.length] = -(k + 1);
    tokens.push(`▁${s}`);
  }
  return [
    ['tokenizer.ggml.model', gv.str('llama')],
    ['tokenizer.ggml.tokens', gv.strs(tokens)],
    ['tokenizer.ggml.scores', gv.f32s(scores)],
    ['tokenizer.ggml.token_type', gv.i32s(types)],
    ['tokenizer.ggml.bos_token_id', gv.u32(1)],
    ['tokenizer.ggml.eos_token_id', gv.u32(2)],
    ['tokenizer.ggml.unknown_token_id', gv.u32(0)],
    ['tokenizer.ggml.add_bos_token', gv.bool(true)],
    ['tokenizer.ggml.add_eos_token', gv.bool(false)],
  ];
}

function modelMetadata(s: SyntheticShape, type: SyntheticType, seed: number, pure: boolean): Map<string, GgufValue> {
  const a = (k: string) => `${s.arch}.${k}`;
  const m: [string, GgufValue][] = [
    ['general.architecture', gv.str(s.arch)],
    ['general.name', gv.str(`synthetic-${s.name}-${type.toLowerCase()}${pure ? '-pure' : ''}-seed${seed}`)],
    ['general.description', gv.str(`random weights shaped like ${s.name} (Cria synthetic model, seed ${seed}); for benchmarks and structural tests, not a trained model`)],
    ['general.file_type', gv.u32(FILE_TYPE[type])],
    [a('context_length'), gv.u32(s.nCtxTrain)],
    [a('embedding_length'), gv.u32(s.nEmbd)],
    [a('block_count'), gv.u32(s.nLayer)],
    [a('feed_forward_length'), gv.u32(s.nFf)],
    [a('attention.head_count'), gv.u32(s.nHead)],
    [a('attention.head_count_kv'), gv.u32(s.nHeadKv)],
    [a('attention.key_length'), gv.u32(s.headDim)],
    [a('attention.value_length'), gv.u32(s.headDim)],
    [a('attention.layer_norm_rms_epsilon'), gv.f32(s.rmsEps)],
    [a('rope.freq_base'), gv.f32(s.ropeTheta)],
    [a('rope.dimension_count'), gv.u32(s.headDim)],
  ];
  if (s.arch === 'llama') m.push([a('vocab_size'), gv.u32(s.nVocab)]);
  if (type !== 'F32' && type !== 'F16') m.push(['general.quantization_version', gv.u32(2)]);
  m.push(...vocabMetadata(s.nVocab));
  return new Map(m);
}

/** FNV-1a of a string: a 32-bit seed per (model seed, name). */
function hashSeed(seed: number, what: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  h = Math.imul(h, 0x01000193) >>> 0;
  for (let i = 0; i < what.length; i++) h = Math.imul(h ^ what.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** values quantized once per (type, row length) */
const POOL_VALUES = 1 << 17;
/** bytes copied per random pick */
const RUN_BYTES = 2048;

function normals(rng: Rng, n: number, mean: number, std: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = mean + std * rng.normal();
  return x;
}

/** A model description; tensor data is generated lazily by `parts()`, `source()` or `toBytes()`. */
export function syntheticModel(shapeOrName: string | SyntheticShape, type: SyntheticType, seed = 0, opts: { pure?: boolean } = {}): SyntheticModel {
  const pure = opts.pure ?? false;
  const shape = typeof shapeOrName === 'string' ? SYNTHETIC_SHAPES[shapeOrName] : shapeOrName;
  if (!shape) {
    throw new CriaError('bad-argument', `unknown synthetic shape "${String(shapeOrName)}"; known: ${Object.keys(SYNTHETIC_SHAPES).join(', ')}`);
  }
  if (!SYNTHETIC_TYPES.includes(type)) throw new CriaError('bad-argument', `unknown synthetic type "${type}"; known: ${SYNTHETIC_TYPES.join(', ')}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new CriaError('bad-argument', `seed must be an integer in 0..2^32-1, got ${seed}`);

  const tensors: SyntheticTensor[] = tensorList(shape).map(({ name, dims }) => {
    const t = syntheticTensorType(type, name, dims, shape, pure);
    const nElements = dims.reduce((x, y) => x * y, 1);
    return { name, type: t, dims, nElements, byteLength: ggmlByteSize(t, nElements) };
  });
  const metadata = modelMetadata(shape, type, seed, pure);
  const tensorTypes: Record<string, number> = {};
  for (const t of tensors) tensorTypes[t.type.name] = (tensorTypes[t.type.name] ?? 0) + t.byteLength;

  // The header comes from the project's GGUF writer, given stand-ins that have
  // only the data length (all it reads); the stand-ins mark where each tensor's
  // bytes go in the part list, so the layout has one source of truth.
  const standIns = tensors.map((t) => ({ byteLength: t.byteLength }) as unknown as Uint8Array);
  const layout = encodeGguf({ metadata, tensors: tensors.map((t, i) => ({ name: t.name, type: t.type, dims: t.dims, data: standIns[i] })) });
  const slots: (Uint8Array | number)[] = layout.map((p) => {
    const i = standIns.indexOf(p);
    return i >= 0 ? i : p;
  });
  if (slots.filter((s) => typeof s === 'number').length !== tensors.length) throw new CriaError('internal', 'GGUF writer did not place every tensor once');
  const fileSize = layout.reduce((n, p) => n + p.byteLength, 0);

  const pools = new Map<string, Uint8Array>();
  const pool = (t: GgmlTypeInfo, rowLength: number): Uint8Array => {
    const key = `${t.name}|${rowLength}`;
    let p = pools.get(key);
    if (!p) {
      const rng = new Rng(hashSeed(seed, `pool:${key}`));
      pools.set(key, (p = quantize(t, normals(rng, POOL_VALUES, 0, 1 / Math.sqrt(rowLength)))));
    }
    return p;
  };

  const tensorData = (i: number): Uint8Array => {
    const t = tensors[i];
    const rng = new Rng(hashSeed(seed, t.name));
    if (t.dims.length === 1) {
      let v: Float32Array;
      if (t.name === 'rope_freqs.weight') v = llama3RopeFactors(shape);
      else if (t.name.endsWith('.bias')) v = normals(rng, t.nElements, 0, 0.1);
      else v = normals(rng, t.nElements, 1, 0.1); // norm weights
      return quantize(t.type, v);
    }
    const src = pool(t.type, t.dims[0]);
    const out = new Uint8Array(t.byteLength);
    const blockBytes = t.type.typeSize;
    const poolBlocks = src.byteLength / blockBytes;
    const run = Math.max(1, Math.min(poolBlocks >> 2, Math.floor(RUN_BYTES / blockBytes)));
    for (let o = 0; o < out.byteLength; o += run * blockBytes) {
      const n = Math.min(run * blockBytes, out.byteLength - o);
      const from = (rng.nextU32() % (poolBlocks - run + 1)) * blockBytes;
      out.set(src.subarray(from, from + n), o);
    }
    return out;
  };

  function* parts(): Generator<Uint8Array> {
    for (const s of slots) yield typeof s === 'number' ? tensorData(s) : s;
  }

  const source = (name = `${shape.name}-${type.toLowerCase()}${pure ? '-pure' : ''}.gguf`): ByteSource => {
    const segs: { start: number; slot: Uint8Array | number; length: number }[] = [];
    let at = 0;
    for (let i = 0; i < slots.length; i++) {
      segs.push({ start: at, slot: slots[i], length: layout[i].byteLength });
      at += layout[i].byteLength;
    }
    // Model.load reads tensor after tensor: keep the last generated one
    let cached: { i: number; data: Uint8Array } | undefined;
    const bytesOf = (slot: Uint8Array | number) => {
      if (typeof slot !== 'number') return slot;
      if (cached?.i !== slot) cached = { i: slot, data: tensorData(slot) };
      return cached.data;
    };
    return {
      name,
      size: fileSize,
      async read(offset, length) {
        if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > fileSize) {
          throw new CriaError('bad-file', `${name}: bytes ${offset}..${offset + length} are outside the ${fileSize}-byte file`);
        }
        // first segment ending after offset (binary search)
        let lo = 0;
        let hi = segs.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (segs[mid].start + segs[mid].length <= offset) lo = mid + 1;
          else hi = mid;
        }
        const first = segs[lo];
        if (offset + length <= first.start + first.length) {
          return bytesOf(first.slot).subarray(offset - first.start, offset - first.start + length);
        }
        const out = new Uint8Array(length);
        for (let k = lo, done = 0; done < length; k++) {
          const s = segs[k];
          const from = offset + done - s.start;
          const n = Math.min(s.length - from, length - done);
          if (n > 0) out.set(bytesOf(s.slot).subarray(from, from + n), done);
          done += Math.max(n, 0);
        }
        return out;
      },
    };
  };

  const toBytes = (): Uint8Array => {
    const out = new Uint8Array(fileSize);
    let o = 0;
    for (const p of parts()) {
      out.set(p, o);
      o += p.byteLength;
    }
    return out;
  };

  return {
    shape,
    type,
    seed,
    pure,
    metadata,
    tensors,
    parameters: tensors.reduce((n, t) => n + t.nElements, 0),
    tensorBytes: tensors.reduce((n, t) => n + t.byteLength, 0),
    tensorTypes,
    fileSize,
    parts,
    source,
    toBytes,
  };
}

/** Parse a type as users write it (`q4_k_m`, `Q8_0`, `f16`). */
export function parseSyntheticType(s: string): SyntheticType {
  const t = s.toUpperCase() as SyntheticType;
  if (!SYNTHETIC_TYPES.includes(t)) throw new CriaError('bad-argument', `unknown type "${s}"; choose one of ${SYNTHETIC_TYPES.map((x) => x.toLowerCase()).join(', ')}`);
  return t;
}
