/**
 * A tokenizer from Hugging Face files (tokenizer.json, tokenizer_config.json, generation_config.json):
 * what ONNX and other Hub repositories ship instead of GGUF metadata.
 *
 * The text between special tokens is encoded by Hugging Face's own `@huggingface/tokenizers` (the
 * model's reference implementation: its normalizer, pre-tokenizer and BPE merges); everything around
 * it is Cria's (src/tokenizer/index.ts `tokenizerFromVocab`): the vocabulary is read into Cria's `Vocab`
 * (token texts and kinds, BOS/EOS/EOT, the end-of-generation set, the chat template), so special
 * tokens are partitioned as for a GGUF (control tokens only with parseSpecial, a forged one in a chat
 * message stays text), and decoding, streaming and bytes are Cria's.
 *
 * Supported: BPE models, byte-level (GPT-2 style: a ByteLevel decoder) or SentencePiece style (byte
 * fallback, "▁" for spaces). Anything else (Unigram, WordPiece) is an `unsupported-tokenizer` error.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import type { GgufValue } from '../formats/gguf.ts';
import { gv } from '../formats/gguf-writer.ts';
import { CriaError } from '../shared/errors.ts';
import { tokenizerFromVocab, type Tokenizer } from './index.ts';
import { parseVocab, TokenAttr, TokenType } from './vocab.ts';

/** The parts of tokenizer.json read here (the rest goes to @huggingface/tokenizers as it is). */
interface TokenizerJson {
  added_tokens?: { id: number; content: string; special?: boolean; lstrip?: boolean; rstrip?: boolean }[];
  normalizer?: { type: string; normalizers?: { type: string; prepend?: string }[]; prepend?: string } | null;
  pre_tokenizer?: { type: string; prepend_scheme?: string; add_prefix_space?: boolean; pretokenizers?: { type: string; prepend_scheme?: string }[] } | null;
  decoder?: { type: string; decoders?: { type: string }[] } | null;
  model: { type: string; vocab?: Record<string, number>; merges?: (string | [string, string])[]; byte_fallback?: boolean; unk_token?: string | null };
  post_processor?: { type: string; single?: ({ SpecialToken?: { id: string } } | { Sequence?: unknown })[] } | null;
}

type TokenText = string | { content?: string } | null | undefined;

export interface HfTokenizerFiles {
  tokenizer: unknown;
  config?: unknown;
  generationConfig?: unknown;
}

export function createHfTokenizer(files: HfTokenizerFiles): Tokenizer {
  const json = files.tokenizer as TokenizerJson;
  const config = (files.config ?? {}) as Record<string, unknown>;
  const gen = (files.generationConfig ?? {}) as Record<string, unknown>;
  if (!json || typeof json !== 'object' || !json.model || json.model.type !== 'BPE' || !json.model.vocab) {
    throw new CriaError('unsupported-tokenizer', `tokenizer.json holds a ${json?.model?.type ?? 'missing'} model; Cria supports BPE tokenizers (byte-level and SentencePiece-style)`, { model: json?.model?.type });
  }
  const byteLevel = mentions(json.decoder, 'ByteLevel') || mentions(json.pre_tokenizer, 'ByteLevel');
  const spmStyle = !byteLevel && (json.model.byte_fallback === true || mentions(json.decoder, 'Metaspace') || mentions(json.pre_tokenizer, 'Metaspace'));
  if (!byteLevel && !spmStyle) throw new CriaError('unsupported-tokenizer', 'tokenizer.json is neither byte-level BPE nor SentencePiece-style BPE (no ByteLevel or Metaspace/byte-fallback decoder)');

  // token texts by id: the model's vocabulary, then the added tokens (which may extend it)
  const texts: string[] = [];
  for (const [t, id] of Object.entries(json.model.vocab)) texts[id] = t;
  const added = json.added_tokens ?? [];
  for (const a of added) texts[a.id] = a.content;
  for (let i = 0; i < texts.length; i++) if (texts[i] === undefined) texts[i] = `[UNUSED_${i}]`;
  const types: number[] = texts.map((t, id) => {
    if (/^\[UNUSED_\d+\]$/.test(t) && json.model.vocab![t] !== id) return TokenType.UNUSED;
    if (spmStyle && /^<0x[0-9A-F]{2}>$/.test(t)) return TokenType.BYTE;
    if (t === json.model.unk_token) return TokenType.UNKNOWN;
    return TokenType.NORMAL;
  });
  for (const a of added) types[a.id] = a.special === false ? TokenType.USER_DEFINED : TokenType.CONTROL;

  const idOf = (t: TokenText): number | undefined => {
    const s = typeof t === 'string' ? t : t?.content;
    if (s === undefined) return undefined;
    const id = texts.indexOf(s);
    return id >= 0 ? id : undefined;
  };
  const firstId = (v: unknown): number | undefined => (typeof v === 'number' ? v : Array.isArray(v) && typeof v[0] === 'number' ? v[0] : undefined);
  const bos = idOf(config.bos_token as TokenText) ?? firstId(gen.bos_token_id);
  const eos = idOf(config.eos_token as TokenText) ?? firstId(gen.eos_token_id);
  const template = Array.isArray(config.chat_template) ? (config.chat_template as { name: string; template: string }[]).find((t) => t.name === 'default')?.template : config.chat_template;
  const addBos = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : (json.post_processor?.single ?? []).some((p) => 'SpecialToken' in p && p.SpecialToken && idOf(p.SpecialToken.id) === bos);

  const meta = new Map<string, GgufValue>();
  meta.set('tokenizer.ggml.model', gv.str(spmStyle ? 'llama' : 'gpt2'));
  // Cria's pre-tokenizer is not used (Hugging Face's encodes); the name only satisfies the vocabulary's parser
  if (!spmStyle) meta.set('tokenizer.ggml.pre', gv.str('default'));
  meta.set('tokenizer.ggml.tokens', gv.strs(texts));
  meta.set('tokenizer.ggml.token_type', gv.i32s(types));
  if (!spmStyle) meta.set('tokenizer.ggml.merges', gv.strs((json.model.merges ?? []).map((m) => (Array.isArray(m) ? m.join(' ') : m))));
  if (bos !== undefined) meta.set('tokenizer.ggml.bos_token_id', gv.u32(bos));
  if (eos !== undefined) meta.set('tokenizer.ggml.eos_token_id', gv.u32(eos));
  const unk = idOf(json.model.unk_token);
  if (unk !== undefined) meta.set('tokenizer.ggml.unknown_token_id', gv.u32(unk));
  meta.set('tokenizer.ggml.add_bos_token', gv.bool(addBos && bos !== undefined));
  meta.set('tokenizer.ggml.add_eos_token', gv.bool(config.add_eos_token === true && eos !== undefined));
  if (spmStyle) meta.set('tokenizer.ggml.add_space_prefix', gv.bool(prependsSpace(json)));
  if (typeof template === 'string') meta.set('tokenizer.chat_template', gv.str(template));
  const vocab = parseVocab(meta);
  // an added token's lstrip/rstrip: the whitespace before/after it goes with it (Phi-3's markup)
  for (const a of added) {
    if (a.lstrip) vocab.attrs[a.id] |= TokenAttr.LSTRIP;
    if (a.rstrip) vocab.attrs[a.id] |= TokenAttr.RSTRIP;
  }
  // generation_config's other end ids end generation too
  for (const id of [gen.eos_token_id].flat()) if (typeof id === 'number' && id >= 0 && id < texts.length) (vocab.eog as Set<number>).add(id);

  // Hugging Face's model for the text between special tokens: its own added special tokens are taken
  // out (Cria partitions them, honoring parseSpecial), its user-defined ones stay (always matched, as in llama.cpp)
  const plain = new HfTokenizer({ ...(files.tokenizer as object), added_tokens: added.filter((a) => a.special === false), post_processor: null }, { ...config, add_bos_token: false, add_eos_token: false });
  return tokenizerFromVocab(vocab, (text, _afterSpecial, out) => {
    for (const id of plain.encode(text, { add_special_tokens: false }).ids) out.push(id);
  });
}

function mentions(node: { type: string; decoders?: { type: string }[]; pretokenizers?: { type: string }[]; normalizers?: { type: string }[] } | null | undefined, type: string): boolean {
  if (!node) return false;
  if (node.type === type) return true;
  return [...(node.decoders ?? []), ...(node.pretokenizers ?? []), ...(node.normalizers ?? [])].some((n) => n.type === type);
}

/** Whether a SentencePiece-style tokenizer.json puts "▁" before the text (Prepend normalizer, or Metaspace prepend_scheme). */
function prependsSpace(json: TokenizerJson): boolean {
  const norms = json.normalizer ? [json.normalizer, ...(json.normalizer.normalizers ?? [])] : [];
  if (norms.some((n) => n.type === 'Prepend' && n.prepend === '▁')) return true;
  const pres = json.pre_tokenizer ? [json.pre_tokenizer, ...(json.pre_tokenizer.pretokenizers ?? [])] : [];
  return pres.some((p) => p.type === 'Metaspace' && p.prepend_scheme !== 'never' && (p as { add_prefix_space?: boolean }).add_prefix_space !== false);
}
