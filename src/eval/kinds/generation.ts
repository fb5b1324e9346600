/**
 * Generation checked by exact match: a greedy answer (temperature 0), the answer extracted with a
 * regex, then compared with the accepted answers after normalization.
 *
 * - The prompt goes to `complete()` as raw text (base models), or with option `chat: true` to
 *   `chat()` as one user message.
 * - max_tokens: the item's, else option `max_tokens`, else 256 (lowered to the room the context
 *   leaves); option `stop` (string[]) ends generation early, e.g. ["\n\n"].
 * - Extraction: the item's `extract`, else option `extract`: a regex (JavaScript syntax, flags
 *   "s"); the first capture group that matched, or the whole match when it has no groups. No
 *   match: the extraction is "" (never equal to an answer). Without a regex: the whole output.
 * - Normalization (both sides): lower case; "," between digits and "$" removed; other
 *   punctuation removed except "." between digits; the articles a/an/the dropped; whitespace
 *   collapsed, trimmed (SQuAD's normalization, keeping numbers like 3.5 and 1,000 intact).
 * exact_match = mean of [normalized extraction ∈ normalized answers], with its standard error.
 */
import type { GenerationItem } from '../types.ts';
import { groupBy, mean, stderr } from '../stats.ts';
import { checkItems, generateFitting, opt, type Aggregate, type ItemKind } from './kind.ts';

export function normalizeAnswer(s: string): string {
  return s
    .toLowerCase()
    .replace(/(\d),(?=\d)/g, '$1')
    .replace(/\$/g, '')
    .replace(/(\d)\.(?=\d)/g, '$1\u0000')
    .replace(/[\p{P}\p{S}]/gu, ' ')
    .replace(/\u0000/g, '.')
    .replace(/\b(a|an|the)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function extractAnswer(output: string, pattern: string | undefined): string {
  if (!pattern) return output.trim();
  const m = new RegExp(pattern, 's').exec(output);
  if (!m) return '';
  for (let i = 1; i < m.length; i++) if (m[i] !== undefined) return m[i].trim();
  return m[0].trim();
}

export const generation: ItemKind<GenerationItem> = {
  async units(task) {
    return checkItems<GenerationItem>(task.items, 'generation', (i) => {
      if (typeof i.prompt !== 'string' || i.prompt === '') return 'it needs a prompt';
      if (!Array.isArray(i.answers) || i.answers.length === 0) return 'it needs at least one accepted answer';
      const pattern = i.extract ?? task.options?.extract;
      if (typeof pattern === 'string') {
        try {
          new RegExp(pattern, 's');
        } catch (e) {
          return `its extraction regex is invalid (${(e as Error).message})`;
        }
      }
      return undefined;
    });
  },

  async run(item, { target, task, signal }) {
    const maxTokens = item.max_tokens ?? opt(task, 'max_tokens', 256);
    const stop = Array.isArray(task.options?.stop) ? (task.options.stop as string[]) : undefined;
    const out = await generateFitting(
      (max_tokens) =>
        opt(task, 'chat', false)
          ? target.chat({ messages: [{ role: 'user', content: item.prompt }], max_tokens, temperature: 0, stop }, { signal })
          : target.complete({ prompt: item.prompt, max_tokens, temperature: 0, stop }, { signal }),
      maxTokens,
    );
    const pattern = item.extract ?? (typeof task.options?.extract === 'string' ? task.options.extract : undefined);
    const extracted = extractAnswer(out.text, pattern);
    const norm = normalizeAnswer(extracted);
    const correct = extracted !== '' && item.answers.some((a) => normalizeAnswer(a) === norm);
    return { id: item.id, category: item.category, generation: { output: out.text, extracted, correct } };
  },

  aggregate(results) {
    const ok = results.filter((r) => r.generation && !r.error);
    const m = (rs: typeof ok) => {
      const em = rs.map((r) => (r.generation!.correct ? 1 : 0));
      return { exact_match: mean(em), exact_match_stderr: stderr(em) };
    };
    const per_category: Aggregate['per_category'] = {};
    for (const [c, rs] of groupBy(ok, (r) => r.category)) per_category[c] = { n: rs.length, ...m(rs) };
    return { metrics: { ...(ok.length ? m(ok) : {}), errors: results.length - ok.length }, per_category };
  },
};
