/**
 * Matrix–vector microbenchmark page: the decode-shaped matmul (one token) of one weight, timed alone.
 * For each case: a random f32 matrix quantized by the project's own quantizer, uploaded as the engine
 * uploads it (src/gpu/weights.ts), then REPS matmuls in one submit, waited for (wall clock), median of
 * `trials`; the weight bytes read per second beside the adapter's streaming bandwidth (measureDevice).
 * Also checks one result against the CPU reference, so a fast wrong kernel is not reported as fast.
 */
import { createGpu, type GpuContext } from '../../src/gpu/device.ts';
import { Recorder } from '../../src/gpu/recorder.ts';
import { uploadWeight } from '../../src/gpu/weights.ts';
import { matmul } from '../../src/gpu/kernels/matmul.ts';
import { measureDevice } from '../../src/gpu/measure.ts';
import { quantize, dequantize } from '../../src/formats/quant.ts';
import { ggmlTypeByName } from '../../src/formats/ggml-types.ts';
import { matmulInt8 } from '../../src/reference/matmul_int8.ts';

export interface MatvecCase {
  type: string;
  rows: number;
  cols: number;
  /** tokens (rows of x): 1 for decode (default), more for a prefill batch */
  n?: number;
  norm?: boolean;
  plan?: 'workgroup' | 'rowwise' | 'subgroup';
  /** int8 activations (kernels/matmul_int8.wgsl), checked against src/reference/matmul_int8.ts */
  int8?: boolean;
  rowwise?: { WG?: number; ROWS?: number; TOKENS?: number };
  reps?: number;
  trials?: number;
}

export interface MatvecResult extends MatvecCase {
  weightBytes: number;
  msPerMatvec: number;
  /** the first submit's time beyond a median one: compiling the pipeline (SwiftShader: its CPU JIT) */
  compileMs: number;
  gbPerS: number;
  maxRelErr: number;
}

declare global {
  interface Window {
    criaMatvec?: { device(): Promise<{ readGBps: number; fmaGflops: number }>; run(c: MatvecCase): Promise<MatvecResult> };
  }
}

let ctx: GpuContext | undefined;
const gpu = async () => (ctx ??= await createGpu());

function rand(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

window.criaMatvec = {
  async device() {
    const m = await measureDevice(await gpu());
    return { readGBps: m.readGBps, fmaGflops: m.fmaGflops };
  },

  async run(c) {
    const { type: typeName, rows, cols, n = 1, norm = false, reps = 10, trials = 3 } = c;
    const type = ggmlTypeByName(typeName);
    if (!type) throw new Error(`unknown type ${typeName}`);
    const rec = new Recorder(await gpu());
    const r = rand(rows * 7 + cols);
    const f = Float32Array.from({ length: rows * cols }, () => r());
    const bytes = quantize(type, f);
    const w = uploadWeight(rec, 'w', type, [cols, rows], bytes);
    const xv = Float32Array.from({ length: n * cols }, () => r());
    const x = { rows: n, cols, buffer: rec.upload(xv, 'x') };
    const g = uploadWeight(rec, 'g', ggmlTypeByName('F32')!, [cols], new Uint8Array(Float32Array.from({ length: cols }, () => 1).buffer));
    const opts = { plan: c.plan, rowwise: c.rowwise, int8: c.int8, int8Tunables: c.int8 ? c.rowwise : undefined, norm: norm ? { weight: g, eps: 1e-5 } : undefined };

    // correctness: one result against the dequantized weights on the CPU (f64 sums); the first run compiles
    const tc = performance.now();
    const y = matmul(rec, x, w, undefined, opts);
    const pending = rec.readback(y.buffer, 0, n * rows * 4);
    await rec.flush();
    await rec.device.queue.onSubmittedWorkDone();
    const firstMs = performance.now() - tc;
    const out = new Float32Array(await pending);
    const deq = dequantize(type, bytes, rows * cols);
    let maxRelErr = 0;
    for (let t = 0; t < n; t++) {
      let xs = Array.from(xv.subarray(t * cols, (t + 1) * cols));
      if (norm) {
        const ms = xs.reduce((a, v) => a + v * v, 0) / cols;
        xs = xs.map((v) => v / Math.sqrt(ms + 1e-5));
      }
      let scale = 0;
      const ref = new Float64Array(rows);
      const refInt8 = c.int8 ? matmulInt8(Float32Array.from(xs), 1, { type, dims: [cols, rows], bytes }) : undefined;
      for (let o = 0; o < rows; o++) {
        let s = 0;
        if (refInt8) s = refInt8[o];
        else for (let i = 0; i < cols; i++) s += deq[o * cols + i] * xs[i];
        ref[o] = s;
        scale = Math.max(scale, Math.abs(s));
      }
      for (let o = 0; o < rows; o++) maxRelErr = Math.max(maxRelErr, Math.abs(out[t * rows + o] - ref[o]) / scale);
    }
    const times: number[] = [];
    for (let t = 0; t < trials + 1; t++) {
      const t0 = performance.now();
      for (let k = 0; k < reps; k++) matmul(rec, x, w, undefined, opts);
      await rec.flush();
      await rec.device.queue.onSubmittedWorkDone();
      if (t > 0) times.push((performance.now() - t0) / reps); // the first may compile
    }
    times.sort((a, b) => a - b);
    const msPerMatvec = times[Math.floor(times.length / 2)];
    w.buffer.destroy();
    rec.destroy();
    const res = { ...c, weightBytes: w.byteLength, msPerMatvec, compileMs: Math.max(0, firstMs - msPerMatvec), gbPerS: w.byteLength / msPerMatvec / 1e6, maxRelErr };
    document.getElementById('out')!.textContent += JSON.stringify(res) + '\n';
    return res;
  },
};
document.getElementById('out')!.textContent = 'ready\n';
