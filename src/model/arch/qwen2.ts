/**
 * qwen2: Qwen2 / Qwen2.5 (and DeepSeek-R1-Distill-Qwen). The llama block with
 * biases on the q, k and v projections and NeoX RoPE (rotate i with i+d/2).
 * Usually tied embeddings.
 */
import { parseBaseConfig, type ModelConfig } from '../config.ts';
import type { Act, Batch, Ops, Trace, Weight } from '../ops.ts';
import { llama } from './llama.ts';
import { gluFeedForward, outputLogits, selfAttention } from './blocks.ts';
import { blk, type Architecture, type Weights } from './types.ts';

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

  fusions: (c) => llama.fusions!(c),

  // llama's layer; the q, k, v biases are picked up by selfAttention
  forward<A extends Act, W extends Weight>(ops: Ops<A, W>, w: Weights<W>, c: ModelConfig, b: Batch, tr: Trace<A>): A {
    let x = tr('inp_embd', -1, ops.embed(w.get('token_embd.weight'), b.tokens)); // [n, nEmbd]
    for (let il = 0; il < c.nLayer; il++) {
      const W = (name: string) => w.get(blk(il, name));
      let cur = tr('kqv_out', il, selfAttention(ops, w, c, b, tr, il, x, c.rope));
      x = tr('ffn_inp', il, ops.matmul(cur, W('attn_output'), undefined, { add: x }));
      cur = tr('ffn_act', il, gluFeedForward(ops, w, c, tr, il, x, 'swiglu'));
      x = tr('l_out', il, ops.matmul(cur, W('ffn_down'), undefined, { add: x }));
    }
    return tr('result_output', -1, outputLogits(ops, w, c, b, x)); // [rows, nVocab]
  },
};
