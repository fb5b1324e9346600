/**
 * phi3: Phi-3 / Phi-3.5 / Phi-4-mini. Fused projections: `attn_qkv` holds
 * q, k, v as consecutive output rows, `ffn_up` holds gate then up (2·nFf
 * rows). NeoX RoPE, no biases, usually tied embeddings.
 * LongRoPE (the 128k-context variants, e.g. Phi-3.5-mini): per-frequency
 * factors `rope_factors_short` when the session's context is at most the
 * original one (`phi3.rope.scaling.original_context_length`), otherwise
 * `rope_factors_long` (llama.cpp's rule; note llama.cpp pads its context to
 * a multiple of 256), with cos/sin scaled by `phi3.rope.scaling.attn_factor`.
 */
import { CriaError } from '../../shared/errors.ts';
import { parseBaseConfig, type ModelConfig } from '../config.ts';
import type { Act, Batch, Ops, Trace, Weight } from '../ops.ts';
import { gluFeedForward, outputLogits, selfAttention } from './blocks.ts';
import { blk, type Architecture, type TensorSpec, type Weights } from './types.ts';

export const phi3: Architecture = {
  names: ['phi3'],
  config(file) {
    const base = parseBaseConfig(file, 'neox');
    const short = file.tensorsByName.has('rope_factors_short.weight');
    if (short !== file.tensorsByName.has('rope_factors_long.weight')) {
      throw new CriaError('bad-file', 'this Phi-3 model has only one of rope_factors_short / rope_factors_long; LongRoPE needs both', { arch: 'phi3' });
    }
    if (short && !(Number.isInteger(base.nCtxOrig) && base.nCtxOrig > 0)) throw new CriaError('bad-file', `phi3.rope.scaling.original_context_length = ${base.nCtxOrig}`);
    return base;
  },

  tensors(c) {
    const q = c.nHead * c.headDim;
    const kv = c.nHeadKv * c.headDim;
    const t: TensorSpec[] = [
      { name: 'token_embd.weight', dims: [c.nEmbd, c.nVocab] },
      { name: 'output_norm.weight', dims: [c.nEmbd] },
      { name: 'output.weight', dims: [c.nEmbd, c.nVocab], optional: true },
      { name: 'rope_factors_short.weight', dims: [c.rope.dim / 2], optional: true },
      { name: 'rope_factors_long.weight', dims: [c.rope.dim / 2], optional: true },
    ];
    for (let il = 0; il < c.nLayer; il++) {
      t.push(
        { name: blk(il, 'attn_norm'), dims: [c.nEmbd] },
        { name: blk(il, 'attn_qkv'), dims: [c.nEmbd, q + kv + c.nHeadKv * c.headDimV] },
        { name: blk(il, 'attn_output'), dims: [c.nHead * c.headDimV, c.nEmbd] },
        { name: blk(il, 'ffn_norm'), dims: [c.nEmbd] },
        { name: blk(il, 'ffn_up'), dims: [c.nEmbd, 2 * c.nFf] },
        { name: blk(il, 'ffn_down'), dims: [c.nFf, c.nEmbd] },
      );
    }
    return t;
  },

  // the file's own fused attn_qkv and ffn_up (gate | up) take the fused paths of blocks.ts
  forward<A extends Act, W extends Weight>(ops: Ops<A, W>, w: Weights<W>, c: ModelConfig, b: Batch, tr: Trace<A>): A {
    const longRope = w.has('rope_factors_short.weight');
    const freqFactors = longRope ? w.get(b.nCtx > c.nCtxOrig ? 'rope_factors_long.weight' : 'rope_factors_short.weight') : undefined;
    const rope = { ...c.rope, freqFactors };

    let x = tr('inp_embd', -1, ops.embed(w.get('token_embd.weight'), b.tokens)); // [n, nEmbd]
    for (let il = 0; il < c.nLayer; il++) {
      const W = (name: string) => w.get(blk(il, name));
      let cur = tr('kqv_out', il, selfAttention(ops, w, c, b, tr, il, x, rope));
      x = tr('ffn_inp', il, ops.matmul(cur, W('attn_output'), undefined, { add: x }));
      cur = tr('ffn_act', il, gluFeedForward(ops, w, c, tr, il, x, 'swiglu', 'ffn_up'));
      x = tr('l_out', il, ops.matmul(cur, W('ffn_down'), undefined, { add: x }));
    }
    return tr('result_output', -1, outputLogits(ops, w, c, b, x));
  },
};
