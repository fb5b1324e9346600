/**
 * LoRA adapters at run time: y = W·x + Σ s·B·(A·x) over the active adapters, the base weights
 * untouched (still quantized), on whatever backend runs the model.
 *
 * An adapter is made ready once per model (`buildLoraWeights`): for each base weight the forward
 * pass multiplies by (a fused one such as `attn_qkv` included), one A [R × in] and one B [out × R]
 * in f32, uploaded to the backend like any weight. For a fused weight the parts' A's are stacked
 * (R = Σ ranks) and B is block-diagonal (each part's B in its own rows and rank columns, zeros
 * elsewhere), so the one product gives every part's delta in its own columns. Each part's
 * alpha / r is folded into its B; the user's scale stays a run-time factor (`ops.scale` on the
 * small A·x), so adapters are swapped or rescaled between requests without rebuilding anything.
 * R is padded with zero rows and columns to a multiple of 32 (kernels' preferred row lengths);
 * zeros add nothing, exactly.
 *
 * `withLora` wraps a backend's Ops: a matmul by an adapted weight adds the adapters' products,
 * through the backend's own matmul (f32 weights) and scale, so every backend applies adapters
 * with the kernels it already has and tests. With a fused norm (`fuse.norm`), the adapters take
 * the normed x, as llama.cpp's (its norm is a separate op before build_lora_mm).
 */
import { CriaError } from '../shared/errors.ts';
import { GgmlType, ggmlTypeInfo } from '../formats/ggml-types.ts';
import { loraScale, readLoraPair, type LoraAdapter, type LoraPair } from '../formats/lora.ts';
import type { Backend } from './backend.ts';
import type { Act, MatmulFusion, Ops, Weight } from './ops.ts';

/** Where a base tensor lives among the backend's weights: its own, or rows of a fused one. */
export interface Placement {
  readonly into: string;
  readonly row0: number;
}

/** One adapter's weights on the backend, by the name of the weight the forward pass multiplies by. */
export type LoraWeights<W extends Weight = Weight> = ReadonlyMap<string, { readonly a: W; readonly b: W }>;

export interface ActiveLora<W extends Weight = Weight> {
  readonly weights: LoraWeights<W>;
  /** the user's factor (llama.cpp's adapter scale) */
  readonly scale: number;
}

const PAD = 32;

/** One weight the forward pass multiplies by, and the adapter's pairs on it (rows of a fused weight, or all of it). */
export interface LoraGroup {
  readonly into: string;
  readonly inDim: number;
  readonly outDim: number;
  /** Σ ranks, padded to a multiple of 32 */
  readonly rank: number;
  readonly parts: readonly { readonly row0: number; readonly pair: LoraPair }[];
}

/**
 * Where an adapter's pairs go among a loaded model's weights, and the bytes its f32 A and B take
 * there, known before any of its data is read (memory is checked against this). `dimsOf(name)` gives
 * the dims of the weight the forward pass uses under that name, `placement(target)` where a base
 * tensor went (fused or not).
 */
export function planLora(adapter: LoraAdapter, dimsOf: (name: string) => readonly number[], placement: (target: string) => Placement): { groups: LoraGroup[]; bytes: number } {
  const parts = new Map<string, { row0: number; pair: LoraPair }[]>();
  for (const pair of adapter.pairs.values()) {
    const p = placement(pair.target);
    const g = parts.get(p.into) ?? [];
    g.push({ row0: p.row0, pair });
    parts.set(p.into, g);
  }
  const groups = [...parts].map(([into, ps]): LoraGroup => {
    const dims = dimsOf(into);
    const rank = Math.ceil(ps.reduce((n, p) => n + p.pair.rank, 0) / PAD) * PAD;
    return { into, inDim: dims[0]!, outDim: dims[1] ?? 1, rank, parts: ps };
  });
  return { groups, bytes: groups.reduce((n, g) => n + 4 * g.rank * (g.inDim + g.outDim), 0) };
}

/** Reads an adapter's pairs (planned by `planLora`) and uploads each group's A and B; `id` goes into the weights' names. */
export async function buildLoraWeights<A extends Act, W extends Weight>(adapter: LoraAdapter, groups: readonly LoraGroup[], backend: Backend<A, W>, id: string): Promise<LoraWeights<W>> {
  const f32 = ggmlTypeInfo(GgmlType.F32)!;
  if (!backend.supportsType(f32)) throw new CriaError('not-implemented', `the ${backend.name} backend cannot compute with f32 weights, which LoRA adapters need`);
  const out = new Map<string, { a: W; b: W }>();
  for (const { into, inDim, outDim, rank: R, parts } of groups) {
    const A = new Float32Array(R * inDim);
    const B = new Float32Array(outDim * R);
    let r0 = 0;
    for (const { row0, pair } of parts) {
      if (pair.inDim !== inDim || row0 + pair.outDim > outDim) throw new CriaError('internal', `LoRA ${pair.target} does not fit ${into} [${inDim}, ${outDim}] at row ${row0}`);
      const { a, b } = await readLoraPair(adapter, pair);
      A.set(a, r0 * inDim);
      const s = loraScale(adapter.alpha, pair.rank, 1);
      for (let o = 0; o < pair.outDim; o++) {
        const dst = (row0 + o) * R + r0;
        for (let k = 0; k < pair.rank; k++) B[dst + k] = b[o * pair.rank + k]! * s;
      }
      r0 += pair.rank;
    }
    const aw = await backend.loadWeight(`${into}.lora_a@${id}`, f32, [inDim, R], new Uint8Array(A.buffer));
    const bw = await backend.loadWeight(`${into}.lora_b@${id}`, f32, [R, outDim], new Uint8Array(B.buffer));
    out.set(into, { a: aw, b: bw });
  }
  return out;
}

/** `ops` with every matmul by an adapted weight adding the active adapters' products. */
export function withLora<A extends Act, W extends Weight>(ops: Ops<A, W>, active: readonly ActiveLora<W>[]): Ops<A, W> {
  const used = active.filter((l) => l.scale !== 0 && l.weights.size > 0);
  if (used.length === 0) return ops;
  const matmul = (x: A, w: W, bias?: W, fuse?: MatmulFusion<A, W>): A => {
    let y = ops.matmul(x, w, bias, fuse);
    const mine = used.filter((l) => l.weights.has(w.name));
    if (mine.length === 0) return y;
    const xin = fuse?.norm ? ops.rmsNorm(x, fuse.norm.weight, fuse.norm.eps) : x;
    for (const l of mine) {
      const { a, b } = l.weights.get(w.name)!;
      let t = ops.matmul(xin, a); // [n, R]
      if (l.scale !== 1) t = ops.scale(t, l.scale);
      y = ops.matmul(t, b, undefined, { add: y }); // [n, out]
    }
    return y;
  };
  return { ...ops, matmul };
}
