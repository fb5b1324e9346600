/**
 * AdamW (Loshchilov & Hutter: Adam with decoupled weight decay), the learning-rate schedule (linear
 * warm-up, then cosine decay to `minLr`) and gradient clipping by global norm, as the Alpaca recipe
 * (Hugging Face's Trainer defaults) uses them. Parameters are Float32Arrays changed in place; the
 * moments are float64.
 */
import { CriaError } from '../shared/errors.ts';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** decoupled: p ← p − lr·wd·p each step (default 0) */
  weightDecay?: number;
}

export class AdamW {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  /** steps taken (bias correction) */
  step = 0;

  constructor(
    private readonly params: readonly Float32Array[],
    private readonly opts: AdamWOptions = {},
  ) {
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }

  /** one update with these gradients (one per parameter, same order and sizes) at learning rate `lr` */
  update(grads: readonly Float32Array[], lr: number): void {
    if (grads.length !== this.params.length) throw new CriaError('internal', `AdamW: ${grads.length} gradients for ${this.params.length} parameters`);
    const b1 = this.opts.beta1 ?? 0.9;
    const b2 = this.opts.beta2 ?? 0.999;
    const eps = this.opts.eps ?? 1e-8;
    const wd = this.opts.weightDecay ?? 0;
    this.step++;
    const c1 = 1 - Math.pow(b1, this.step);
    const c2 = 1 - Math.pow(b2, this.step);
    this.params.forEach((p, k) => {
      const g = grads[k]!;
      const m = this.m[k]!;
      const v = this.v[k]!;
      for (let i = 0; i < p.length; i++) {
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
        p[i] = p[i]! - lr * wd * p[i]! - (lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + eps);
      }
    });
  }

  /** the optimizer's state (moments and step), for a checkpoint */
  state(): { step: number; m: Float64Array[]; v: Float64Array[] } {
    return { step: this.step, m: this.m.map((a) => a.slice()), v: this.v.map((a) => a.slice()) };
  }

  restore(s: { step: number; m: ArrayLike<number>[]; v: ArrayLike<number>[] }): void {
    if (s.m.length !== this.m.length || s.m.some((a, k) => a.length !== this.m[k]!.length)) throw new CriaError('bad-argument', 'the checkpoint\'s optimizer state does not match these parameters');
    this.step = s.step;
    s.m.forEach((a, k) => this.m[k]!.set(a));
    s.v.forEach((a, k) => this.v[k]!.set(a));
  }
}

/** Linear warm-up over `warmup` steps to `lr`, then cosine decay to `minLr` at `total` steps. */
export function learningRate(step: number, total: number, o: { lr: number; warmup: number; minLr?: number }): number {
  const min = o.minLr ?? 0;
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const t = total > o.warmup ? Math.min(1, (step - o.warmup) / (total - o.warmup)) : 1;
  return min + 0.5 * (o.lr - min) * (1 + Math.cos(Math.PI * t));
}

/** Scales the gradients in place so their global L2 norm is at most `maxNorm`; returns the norm before. */
export function clipGradients(grads: readonly Float32Array[], maxNorm: number): number {
  let ss = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) ss += g[i]! * g[i]!;
  const norm = Math.sqrt(ss);
  if (norm > maxNorm && norm > 0) {
    const s = maxNorm / norm;
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i]! *= s;
  }
  return norm;
}
