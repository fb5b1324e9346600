/** Plain text for perplexity: one document (as llama-perplexity reads a whole file), optionally cut. */
import type { Task } from '../types.ts';

export function perplexityTask(text: string, o: { name?: string; source?: string; maxChars?: number; options?: Record<string, unknown> } = {}): Task {
  const t = o.maxChars !== undefined ? text.slice(0, o.maxChars) : text;
  return {
    name: o.name ?? 'perplexity',
    version: '1',
    kind: 'perplexity',
    source: o.source ?? 'text',
    items: [{ id: o.name ?? 'text', text: t }],
    ...(o.options ? { options: o.options } : {}),
  };
}
