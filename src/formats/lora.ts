/**
 * llama.cpp's LoRA adapters as GGUF files (src/llama-adapter.cpp; written by its
 * convert_lora_to_gguf.py): metadata `general.type = "adapter"`, `adapter.type = "lora"`,
 * `adapter.lora.alpha` (f32; 0 or absent: no alpha), `general.architecture` the base model's; and,
 * for each adapted weight `W` of the base model (`blk.0.attn_q.weight`, ggml dims [in, out]), two
 * tensors:
 *
 *   W.lora_a   dims [in, r]    (A: r rows of length in)
 *   W.lora_b   dims [r, out]   (B: out rows of length r)
 *
 * and the forward pass computes y = W·x + s·B·(A·x) with s = scale · alpha / r (scale: the user's,
 * per adapter; alpha = 0: s = scale), the sum over every active adapter. This module reads and
 * checks such a file against a base model (the checks llama.cpp makes, with Cria's error codes),
 * and writes one (`encodeLoraAdapter`: Cria's own adapters and test adapters).
 *
 * Refused, naming the tensor: an adapter on the token embedding (llama.cpp applies it to looked-up
 * rows, a different product; not supported yet), on a tensor the base model does not have or of
 * another shape (the wrong base model), a lone A or B, A and B whose ranks differ, and values that
 * are not finite.
 */
import { CriaError } from '../shared/errors.ts';
import { GgmlType, ggmlTypeInfo } from './ggml-types.ts';
import { readTensorBytes, type GgufFile, type GgufTensorInfo } from './gguf.ts';
import { hasKey, metaNumber, metaString } from './gguf-meta.ts';
import { encodeGguf, gv } from './gguf-writer.ts';
import { dequantize, findNonFinite, isDequantizable } from './quant.ts';

export interface LoraPair {
  /** the base model's tensor the pair adapts */
  readonly target: string;
  readonly a: GgufTensorInfo;
  readonly b: GgufTensorInfo;
  readonly rank: number;
  /** the base weight's row length (x's width) */
  readonly inDim: number;
  /** the base weight's rows (y's width) */
  readonly outDim: number;
}

export interface LoraAdapter {
  readonly file: GgufFile;
  readonly arch: string;
  /** adapter.lora.alpha (0: none) */
  readonly alpha: number;
  readonly name?: string;
  /** by target tensor name, in file order */
  readonly pairs: ReadonlyMap<string, LoraPair>;
}

/** What an adapter is checked against: the base model's architecture and its tensors' dims. */
export interface LoraBase {
  readonly arch: string;
  readonly tensors: ReadonlyMap<string, { readonly dims: readonly number[] }>;
}

const matrixDims = (dims: readonly number[]) => {
  const d = [...dims];
  while (d.length > 2 && d[d.length - 1] === 1) d.pop();
  return d.length === 2 ? d : d.length === 1 ? [d[0]!, 1] : undefined;
};

/** Reads the adapter's metadata and pairs its tensors; checks them against `base` (the model it is for). */
export function readLoraAdapter(file: GgufFile, base: LoraBase, label = 'the adapter'): LoraAdapter {
  const type = hasKey(file, 'general.type') ? metaString(file, 'general.type') : '(none)';
  if (type !== 'adapter') {
    throw new CriaError('bad-file', `${label} is not a LoRA adapter: its general.type is "${type}", not "adapter" (a model file? load it as a model)`, { got: type });
  }
  const adapterType = hasKey(file, 'adapter.type') ? metaString(file, 'adapter.type') : '(none)';
  if (adapterType !== 'lora') {
    throw new CriaError('not-implemented', `${label} is a "${adapterType}" adapter; Cria applies LoRA adapters (adapter.type "lora") only`, { got: adapterType });
  }
  const arch = hasKey(file, 'general.architecture') ? metaString(file, 'general.architecture') : '(none)';
  if (arch !== base.arch) {
    throw new CriaError('bad-argument', `${label} is for a ${arch} model, and the model loaded is ${base.arch}: load the base model the adapter was made for`, { adapter: arch, model: base.arch });
  }
  const alpha = hasKey(file, 'adapter.lora.alpha') ? metaNumber(file, 'adapter.lora.alpha') : 0;
  if (!Number.isFinite(alpha)) throw new CriaError('bad-file', `${label}: adapter.lora.alpha is ${alpha}, not a finite number`);
  if (hasKey(file, 'adapter.alora.invocation_tokens')) {
    throw new CriaError('not-implemented', `${label} is an activated LoRA (adapter.alora.invocation_tokens), which Cria does not apply yet`);
  }

  const halves = new Map<string, { a?: GgufTensorInfo; b?: GgufTensorInfo }>();
  for (const t of file.tensors) {
    const m = /^(.*)\.lora_([ab])$/.exec(t.name);
    if (!m) throw new CriaError('bad-file', `${label} holds tensor ${t.name}, which is neither a .lora_a nor a .lora_b`, { tensor: t.name });
    const h = halves.get(m[1]!) ?? {};
    h[m[2] as 'a' | 'b'] = t;
    halves.set(m[1]!, h);
  }
  if (halves.size === 0) throw new CriaError('bad-file', `${label} holds no LoRA tensors`);
  const pairs = new Map<string, LoraPair>();
  for (const [target, { a, b }] of halves) {
    if (!a || !b) throw new CriaError('bad-file', `${label} has ${target}.lora_${a ? 'a' : 'b'} without its ${target}.lora_${a ? 'b' : 'a'}`, { tensor: target });
    if (target === 'token_embd.weight') {
      throw new CriaError('not-implemented', `${label} adapts the token embedding (token_embd.weight), which Cria does not apply yet; adapters on the attention and feed-forward weights and the output are`, { tensor: target });
    }
    for (const t of [a, b]) {
      if (!isDequantizable(t.type)) throw new CriaError('unsupported-type', `${label}: ${t.name} is ${t.type.name}, which Cria cannot read`, { tensor: t.name, type: t.type.name });
    }
    const w = base.tensors.get(target);
    if (!w) throw new CriaError('bad-argument', `${label} adapts ${target}, which the model loaded does not have: load the base model the adapter was made for`, { tensor: target });
    const wd = matrixDims(w.dims);
    const ad = matrixDims(a.dims);
    const bd = matrixDims(b.dims);
    if (!wd || !ad || !bd) throw new CriaError('bad-file', `${label}: ${target} and its LoRA tensors must be matrices`, { tensor: target });
    if (ad[0] !== wd[0] || bd[1] !== wd[1]) {
      throw new CriaError(
        'bad-argument',
        `${label}: ${target} is [${wd.join(', ')}] in the model loaded, and its LoRA tensors are A [${ad.join(', ')}] and B [${bd.join(', ')}] (A must be [${wd[0]}, r], B [r, ${wd[1]}]): the adapter is for another base model`,
        { tensor: target },
      );
    }
    if (ad[1] !== bd[0]) throw new CriaError('bad-file', `${label}: ${target}'s A has rank ${ad[1]} and its B rank ${bd[0]} (A is [in, r], B is [r, out]; an adapter from llama.cpp's old "finetune" is not transposed this way)`, { tensor: target });
    pairs.set(target, { target, a, b, rank: ad[1]!, inDim: wd[0]!, outDim: wd[1]! });
  }
  const name = hasKey(file, 'general.name') ? metaString(file, 'general.name') : undefined;
  return { file, arch, alpha, ...(name !== undefined ? { name } : {}), pairs };
}

/** llama.cpp's factor of a pair's product: scale · alpha / r, or scale when alpha is 0 */
export function loraScale(alpha: number, rank: number, scale: number): number {
  return alpha ? (scale * alpha) / rank : scale;
}

/** A pair's A [r × in] and B [out × r] as f32, row-major (checked finite). */
export async function readLoraPair(adapter: LoraAdapter, pair: LoraPair): Promise<{ a: Float32Array; b: Float32Array }> {
  const read = async (t: GgufTensorInfo) => {
    const bytes = await readTensorBytes(adapter.file, t);
    const bad = findNonFinite(t.type, bytes);
    if (bad >= 0) throw new CriaError('bad-file', `the adapter's ${t.name} holds a NaN or infinite value`, { tensor: t.name });
    return dequantize(t.type, bytes, t.nElements);
  };
  return { a: await read(pair.a), b: await read(pair.b) };
}

export interface LoraWriteInput {
  arch: string;
  alpha: number;
  name?: string;
  /** per target: A as r rows of `in` values, B as `out` rows of r values (f32, row-major) */
  pairs: { target: string; rank: number; inDim: number; outDim: number; a: Float32Array; b: Float32Array }[];
}

/** A LoRA adapter GGUF as llama.cpp reads it (F32 tensors). Returns the file's byte parts. */
export function encodeLoraAdapter(input: LoraWriteInput): Uint8Array[] {
  const f32 = ggmlTypeInfo(GgmlType.F32)!;
  const tensors = input.pairs.flatMap((p) => {
    if (p.a.length !== p.rank * p.inDim || p.b.length !== p.outDim * p.rank) throw new CriaError('internal', `LoRA pair ${p.target}: A or B has the wrong size for rank ${p.rank}`);
    return [
      { name: `${p.target}.lora_a`, type: f32, dims: [p.inDim, p.rank], data: new Uint8Array(p.a.buffer, p.a.byteOffset, p.a.byteLength) },
      { name: `${p.target}.lora_b`, type: f32, dims: [p.rank, p.outDim], data: new Uint8Array(p.b.buffer, p.b.byteOffset, p.b.byteLength) },
    ];
  });
  const metadata: [string, ReturnType<typeof gv.str>][] = [
    ['general.architecture', gv.str(input.arch)],
    ['general.type', gv.str('adapter')],
    ...(input.name ? [['general.name', gv.str(input.name)] as [string, ReturnType<typeof gv.str>]] : []),
    ['adapter.type', gv.str('lora')],
    ['adapter.lora.alpha', gv.f32(input.alpha)],
  ];
  return encodeGguf({ metadata, tensors });
}
