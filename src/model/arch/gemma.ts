/**
 * gemma: Gemma (v1). Embeddings × sqrt(nEmbd); pre-norm blocks with GeGLU
 * (tanh GELU) FFN; NeoX RoPE; queries scaled by 1/sqrt(headDim); tied
 * embeddings. Unlike gemma2: no post-norms, no soft-capping, no sliding
 * window. GGUF norm weights already include Gemma's "+1".
 */
import { parseBaseConfig, type ModelConfig } from '../config.ts';
import type { Act, Batch, Ops, Trace, Weight } from '../ops.ts';
import { gateUpFusion, gluFeedForward, outputLogits, qkvFusion, selfAttention } from './blocks.ts';
import { blk, type Architecture, type TensorSpec, type Weights } from './types.ts';

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

  fusions: (c) => Array.from({ length: c.nLayer }, (_, il) => [qkvFusion(il), gateUpFusion(il)]).flat(),

  forward<A extends Act, W extends Weight>(ops: Ops<A, W>, w: Weights<W>, c: ModelConfig, b: Batch, tr: Trace<A>): A {
    let x = ops.embed(w.get('token_embd.weight'), b.tokens);
    x = tr('inp_scaled', -1, ops.scale(x, c.embedScale)); // [n, nEmbd]
    for (let il = 0; il < c.nLayer; il++) {
      const W = (name: string) => w.get(blk(il, name));
      let cur = tr('kqv_out', il, selfAttention(ops, w, c, b, tr, il, x, c.rope));
      x = tr('ffn_inp', il, ops.matmul(cur, W('attn_output'), undefined, { add: x }));
      cur = tr('ffn_act', il, gluFeedForward(ops, w, c, tr, il, x, 'geglu'));
      x = tr('l_out', il, ops.matmul(cur, W('ffn_down'), undefined, { add: x }));
    }
    return tr('result_output', -1, outputLogits(ops, w, c, b, x));
  },
};
