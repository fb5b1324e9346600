/**
 * Models for the structured-output tests (test/unit/structured-output-*.test.ts), loaded into an
 * Engine on the CPU reference: the fixture GGUFs (stories260K, a trained model with llama2.c's
 * SentencePiece vocabulary; the random-weight fixtures with their synthetic SentencePiece
 * vocabulary) and a random-weight qwen2 written here with Qwen2.5's real byte-level BPE vocabulary
 * (151,665 tokens, control tokens such as <|im_start|>), so the grammar engine sees a real tokenizer
 * with multi-byte pieces and control tokens.
 *
 * Each model comes with what a test needs to check its outputs: the ids and texts of its control
 * tokens (which must never appear in a constrained answer).
 */
import { readFileSync } from 'node:fs';
import { GgmlType, ggmlTypeInfo } from '../../../src/formats/ggml-types.ts';
import { readGguf, type GgufValue } from '../../../src/formats/gguf.ts';
import { gv, writeGguf, type GgufWriteTensor } from '../../../src/formats/gguf-writer.ts';
import { bytesSource } from '../../../src/formats/source.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { CpuBackend } from '../../../src/reference/backend.ts';
import { Rng } from '../../../src/shared/rng.ts';
import { fixturePath } from './fixtures.ts';
import { qwen2Meta } from './tokenizer-fixtures.ts';

export interface TestModel {
  name: string;
  engine: Engine;
  /** the GGUF bytes (node-llama-cpp loads the same file) */
  bytes: Uint8Array;
  /** control tokens (GGUF token type 3): never part of an answer */
  controlIds: Set<number>;
  controlTexts: string[];
  eosId: number;
  /** the GGUF metadata (a tokenizer can be built from it) */
  meta: Map<string, GgufValue>;
}

const CONTROL = 3;

function controlTokens(meta: Map<string, GgufValue>): { ids: Set<number>; texts: string[] } {
  const tokens = meta.get('tokenizer.ggml.tokens')!.value as string[];
  const types = meta.get('tokenizer.ggml.token_type')!.value as ArrayLike<number>;
  const ids = new Set<number>();
  for (let i = 0; i < tokens.length; i++) if (types[i] === CONTROL) ids.add(i);
  return { ids, texts: [...ids].map((i) => tokens[i]!).filter((t) => t.length > 1) };
}

async function engineFor(name: string, bytes: Uint8Array): Promise<TestModel> {
  const file = await readGguf(bytesSource(bytes, name));
  const meta = new Map(file.metadata);
  const { ids, texts } = controlTokens(meta);
  const engine = new Engine({ createBackend: async () => new CpuBackend() });
  const copy = bytes.slice();
  await engine.load({ bytes: copy.buffer, name });
  return { name, engine, bytes, controlIds: ids, controlTexts: texts, eosId: Number(meta.get('tokenizer.ggml.eos_token_id')!.value), meta };
}

/** A fixture GGUF under /work/shared/fixtures/models/ (e.g. 'stories260K/stories260K-f32.gguf'). */
export function fixtureModel(rel: string): Promise<TestModel> {
  const b = readFileSync(fixturePath(`models/${rel}`));
  return engineFor(rel.split('/').pop()!.replace(/\.gguf$/, ''), new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * A random-weight qwen2 (1 layer, 64 wide) with Qwen2.5's vocabulary: embeddings N(0, 0.5²) so the
 * tied output spreads its logits (std ≈ 4) and sampling is not uniform. ~40 MB of F32.
 */
export function qwen2VocabGguf(seed = 7): Uint8Array {
  const vocab = qwen2Meta();
  const nVocab = (vocab.get('tokenizer.ggml.tokens')!.value as string[]).length;
  const d = 64;
  const nHead = 2;
  const hd = 32;
  const ff = 128;
  const rng = new Rng(seed);
  const f32 = ggmlTypeInfo(GgmlType.F32)!;
  const tensors: GgufWriteTensor[] = [];
  const add = (name: string, dims: number[], scale: number, mean = 0) => {
    const n = dims.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = mean + scale * rng.normal();
    tensors.push({ name, type: f32, dims, data: new Uint8Array(v.buffer) });
  };
  add('token_embd.weight', [d, nVocab], 0.5);
  add('blk.0.attn_norm.weight', [d], 0.1, 1);
  add('blk.0.attn_q.weight', [d, nHead * hd], 1 / Math.sqrt(d));
  add('blk.0.attn_k.weight', [d, hd], 1 / Math.sqrt(d));
  add('blk.0.attn_v.weight', [d, hd], 1 / Math.sqrt(d));
  add('blk.0.attn_q.bias', [nHead * hd], 0.3);
  add('blk.0.attn_k.bias', [hd], 0.3);
  add('blk.0.attn_v.bias', [hd], 0.1);
  add('blk.0.attn_output.weight', [nHead * hd, d], 1 / Math.sqrt(d));
  add('blk.0.ffn_norm.weight', [d], 0.1, 1);
  add('blk.0.ffn_gate.weight', [d, ff], 1 / Math.sqrt(d));
  add('blk.0.ffn_up.weight', [d, ff], 1 / Math.sqrt(d));
  add('blk.0.ffn_down.weight', [ff, d], 1 / Math.sqrt(ff));
  add('output_norm.weight', [d], 0.1, 1);
  const meta = new Map<string, GgufValue>([
    ['general.architecture', gv.str('qwen2')],
    ['general.name', gv.str(`random-qwen2-real-vocab-seed${seed}`)],
    ['general.file_type', gv.u32(0)],
    ['qwen2.context_length', gv.u32(512)],
    ['qwen2.embedding_length', gv.u32(d)],
    ['qwen2.block_count', gv.u32(1)],
    ['qwen2.feed_forward_length', gv.u32(ff)],
    ['qwen2.attention.head_count', gv.u32(nHead)],
    ['qwen2.attention.head_count_kv', gv.u32(1)],
    ['qwen2.attention.layer_norm_rms_epsilon', gv.f32(1e-6)],
    ['qwen2.rope.freq_base', gv.f32(1e6)],
    ...[...vocab].filter(([k]) => k.startsWith('tokenizer.')),
  ]);
  return writeGguf({ metadata: meta, tensors });
}

export function qwen2VocabModel(seed = 7): Promise<TestModel> {
  return engineFor('random-qwen2-real-vocab', qwen2VocabGguf(seed));
}
