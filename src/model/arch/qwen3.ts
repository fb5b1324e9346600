/**
 * qwen3: Qwen3 dense models. The llama block with NeoX RoPE, no biases, and
 * a per-head RMSNorm of q and k (`attn_q_norm` / `attn_k_norm`, size headDim)
 * applied before RoPE. nHead·headDim may differ from nEmbd.
 */
import { parseBaseConfig, type ModelConfig } from '../config.ts';
import type { Act, Batch, Ops, Trace, Weight } from '../ops.ts';
import { llama } from './llama.ts';
import { gateUpFusion, gluFeedForward, outputLogits } from './blocks.ts';
import { attentionParams, blk, type Architecture, type Weights } from './types.ts';

export const qwen3: Architecture = {
  names: ['qwen3'],
  config: (file) => parseBaseConfig(file, 'neox'),

  tensors(c) {
    const t = llama.tensors(c).filter((s) => s.name !== 'rope_freqs.weight');
    for (let il = 0; il < c.nLayer; il++) {
      t.push({ name: blk(il, 'attn_q_norm'), dims: [c.headDim] }, { name: blk(il, 'attn_k_norm'), dims: [c.headDim] });
    }
    return t;
  },

  // q, k, v stay separate (the q/k norms sit between the projections and RoPE); the FFN is fused
  fusions: (c) => Array.from({ length: c.nLayer }, (_, il) => gateUpFusion(il)),

  forward<A extends Act, W extends Weight>(ops: Ops<A, W>, w: Weights<W>, c: ModelConfig, b: Batch, tr: Trace<A>): A {
    const ropeQ = { ...c.rope, nHeads: c.nHead, headDim: c.headDim };
    const ropeK = { ...ropeQ, nHeads: c.nHeadKv };

    let x = tr('inp_embd', -1, ops.embed(w.get('token_embd.weight'), b.tokens)); // [n, nEmbd]
    for (let il = 0; il < c.nLayer; il++) {
      const W = (name: string) => w.get(blk(il, name));
      const norm = { weight: W('attn_norm'), eps: c.rmsEps };
      let q = tr('Qcur', il, ops.matmul(x, W('attn_q'), undefined, { norm })); // [n, nHead·headDim]
      let k = tr('Kcur', il, ops.matmul(x, W('attn_k'), undefined, { norm })); // [n, nHeadKv·headDim]
      const v = tr('Vcur', il, ops.matmul(x, W('attn_v'), undefined, { norm }));
      q = tr('Qcur_normed', il, ops.rmsNorm(q, W('attn_q_norm'), c.rmsEps, c.headDim)); // per head
      k = tr('Kcur_normed', il, ops.rmsNorm(k, W('attn_k_norm'), c.rmsEps, c.headDim));
      q = tr('Qcur_rope', il, ops.rope(q, ropeQ, b.pos0));
      k = tr('Kcur_rope', il, ops.rope(k, ropeK, b.pos0));
      let cur = tr('kqv_out', il, ops.attention(q, k, v, attentionParams(c, il), b.pos0)); // [n, nHead·headDimV]
      x = tr('ffn_inp', il, ops.matmul(cur, W('attn_output'), undefined, { add: x }));

      cur = tr('ffn_act', il, gluFeedForward(ops, w, c, tr, il, x, 'swiglu'));
      x = tr('l_out', il, ops.matmul(cur, W('ffn_down'), undefined, { add: x }));
    }
    return tr('result_output', -1, outputLogits(ops, w, c, b, x));
  },
};
