/**
 * The vocabulary, parsed once from GGUF `tokenizer.ggml.*` metadata with the
 * defaults llama.cpp applies (src/llama-vocab.cpp, `llama_vocab::impl::load`).
 * Nothing else in src/tokenizer reads metadata keys.
 *
 * What llama.cpp derives beyond the raw keys, and this reproduces:
 * - per model type defaults: SPM ("llama") adds BOS and a space prefix; BPE
 *   ("gpt2") takes add_bos / ignore_merges from its pre-tokenizer;
 *   `tokenizer.ggml.add_bos_token` / `add_eos_token` / `add_space_prefix`
 *   override them when present;
 * - token attributes from `token_type`, plus CONTROL forced onto tokens whose
 *   text marks them as end-of-turn / FIM / end-of-generation;
 * - the EOT / EOM / FIM ids found by token text when no key gives them, and the
 *   end-of-generation set (EOS, EOT, EOM, FIM pad/repo/sep and the known
 *   end-of-turn texts);
 * - Phi-3's RSTRIP on its special tokens (keyed on `general.name`, as llama.cpp does).
 *
 * Deliberate differences (documented, each would only matter for a broken file):
 * - a BPE vocab without bos/eos keys gets no BOS/EOS (llama.cpp defaults both to id 11);
 * - a few model-specific workarounds (gpt-oss `<|end|>`, Gemma 4 `</s>`) are not replicated.
 */
import { hasKey, metaBool, metaNumber, metaNumberArray, metaString, metaStringArray } from '../formats/gguf-meta.ts';
import type { GgufFile, GgufValue } from '../formats/gguf.ts';
import { CriaError } from '../shared/errors.ts';
import { PRE_TOKENIZERS, SUPPORTED_PRE_TOKENIZERS, type PreTokenizerSpec } from './pretokenize.ts';

/** llama.cpp's llama_token_attr bits. */
export const TokenAttr = {
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  LSTRIP: 1 << 7,
  RSTRIP: 1 << 8,
} as const;

/** GGUF `tokenizer.ggml.token_type` values. */
export const TokenType = { UNDEFINED: 0, NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

const TYPE_TO_ATTR: Record<number, number> = {
  [TokenType.NORMAL]: TokenAttr.NORMAL,
  [TokenType.UNKNOWN]: TokenAttr.UNKNOWN,
  [TokenType.CONTROL]: TokenAttr.CONTROL,
  [TokenType.USER_DEFINED]: TokenAttr.USER_DEFINED,
  [TokenType.UNUSED]: TokenAttr.UNUSED,
  [TokenType.BYTE]: TokenAttr.BYTE,
};

export const SUPPORTED_TOKENIZER_MODELS = ['llama', 'gpt2'] as const;

/** No such token. */
export const NO_TOKEN = -1;

export interface Vocab {
  /** `tokenizer.ggml.model`: "llama" = SentencePiece BPE (SPM), "gpt2" = byte-level BPE. */
  readonly model: 'llama' | 'gpt2';
  /** `tokenizer.ggml.pre` as given (or "default" when absent). */
  readonly preName: string;
  /** The pre-tokenizer (byte-level BPE only). */
  readonly pre: PreTokenizerSpec | null;
  /** Token texts by id (empty ones replaced by "[EMPTY_<id>]" like llama.cpp). */
  readonly tokens: readonly string[];
  readonly scores: Float32Array;
  /** TokenAttr bits per id. */
  readonly attrs: Uint16Array;
  /** text → id */
  readonly ids: ReadonlyMap<string, number>;
  /** BPE merges: "left right" → rank (first occurrence wins). Empty for SPM. */
  readonly mergeRanks: ReadonlyMap<string, number>;
  readonly bos: number;
  readonly eos: number;
  readonly eot: number;
  readonly eom: number;
  readonly unk: number;
  readonly pad: number;
  readonly sep: number;
  /** Tokens that end generation. */
  readonly eog: ReadonlySet<number>;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
  readonly ignoreMerges: boolean;
  /** CONTROL | USER_DEFINED | UNKNOWN tokens, longest UTF-8 text first (the order llama.cpp matches them in). */
  readonly specialTokens: readonly number[];
  readonly chatTemplate: string | undefined;
  /** Non-fatal problems found while parsing (say them to the user, e.g. in the load log). */
  readonly warnings: readonly string[];
}

type Meta = GgufFile | ReadonlyMap<string, GgufValue>;

const KEY = (k: string) => `tokenizer.ggml.${k}`;

/** Texts llama.cpp treats as end-of-turn when `tokenizer.ggml.eot_token_id` is absent, in our priority order. */
const EOT_TEXTS = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '_<EOT>', '[EOT]', '<｜end▁of▁sentence｜>', '<end_of_utterance>'];
const EOM_TEXTS = ['<|eom_id|>'];
const FIM_PAD_TEXTS = ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'];
const FIM_REP_TEXTS = ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'];
const FIM_SEP_TEXTS = ['<|file_sep|>'];
const FIM_PRE_TEXTS = ['<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>'];
const FIM_SUF_TEXTS = ['<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>'];
const FIM_MID_TEXTS = ['<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>'];
/** Texts llama.cpp adds to the end-of-generation set. */
const EOG_TEXTS = [
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<|flush|>', '<|calls|>', '<end_of_turn>', '<|endoftext|>',
  '</s>', '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]', '<|end_of_text|>', '<end_of_utterance>', '<eos>', '<turn|>',
  '<|tool_response>', '<｜end▁of▁sentence｜>', '[e~[',
];

const te = new TextEncoder();

function badFile(message: string, detail?: Record<string, unknown>): never {
  throw new CriaError('bad-file', message, detail);
}

/** Parse the vocabulary from GGUF metadata (a GgufFile or its metadata Map). */
export function parseVocab(m: Meta): Vocab {
  const warnings: string[] = [];
  const model = metaString(m, KEY('model'));
  if (model !== 'llama' && model !== 'gpt2') {
    const hint = model === 'bert' ? ' (WordPiece, used by embedding models)' : model === 't5' ? ' (Unigram)' : '';
    throw new CriaError(
      'unsupported-tokenizer',
      `tokenizer.ggml.model "${model}"${hint} is not supported; Cria supports ${SUPPORTED_TOKENIZER_MODELS.map((s) => `"${s}"`).join(', ')} (SentencePiece and byte-level BPE). Choose a model that uses one of these.`,
      { model, supported: [...SUPPORTED_TOKENIZER_MODELS] },
    );
  }
  const isSpm = model === 'llama';

  // --- pre-tokenizer and per-type defaults ---
  let preName = metaString(m, KEY('pre'), '');
  let pre: PreTokenizerSpec | null = null;
  if (!isSpm) {
    if (preName === '') {
      warnings.push('the model has no tokenizer.ggml.pre; using the "default" pre-tokenizer as llama.cpp does. Tokenization may not match the original model (re-convert it with a current llama.cpp).');
      preName = 'default';
    }
    pre = PRE_TOKENIZERS[preName] ?? null;
    if (!pre) {
      throw new CriaError(
        'unsupported-tokenizer',
        `pre-tokenizer tokenizer.ggml.pre = "${preName}" is not supported. Supported: ${SUPPORTED_PRE_TOKENIZERS.join(', ')}. Guessing another one would silently produce wrong tokens; please report the model so it can be added.`,
        { pre: preName, supported: [...SUPPORTED_PRE_TOKENIZERS] },
      );
    }
  } else if (preName === '') {
    preName = 'default';
  }
  let addBos = isSpm ? true : pre?.addBos === true;
  let addEos = false;
  const ignoreMerges = !isSpm && pre?.ignoreMerges === true;
  const addSpacePrefix = isSpm ? metaBool(m, KEY('add_space_prefix'), true) : false;

  // --- tokens, scores, types ---
  const rawTokens = metaStringArray(m, KEY('tokens'));
  const n = rawTokens.length;
  if (n === 0) badFile('tokenizer.ggml.tokens is empty');
  const tokens: string[] = new Array(n);
  const ids = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    let t = rawTokens[i];
    if (t === '') {
      warnings.push(`empty token at index ${i}`);
      t = `[EMPTY_${i}]`;
    }
    const prev = ids.get(t);
    if (prev !== undefined) badFile(`duplicate token in vocabulary: ${JSON.stringify(t)} has ids ${prev} and ${i}`, { token: t, ids: [prev, i] });
    ids.set(t, i);
    tokens[i] = t;
  }

  const scores = new Float32Array(n);
  if (hasKey(m, KEY('scores'))) {
    const s = metaNumberArray(m, KEY('scores'));
    if (s.length < n) badFile(`tokenizer.ggml.scores has ${s.length} entries for ${n} tokens`);
    for (let i = 0; i < n; i++) scores[i] = s[i];
  }

  const attrs = new Uint16Array(n).fill(TokenAttr.NORMAL);
  if (hasKey(m, KEY('token_type'))) {
    const tt = metaNumberArray(m, KEY('token_type'));
    if (tt.length < n) badFile(`tokenizer.ggml.token_type has ${tt.length} entries for ${n} tokens`);
    for (let i = 0; i < n; i++) attrs[i] = TYPE_TO_ATTR[tt[i]] ?? 0;
  }

  // --- merges ---
  const mergeRanks = new Map<string, number>();
  if (!isSpm) {
    if (!hasKey(m, KEY('merges'))) badFile('byte-level BPE model without tokenizer.ggml.merges');
    const merges = metaStringArray(m, KEY('merges'));
    for (let r = 0; r < merges.length; r++) {
      // llama.cpp splits at the first space after position 0 and keeps the first rank of a duplicate.
      const w = merges[r];
      const sp = w.indexOf(' ', 1);
      const key = sp < 0 ? ' ' : w;
      if (!mergeRanks.has(key)) mergeRanks.set(key, r);
    }
  }

  // --- special ids ---
  const inRange = (id: number) => (id >= 0 && id < n ? id : NO_TOKEN);
  const readId = (key: string, fallback: number): number => {
    const fb = inRange(fallback);
    if (!hasKey(m, KEY(key))) return fb;
    const id = metaNumber(m, KEY(key));
    if (id === -1 || id === 0xffffffff) return fb; // "not set", as some converters write it
    if (!(Number.isInteger(id) && id >= 0 && id < n)) {
      warnings.push(`tokenizer.ggml.${key} = ${id} is outside the vocabulary (${n} tokens); ignored`);
      return fb;
    }
    return id;
  };
  const bos = readId('bos_token_id', isSpm ? 1 : NO_TOKEN);
  const eos = readId('eos_token_id', isSpm ? 2 : NO_TOKEN);
  const unk = readId('unknown_token_id', isSpm ? 0 : NO_TOKEN);
  const sep = readId('seperator_token_id', NO_TOKEN); // sic: llama.cpp's key name
  const pad = readId('padding_token_id', NO_TOKEN);
  let eot = readId('eot_token_id', NO_TOKEN);
  let eom = readId('eom_token_id', NO_TOKEN);
  // the deprecated prefix/suffix/middle keys win when both are present, as in llama.cpp
  let fimPre = readId('prefix_token_id', readId('fim_pre_token_id', NO_TOKEN));
  let fimSuf = readId('suffix_token_id', readId('fim_suf_token_id', NO_TOKEN));
  let fimMid = readId('middle_token_id', readId('fim_mid_token_id', NO_TOKEN));
  let fimPad = readId('fim_pad_token_id', NO_TOKEN);
  let fimRep = readId('fim_rep_token_id', NO_TOKEN);
  let fimSep = readId('fim_sep_token_id', NO_TOKEN);

  if (hasKey(m, KEY('add_bos_token'))) addBos = metaBool(m, KEY('add_bos_token'));
  if (hasKey(m, KEY('add_eos_token'))) addEos = metaBool(m, KEY('add_eos_token'));
  if (addBos && bos === NO_TOKEN) badFile('tokenizer.ggml.add_bos_token is true, but tokenizer.ggml.bos_token_id is not set');
  if (addEos && eos === NO_TOKEN) badFile('tokenizer.ggml.add_eos_token is true, but tokenizer.ggml.eos_token_id is not set');

  // --- find special tokens by text; llama.cpp also forces CONTROL on them ---
  const markControl = (id: number) => {
    if (!(attrs[id] & TokenAttr.CONTROL)) {
      warnings.push(`control-looking token ${id} ${JSON.stringify(tokens[id])} was not control-type; treating it as control (as llama.cpp does)`);
      attrs[id] |= TokenAttr.CONTROL;
    }
  };
  const findByText = (current: number, texts: readonly string[]): number => {
    if (current !== NO_TOKEN) return current;
    for (const t of texts) {
      const id = ids.get(t);
      if (id !== undefined) {
        markControl(id);
        return id;
      }
    }
    return NO_TOKEN;
  };
  eot = findByText(eot, EOT_TEXTS);
  eom = findByText(eom, EOM_TEXTS);
  fimPre = findByText(fimPre, FIM_PRE_TEXTS);
  fimSuf = findByText(fimSuf, FIM_SUF_TEXTS);
  fimMid = findByText(fimMid, FIM_MID_TEXTS);
  fimPad = findByText(fimPad, FIM_PAD_TEXTS);
  fimRep = findByText(fimRep, FIM_REP_TEXTS);
  fimSep = findByText(fimSep, FIM_SEP_TEXTS);

  const eog = new Set<number>();
  for (const id of [fimPad, fimRep, fimSep]) if (id !== NO_TOKEN) eog.add(id);
  for (const t of EOG_TEXTS) {
    const id = ids.get(t);
    if (id !== undefined) {
      eog.add(id);
      markControl(id);
    }
  }
  for (const id of [eos, eot, eom]) if (id !== NO_TOKEN) eog.add(id);

  // --- special tokens, longest first (ties by id; llama.cpp's order there is unspecified) ---
  const specialTokens: number[] = [];
  const byteLen = new Map<number, number>();
  for (let id = 0; id < n; id++) {
    if (attrs[id] & (TokenAttr.CONTROL | TokenAttr.USER_DEFINED | TokenAttr.UNKNOWN)) {
      specialTokens.push(id);
      byteLen.set(id, te.encode(tokens[id]).length);
    }
  }
  specialTokens.sort((a, b) => byteLen.get(b)! - byteLen.get(a)! || a - b);

  // --- per-model token attributes (llama.cpp keys Phi-3's on general.name) ---
  const name = metaString(m, 'general.name', '').toLowerCase();
  if (name.includes('phi-3') || name.includes('phi3')) {
    for (const id of specialTokens) attrs[id] |= TokenAttr.RSTRIP;
    const set = (text: string, on: boolean) => {
      const id = ids.get(text);
      if (id !== undefined) attrs[id] = on ? attrs[id] | TokenAttr.RSTRIP : attrs[id] & ~TokenAttr.RSTRIP;
    };
    set('</s>', true);
    for (const t of ['<unk>', '<s>', '<|endoftext|>']) set(t, false);
  }

  const chatTemplate = hasKey(m, 'tokenizer.chat_template') ? metaString(m, 'tokenizer.chat_template') : undefined;

  return {
    model, preName, pre, tokens, scores, attrs, ids, mergeRanks,
    bos, eos, eot, eom, unk, pad, sep, eog,
    addBos, addEos, addSpacePrefix, ignoreMerges,
    specialTokens, chatTemplate, warnings,
  };
}
