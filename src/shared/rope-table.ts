/**
 * The RoPE cos/sin table, built once per model on the CPU in float64, shared by the
 * backends that read one (WebGPU: src/gpu/kernels/rope.ts; WebAssembly: src/wasm/backend.ts).
 *
 * Why a table: WGSL only promises accurate sin/cos on [−π, π], and RoPE
 * angles reach pos · freqScale (thousands of radians), so kernels/rope.wgsl
 * never evaluates a trigonometric function (nor does the WebAssembly rope kernel). It reads, for position `pos` and
 * pair `j`, the f32 pair (cos θ, sin θ) with
 *   θ = pos · freqScale · base^(−2j/dim) / factor[j]
 * computed by exactly the expression of src/reference/rope.ts, so the GPU
 * result equals the reference up to f32 rounding of cos/sin and of the two
 * products.
 *
 * Layout: [nCtx, dim/2] × (cos, sin), f32 — `nCtx · dim · 4` bytes
 * (SmolLM2-135M, 2048 positions × 64: 512 KiB; dim 128 at 8192 positions: 4 MiB).
 * The table does not depend on the rope type (normal/NeoX), the head count or
 * the head size: q and k of every layer share one table.
 *
 * Pure TypeScript, tested in Node: test/unit/rope-table.test.ts.
 */

/** What the table's angles depend on. */
export interface RopeTableSpec {
  /** rotated entries per head (even) */
  readonly dim: number;
  readonly base: number;
  readonly freqScale: number;
  /** llama3-style per-pair divisors, dim/2 values */
  readonly freqFactors?: Float32Array;
  /** multiplies cos and sin (LongRoPE); default 1 */
  readonly attnFactor?: number;
}

/** Why `spec` cannot describe these parameters, or undefined if it can. */
export function ropeSpecError(spec: RopeTableSpec): string | undefined {
  if (!(Number.isInteger(spec.dim) && spec.dim > 0 && spec.dim % 2 === 0)) return `rope dim ${spec.dim} is not a positive even integer`;
  if (!(spec.base > 0 && Number.isFinite(spec.base))) return `rope base ${spec.base} is not a positive number`;
  if (!(spec.freqScale > 0 && Number.isFinite(spec.freqScale))) return `rope freqScale ${spec.freqScale} is not a positive number`;
  const f = spec.freqFactors;
  if (f) {
    if (f.length !== spec.dim / 2) return `rope frequency factors: ${f.length} values for dim ${spec.dim} (want ${spec.dim / 2})`;
    if (!f.every((v) => v > 0 && Number.isFinite(v))) return 'rope frequency factors must be positive and finite';
  }
  return undefined;
}

/** cos/sin of every (position, pair): [nCtx, dim/2, 2] f32, angles and trigonometry in float64. */
export function buildRopeTable(spec: RopeTableSpec, nCtx: number): Float32Array {
  const err = ropeSpecError(spec);
  if (err) throw new RangeError(err);
  if (!(Number.isInteger(nCtx) && nCtx > 0)) throw new RangeError(`rope table: nCtx ${nCtx} is not a positive integer`);
  const half = spec.dim / 2;
  const out = new Float32Array(nCtx * half * 2);
  // the same float64 expression as src/reference/rope.ts, term by term, so θ is bit-identical
  const inv = Float64Array.from({ length: half }, (_, j) => Math.pow(spec.base, (-2 * j) / spec.dim));
  for (let pos = 0; pos < nCtx; pos++) {
    for (let j = 0; j < half; j++) {
      const theta = (pos * spec.freqScale * inv[j]) / (spec.freqFactors ? spec.freqFactors[j] : 1);
      out[2 * (pos * half + j)] = Math.cos(theta) * (spec.attnFactor ?? 1);
      out[2 * (pos * half + j) + 1] = Math.sin(theta) * (spec.attnFactor ?? 1);
    }
  }
  return out;
}

/**
 * Why `table` cannot serve a rope with these parameters at positions
 * [pos0, pos0 + n), or undefined if it can. `freqFactors` are compared by
 * value when given as a Float32Array; any other handle (a GPU weight) only
 * has to be present exactly when the table has factors.
 */
export function ropeTableMismatch(
  table: RopeTableSpec & { readonly nCtx: number },
  p: { readonly dim: number; readonly base: number; readonly freqScale: number; readonly freqFactors?: unknown; readonly attnFactor?: number },
  pos0: number,
  n: number,
): string | undefined {
  const built = `built for dim ${table.dim}, base ${table.base}, freqScale ${table.freqScale}${table.freqFactors ? ', frequency factors' : ''}`;
  if (p.dim !== table.dim || p.base !== table.base || p.freqScale !== table.freqScale) {
    return `rope table ${built}, asked for dim ${p.dim}, base ${p.base}, freqScale ${p.freqScale}`;
  }
  if ((p.attnFactor ?? 1) !== (table.attnFactor ?? 1)) return `rope table ${built} and attention factor ${table.attnFactor ?? 1}, asked for ${p.attnFactor ?? 1}`;
  if (!!p.freqFactors !== !!table.freqFactors) return `rope table ${built}, asked ${p.freqFactors ? 'with' : 'without'} frequency factors`;
  if (p.freqFactors instanceof Float32Array && table.freqFactors) {
    const a = p.freqFactors;
    const b = table.freqFactors;
    if (a.length !== b.length || a.some((v, i) => v !== b[i])) return `rope table ${built}, asked with different frequency factors`;
  }
  if (!(Number.isInteger(pos0) && pos0 >= 0 && pos0 + n <= table.nCtx)) {
    return `rope table holds positions 0..${table.nCtx - 1}, asked for ${pos0}..${pos0 + n - 1}; build it for the model's context length`;
  }
  return undefined;
}
