/**
 * MLC's parameters for a llama or qwen2 model: names, shapes and dtypes as mlc-llm's model definitions
 * declare them (python/mlc_llm/model/{llama,qwen2}/*_model.py, quantized by
 * quantization/group_quantization.py), which is what a compiled model library lists in its metadata
 * (./library.ts) and asks the weights for by name. Each one is built from GGUF tensors:
 *
 *   model.embed_tokens                    ← token_embd.weight                       [vocab, embd]
 *   model.layers.{i}.self_attn.qkv_proj   ← attn_q, attn_k, attn_v (rows stacked)  [(nHead + 2·nKv)·headDim, embd]   llama
 *   model.layers.{i}.self_attn.c_attn     ← the same, + c_attn.bias from the biases                                     qwen2
 *   model.layers.{i}.self_attn.o_proj     ← attn_output                             [embd, nHead·headDim]
 *   model.layers.{i}.mlp.gate_up_proj     ← ffn_gate, ffn_up (rows stacked)         [2·ff, embd]
 *   model.layers.{i}.mlp.down_proj        ← ffn_down                                [embd, ff]
 *   model.layers.{i}.input_layernorm.weight, post_attention_layernorm.weight ← attn_norm, ffn_norm   [embd]
 *   model.norm.weight                     ← output_norm                             [embd]
 *   lm_head                               ← output.weight, only when the output is not tied to the embedding
 * in that order (a module's parameters in declaration order: the order the library lists them).
 * A matrix [rows, cols] (torch's Linear layout, rows = outputs) is stored per the quantization:
 *   q4f32_1: `.q_weight` uint32 [rows, cols/8] (eight 4-bit codes per word) and `.q_scale` float32 [rows, cols/32]
 *   q0f32:   `.weight` float32 [rows, cols]
 * Vectors (norms, biases) are float32 in both.
 *
 * llama.cpp's converter reorders the rows of each llama Q and K head for its adjacent-pair RoPE
 * (convert_hf_to_gguf.py `permute`); MLC's models take Hugging Face's layout and rotate halves, so those
 * parts carry `unpermuteHeads` and go back to the Hugging Face order (`sourceRow`). Qwen2 GGUFs rotate
 * halves already (NeoX RoPE) and are not permuted.
 */
import { CriaError } from '../../shared/errors.ts';
import type { DecoderDims } from '../decoder-dims.ts';

export const MLC_QUANTS = ['q4f32_1', 'q0f32'] as const;
export type MlcQuant = (typeof MLC_QUANTS)[number];
export const MLC_ARCHITECTURES = ['llama', 'qwen2'] as const;
export type MlcArch = (typeof MLC_ARCHITECTURES)[number];

/** q4f32_1's group: 32 weights share a scale; 8 four-bit codes per uint32 */
export const Q4F32_GROUP = 32;
export const Q4F32_PER_WORD = 8;

export interface MlcParam {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'uint32' | 'float32';
}

export interface MlcPart {
  /** GGUF tensor name */
  readonly tensor: string;
  readonly rows: number;
  /** rows are in llama.cpp's RoPE-permuted order, in heads of rows / unpermuteHeads: restore Hugging Face's */
  readonly unpermuteHeads?: number;
}

/** One MLC weight and where it comes from. */
export interface MlcWeight {
  /** a matrix's name without `.weight` / `.q_weight`; a vector's full name */
  readonly name: string;
  readonly kind: 'matrix' | 'vector';
  /** stacked by rows, in order */
  readonly parts: readonly MlcPart[];
  readonly rows: number;
  /** 1 for a vector */
  readonly cols: number;
}

/** `tied`: no lm_head */
export interface MlcShape extends DecoderDims {
  readonly arch: MlcArch;
  /** the GGUF's Q and K rows are in llama.cpp's adjacent-pair order (llama: RoPE "normal") */
  readonly permutedQk: boolean;
}

/** The weights of MLC's model for this shape, in the library's order. */
export function mlcWeights(s: MlcShape): MlcWeight[] {
  const q = s.nHead * s.headDim;
  const kv = s.nHeadKv * s.headDim;
  const out: MlcWeight[] = [];
  const matrix = (name: string, cols: number, parts: MlcPart[]) => out.push({ name, kind: 'matrix', parts, rows: parts.reduce((n, p) => n + p.rows, 0), cols });
  const vector = (name: string, parts: MlcPart[]) => out.push({ name, kind: 'vector', parts, rows: parts.reduce((n, p) => n + p.rows, 0), cols: 1 });

  matrix('model.embed_tokens', s.nEmbd, [{ tensor: 'token_embd.weight', rows: s.nVocab }]);
  for (let i = 0; i < s.nLayer; i++) {
    const L = `model.layers.${i}`;
    const b = (n: string) => `blk.${i}.${n}`;
    const perm = (heads: number) => (s.permutedQk ? { unpermuteHeads: heads } : {});
    const qkv: MlcPart[] = [
      { tensor: b('attn_q.weight'), rows: q, ...perm(s.nHead) },
      { tensor: b('attn_k.weight'), rows: kv, ...perm(s.nHeadKv) },
      { tensor: b('attn_v.weight'), rows: kv },
    ];
    if (s.arch === 'qwen2') {
      matrix(`${L}.self_attn.c_attn`, s.nEmbd, qkv);
      vector(`${L}.self_attn.c_attn.bias`, [
        { tensor: b('attn_q.bias'), rows: q, ...perm(s.nHead) },
        { tensor: b('attn_k.bias'), rows: kv, ...perm(s.nHeadKv) },
        { tensor: b('attn_v.bias'), rows: kv },
      ]);
    } else {
      matrix(`${L}.self_attn.qkv_proj`, s.nEmbd, qkv);
    }
    matrix(`${L}.self_attn.o_proj`, q, [{ tensor: b('attn_output.weight'), rows: s.nEmbd }]);
    matrix(`${L}.mlp.gate_up_proj`, s.nEmbd, [
      { tensor: b('ffn_gate.weight'), rows: s.nFf },
      { tensor: b('ffn_up.weight'), rows: s.nFf },
    ]);
    matrix(`${L}.mlp.down_proj`, s.nFf, [{ tensor: b('ffn_down.weight'), rows: s.nEmbd }]);
    vector(`${L}.input_layernorm.weight`, [{ tensor: b('attn_norm.weight'), rows: s.nEmbd }]);
    vector(`${L}.post_attention_layernorm.weight`, [{ tensor: b('ffn_norm.weight'), rows: s.nEmbd }]);
  }
  vector('model.norm.weight', [{ tensor: 'output_norm.weight', rows: s.nEmbd }]);
  if (!s.tied) matrix('lm_head', s.nEmbd, [{ tensor: 'output.weight', rows: s.nVocab }]);
  return out;
}

/** The parameters the weights become under a quantization (what the library's metadata lists). */
export function mlcParams(weights: readonly MlcWeight[], quant: MlcQuant): MlcParam[] {
  const out: MlcParam[] = [];
  for (const w of weights) {
    if (w.kind === 'vector') out.push({ name: w.name, shape: [w.rows], dtype: 'float32' });
    else if (quant === 'q0f32') out.push({ name: `${w.name}.weight`, shape: [w.rows, w.cols], dtype: 'float32' });
    else {
      if (w.cols % Q4F32_GROUP !== 0) throw new CriaError('unsupported-arch', `${w.name} has rows of ${w.cols} weights, not a multiple of q4f32_1's group of ${Q4F32_GROUP}`, { weight: w.name });
      out.push({ name: `${w.name}.q_weight`, shape: [w.rows, w.cols / Q4F32_PER_WORD], dtype: 'uint32' });
      out.push({ name: `${w.name}.q_scale`, shape: [w.rows, w.cols / Q4F32_GROUP], dtype: 'float32' });
    }
  }
  return out;
}

/**
 * Row `r` of a part in Hugging Face's order comes from this row of the GGUF tensor. llama.cpp's
 * permute puts HF row (head h, half s, index i) at GGUF row (h, 2i + s): the pair a RoPE rotates,
 * (i, i + D/2) in HF's rotate-half, becomes the adjacent pair (2i, 2i + 1) ggml's normal RoPE rotates.
 */
export function sourceRow(part: MlcPart, r: number): number {
  if (!part.unpermuteHeads) return r;
  const d = part.rows / part.unpermuteHeads;
  const h = Math.floor(r / d);
  const within = r - h * d;
  const s = within >= d / 2 ? 1 : 0;
  return h * d + 2 * (within - (s * d) / 2) + s;
}
