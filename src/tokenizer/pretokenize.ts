/**
 * Pre-tokenizers for byte-level BPE, selected by `tokenizer.ggml.pre`.
 *
 * A pre-tokenizer is a list of regexes applied one after another, the way
 * llama.cpp's `unicode_regex_split` does it: each regex splits every current
 * segment into its matches AND the unmatched gaps between them (a gap becomes
 * a segment of its own, it is never dropped). The words that come out are then
 * merged by BPE independently.
 *
 * Matching llama.cpp exactly needs three details:
 * - `\s` / `\S` mean Unicode White_Space (llama.cpp's table), which includes
 *   U+0085 and excludes U+FEFF; JavaScript's `\s` is the other way round, so
 *   every `\s` / `\S` below is rewritten to an explicit class (see `compile`).
 * - llama.cpp's hand-written GPT-2 and Llama-3 splitters implement exactly the
 *   regexes written here (with `\s` as above), so a JS regex reproduces them.
 * - `(?i:'s|...)` is written `'[sS]|...`: with the `iu` flags JS would also
 *   fold U+017F (long s) to `s`, which llama.cpp does not.
 *
 * Sources: llama.cpp `src/llama-vocab.cpp` (`llm_tokenizer_bpe` regex lists,
 * `impl::load` name → type and flags) and `src/unicode.cpp`.
 */

/** Unicode White_Space, the set llama.cpp treats as `\s`. */
const WS = '\\t-\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';

/** Rewrite `\s` / `\S` (inside and outside character classes) to the White_Space set, then compile with `u`. */
function compile(src: string): RegExp {
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      const n = src[i + 1];
      if (n === 's') out += inClass ? WS : `[${WS}]`;
      else if (n === 'S') {
        if (inClass) throw new Error(`\\S inside a class is not supported: ${src}`);
        out += `[^${WS}]`;
      } else out += c + n;
      i++;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return new RegExp(out, 'gu');
}

// The regexes, as llama.cpp lists them (contractions already case-expanded).
const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const LLAMA3 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN2 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const GPT4O =
  `[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+${CONTRACTIONS}?` +
  `|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*${CONTRACTIONS}?` +
  `|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const TEKKEN =
  `[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+` +
  `|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*` +
  `|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const BLOOM = ' ?[^(\\s|.,!?\\u2026\\u3002\\uFF0C\\u3001\\u0964\\u06D4\\u060C)]+';
// deepseek-llm spells its letter set out as ranges (from the HF tokenizer.json), written as
// escapes here because several of these characters change under Unicode normalization.
const DEEPSEEK_LLM_LETTERS =
  'A-Za-z\\u00B5\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u01BA\\u01BC-\\u01BF\\u01C4-\\u0293\\u0295-\\u02AF\\u0370-\\u0373\\u0376\\u0377\\u037B-\\u037D\\u037F\\u0386\\u0388-\\u038A\\u038C\\u038E-\\u03A1\\u03A3-\\u03F5\\u03F7-\\u0481\\u048A-\\u052F\\u0531-\\u0556\\u10A0-\\u10C5\\u13A0-\\u13F5\\u13F8-\\u13FD\\u1C90-\\u1CBA\\u1CBD-\\u1CBF\\u1D00-\\u1D2B\\u1D6B-\\u1D77\\u1D79-\\u1D9A\\u1E00-\\u1F15\\u1F18-\\u1F1D\\u1F20-\\u1F45\\u1F48-\\u1F4D\\u1F50-\\u1F57\\u1F59\\u1F5B\\u1F5D\\u1F5F-\\u1F7D\\u1F80-\\u1FB4\\u1FB6-\\u1FBC\\u1FBE\\u1FC2-\\u1FC4\\u1FC6-\\u1FCC\\u1FD0-\\u1FD3\\u1FD6-\\u1FDB\\u1FE0-\\u1FEC\\u1FF2-\\u1FF4\\u1FF6-\\u1FFC\\u2102\\u2107\\u210A-\\u2113\\u2115\\u2119-\\u211D\\u2124\\u2126\\u2128\\u212A-\\u212D\\u212F-\\u2134\\u2139\\u213C-\\u213F\\u2145-\\u2149\\u214E\\u2183\\u2184\\u2C00-\\u2C7B\\u2C7E-\\u2CE4\\u2CEB-\\u2CEE\\u2CF2\\u2CF3\\uA640-\\uA66D\\uA680-\\uA69B\\uA722-\\uA76F\\uA771-\\uA787\\uA78B-\\uA78E\\uAB70-\\uABBF\\uFB00-\\uFB06\\uFB13-\\uFB17\\uFF21-\\uFF3A\\uFF41-\\uFF5A\\u{10400}-\\u{1044F}\\u{104B0}-\\u{104D3}\\u{104D8}-\\u{104FB}\\u{10C80}-\\u{10CB2}\\u{10CC0}-\\u{10CF2}\\u{118A0}-\\u{118DF}\\u{1E900}-\\u{1E943}';

// llama.cpp runs regexes without \p{..} on code points after replacing non-ASCII
// whitespace by U+000B, so a literal range such as U+0800..U+4E00 never matches
// U+3000 or U+2000..U+200A there; the lookahead reproduces that (and U+3000 is
// dropped from deepseek-llm's punctuation range for the same reason).
const CJK = '(?:(?!\\s)[\\u4E00-\\u9FA5\\u0800-\\u4E00\\uAC00-\\uD7FF])+';

/** How one family of models splits text before BPE, and the flags llama.cpp sets with it. */
export interface PreTokenizerSpec {
  /** Applied in order; see the file comment. */
  readonly regexes: readonly RegExp[];
  /** A whole pre-token found in the vocab is emitted as is, without merges (Llama 3). */
  readonly ignoreMerges?: boolean;
  /** Default for add_bos before `tokenizer.ggml.add_bos_token` overrides it. */
  readonly addBos?: boolean;
  /** llama.cpp's clean_up_tokenization_spaces default (not applied by Cria's decoder; kept for reference). */
  readonly cleanSpaces?: boolean;
}

const spec = (sources: string[], flags: Omit<PreTokenizerSpec, 'regexes'> = {}): PreTokenizerSpec => ({
  regexes: sources.map(compile),
  cleanSpaces: true,
  ...flags,
});

const gpt2 = spec([GPT2]);
const llama3 = spec([LLAMA3], { ignoreMerges: true, addBos: true });
const llama3Regex = spec([LLAMA3]);
const qwen2 = spec([QWEN2], { cleanSpaces: false });
const starcoder = spec(['\\p{N}', GPT2]);
const starcoderNoClean = spec(['\\p{N}', GPT2], { cleanSpaces: false });
const gpt4o = spec([GPT4O], { cleanSpaces: false });
const bloom = spec([BLOOM]);

/**
 * `tokenizer.ggml.pre` value → pre-tokenizer. Aliases share one spec object,
 * exactly as llama.cpp maps several names to one LLAMA_VOCAB_PRE_TYPE.
 */
export const PRE_TOKENIZERS: Readonly<Record<string, PreTokenizerSpec>> = {
  default: spec(['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]']),
  // Llama 3 family
  llama3,
  'llama-v3': llama3,
  'llama-bpe': llama3,
  falcon3: llama3,
  'falcon-h1': llama3,
  pixtral: llama3,
  'midm-2.0': llama3,
  lfm2: llama3,
  dbrx: llama3Regex,
  'smaug-bpe': llama3Regex,
  // GPT-2 family
  'gpt-2': gpt2,
  'phi-2': gpt2,
  mpt: gpt2,
  olmo: gpt2,
  jais: gpt2,
  exaone4: gpt2,
  'jina-es': gpt2,
  'jina-de': gpt2,
  'jina-v2-es': gpt2,
  'jina-v2-de': gpt2,
  gigachat: gpt2,
  'a.x-4.0': gpt2,
  mellum: gpt2,
  trillion: spec([GPT2], { cleanSpaces: false }),
  // Qwen 2 family
  qwen2,
  'deepseek-r1-qwen': qwen2,
  kormo: qwen2,
  f2llmv2: qwen2,
  megrez: spec([QWEN2]),
  stablelm2: spec([QWEN2]),
  hunyuan: qwen2,
  'solar-open': qwen2,
  // StarCoder family: digits split one by one, then GPT-2
  starcoder,
  refact: starcoder,
  codeshell: starcoder,
  exaone: starcoder,
  'minerva-7b': starcoder,
  smollm: starcoderNoClean,
  'command-r': starcoderNoClean,
  // others
  falcon: spec(['[\\p{P}\\$\\+<=>\\^~\\|`]+', GPT2, '[0-9][0-9][0-9]']),
  'deepseek-llm': spec(
    ['[\\r\\n]', `\\s?[${DEEPSEEK_LLM_LETTERS}]+`, '\\s?[!-/:-~\\uFF01-\\uFF0F\\uFF1A-\\uFF5E\\u2018-\\u201F\\u3001-\\u3002]+', '\\s+$', CJK, '\\p{N}+'],
    { cleanSpaces: false },
  ),
  'deepseek-coder': spec(['[\\r\\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', CJK, '\\p{N}'], { cleanSpaces: false }),
  'gpt-4o': gpt4o,
  llama4: gpt4o,
  tekken: spec([TEKKEN], { cleanSpaces: false, ignoreMerges: true, addBos: true }),
  bloom,
  'gpt3-finnish': bloom,
  'poro-chat': spec([BLOOM], { cleanSpaces: false }),
  viking: spec([BLOOM, '\\p{N}'], { cleanSpaces: false }),
  'seed-coder': spec(
    [`${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`],
    { cleanSpaces: false },
  ),
  'grok-2': qwen2,
};

export const SUPPORTED_PRE_TOKENIZERS: readonly string[] = Object.keys(PRE_TOKENIZERS);

/**
 * Split `text` into pre-tokens: each regex in turn splits every segment into
 * matches and the gaps between them. Empty matches still split a segment at
 * their position (as std::regex_iterator does in llama.cpp).
 */
export function splitPreTokens(text: string, regexes: readonly RegExp[]): string[] {
  let segments = [text];
  for (const re of regexes) {
    const next: string[] = [];
    for (const seg of segments) {
      let last = 0;
      re.lastIndex = 0;
      for (let m = re.exec(seg); m !== null; m = re.exec(seg)) {
        const start = m.index;
        const end = start + m[0].length;
        if (start > last) next.push(seg.slice(last, start));
        if (end > start) next.push(m[0]);
        last = end;
        if (end === start) re.lastIndex = end + (seg.codePointAt(end)! > 0xffff ? 2 : 1);
      }
      if (last < seg.length) next.push(seg.slice(last));
    }
    segments = next;
  }
  return segments;
}
