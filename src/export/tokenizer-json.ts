/**
 * A GGUF vocabulary as Hugging Face `tokenizer.json` + `tokenizer_config.json`, the files Transformers.js,
 * `@huggingface/tokenizers` and the Rust `tokenizers` read, so an exported model tokenizes as Cria does.
 *
 * - SentencePiece BPE (`tokenizer.ggml.model` "llama"): a BPE model with byte fallback, its merges
 *   derived from the vocabulary's scores the way transformers' SentencePiece converter derives them
 *   (every split of a piece into two pieces of the vocabulary, best score first, ties by the left and
 *   right ids); the normalizer prepends "▁" (when `add_space_prefix`) and turns spaces into "▁"; the
 *   decoder reverses it.
 * - Byte-level BPE ("gpt2"): the GGUF's merges in order, and the pre-tokenizer Cria uses for
 *   `tokenizer.ggml.pre` (src/tokenizer/pretokenize.ts) as a sequence of `Split` (matches and gaps kept,
 *   as llama.cpp splits) then `ByteLevel` without its own regex; `ignore_merges` where llama.cpp sets it.
 * Control, user-defined and unknown tokens are added tokens; BOS/EOS are added by the post-processor
 * as the GGUF's `add_bos_token`/`add_eos_token` say. The chat template goes to tokenizer_config.json.
 */
import { CriaError } from '../shared/errors.ts';
import { TokenAttr, type Vocab } from '../tokenizer/vocab.ts';

export interface TokenizerFiles {
  tokenizer: Record<string, unknown>;
  config: Record<string, unknown>;
  /**
   * what tokenizer.json cannot say as the GGUF does, in sentences: a SentencePiece vocabulary with
   * pieces that no merge of two pieces reaches (llama.cpp's tokenizer starts from single characters
   * that need not be tokens; a BPE tokenizer.json merges tokens only, so text with those pieces falls
   * back to bytes there). Real SentencePiece vocabularies have every character as a piece.
   */
  warnings: string[];
}

export function tokenizerJson(vocab: Vocab): TokenizerFiles {
  const special = (id: number) => (id >= 0 ? vocab.tokens[id] : null);
  const warnings: string[] = [];
  const model = vocab.model === 'llama' ? spmModel(vocab, warnings) : bpeModel(vocab);
  const added = vocab.specialTokens
    .slice()
    .sort((a, b) => a - b)
    .map((id) => ({
      id,
      content: vocab.tokens[id],
      single_word: false,
      lstrip: (vocab.attrs[id] & TokenAttr.LSTRIP) !== 0,
      rstrip: (vocab.attrs[id] & TokenAttr.RSTRIP) !== 0,
      normalized: false,
      special: (vocab.attrs[id] & TokenAttr.USER_DEFINED) === 0,
    }));
  const tokenizer: Record<string, unknown> = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    ...model,
    post_processor: postProcessor(vocab),
  };
  const config: Record<string, unknown> = {
    tokenizer_class: vocab.model === 'llama' ? 'LlamaTokenizerFast' : 'PreTrainedTokenizerFast',
    bos_token: special(vocab.bos),
    eos_token: special(vocab.eos),
    unk_token: special(vocab.unk),
    pad_token: special(vocab.pad),
    add_bos_token: vocab.addBos,
    add_eos_token: vocab.addEos,
    clean_up_tokenization_spaces: false,
    model_max_length: 1e30,
    ...(vocab.chatTemplate !== undefined ? { chat_template: vocab.chatTemplate } : {}),
  };
  return { tokenizer, config, warnings };
}

function vocabMap(vocab: Vocab): Record<string, number> {
  // no prototype: a token named "constructor" or "toString" is a token like any other
  const out: Record<string, number> = Object.create(null) as Record<string, number>;
  vocab.tokens.forEach((t, id) => {
    if (!Object.prototype.hasOwnProperty.call(out, t)) out[t] = id;
  });
  return out;
}

/** SentencePiece BPE: merges from scores (see the file comment). */
function spmModel(vocab: Vocab, warnings: string[]): Record<string, unknown> {
  const ids = vocab.ids;
  const mergeable = (id: number) => (vocab.attrs[id] & (TokenAttr.NORMAL | TokenAttr.USER_DEFINED | TokenAttr.UNUSED)) !== 0;
  const merges: { l: number; r: number; score: number }[] = [];
  vocab.tokens.forEach((piece, id) => {
    if (!mergeable(id)) return;
    const chars = Array.from(piece);
    for (let i = 1; i < chars.length; i++) {
      const l = ids.get(chars.slice(0, i).join(''));
      const r = ids.get(chars.slice(i).join(''));
      if (l !== undefined && r !== undefined && mergeable(l) && mergeable(r)) merges.push({ l, r, score: vocab.scores[id] });
    }
  });
  merges.sort((a, b) => b.score - a.score || a.l - b.l || a.r - b.r);
  // pieces of several characters that no merge makes: reachable in llama.cpp from single characters only
  const made = new Set(merges.map((m) => vocab.tokens[m.l] + vocab.tokens[m.r]));
  const added = new Set(vocab.specialTokens); // (matched whole as added tokens, not built by merges)
  const unreachable = vocab.tokens.filter((piece, id) => mergeable(id) && !added.has(id) && Array.from(piece).length > 1 && !made.has(piece));
  if (unreachable.length > 0) {
    warnings.push(
      `${unreachable.length} of the vocabulary's ${vocab.tokens.length} pieces (e.g. ${unreachable.slice(0, 3).map((p) => JSON.stringify(p)).join(', ')}) are made from characters that are not tokens themselves: llama.cpp reaches them, a BPE tokenizer.json cannot, so text containing them tokenizes differently there (as bytes); token ids given directly are unaffected`,
    );
  }
  const normalizers: unknown[] = [];
  if (vocab.addSpacePrefix) normalizers.push({ type: 'Prepend', prepend: '▁' });
  normalizers.push({ type: 'Replace', pattern: { String: ' ' }, content: '▁' });
  const decoders: unknown[] = [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }];
  if (vocab.addSpacePrefix) decoders.push({ type: 'Strip', content: ' ', start: 1, stop: 0 });
  return {
    normalizer: { type: 'Sequence', normalizers },
    pre_tokenizer: null,
    decoder: { type: 'Sequence', decoders },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: vocab.unk >= 0 ? vocab.tokens[vocab.unk] : null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: vocabMap(vocab),
      merges: merges.map((m) => [vocab.tokens[m.l], vocab.tokens[m.r]]),
    },
  };
}

/** Byte-level BPE with the GGUF's merges and Cria's pre-tokenizer for `tokenizer.ggml.pre`. */
function bpeModel(vocab: Vocab): Record<string, unknown> {
  if (!vocab.pre) throw new CriaError('unsupported-arch', `the ${vocab.preName} pre-tokenizer cannot be written as tokenizer.json`);
  const merges = [...vocab.mergeRanks].sort((a, b) => a[1] - b[1]).map(([pair]) => pair.split(' '));
  return {
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        ...vocab.pre.regexes.map((re) => ({ type: 'Split', pattern: { Regex: re.source }, behavior: 'Isolated', invert: false })),
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: vocab.ignoreMerges,
      vocab: vocabMap(vocab),
      merges,
    },
  };
}

/** BOS/EOS around a sequence, as the GGUF asks. */
function postProcessor(vocab: Vocab): Record<string, unknown> | null {
  const bos = vocab.addBos && vocab.bos >= 0 ? vocab.tokens[vocab.bos] : undefined;
  const eos = vocab.addEos && vocab.eos >= 0 ? vocab.tokens[vocab.eos] : undefined;
  if (bos === undefined && eos === undefined) return null;
  const piece = (t: string) => ({ SpecialToken: { id: t, type_id: 0 } });
  const seq = (id: 'A' | 'B') => ({ Sequence: { id, type_id: 0 } });
  const wrap = (id: 'A' | 'B') => [...(bos !== undefined ? [piece(bos)] : []), seq(id), ...(eos !== undefined ? [piece(eos)] : [])];
  const specialTokens: Record<string, unknown> = {};
  for (const [t, id] of [
    [bos, vocab.bos],
    [eos, vocab.eos],
  ] as const) {
    if (t !== undefined) specialTokens[t] = { id: t, ids: [id], tokens: [t] };
  }
  return { type: 'TemplateProcessing', single: wrap('A'), pair: [...wrap('A'), ...wrap('B')], special_tokens: specialTokens };
}
