/**
 * The pieces of a pre-norm transformer layer that most architectures share, each with two paths:
 * - fused, when the loader made the fused weight (`attn_qkv`, `ffn_gate_up`: see `Fusion` in
 *   types.ts and `Backend.fuseWeights`): one projection, then one op that splits it;
 * - plain, one projection per weight (the CPU reference, and files whose parts differ in type).
 * Both give the same values up to float rounding. Norms are fused into the projection that
 * follows them (`matmul(x, w, bias, { norm })`), so neither path traces `attn_norm`/`ffn_norm`.
 */
import type { ModelConfig } from '../config.ts';
import type { Act, Batch, Ops, RopeSpec, Trace, Weight } from '../ops.ts';
import { attentionParams, blk, type Fusion, type Weights } from './types.ts';

/** attn_q|attn_k|attn_v → attn_qkv (their biases too, when the file has them) */
export function qkvFusion(il: number): Fusion {
  const parts = ['attn_q', 'attn_k', 'attn_v'];
  return {
    into: blk(il, 'attn_qkv'),
    parts: parts.map((p) => blk(il, p)),
    companion: { into: blk(il, 'attn_qkv', 'bias'), parts: parts.map((p) => blk(il, p, 'bias')) },
  };
}

/** ffn_gate|ffn_up → ffn_gate_up: gate rows first (phi3's fused `ffn_up` convention) */
export function gateUpFusion(il: number): Fusion {
  return { into: blk(il, 'ffn_gate_up'), parts: [blk(il, 'ffn_gate'), blk(il, 'ffn_up')] };
}

const optional = <W extends Weight>(w: Weights<W>, name: string) => (w.has(name) ? w.get(name) : undefined);

/**
 * attn_norm → q, k, v (+ biases, when the file has them) → RoPE → causal attention over the KV
 * cache, which receives k and v. x `[n, nEmbd]` → kqv_out `[n, nHead·headDimV]`.
 */
export function selfAttention<A extends Act, W extends Weight>(ops: Ops<A, W>, w: Weights<W>, c: ModelConfig, b: Batch, tr: Trace<A>, il: number, x: A, rope: RopeSpec): A {
  const W = (name: string) => w.get(blk(il, name));
  const bias = (name: string) => optional(w, blk(il, name, 'bias'));
  const norm = { weight: W('attn_norm'), eps: c.rmsEps };
  const p = attentionParams(c, il);
  if (w.has(blk(il, 'attn_qkv'))) {
    const qkv = tr('wqkv', il, ops.matmul(x, W('attn_qkv'), bias('attn_qkv'), { norm })); // [n, q | k | v]
    return ops.ropeAttention(qkv, p, rope, b.pos0);
  }
  let q = tr('Qcur', il, ops.matmul(x, W('attn_q'), bias('attn_q'), { norm })); // [n, nHead·headDim]
  let k = tr('Kcur', il, ops.matmul(x, W('attn_k'), bias('attn_k'), { norm })); // [n, nHeadKv·headDim]
  const v = tr('Vcur', il, ops.matmul(x, W('attn_v'), bias('attn_v'), { norm })); // [n, nHeadKv·headDimV]
  q = tr('Qcur_rope', il, ops.rope(q, { ...rope, nHeads: c.nHead, headDim: c.headDim }, b.pos0));
  k = tr('Kcur_rope', il, ops.rope(k, { ...rope, nHeads: c.nHeadKv, headDim: c.headDim }, b.pos0));
  return ops.attention(q, k, v, p, b.pos0);
}

/**
 * ffn_norm → gate, up → act(gate)·up: x `[n, nEmbd]` → ffn_act `[n, nFf]` (ffn_down is the caller's,
 * with its residual). `gateUp`: the fused tensor's name (phi3's file calls it `ffn_up`).
 */
export function gluFeedForward<A extends Act, W extends Weight>(
  ops: Ops<A, W>,
  w: Weights<W>,
  c: ModelConfig,
  tr: Trace<A>,
  il: number,
  x: A,
  act: 'swiglu' | 'geglu',
  gateUp = 'ffn_gate_up',
): A {
  const W = (name: string) => w.get(blk(il, name));
  const norm = { weight: W('ffn_norm'), eps: c.rmsEps };
  if (w.has(blk(il, gateUp))) {
    const gu = tr('ffn_gate_up', il, ops.matmul(x, W(gateUp), undefined, { norm })); // [n, 2·nFf]: gate | up
    return ops[act](gu);
  }
  const gate = tr('ffn_gate', il, ops.matmul(x, W('ffn_gate'), undefined, { norm })); // [n, nFf]
  const up = tr('ffn_up', il, ops.matmul(x, W('ffn_up'), undefined, { norm }));
  return ops[act](gate, up);
}

/** output_norm → LM head (output.weight, or the tied embeddings) for the rows the batch asks for → `[rows, nVocab]` */
export function outputLogits<A extends Act, W extends Weight>(ops: Ops<A, W>, w: Weights<W>, c: ModelConfig, b: Batch, x: A): A {
  if (b.logits === 'last') x = ops.rows(x, x.rows - 1, 1);
  const out = w.has('output.weight') ? w.get('output.weight') : w.get('token_embd.weight');
  return ops.matmul(x, out, undefined, { norm: { weight: w.get('output_norm.weight'), eps: c.rmsEps } });
}
