/**
 * Public evaluation data Cria knows how to read: name, kind, where it comes from (GitHub raw or
 * Hugging Face URLs, fetched by the caller on demand, never by tests), its license, and how to
 * turn the download into a Task. `loadCatalogueTask(entry, { fetch, limit })` does both.
 *
 * Hosts: raw.githubusercontent.com and huggingface.co answer cross-origin requests from a page;
 * the OpenAI blob host (MMLU) and yonatanbisk.com (PIQA) may not — in a page that fails with a
 * `network` error, and the user can download the file and open it with the matching loader.
 */
import { CriaError } from '../shared/errors.ts';
import { arcTask } from './data/arc.ts';
import { gsm8kTask } from './data/gsm8k.ts';
import { hellaswagTask } from './data/hellaswag.ts';
import { judgeTask, parseJudgePrompts, parseJudgeQuestions, parseReferenceAnswers } from './data/judge-bench.ts';
import { mmluTask } from './data/mmlu.ts';
import { piqaTask } from './data/piqa.ts';
import { perplexityTask } from './data/text.ts';
import { readZipText } from './data/zip.ts';
import { speedTask } from './kinds/speed.ts';
import type { Task, TaskKind } from './types.ts';

export interface CatalogueLoadOptions {
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** at most this many items (perplexity: characters of text) */
  limit?: number;
  onProgress?(p: { url: string; loadedBytes: number; totalBytes?: number }): void;
}

export interface CatalogueEntry {
  name: string;
  title: string;
  kind: TaskKind;
  description: string;
  /** the data's license (SPDX id where there is one) */
  license: string;
  homepage?: string;
  /** every URL `load` fetches */
  urls: string[];
  /** items in the full task, when known */
  items?: number;
  load(o?: CatalogueLoadOptions): Promise<Task>;
}

async function download(url: string, o: CatalogueLoadOptions): Promise<Uint8Array> {
  const f = o.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await f(url, { signal: o.signal });
  } catch (e) {
    if (o.signal?.aborted) throw new CriaError('aborted', 'the download was stopped');
    throw new CriaError('network', `could not download ${url} (${(e as Error).message}); check the connection, or download the file yourself and open it`);
  }
  if (!res.ok) throw new CriaError('network', `${url} answered HTTP ${res.status}; the file may have moved — download it yourself and open it`);
  const total = Number(res.headers.get('content-length')) || undefined;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const parts: Uint8Array[] = [];
  let n = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    n += value.length;
    o.onProgress?.({ url, loadedBytes: n, totalBytes: total });
  }
  const out = new Uint8Array(n);
  let p = 0;
  for (const x of parts) {
    out.set(x, p);
    p += x.length;
  }
  return out;
}

const text = async (url: string, o: CatalogueLoadOptions) => new TextDecoder().decode(await download(url, o));

const FASTCHAT = 'https://raw.githubusercontent.com/lm-sys/FastChat/main/fastchat/llm_judge/data';

function judged(name: string, title: string, bench: 'mt_bench' | 'vicuna_bench', kind: 'judge-single' | 'judge-pairwise', items: number, description: string): CatalogueEntry {
  const urls = [`${FASTCHAT}/${bench}/question.jsonl`, `${FASTCHAT}/${bench}/reference_answer/gpt-4.jsonl`, `${FASTCHAT}/judge_prompts.jsonl`];
  return {
    name,
    title,
    kind,
    description,
    license: 'Apache-2.0',
    homepage: 'https://github.com/lm-sys/FastChat/tree/main/fastchat/llm_judge',
    urls,
    items,
    async load(o = {}) {
      const [q, ref, prompts] = await Promise.all(urls.map((u) => text(u, o)));
      const questions = parseJudgeQuestions(q, urls[0]).slice(0, o.limit);
      return judgeTask({ name, kind, questions, references: parseReferenceAnswers(ref, urls[1]), judgePrompts: parseJudgePrompts(prompts, urls[2]), source: urls[0] });
    },
  };
}

const HELLASWAG = 'https://raw.githubusercontent.com/rowanz/hellaswag/master/data/hellaswag_val.jsonl';
const HELLASWAG_LLAMACPP = 'https://raw.githubusercontent.com/klosax/hellaswag_text_data/main/hellaswag_val_full.txt';
const MMLU = 'https://openaipublic.blob.core.windows.net/simple-evals/mmlu.csv';
const PIQA = ['https://yonatanbisk.com/piqa/data/valid.jsonl', 'https://yonatanbisk.com/piqa/data/valid-labels.lst'];
const WIKITEXT2 = 'https://huggingface.co/datasets/ggml-org/ci/resolve/main/wikitext-2-raw-v1.zip';
const TINYSTORIES = 'https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/TinyStoriesV2-GPT4-valid.txt';
const GSM8K = 'https://raw.githubusercontent.com/openai/grade-school-math/master/grade_school_math/data/test.jsonl';
const ARC_ROWS = (config: string, offset: number) => `https://datasets-server.huggingface.co/rows?dataset=allenai%2Fai2_arc&config=${config}&split=test&offset=${offset}&length=100`;

/** ARC through the Hugging Face dataset viewer's rows API (100 rows a request): the original files ship only inside a large zip. */
function arc(config: 'ARC-Challenge' | 'ARC-Easy', items: number): CatalogueEntry {
  return {
    name: config.toLowerCase(),
    title: `ARC ${config === 'ARC-Easy' ? 'Easy' : 'Challenge'} (test)`,
    kind: 'multiple-choice',
    description: 'Grade-school science questions with 3–5 choices; lm-evaluation-harness arc prompt ("Question: …\\nAnswer:"), acc and acc_norm.',
    license: 'CC-BY-SA-4.0',
    homepage: 'https://allenai.org/data/arc',
    urls: [ARC_ROWS(config, 0)],
    items,
    async load(o = {}) {
      const want = Math.min(o.limit ?? items, items);
      const rows: unknown[] = [];
      for (let off = 0; off < want; off += 100) {
        const page = JSON.parse(await text(ARC_ROWS(config, off), o)) as { rows?: { row: unknown }[] };
        if (!page.rows?.length) break;
        rows.push(...page.rows.map((r) => r.row));
      }
      return arcTask(rows.slice(0, want).map((r) => JSON.stringify(r)).join('\n'), { name: config.toLowerCase(), source: `huggingface.co/datasets/allenai/ai2_arc ${config} test` });
    },
  };
}

export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    name: 'hellaswag',
    title: 'HellaSwag (validation)',
    kind: 'multiple-choice',
    description: 'Commonsense sentence completion, 4 endings; lm-evaluation-harness preprocessing, acc and acc_norm.',
    license: 'MIT',
    homepage: 'https://rowanzellers.com/hellaswag/',
    urls: [HELLASWAG],
    items: 10042,
    load: async (o = {}) => hellaswagTask(await text(HELLASWAG, o), { source: HELLASWAG, limit: o.limit }),
  },
  {
    name: 'hellaswag-llamacpp',
    title: "HellaSwag (validation, llama.cpp's text form)",
    kind: 'multiple-choice',
    description: "The file llama.cpp's `llama-perplexity --hellaswag` reads; scored lm-eval style (acc, acc_norm).",
    license: 'MIT',
    homepage: 'https://github.com/klosax/hellaswag_text_data',
    urls: [HELLASWAG_LLAMACPP],
    items: 10042,
    load: async (o = {}) => ({ ...hellaswagTask(await text(HELLASWAG_LLAMACPP, o), { source: HELLASWAG_LLAMACPP, limit: o.limit }), name: 'hellaswag-llamacpp' }),
  },
  ...(['multiple-choice', 'letter-choice'] as const).map(
    (kind): CatalogueEntry => ({
      name: kind === 'letter-choice' ? 'mmlu-letter' : 'mmlu',
      title: kind === 'letter-choice' ? 'MMLU (test, letter answers)' : 'MMLU (test, continuation scoring)',
      kind,
      description:
        kind === 'letter-choice'
          ? '57 subjects, 4 options; ColossalEval style: options A–D in the prompt, the next-token probability of each letter decides (acc).'
          : '57 subjects, 4 options; lm-evaluation-harness mmlu_continuation style, zero-shot (acc, acc_norm).',
      license: 'MIT',
      homepage: 'https://github.com/hendrycks/test',
      urls: [MMLU],
      items: 14042,
      load: async (o = {}) => {
        const t = mmluTask([{ name: 'mmlu.csv', text: await text(MMLU, o) }], { kind, source: MMLU });
        return { ...t, items: t.items.slice(0, o.limit) };
      },
    }),
  ),
  arc('ARC-Challenge', 1172),
  arc('ARC-Easy', 2376),
  {
    name: 'piqa',
    title: 'PIQA (validation)',
    kind: 'multiple-choice',
    description: 'Physical commonsense: a goal and two solutions (acc, acc_norm).',
    license: 'AFL-3.0',
    homepage: 'https://yonatanbisk.com/piqa/',
    urls: PIQA,
    items: 1838,
    load: async (o = {}) => piqaTask(await text(PIQA[0], o), await text(PIQA[1], o), { source: PIQA[0], limit: o.limit }),
  },
  {
    name: 'gsm8k',
    title: 'GSM8K (test)',
    kind: 'generation',
    description: 'Grade-school math word problems, zero-shot, greedy; the last number of the answer is compared (exact_match).',
    license: 'MIT',
    homepage: 'https://github.com/openai/grade-school-math',
    urls: [GSM8K],
    items: 1319,
    load: async (o = {}) => gsm8kTask(await text(GSM8K, o), { source: GSM8K, limit: o.limit }),
  },
  {
    name: 'wikitext-2',
    title: 'WikiText-2 (test, raw) perplexity',
    kind: 'perplexity',
    description: "The text llama.cpp's perplexity numbers are quoted on (wiki.test.raw), llama-perplexity's method.",
    license: 'CC-BY-SA-3.0',
    homepage: 'https://huggingface.co/datasets/Salesforce/wikitext',
    urls: [WIKITEXT2],
    load: async (o = {}) => perplexityTask(await readZipText(await download(WIKITEXT2, o), 'wiki.test.raw'), { name: 'wikitext-2', source: WIKITEXT2, maxChars: o.limit }),
  },
  {
    name: 'tinystories-valid',
    title: 'TinyStories V2 (validation) perplexity',
    kind: 'perplexity',
    description: 'Simple English stories (what the tiniest models are trained on), llama-perplexity\'s method; 22 MB, pass a limit (characters).',
    license: 'CDLA-Sharing-1.0',
    homepage: 'https://huggingface.co/datasets/roneneldan/TinyStories',
    urls: [TINYSTORIES],
    load: async (o = {}) => perplexityTask(await text(TINYSTORIES, o), { name: 'tinystories-valid', source: TINYSTORIES, maxChars: o.limit }),
  },
  judged('mt-bench', 'MT-bench (single-answer grading)', 'mt_bench', 'judge-single', 80, '80 two-turn questions in 8 categories, graded 1–10 by a judge model (FastChat llm_judge).'),
  judged('mt-bench-pairwise', 'MT-bench (pairwise)', 'mt_bench', 'judge-pairwise', 80, 'Two models answer; a judge model compares them in both orders (win/tie/loss) and grades each (relative score).'),
  judged('vicuna-bench', 'Vicuna bench (single-answer grading)', 'vicuna_bench', 'judge-single', 80, 'The 80 Vicuna questions, graded 1–10 by a judge model.'),
  judged('vicuna-bench-pairwise', 'Vicuna bench (pairwise)', 'vicuna_bench', 'judge-pairwise', 80, 'The Vicuna evaluation: two models compared by a judge, and "A reaches X% of B".'),
  {
    name: 'speed',
    title: 'Speed',
    kind: 'speed',
    description: 'Load time, time to first token, prefill and decode tokens/s of a fixed prompt (median of 5 runs after a warm-up). Nothing to download.',
    license: 'MIT',
    urls: [],
    load: async () => speedTask(),
  },
];

export function catalogueEntry(name: string): CatalogueEntry | undefined {
  return CATALOGUE.find((e) => e.name === name);
}

/** Download a catalogue task by name. */
export async function loadCatalogueTask(name: string, o: CatalogueLoadOptions = {}): Promise<Task> {
  const e = catalogueEntry(name);
  if (!e) throw new CriaError('bad-argument', `no task "${name}" in the catalogue; known: ${CATALOGUE.map((x) => x.name).join(', ')}`);
  return e.load(o);
}
