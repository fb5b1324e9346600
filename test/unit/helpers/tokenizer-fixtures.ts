/**
 * Test-only loaders for tokenizer fixtures in /work/shared/fixtures:
 * llama.cpp vocab GGUFs, their test vectors, and GGUF-style metadata Maps
 * built from non-GGUF tokenizer files (GPT-2 vocab.json/merges.txt,
 * Llama 3.2 encoder.json/vocab.bpe, Qwen tiktoken ranks). The product code
 * never sees these files; it only sees the metadata Maps built here.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readGguf, type GgufValue } from '../../../src/formats/gguf.ts';
import { gv } from '../../../src/formats/gguf-writer.ts';
import { bytesSource } from '../../../src/formats/source.ts';
import { BYTE_TO_CHAR } from '../../../src/tokenizer/byte-encoding.ts';

export const FIXTURES = fileURLToPath(new URL('../../../../shared/fixtures/', import.meta.url));

export type Meta = Map<string, GgufValue>;

export interface Vector {
  text: string;
  ids: number[];
}

/** llama.cpp's test vectors: `.inp` strings separated by "\n__ggml_vocab_test__\n", `.out` one line of ids per string. */
export function readVectors(name: string): Vector[] {
  const inp = readFileSync(`${FIXTURES}gguf-vocab/ggml-vocab-${name}.gguf.inp`, 'utf8');
  const out = readFileSync(`${FIXTURES}gguf-vocab/ggml-vocab-${name}.gguf.out`, 'utf8').split('\n');
  const sep = '\n__ggml_vocab_test__\n';
  const texts: string[] = [];
  for (let pos = 0; pos < inp.length; ) {
    const next = inp.indexOf(sep, pos);
    if (next < 0) {
      texts.push(inp.slice(pos));
      break;
    }
    texts.push(inp.slice(pos, next));
    pos = next + sep.length;
  }
  return texts.map((text, i) => ({ text, ids: out[i].trim() === '' ? [] : out[i].trim().split(' ').map(Number) }));
}

/**
 * A vocab-only GGUF's metadata. ggml-vocab-dbrx.gguf (from a May 2024 llama.cpp
 * commit) repeats the key "general.file_type", which Cria's reader (like current
 * llama.cpp's) rejects; the second copy's name is changed in memory so the
 * tokenizer keys can be read. It has nothing to do with the tokenizer.
 */
export async function readVocabGguf(name: string): Promise<Meta> {
  const bytes = new Uint8Array(readFileSync(`${FIXTURES}gguf-vocab/ggml-vocab-${name}.gguf`));
  const key = new TextEncoder().encode('general.file_type');
  const hits: number[] = [];
  outer: for (let i = 0; i + key.length <= Math.min(bytes.length, 1 << 16); i++) {
    for (let k = 0; k < key.length; k++) if (bytes[i + k] !== key[k]) continue outer;
    hits.push(i);
  }
  if (hits.length > 1) bytes[hits[1] + key.length - 1] = 'X'.charCodeAt(0);
  const file = await readGguf(bytesSource(bytes, name));
  return new Map(file.metadata);
}

function byteLevelMeta(pre: string, tokens: string[], merges: string[], types: number[], extra: Record<string, GgufValue>): Meta {
  return new Map<string, GgufValue>([
    ['general.architecture', gv.str('test')],
    ['tokenizer.ggml.model', gv.str('gpt2')],
    ['tokenizer.ggml.pre', gv.str(pre)],
    ['tokenizer.ggml.tokens', gv.strs(tokens)],
    ['tokenizer.ggml.token_type', gv.i32s(types)],
    ['tokenizer.ggml.merges', gv.strs(merges)],
    ...Object.entries(extra),
  ]);
}

function tokensFromEncoder(encoder: Record<string, number>): string[] {
  const tokens: string[] = [];
  for (const [t, id] of Object.entries(encoder)) tokens[id] = t;
  return tokens;
}

/** GPT-2 from vocab.json + merges.txt; <|endoftext|> (50256) is CONTROL as in llama.cpp's gpt-2 GGUF. */
export function gpt2Meta(pre = 'gpt-2'): Meta {
  const encoder = JSON.parse(readFileSync(`${FIXTURES}tokenizers/gpt2/vocab.json`, 'utf8')) as Record<string, number>;
  const merges = readFileSync(`${FIXTURES}tokenizers/gpt2/merges.txt`, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#version'));
  const tokens = tokensFromEncoder(encoder);
  const types = tokens.map((t) => (t === '<|endoftext|>' ? 3 : 1));
  return byteLevelMeta(pre, tokens, merges, types, {
    'tokenizer.ggml.bos_token_id': gv.u32(50256),
    'tokenizer.ggml.eos_token_id': gv.u32(50256),
  });
}

/**
 * Llama 3.2 from encoder.json + vocab.bpe (128000 regular tokens). The special
 * tokens are not in those files; the ones added here are Llama 3.1/3.2's
 * published ids (128000 <|begin_of_text|>, 128001 <|end_of_text|>,
 * 128006/128007 header ids, 128008 <|eom_id|>, 128009 <|eot_id|>), and the
 * rest of 128000..128255 are reserved tokens.
 */
export function llama3Meta(pre = 'llama-bpe'): Meta {
  const encoder = JSON.parse(readFileSync(`${FIXTURES}tokenizers/llama3.2-bpe/encoder.json`, 'utf8')) as Record<string, number>;
  const merges = readFileSync(`${FIXTURES}tokenizers/llama3.2-bpe/vocab.bpe`, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#version'));
  const tokens = tokensFromEncoder(encoder);
  const named: Record<number, string> = {
    128000: '<|begin_of_text|>',
    128001: '<|end_of_text|>',
    128004: '<|finetune_right_pad_id|>',
    128006: '<|start_header_id|>',
    128007: '<|end_header_id|>',
    128008: '<|eom_id|>',
    128009: '<|eot_id|>',
    128010: '<|python_tag|>',
  };
  let reserved = 0;
  for (let id = 128000; id < 128256; id++) tokens[id] = named[id] ?? `<|reserved_special_token_${reserved++}|>`;
  const types = tokens.map((_, id) => (id >= 128000 ? 3 : 1));
  const chat = readFileSync(`${FIXTURES}chat-templates/meta-llama-Llama-3.2-3B-Instruct.jinja`, 'utf8');
  return byteLevelMeta(pre, tokens, merges, types, {
    'tokenizer.ggml.bos_token_id': gv.u32(128000),
    'tokenizer.ggml.eos_token_id': gv.u32(128009),
    'tokenizer.chat_template': gv.str(chat),
  });
}

/**
 * Qwen2 from tiktoken ranks. tiktoken stores only `base64(bytes) rank`; the
 * merge list is rebuilt the standard way: for each multi-byte token, run BPE on
 * its bytes using only tokens of lower rank, until two parts remain; those
 * two parts are the token's merge, and merges are ordered by the token's rank.
 * Tokens are spelled with GPT-2's byte characters, as in a GGUF.
 * Special tokens (151643…) come from qwen2.5/tokenizer_config.json.
 */
export function qwen2Meta(pre = 'qwen2'): Meta {
  const lines = readFileSync(`${FIXTURES}tokenizers/qwen2-bpe/qwen.tiktoken`, 'utf8').split('\n').filter((l) => l !== '');
  const byRank: Uint8Array[] = [];
  const rankOf = new Map<string, number>(); // latin1 key of bytes → rank
  const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
  for (const line of lines) {
    const [b64, r] = line.split(' ');
    const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
    byRank[Number(r)] = bytes;
    rankOf.set(latin1(bytes), Number(r));
  }
  const spell = (b: Uint8Array) => Array.from(b, (x) => BYTE_TO_CHAR[x]).join('');
  const merges: string[] = [];
  for (let rank = 0; rank < byRank.length; rank++) {
    const bytes = byRank[rank];
    if (bytes.length < 2) continue;
    let parts: string[] = Array.from(bytes, (x) => String.fromCharCode(x));
    while (parts.length > 2) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = rankOf.get(parts[i] + parts[i + 1]);
        if (r !== undefined && r < rank && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) throw new Error(`cannot rebuild the merge for rank ${rank}`);
      parts = [...parts.slice(0, best), parts[best] + parts[best + 1], ...parts.slice(best + 2)];
    }
    const toBytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    merges.push(`${spell(toBytes(parts[0]))} ${spell(toBytes(parts[1]))}`);
  }
  const tokens = byRank.map(spell);
  const types = tokens.map(() => 1);
  const config = JSON.parse(readFileSync(`${FIXTURES}tokenizers/qwen2.5/tokenizer_config.json`, 'utf8')) as {
    added_tokens_decoder: Record<string, { content: string; special: boolean }>;
    chat_template: string;
  };
  for (const [id, t] of Object.entries(config.added_tokens_decoder)) {
    tokens[Number(id)] = t.content;
    types[Number(id)] = t.special ? 3 : 4;
  }
  return byteLevelMeta(pre, tokens, merges, types, {
    'tokenizer.ggml.bos_token_id': gv.u32(151643),
    'tokenizer.ggml.eos_token_id': gv.u32(151645),
    'tokenizer.ggml.padding_token_id': gv.u32(151643),
    'tokenizer.ggml.add_bos_token': gv.bool(false),
    'tokenizer.chat_template': gv.str(config.chat_template),
  });
}

/** The vocabularies the tokenizer.json tests run: each with llama.cpp's test vectors of the same name. */
export const VECTOR_VOCABS: { vectors: string; load: () => Promise<Meta> | Meta }[] = [
  { vectors: 'llama-spm', load: () => readVocabGguf('llama-spm') },
  { vectors: 'phi-3', load: () => readVocabGguf('phi-3') },
  { vectors: 'gpt-2', load: () => readVocabGguf('gpt-2') },
  { vectors: 'deepseek-llm', load: () => readVocabGguf('deepseek-llm') },
  { vectors: 'mpt', load: () => readVocabGguf('mpt') },
  { vectors: 'dbrx', load: () => readVocabGguf('dbrx') },
  { vectors: 'llama-bpe', load: () => llama3Meta('llama-bpe') },
  { vectors: 'qwen2', load: () => qwen2Meta('qwen2') },
];
