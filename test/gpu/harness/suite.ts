/**
 * Browser-side kernel test harness. A kernel test (test/gpu/kernels/<kernel>.test.ts)
 * is a module that default-exports a `KernelSuite`: a table of cases, and for
 * each case a run that launches the kernel on real WebGPU, runs the CPU
 * reference on the same seeded inputs, and compares them with `compare()`
 * under a tolerance that states its reason. test/gpu/kernels.spec.ts loads
 * every suite in test/gpu/pages/kernels.html and asserts each case in Node.
 */
import { createGpu, type GpuContext } from '../../../src/gpu/device.ts';
import { Recorder } from '../../../src/gpu/recorder.ts';
import type { GpuTensor } from '../../../src/gpu/tensor.ts';
import { Rng } from '../../../src/shared/rng.ts';

export interface Tolerance {
  /** |got − want| ≤ atol + rtol·|want| for every element */
  atol: number;
  rtol: number;
  /** Σ(got − want)² / Σ want² */
  nmse: number;
  /** why these numbers */
  why: string;
}

export interface Comparison {
  ok: boolean;
  n: number;
  nmse: number;
  maxAbs: number;
  /** number of elements outside atol + rtol·|want| */
  bad: number;
  first: { i: number; got: number; want: number }[];
  tol: Tolerance;
}

export interface CaseResult {
  name: string;
  variant: string;
  ms: number;
  comparison?: Comparison;
  error?: string;
  /** why the case did not run on this device (reported loudly, not counted as passed) */
  skipped?: string;
}

export interface Harness {
  ctx: GpuContext;
  rec: Recorder;
  rng(seed: number): Rng;
  /** seeded N(0, scale²) values */
  randn(n: number, seed: number, scale?: number): Float32Array;
  upload(data: ArrayBufferView, label?: string): GPUBuffer;
  tensor(rows: number, cols: number, data: Float32Array): GpuTensor;
  /** flush and read a tensor back */
  read(t: GpuTensor): Promise<Float32Array>;
  /** flush once and read several tensors back (temporaries live until the end of one flush) */
  readAll(...ts: GpuTensor[]): Promise<Float32Array[]>;
  /** destroy every buffer this harness made */
  dispose(): void;
}

export interface KernelSuite<C> {
  kernel: string;
  cases: readonly C[];
  name(c: C): string;
  /** the variant key(s) exercised, for failure messages */
  variant?(c: C): string;
  run(h: Harness, c: C): Promise<Comparison>;
  /** a reason this case cannot run on this device (e.g. a missing feature), or undefined */
  skip?(h: Harness, c: C): string | undefined;
}

export function defineSuite<C>(s: KernelSuite<C>): KernelSuite<C> {
  return s;
}

export function compare(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance): Comparison {
  const n = want.length;
  let se = 0;
  let sw = 0;
  let maxAbs = 0;
  let bad = 0;
  const first: Comparison['first'] = [];
  if (got.length !== n) {
    return { ok: false, n, nmse: Infinity, maxAbs: Infinity, bad: n, first: [{ i: -1, got: got.length, want: n }], tol };
  }
  for (let i = 0; i < n; i++) {
    const g = got[i];
    const w = want[i];
    const d = Math.abs(g - w);
    se += (g - w) * (g - w);
    sw += w * w;
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
    if (!(d <= tol.atol + tol.rtol * Math.abs(w))) {
      bad++;
      if (first.length < 8) first.push({ i, got: g, want: w });
    }
  }
  const nmse = sw > 0 ? se / sw : se;
  return { ok: bad === 0 && nmse <= tol.nmse, n, nmse, maxAbs, bad, first, tol };
}

let shared: Promise<GpuContext> | undefined;

export async function makeHarness(): Promise<Harness> {
  shared ??= createGpu();
  const ctx = await shared;
  const rec = new Recorder(ctx);
  const rng = (seed: number) => new Rng(seed);
  const made: GPUBuffer[] = [];
  const upload = (data: ArrayBufferView, label: string) => {
    const b = rec.upload(data, label);
    made.push(b);
    return b;
  };
  return {
    ctx,
    rec,
    rng,
    randn(n, seed, scale = 1) {
      const r = rng(seed);
      return Float32Array.from({ length: n }, () => r.normal() * scale);
    },
    upload: (data, label = 'input') => upload(data, label),
    tensor(rows, cols, data) {
      return { rows, cols, buffer: upload(data, 'tensor') };
    },
    async read(t) {
      const p = rec.readback(t.buffer, 0, t.rows * t.cols * 4);
      await rec.flush();
      return new Float32Array(await p);
    },
    async readAll(...ts) {
      const ps = ts.map((t) => rec.readback(t.buffer, 0, t.rows * t.cols * 4));
      await rec.flush();
      return (await Promise.all(ps)).map((b) => new Float32Array(b));
    },
    dispose() {
      for (const b of made) b.destroy();
      rec.destroy();
    },
  };
}

/** Run every case of a suite; never throws (errors become failed results). */
export async function runSuite<C>(suite: KernelSuite<C>): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for (const c of suite.cases) {
    const t0 = performance.now();
    const name = suite.name(c);
    const variant = suite.variant?.(c) ?? suite.kernel;
    try {
      const h = await makeHarness();
      const skipped = suite.skip?.(h, c);
      if (skipped) {
        h.dispose();
        out.push({ name, variant, ms: 0, skipped });
        continue;
      }
      try {
        const comparison = await suite.run(h, c);
        out.push({ name, variant, ms: performance.now() - t0, comparison });
      } finally {
        h.dispose();
      }
      continue;
    } catch (e) {
      out.push({ name, variant, ms: performance.now() - t0, error: (e as Error)?.stack ?? String(e) });
    }
  }
  return out;
}
