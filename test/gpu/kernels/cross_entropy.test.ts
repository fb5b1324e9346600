/** cross_entropy on WebGPU vs src/reference/cross_entropy.ts (float64), which is checked against finite differences in test/unit/backward.test.ts. */
import { crossEntropy } from '../../../src/gpu/kernels/cross_entropy.ts';
import { crossEntropy as reference } from '../../../src/reference/cross_entropy.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  rows: number;
  vocab: number;
  scale: number;
  /** every third row unscored (−1) */
  masked?: boolean;
}

export default defineSuite<Case>({
  kernel: 'cross_entropy',
  cases: [
    { rows: 1, vocab: 7, scale: 1 },
    { rows: 5, vocab: 61, scale: 3, masked: true }, // prime
    { rows: 3, vocab: 512, scale: 3 }, // stories260K
    { rows: 4, vocab: 49152, scale: 5, masked: true }, // SmolLM2
    { rows: 2, vocab: 151936, scale: 8 }, // Qwen2.5: long rows, peaked
  ],
  name: (c) => `${c.rows}×${c.vocab} ×${c.scale}${c.masked ? ', some rows unscored' : ''}`,
  async run(h, c) {
    const logits = h.randn(c.rows * c.vocab, 21, c.scale);
    const targets = Array.from({ length: c.rows }, (_, r) => (c.masked && r % 3 === 1 ? -1 : (r * 7919 + 13) % c.vocab));
    const want = reference(logits, c.vocab, targets);
    const got = crossEntropy(h.rec, h.tensor(c.rows, c.vocab, logits), targets);
    const [d, loss] = await h.readAll(got.dlogits, got.loss);
    const mean = want.count ? loss.reduce((a, b) => a + b, 0) / want.count : 0;
    // dlogits = (p − onehot)/N with p in [0, 1]: absolute errors of f32 exp and log-sum-exp over V terms (relative
    // ~1e-6 of p) scaled by 1/N; the loss per row: logsumexp in f32, |Δ| ≲ 1e-6·(|max| + log V)
    return compare(Float64Array.from([...d, mean]), Float64Array.from([...want.dlogits, want.loss]), { atol: 2e-6, rtol: 2e-5, nmse: 1e-10, why: 'f32 softmax and log-sum-exp vs f64' });
  },
});
