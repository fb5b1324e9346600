/**
 * `cria export onnx`: a GGUF causal LM as an ONNX model in the Optimum / Transformers.js layout, built
 * by Cria's own graph builder (src/formats/onnx/graph.ts), so the same weights run on onnxruntime and
 * the two runtimes can be checked against each other.
 *
 * The graph (opset 17, batch-first, one decoder with a KV cache):
 *   inputs   input_ids int64 [batch, seq], attention_mask int64 [batch, past + seq],
 *            position_ids int64 [batch, seq], past_key_values.{i}.key|value f32 [batch, n_kv, past, head_dim]
 *   outputs  logits f32 [batch, seq, vocab], present.{i}.key|value f32 [batch, n_kv, past + seq, head_dim]
 * and per layer what src/model/arch/llama.ts (and qwen2.ts) compute: RMSNorm, q/k/v (+ qwen2's
 * biases), RoPE (llama: adjacent pairs, qwen2: halves; cos/sin from Cria's own table,
 * src/shared/rope-table.ts, gathered by position_ids), causal attention over past + new keys with
 * grouped KV heads, SwiGLU FFN, residuals, the final norm and the LM head (tied or not).
 *
 * Weights: Q4_0 as `MatMulNBits` (4 bits, blocks of 32: the same codes and scales, exact); Q8_0 as
 * 8-bit `MatMulNBits` (the same, exact) unless `q8: 'f32'`; every other type dequantized to f32 (the
 * values Cria's reference computes with). The embedding is gathered from an f32 copy.
 * The tokenizer goes along as tokenizer.json + tokenizer_config.json (./tokenizer-json.ts), with the
 * GGUF's chat template.
 */
import { CriaError } from '../shared/errors.ts';
import { readTensorBytes, type GgufFile, type GgufTensorInfo } from '../formats/gguf.ts';
import { dequantize } from '../formats/quant.ts';
import { hasKey, metaNumber } from '../formats/gguf-meta.ts';
import { DT, GraphBuilder, type EncodeOptions } from '../formats/onnx/graph.ts';
import { NBITS_BLOCK, q4_0ToNBits, q8_0ToNBits } from '../formats/onnx/matmul-nbits.ts';
import { planModel } from '../model/model.ts';
import type { ModelConfig } from '../model/config.ts';
import { blk } from '../model/arch/types.ts';
import { buildRopeTable } from '../shared/rope-table.ts';
import { parseVocab } from '../tokenizer/vocab.ts';
import { tokenizerJson } from './tokenizer-json.ts';

export const EXPORT_ARCHITECTURES = ['llama', 'qwen2'] as const;

export interface OnnxExportOptions {
  /** Q8_0 weights: 8-bit MatMulNBits (default) or dequantized f32 */
  q8?: 'nbits' | 'f32';
  /** initializers of at least this many bytes go to onnx/model.onnx_data (default 1 MiB) */
  externalThreshold?: number;
  /** positions the RoPE table covers (default: the training context, at most 32768) */
  maxPositions?: number;
}

export interface OnnxExport {
  /** path in the repository → bytes (onnx/model.onnx, onnx/model.onnx_data, config.json, tokenizer.json, …) */
  files: Map<string, Uint8Array>;
  config: ModelConfig;
  /** how each weight went in: `MatMulNBits 4-bit`, `f32 (from Q6_K)`, … */
  weights: Map<string, string>;
  /** what the export could not carry over exactly, in sentences (the tokenizer's: src/export/tokenizer-json.ts) */
  warnings: string[];
}

const BATCH = 'batch_size';
const SEQ = 'sequence_length';
const PAST = 'past_sequence_length';
const TOTAL = 'total_sequence_length';

export async function exportOnnx(file: GgufFile, opts: OnnxExportOptions = {}): Promise<OnnxExport> {
  const { config: c } = planModel(file);
  checkSupported(c);
  const g = new GraphBuilder(17);
  const weights = new Map<string, string>();
  const tensor = (name: string): GgufTensorInfo => {
    const t = file.tensorsByName.get(name);
    if (!t) throw new CriaError('missing-tensor', `missing tensor ${name}`, { tensor: name });
    return t;
  };
  const has = (name: string) => file.tensorsByName.has(name);
  const f32Of = async (t: GgufTensorInfo) => dequantize(t.type, await readTensorBytes(file, t), t.nElements);

  /** x [.., K] · Wᵀ for the GGUF weight W [K, N] (+ bias): MatMulNBits for Q4_0/Q8_0, else MatMul with W transposed */
  const linear = async (x: string, name: string, biasName?: string): Promise<string> => {
    const t = tensor(name);
    const [k, n] = t.dims;
    let y: string;
    const nbits = t.type.name === 'Q4_0' || (t.type.name === 'Q8_0' && opts.q8 !== 'f32');
    if (nbits && k % NBITS_BLOCK === 0) {
      const bytes = await readTensorBytes(file, t);
      const w = t.type.name === 'Q4_0' ? q4_0ToNBits(bytes, k, n) : q8_0ToNBits(bytes, k, n);
      const blocks = k / NBITS_BLOCK;
      const b = g.tensor(`${name}.MatMulNBits.B`, DT.UINT8, [n, blocks, (NBITS_BLOCK * w.bits) / 8], w.b);
      const s = g.f32(`${name}.MatMulNBits.scales`, [n, blocks], w.scales);
      y = g.node('MatMulNBits', [x, b, s], { domain: 'com.microsoft', attrs: { K: k, N: n, bits: w.bits, block_size: NBITS_BLOCK }, hint: name });
      weights.set(name, `MatMulNBits ${w.bits}-bit (from ${t.type.name})`);
    } else {
      const w = await f32Of(t); // [n rows][k]
      const wt = new Float32Array(k * n); // [k][n], MatMul's B
      for (let r = 0; r < n; r++) for (let i = 0; i < k; i++) wt[i * n + r] = w[r * k + i];
      y = g.node('MatMul', [x, g.f32(`${name}.T`, [k, n], wt)], { hint: name });
      weights.set(name, t.type.name === 'F32' ? 'f32' : `f32 (from ${t.type.name})`);
    }
    if (biasName && has(biasName)) y = g.node('Add', [y, g.f32(biasName, [n], await f32Of(tensor(biasName)))]);
    return y;
  };

  const rms = async (x: string, name: string): Promise<string> => {
    const ms = g.node('ReduceMean', [g.node('Mul', [x, x])], { attrs: { axes: [-1], keepdims: 1 } });
    const r = g.node('Sqrt', [g.node('Add', [ms, g.scalar(c.rmsEps)])]);
    return g.node('Mul', [g.node('Div', [x, r]), g.f32(name, [c.nEmbd], await f32Of(tensor(name)))]);
  };

  // inputs
  const ids = g.input('input_ids', DT.INT64, [BATCH, SEQ]);
  const attentionMask = g.input('attention_mask', DT.INT64, [BATCH, TOTAL]);
  const positions = g.input('position_ids', DT.INT64, [BATCH, SEQ]);
  const past: { k: string; v: string }[] = [];
  for (let il = 0; il < c.nLayer; il++) {
    past.push({
      k: g.input(`past_key_values.${il}.key`, DT.FLOAT, [BATCH, c.nHeadKv, PAST, c.headDim]),
      v: g.input(`past_key_values.${il}.value`, DT.FLOAT, [BATCH, c.nHeadKv, PAST, c.headDim]),
    });
  }

  // RoPE: cos/sin [positions, half] gathered by position_ids → [batch, seq, 1, half]
  const half = c.headDim / 2;
  const maxPos = opts.maxPositions ?? Math.min(c.nCtxTrain, 32768);
  const freqFactors = has('rope_freqs.weight') ? await f32Of(tensor('rope_freqs.weight')) : undefined;
  const table = buildRopeTable({ dim: c.rope.dim, base: c.rope.base, freqScale: c.rope.freqScale, attnFactor: c.rope.attnFactor, ...(freqFactors ? { freqFactors } : {}) }, maxPos);
  const cosT = new Float32Array(maxPos * half);
  const sinT = new Float32Array(maxPos * half);
  for (let i = 0; i < maxPos * half; i++) {
    cosT[i] = table[2 * i];
    sinT[i] = table[2 * i + 1];
  }
  let cos = g.node('Unsqueeze', [g.node('Gather', [g.f32('rope.cos', [maxPos, half], cosT), positions]), g.i64([2])]); // [B,S,1,half]
  let sin = g.node('Unsqueeze', [g.node('Gather', [g.f32('rope.sin', [maxPos, half], sinT), positions]), g.i64([2])]);
  if (c.rope.type === 'normal') {
    cos = g.node('Unsqueeze', [cos, g.i64([4])]); // [B,S,1,half,1]
    sin = g.node('Unsqueeze', [sin, g.i64([4])]);
  }
  /** x [B, S, heads, headDim] rotated */
  const rope = (x: string): string => {
    const rot = (x0: string, x1: string) => [g.node('Sub', [g.node('Mul', [x0, cos]), g.node('Mul', [x1, sin])]), g.node('Add', [g.node('Mul', [x0, sin]), g.node('Mul', [x1, cos])])];
    if (c.rope.type === 'neox') {
      const x0 = g.node('Slice', [x, g.i64([0]), g.i64([half]), g.i64([3])]);
      const x1 = g.node('Slice', [x, g.i64([half]), g.i64([c.headDim]), g.i64([3])]);
      return g.node('Concat', rot(x0, x1), { attrs: { axis: 3 } });
    }
    const pairs = g.node('Reshape', [x, g.i64([0, 0, 0, half, 2])]); // adjacent pairs (2j, 2j+1)
    const x0 = g.node('Slice', [pairs, g.i64([0]), g.i64([1]), g.i64([4])]);
    const x1 = g.node('Slice', [pairs, g.i64([1]), g.i64([2]), g.i64([4])]);
    return g.node('Reshape', [g.node('Concat', rot(x0, x1), { attrs: { axis: 4 } }), g.i64([0, 0, 0, c.headDim])]);
  };

  // the mask [batch, 1, seq, total]: causal (query i at position past + i sees keys 0..past + i) and padding (attention_mask 0)
  const NEG = g.scalar(-Infinity);
  const ZERO = g.scalar(0);
  const total = g.node('Squeeze', [g.node('Shape', [attentionMask], { attrs: { start: 1, end: 2 } }), g.i64([0])]);
  const seq = g.node('Squeeze', [g.node('Shape', [ids], { attrs: { start: 1, end: 2 } }), g.i64([0])]);
  const start = g.node('Sub', [total, seq]);
  const one = g.i64([1], []);
  const rows = g.node('Range', [start, total, one]); // [seq]: absolute positions of the queries
  const cols = g.node('Range', [g.i64([0], []), total, one]); // [total]
  const future = g.node('Greater', [g.node('Unsqueeze', [cols, g.i64([0])]), g.node('Unsqueeze', [rows, g.i64([1])])]); // [seq, total]
  const causal = g.node('Where', [future, NEG, ZERO]);
  const padded = g.node('Where', [g.node('Equal', [attentionMask, g.i64([0], [])]), NEG, ZERO]); // [batch, total]
  const mask = g.node('Add', [causal, g.node('Unsqueeze', [padded, g.i64([1, 2])])]); // [batch, 1, seq, total]

  const group = c.nHead / c.nHeadKv;
  /** [B, nKv, T, D] → [B, nHead, T, D]: each KV head serves `group` query heads, in order */
  const repeatKv = (x: string): string => (group === 1 ? x : g.node('Reshape', [g.node('Expand', [g.node('Unsqueeze', [x, g.i64([2])]), g.i64([1, 1, group, 1, 1])]), g.i64([0, c.nHead, -1, c.headDim])]));

  let h = g.node('Gather', [g.f32('token_embd.weight', [c.nVocab, c.nEmbd], await f32Of(tensor('token_embd.weight'))), ids]); // [B,S,E]
  for (let il = 0; il < c.nLayer; il++) {
    const x = await rms(h, blk(il, 'attn_norm'));
    const heads = (y: string, n: number) => g.node('Reshape', [y, g.i64([0, 0, n, c.headDim])]);
    const q = rope(heads(await linear(x, blk(il, 'attn_q'), blk(il, 'attn_q', 'bias')), c.nHead));
    const k = rope(heads(await linear(x, blk(il, 'attn_k'), blk(il, 'attn_k', 'bias')), c.nHeadKv));
    const v = heads(await linear(x, blk(il, 'attn_v'), blk(il, 'attn_v', 'bias')), c.nHeadKv);
    const toHeads = (y: string) => g.node('Transpose', [y], { attrs: { perm: [0, 2, 1, 3] } });
    const kAll = g.node('Concat', [past[il].k, toHeads(k)], { attrs: { axis: 2 } }); // [B, nKv, T, D]
    const vAll = g.node('Concat', [past[il].v, toHeads(v)], { attrs: { axis: 2 } });
    g.output(kAll, `present.${il}.key`, DT.FLOAT, [BATCH, c.nHeadKv, TOTAL, c.headDim]);
    g.output(vAll, `present.${il}.value`, DT.FLOAT, [BATCH, c.nHeadKv, TOTAL, c.headDim]);
    const kt = g.node('Transpose', [repeatKv(kAll)], { attrs: { perm: [0, 1, 3, 2] } }); // [B, H, D, T]
    const scores = g.node('Add', [g.node('Mul', [g.node('MatMul', [toHeads(q), kt]), g.scalar(c.attnScale)]), mask]); // [B, H, S, T]
    const probs = g.node('Softmax', [scores], { attrs: { axis: -1 } });
    const o = g.node('Reshape', [toHeads(g.node('MatMul', [probs, repeatKv(vAll)])), g.i64([0, 0, c.nHead * c.headDim])]); // [B, S, H·D]
    h = g.node('Add', [h, await linear(o, blk(il, 'attn_output'))]);
    const y = await rms(h, blk(il, 'ffn_norm'));
    const gate = await linear(y, blk(il, 'ffn_gate'));
    const up = await linear(y, blk(il, 'ffn_up'));
    const act = g.node('Mul', [g.node('Mul', [gate, g.node('Sigmoid', [gate])]), up]);
    h = g.node('Add', [h, await linear(act, blk(il, 'ffn_down'))]);
  }
  const out = await rms(h, 'output_norm.weight');
  const logits = await linear(out, has('output.weight') ? 'output.weight' : 'token_embd.weight');
  g.output(logits, 'logits', DT.FLOAT, [BATCH, SEQ, c.nVocab]);

  const enc: EncodeOptions = { externalThreshold: opts.externalThreshold ?? 1 << 20, externalName: 'model.onnx_data' };
  const { model, data } = g.encode(enc);
  const files = new Map<string, Uint8Array>();
  files.set('onnx/model.onnx', model);
  if (data) files.set('onnx/model.onnx_data', data);
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');
  files.set('config.json', json(hfConfig(file, c)));
  files.set('generation_config.json', json(generationConfig(file)));
  const tok = tokenizerJson(parseVocab(file));
  files.set('tokenizer.json', json(tok.tokenizer));
  files.set('tokenizer_config.json', json(tok.config));
  return { files, config: c, weights, warnings: tok.warnings };
}

function checkSupported(c: ModelConfig): void {
  const refuse = (why: string) => {
    throw new CriaError('unsupported-arch', `cria export onnx: ${why}`, { arch: c.arch });
  };
  if (!(EXPORT_ARCHITECTURES as readonly string[]).includes(c.arch)) refuse(`the ${c.arch} architecture is not supported (supported: ${EXPORT_ARCHITECTURES.join(', ')})`);
  if (c.rope.dim !== c.headDim) refuse(`RoPE over ${c.rope.dim} of ${c.headDim} head dimensions is not supported`);
  if (c.headDimV !== c.headDim) refuse('value heads of another size than key heads are not supported');
  if (c.nHead % c.nHeadKv !== 0) refuse(`${c.nHead} query heads do not share ${c.nHeadKv} KV heads evenly`);
  if (c.attnSoftcap || c.finalSoftcap || c.embedScale !== 1 || c.slidingWindow.some((w) => w > 0)) refuse('soft-capping, embedding scale and sliding windows are not supported');
}

const metaId = (file: GgufFile, key: string): number | undefined => (hasKey(file, key) ? metaNumber(file, key) : undefined);

/** config.json as Transformers.js and Optimum read it. */
function hfConfig(file: GgufFile, c: ModelConfig): Record<string, unknown> {
  return {
    architectures: [c.arch === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    model_type: c.arch,
    vocab_size: c.nVocab,
    hidden_size: c.nEmbd,
    intermediate_size: c.nFf,
    num_hidden_layers: c.nLayer,
    num_attention_heads: c.nHead,
    num_key_value_heads: c.nHeadKv,
    head_dim: c.headDim,
    max_position_embeddings: c.nCtxTrain,
    rms_norm_eps: c.rmsEps,
    rope_theta: c.rope.base,
    tie_word_embeddings: !file.tensorsByName.has('output.weight'),
    bos_token_id: metaId(file, 'tokenizer.ggml.bos_token_id'),
    eos_token_id: metaId(file, 'tokenizer.ggml.eos_token_id'),
    torch_dtype: 'float32',
    transformers_version: '4.46.0',
    cria: { exported_from: 'gguf', name: c.name },
  };
}

function generationConfig(file: GgufFile): Record<string, unknown> {
  return { bos_token_id: metaId(file, 'tokenizer.ggml.bos_token_id'), eos_token_id: metaId(file, 'tokenizer.ggml.eos_token_id') };
}
