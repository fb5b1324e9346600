/**
 * qwen2: Qwen2 / Qwen2.5 (and DeepSeek-R1-Distill-Qwen). The llama block with
 * biases on the q, k and v projections and NeoX RoPE (rotate i with i+d/2).
 * Usually tied embeddings.
 */
import { parseBaseConfig, type ModelConfig } from '../config.ts';
import type { Act, Batch, Ops, Trace, Weight } from '../ops.ts';
import { llama } from './llama.ts';
import { attentionParams, blk, type Architecture, type Weights } from './types.ts';

export const qwen2: Architecture = {
  names: ['qwen2'],
  config: (file) => parseBaseConfig(file, 'neox'),

  tensors(c) {
    const t = llama.tensors(c).filter((s) => s.name !== 'rope_freqs.weight');
    for (let il = 0; il < c.nLayer; il++) {
      t.push(
        { name: blk(il, 'attn_q', 'bias'), dims: [c.nHead * c.headDim] },
        { name: blk(il, 'attn_k', 'bias'), dims: [c.nHeadKv * c.headDim] },
        { name: blk(il, 'attn_v', 'bias'), dims: [c.nHeadKv * c.headDimV] },
      );
    }
    return t;
  },

  forward<A extends Act, W extends Weight>(ops: Ops<A, W>, w: Weights<W>, c: ModelConfig, b: Batch, tr: Trace<A>): A {
    const ropeQ = { ...c.rope, nHeads: c.nHead, headDim: c.headDim };
    const ropeK = { ...ropeQ, nHeads: c.nHeadKv };

    let x = tr('inp_embd', -1, ops.embed(w.get('token_embd.weight'), b.tokens)); // [n, nEmbd]
    for (let il = 0; il < c.nLayer; il++) {
      const W = (name: string) => w.get(blk(il, name));
      const B = (name: string) => w.get(blk(il, name, 'bias'));
      let cur = tr('attn_norm', il, ops.rmsNorm(x, W('attn_norm'), c.rmsEps));
      let q = tr('Qcur', il, ops.matmul(cur, W('attn_q'), B('attn_q'))); // [n, nHead·headDim]
      let k = tr('Kcur', il, ops.matmul(cur, W('attn_k'), B('attn_k'))); // [n, nHeadKv·headDim]
      const v = tr('Vcur', il, ops.matmul(cur, W('attn_v'), B('attn_v'))); // [n, nHeadKv·headDimV]
      q = tr('Qcur_rope', il, ops.rope(q, ropeQ, b.pos0));
      k = tr('Kcur_rope', il, ops.rope(k, ropeK, b.pos0));
      cur = tr('kqv_out', il, ops.attention(q, k, v, attentionParams(c, il), b.pos0));
      cur = tr('attn_out', il, ops.matmul(cur, W('attn_output')));
      x = tr('ffn_inp', il, ops.add(cur, x));

      cur = tr('ffn_norm', il, ops.rmsNorm(x, W('ffn_norm'), c.rmsEps));
      const gate = tr('ffn_gate', il, ops.matmul(cur, W('ffn_gate')));
      const up = tr('ffn_up', il, ops.matmul(cur, W('ffn_up')));
      cur = tr('ffn_act', il, ops.swiglu(gate, up));
      cur = tr('ffn_out', il, ops.matmul(cur, W('ffn_down')));
      x = tr('l_out', il, ops.add(cur, x));
    }
    if (b.logits === 'last') x = ops.rows(x, x.rows - 1, 1);
    x = tr('result_norm', -1, ops.rmsNorm(x, w.get('output_norm.weight'), c.rmsEps));
    const out = w.has('output.weight') ? w.get('output.weight') : w.get('token_embd.weight');
    return tr('result_output', -1, ops.matmul(x, out)); // [rows, nVocab]
  },
};
