/**
 * gemma2: Gemma 2. Embeddings × sqrt(nEmbd); GeGLU FFN (tanh GELU); extra
 * RMSNorms after attention and after the FFN, before each residual add;
 * tanh soft-capping of attention logits and of the final logits; sliding-
 * window attention on even layers. NeoX RoPE; tied embeddings. GGUF norm
 * weights already include Gemma's "+1" (llama.cpp's converter folds it in).
 */
import { metaNumber } from '../../formats/gguf-meta.ts';
import { parseBaseConfig, type ModelConfig } from '../config.ts';
import type { Act, Batch, Ops, Trace, Weight } from '../ops.ts';
import { gateUpFusion, gluFeedForward, outputLogits, qkvFusion, selfAttention } from './blocks.ts';
import { blk, type Architecture, type TensorSpec, type Weights } from './types.ts';

export const gemma2: Architecture = {
  names: ['gemma2'],
  config(file) {
    const base = parseBaseConfig(file, 'neox');
    const window = metaNumber(file, 'gemma2.attention.sliding_window', 4096);
    // llama.cpp: the 27B model scales queries by 1/sqrt(nEmbd/nHead), the others by 1/sqrt(headDim)
    const attnScale = base.nLayer === 46 ? 1 / Math.sqrt(base.nEmbd / base.nHead) : 1 / Math.sqrt(base.headDim);
    return {
      ...base,
      attnScale,
      attnSoftcap: metaNumber(file, 'gemma2.attn_logit_softcapping', 50),
      finalSoftcap: metaNumber(file, 'gemma2.final_logit_softcapping', 30),
      slidingWindow: Array.from({ length: base.nLayer }, (_, il) => (il % 2 === 0 ? window : 0)),
      embedScale: Math.sqrt(base.nEmbd),
    };
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
        { name: blk(il, 'post_attention_norm'), dims: [c.nEmbd] },
        { name: blk(il, 'ffn_norm'), dims: [c.nEmbd] },
        { name: blk(il, 'ffn_gate'), dims: [c.nEmbd, c.nFf] },
        { name: blk(il, 'ffn_up'), dims: [c.nEmbd, c.nFf] },
        { name: blk(il, 'ffn_down'), dims: [c.nFf, c.nEmbd] },
        { name: blk(il, 'post_ffw_norm'), dims: [c.nEmbd] },
      );
    }
    return t;
  },

  fusions: (c) => Array.from({ length: c.nLayer }, (_, il) => [qkvFusion(il), gateUpFusion(il)]).flat(),

  // the post-norms sit between each output projection and its residual: separate rmsNorm and add
  forward<A extends Act, W extends Weight>(ops: Ops<A, W>, w: Weights<W>, c: ModelConfig, b: Batch, tr: Trace<A>): A {
    let x = ops.embed(w.get('token_embd.weight'), b.tokens);
    x = tr('inp_scaled', -1, ops.scale(x, c.embedScale)); // [n, nEmbd]
    for (let il = 0; il < c.nLayer; il++) {
      const W = (name: string) => w.get(blk(il, name));
      let cur = tr('kqv_out', il, selfAttention(ops, w, c, b, tr, il, x, c.rope));
      cur = tr('attn_out', il, ops.matmul(cur, W('attn_output')));
      cur = tr('attn_post_norm', il, ops.rmsNorm(cur, W('post_attention_norm'), c.rmsEps));
      x = tr('ffn_inp', il, ops.add(cur, x));

      cur = tr('ffn_act', il, gluFeedForward(ops, w, c, tr, il, x, 'geglu'));
      cur = tr('ffn_out', il, ops.matmul(cur, W('ffn_down')));
      cur = tr('ffn_post_norm', il, ops.rmsNorm(cur, W('post_ffw_norm'), c.rmsEps));
      x = tr('l_out', il, ops.add(cur, x));
    }
    let logits = outputLogits(ops, w, c, b, x);
    if (c.finalSoftcap > 0) logits = ops.softcap(logits, c.finalSoftcap);
    return tr('result_output', -1, logits);
  },
};
