/**
 * gemma: Gemma (v1). Embeddings × sqrt(nEmbd); pre-norm blocks with GeGLU
 * (tanh GELU) FFN; NeoX RoPE; queries scaled by 1/sqrt(headDim); tied
 * embeddings. Unlike gemma2: no post-norms, no soft-capping, no sliding
 * window. GGUF norm weights already include Gemma's "+1".
 */
import { parseBaseConfig, type ModelConfig } from '../config.ts';
import type { Act, Batch, Ops, Trace, Weight } from '../ops.ts';
import { attentionParams, blk, type Architecture, type TensorSpec, type Weights } from './types.ts';

export const gemma: Architecture = {
  names: ['gemma'],
  config(file) {
    const base = parseBaseConfig(file, 'neox');
    return { ...base, embedScale: Math.sqrt(base.nEmbd) };
  },

  tensors(c) {
    const t: TensorSpec[] = [
      { name: 'token_embd.weight', dims: [c.nEmbd, c.nVocab] },
      { name: 'output_norm.weight', dims: [c.nEmbd] },
      { name: 'output.weight', dims: [c.nEmbd, c.nVocab], optional: true },
    ];
    for (let il = 0; il < c.nLayer; il++) {
      t.push(
        { name: blk(il, 'attn_norm'), dims: [c.nEmbd] },
        { name: blk(il, 'attn_q'), dims: [c.nEmbd, c.nHead * c.headDim] },
        { name: blk(il, 'attn_k'), dims: [c.nEmbd, c.nHeadKv * c.headDim] },
        { name: blk(il, 'attn_v'), dims: [c.nEmbd, c.nHeadKv * c.headDimV] },
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
    const ropeQ = { ...c.rope, nHeads: c.nHead, headDim: c.headDim };
    const ropeK = { ...ropeQ, nHeads: c.nHeadKv };

    let x = ops.embed(w.get('token_embd.weight'), b.tokens);
    x = tr('inp_scaled', -1, ops.scale(x, c.embedScale)); // [n, nEmbd]
    for (let il = 0; il < c.nLayer; il++) {
      const W = (name: string) => w.get(blk(il, name));
      let cur = tr('attn_norm', il, ops.rmsNorm(x, W('attn_norm'), c.rmsEps));
      let q = tr('Qcur', il, ops.matmul(cur, W('attn_q')));
      let k = tr('Kcur', il, ops.matmul(cur, W('attn_k')));
      const v = tr('Vcur', il, ops.matmul(cur, W('attn_v')));
      q = tr('Qcur_rope', il, ops.rope(q, ropeQ, b.pos0));
      k = tr('Kcur_rope', il, ops.rope(k, ropeK, b.pos0));
      cur = tr('kqv_out', il, ops.attention(q, k, v, attentionParams(c, il), b.pos0));
      cur = tr('attn_out', il, ops.matmul(cur, W('attn_output')));
      x = tr('ffn_inp', il, ops.add(cur, x));

      cur = tr('ffn_norm', il, ops.rmsNorm(x, W('ffn_norm'), c.rmsEps));
      const gate = tr('ffn_gate', il, ops.matmul(cur, W('ffn_gate')));
      const up = tr('ffn_up', il, ops.matmul(cur, W('ffn_up')));
      cur = tr('ffn_act', il, ops.geglu(gate, up));
      cur = tr('ffn_out', il, ops.matmul(cur, W('ffn_down')));
      x = tr('l_out', il, ops.add(cur, x));
    }
    if (b.logits === 'last') x = ops.rows(x, x.rows - 1, 1);
    x = tr('result_norm', -1, ops.rmsNorm(x, w.get('output_norm.weight'), c.rmsEps));
    const out = w.has('output.weight') ? w.get('output.weight') : w.get('token_embd.weight');
    return tr('result_output', -1, ops.matmul(x, out));
  },
};
