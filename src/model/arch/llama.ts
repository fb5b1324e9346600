/**
 * llama: Llama 2/3, SmolLM/SmolLM2, TinyLlama, Mistral-style models.
 * Pre-norm (RMSNorm) decoder; GQA; "normal" RoPE (adjacent pairs), with
 * optional llama3 frequency factors (`rope_freqs.weight`); SwiGLU FFN;
 * output projection `output.weight` or, when absent, the tied embedding.
 */
import { parseBaseConfig, type ModelConfig } from '../config.ts';
import type { Act, Batch, Ops, Trace, Weight } from '../ops.ts';
import { gateUpFusion, gluFeedForward, outputLogits, qkvFusion, selfAttention } from './blocks.ts';
import { blk, type Architecture, type TensorSpec, type Weights } from './types.ts';

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

  fusions: (c) => Array.from({ length: c.nLayer }, (_, il) => [qkvFusion(il), gateUpFusion(il)]).flat(),

  forward<A extends Act, W extends Weight>(ops: Ops<A, W>, w: Weights<W>, c: ModelConfig, b: Batch, tr: Trace<A>): A {
    const rope = { ...c.rope, freqFactors: w.has('rope_freqs.weight') ? w.get('rope_freqs.weight') : undefined };

    let x = tr('inp_embd', -1, ops.embed(w.get('token_embd.weight'), b.tokens)); // [n, nEmbd]
    for (let il = 0; il < c.nLayer; il++) {
      const W = (name: string) => w.get(blk(il, name));
      let cur = tr('kqv_out', il, selfAttention(ops, w, c, b, tr, il, x, rope)); // [n, nHead·headDimV]
      x = tr('ffn_inp', il, ops.matmul(cur, W('attn_output'), undefined, { add: x }));
      cur = tr('ffn_act', il, gluFeedForward(ops, w, c, tr, il, x, 'swiglu')); // [n, nFf]
      x = tr('l_out', il, ops.matmul(cur, W('ffn_down'), undefined, { add: x }));
    }
    return tr('result_output', -1, outputLogits(ops, w, c, b, x)); // [rows, nVocab]
  },
};
