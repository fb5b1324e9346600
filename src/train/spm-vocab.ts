/**
 * A SentencePiece-style BPE vocabulary learnt from a text, written as llama.cpp's `llama` (SPM)
 * tokenizer metadata: what `cria train` gives the model it trains from scratch, so the demo model owns
 * its vocabulary instead of borrowing one.
 *
 * Layout (as SentencePiece's BPE models with byte fallback, e.g. Llama 2's and tok512): `<unk>`, `<s>`,
 * `</s>`, the 256 byte tokens `<0x00>`…`<0xFF>`, the text's characters (those seen at least
 * `minCharCount` times; any other character is spelt with byte tokens), then the merges in the order
 * they were learnt with scores −1, −2, … (llama.cpp's SPM tokenizer merges the best-scored adjacent pair
 * whose concatenation is a token, so earlier merges win). The text is seen as SPM sees it: a space is
 * `▁`, the text begins with one, and pieces never cross a `▁` that is not their first character, nor a
 * newline (newlines stay byte tokens). Merges are counted over distinct words with their counts (classic
 * BPE), ties broken by the pair's text so the same text always gives the same vocabulary.
 *
 * What the model is trained on is the text tokenized by Cria's own SPM tokenizer with this vocabulary
 * (src/tokenizer/), which llama.cpp reproduces (test/unit/train-scratch.test.ts checks both).
 */
import { CriaError } from '../shared/errors.ts';
import { gv } from '../formats/gguf-writer.ts';
import type { GgufValue } from '../formats/gguf.ts';

export interface SpmVocabOptions {
  /** tokens in all (≥ 3 + 256 + the characters kept) */
  size: number;
  /** a character seen fewer times is spelt with byte tokens (default 8) */
  minCharCount?: number;
}

export interface SpmVocab {
  tokens: string[];
  scores: Float32Array;
  types: Int32Array;
  /** characters kept as tokens */
  chars: number;
  /** merges learnt (fewer than asked when no pair occurs twice) */
  merges: number;
}

const SPACE = '\u2581';
const TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, BYTE: 6 } as const;

export function trainSpmVocab(text: string, o: SpmVocabOptions): SpmVocab {
  const minChar = o.minCharCount ?? 8;
  const sp = SPACE + text.replaceAll(' ', SPACE);
  const charCount = new Map<string, number>();
  for (const ch of sp) if (ch !== '\n') charCount.set(ch, (charCount.get(ch) ?? 0) + 1);
  const chars = [...charCount].filter(([, n]) => n >= minChar).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([c]) => c);
  const fixed = 3 + 256;
  if (o.size < fixed + chars.length) {
    throw new CriaError('bad-argument', `a vocabulary of ${o.size} tokens cannot hold the 259 special and byte tokens and the text's ${chars.length} characters: ask for at least ${fixed + chars.length}`);
  }
  const kept = new Set(chars);
  // distinct words with their counts: runs that start at ▁ (or after a newline / a character not kept), split at characters not kept
  const wordCount = new Map<string, number>();
  for (const m of sp.matchAll(new RegExp(`${SPACE}?[^${SPACE}\\n]*`, 'g'))) {
    let run = '';
    for (const ch of m[0]) {
      if (kept.has(ch)) run += ch;
      else {
        if (run) wordCount.set(run, (wordCount.get(run) ?? 0) + 1);
        run = '';
      }
    }
    if (run) wordCount.set(run, (wordCount.get(run) ?? 0) + 1);
  }
  const words = [...wordCount].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([w, n]) => ({ syms: [...w], n }));
  const vocab = new Set<string>(chars);
  const merges: string[] = [];
  while (fixed + chars.length + merges.length < o.size) {
    const pairs = new Map<string, number>();
    for (const w of words) {
      for (let i = 0; i + 1 < w.syms.length; i++) {
        if (w.syms[i + 1]!.startsWith(SPACE)) continue; // never glue across a word's ▁
        const k = w.syms[i]! + '\u0000' + w.syms[i + 1]!;
        pairs.set(k, (pairs.get(k) ?? 0) + w.n);
      }
    }
    let best = '';
    let bestN = 1;
    for (const [k, n] of pairs) {
      const merged = k.replace('\u0000', '');
      if (vocab.has(merged)) continue; // already a token by another route
      if (n > bestN || (n === bestN && best !== '' && k < best)) {
        best = k;
        bestN = n;
      }
    }
    if (!best) break;
    const [a, b] = best.split('\u0000') as [string, string];
    const ab = a + b;
    merges.push(ab);
    vocab.add(ab);
    for (const w of words) {
      const s = w.syms;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) s.splice(i, 2, ab);
    }
  }
  const n = fixed + chars.length + merges.length;
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = new Int32Array(n);
  const scores = new Float32Array(n);
  types.set([TYPE.UNKNOWN, TYPE.CONTROL, TYPE.CONTROL]);
  for (let b = 0; b < 256; b++) {
    types[tokens.length] = TYPE.BYTE;
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  }
  merges.forEach((m, k) => {
    types[tokens.length] = TYPE.NORMAL;
    scores[tokens.length] = -(k + 1);
    tokens.push(m);
  });
  chars.forEach((c, k) => {
    types[tokens.length] = TYPE.NORMAL;
    scores[tokens.length] = -(merges.length + 1 + k);
    tokens.push(c);
  });
  return { tokens, scores, types, chars: chars.length, merges: merges.length };
}

/** The vocabulary as GGUF tokenizer metadata (llama.cpp's `llama` tokenizer: BOS added, a space prefixed). */
export function spmVocabMetadata(v: SpmVocab): [string, GgufValue][] {
  return [
    ['tokenizer.ggml.model', gv.str('llama')],
    ['tokenizer.ggml.tokens', gv.strs(v.tokens)],
    ['tokenizer.ggml.scores', gv.f32s(v.scores)],
    ['tokenizer.ggml.token_type', gv.i32s(v.types)],
    ['tokenizer.ggml.bos_token_id', gv.u32(1)],
    ['tokenizer.ggml.eos_token_id', gv.u32(2)],
    ['tokenizer.ggml.unknown_token_id', gv.u32(0)],
    ['tokenizer.ggml.add_bos_token', gv.bool(true)],
    ['tokenizer.ggml.add_eos_token', gv.bool(false)],
    ['tokenizer.ggml.add_space_prefix', gv.bool(true)],
  ];
}
