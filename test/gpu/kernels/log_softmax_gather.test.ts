/**
 * log_softmax_gather on WebGPU vs src/reference/log_softmax_gather.ts (float64): the target's
 * log-probability within a tolerance, the argmax exactly (ties → lowest index).
 */
import { decodeLogprobs, logSoftmaxGather } from '../../../src/gpu/kernels/log_softmax_gather.ts';
import { logSoftmaxGather as reference } from '../../../src/reference/log_softmax_gather.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  rows: number;
  cols: number;
  /** logit standard deviation */
  scale: number;
  /** round logits to a grid: many rows have a tied maximum */
  ties?: boolean;
  /** the last row's target is out of range: its logprob must be NaN */
  outOfRange?: boolean;
  what?: string;
}

export default defineSuite<Case>({
  kernel: 'log_softmax_gather',
  cases: [
    { rows: 1, cols: 1, scale: 1 },
    { rows: 1, cols: 7, scale: 3 },
    { rows: 5, cols: 61, scale: 3, ties: true }, // prime
    { rows: 3, cols: 257, scale: 3 }, // not a multiple of WG
    { rows: 8, cols: 32000, scale: 3, what: 'llama2 vocab' },
    { rows: 4, cols: 49152, scale: 3, ties: true, what: 'smollm2 vocab' },
    { rows: 2, cols: 151936, scale: 4, what: 'qwen2 vocab' },
    { rows: 2, cols: 256000, scale: 4, what: 'gemma vocab' },
    { rows: 64, cols: 2000, scale: 100, what: 'peaked: logits ±400' },
    { rows: 3, cols: 5000, scale: 3000, what: 'very large logits' },
    { rows: 4, cols: 100, scale: 2, outOfRange: true, what: 'target ≥ cols → NaN' },
  ],
  name: (c) => `${c.rows}×${c.cols} ×${c.scale}${c.ties ? ' ties' : ''}${c.what ? ` (${c.what})` : ''}`,
  async run(h, c) {
    const x = h.randn(c.rows * c.cols, 17, c.scale);
    if (c.ties) for (let i = 0; i < x.length; i++) x[i] = Math.round(x[i]);
    // targets: the row's argmax, 0, the last id, then random ids
    const rng = h.rng(18);
    const targets = Uint32Array.from({ length: c.rows }, (_, r) => (r === 1 ? 0 : r === 2 ? c.cols - 1 : Math.floor(rng.uniform() * c.cols)));
    const want = reference(x, c.cols, targets);
    targets[0] = want.argmax[0];
    if (c.outOfRange) targets[c.rows - 1] = c.cols;
    Object.assign(want, reference(x, c.cols, targets));
    const out = logSoftmaxGather(h.rec, h.tensor(c.rows, c.cols, x), h.upload(targets));
    const read = h.rec.readback(out.buffer, 0, c.rows * 8);
    await h.rec.flush();
    const got = decodeLogprobs(await read, c.rows);
    const idx = compare(got.argmax, want.argmax, { atol: 0, rtol: 0, nmse: 0, why: 'argmax: exact' });
    if (!idx.ok) return idx;
    // logprob = (x_t − M) − log S: two f32 roundings of values ≤ |want| (rtol 2⁻²², ~1 ulp each), plus
    // the error of log S: S (Kahan-summed f32 exp terms) is good to a few ulp, and WGSL lets log be off
    // by 3 ulp for S > 2, i.e. ≤ 3·ulp(log 262144 ≈ 12.5) ≈ 2.9e-6 → atol 4e-6. Observed on
    // SwiftShader: ≤ 0.9 ulp of the result, e.g. 1.2e-6 at −19.3, 4.3e-4 at −10680.
    const nanAsBig = (a: ArrayLike<number>) => Float64Array.from(a, (v) => (Number.isNaN(v) ? 1e300 : v));
    return compare(nanAsBig(got.logprobs), nanAsBig(want.logprobs), { atol: 4e-6, rtol: 2 ** -22, nmse: 1e-12, why: 'f32 online logsumexp vs f64' });
  },
});
