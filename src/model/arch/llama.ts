/**
 * llama: Llama 2/3, SmolLM/SmolLM2, TinyLlama, Mistral-style models.
 * Pre-norm (RMSNorm) decoder; GQA; "normal" RoPE (adjacent pairs), with
 * optional llama3 frequency factors (`rope_freqs.weight`); SwiGLU FFN;
 * output projection `output.weight` or, when absent, the tied embedding.
 */
import { parseBaseConfig, type ModelConfig } from '../config.ts';
import type { Act, Ops, Trace, Weight, Batch } from '../ops.ts';
import { attentionParams, blk, type Architecture, type TensorSpec, type Weights } from './types.ts';

export const llama: Architecture = {
  names: ['llama'],
  config: (file) => parseBaseConfig(file, 'normal'),

  tensors(c) {
    const q = c.nHead * c.headDim;
    const kv = c.nHeadKv * c.headDim;
    const kvV = c.nHeadKv * c.headDimV;
    const t: TensorSpec[] = [
      { name: 'token_embd.weight', dims: [c.nEmbd, c.nVocab] },
      { name: 'output_norm.weight', dims: [c.nEmbd] },
      { name: 'output.weight', dims: [c.nEmbd, c.nVocab], optional: true },
      { name: 'rope_freqs.weight', dims: [c.rope.dim / 2], optional: true },
    ];
    for (let il = 0; il < c.nLayer; il++) {
      t.push(
        { name: blk(il, 'attn_norm'), dims: [c.nEmbd] },
        { name: blk(il, 'attn_q'), dims: [c.nEmbd, q] },
        { name: blk(il, 'attn_k'), dims: [c.nEmbd, kv] },
        { name: blk(il, 'attn_v'), dims: [c.nEmbd, kvV] },
        { name: blk(il, 'attn_output'), dims: [c.nHead * c.headDimV, c.nEmbd] },
        { name: blk(il, 'ffn_norm'), dims: [c.nEmbd] },
        { name: blk(il, 'ffn_gate'), dims: [c.nEmbd, c.nFf] },
        { name: blk(il, 'ffn_up'), dims: [c.nEmbd, c.nFf] },
        { name: blk(il, 'ffn_down'), dims: [c.nFf, c.nEmbd] },
      );
    }
    return t;
  },

  forward<A extends Act, W extends Weight>(ops: Ops<A, W>, w: Weights<W>, c: ModelConfig, b: Batch, tr: Trace<A>): A {
    const freqFactors = w.has('rope_freqs.weight') ? w.get('rope_freqs.weight') : undefined;
    const ropeQ = { ...c.rope, nHeads: c.nHead, headDim: c.headDim, freqFactors };
    const ropeK = { ...ropeQ, nHeads: c.nHeadKv };

    let x = tr('inp_embd', -1, ops.embed(w.get('token_embd.weight'), b.tokens)); // [n, nEmbd]
    for (let il = 0; il < c.nLayer; il++) {
      const W = (name: string) => w.get(blk(il, name));
      let cur = tr('attn_norm', il, ops.rmsNorm(x, W('attn_norm'), c.rmsEps));
      let q = tr('Qcur', il, ops.matmul(cur, W('attn_q'))); // [n, nHead·headDim]
      let k = tr('Kcur', il, ops.matmul(cur, W('attn_k'))); // [n, nHeadKv·headDim]
      const v = tr('Vcur', il, ops.matmul(cur, W('attn_v'))); // [n, nHeadKv·headDimV]
      q = tr('Qcur_rope', il, ops.rope(q, ropeQ, b.pos0));
      k = tr('Kcur_rope', il, ops.rope(k, ropeK, b.pos0));
      cur = tr('kqv_out', il, ops.attention(q, k, v, attentionParams(c, il), b.pos0)); // [n, nHead·headDimV]
      cur = tr('attn_out', il, ops.matmul(cur, W('attn_output')));
      x = tr('ffn_inp', il, ops.add(cur, x));

      cur = tr('ffn_norm', il, ops.rmsNorm(x, W('ffn_norm'), c.rmsEps));
      const gate = tr('ffn_gate', il, ops.matmul(cur, W('ffn_gate'))); // [n, nFf]
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
