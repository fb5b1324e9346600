/** Text formats the loaders share: JSON Lines and CSV (RFC 4180), with errors that name the line. */
import { CriaError } from '../../shared/errors.ts';

/** JSON Lines: one JSON value per non-empty line; `line` is 1-based. */
export function parseJsonl(text: string, source = 'the file'): { line: number; value: unknown }[] {
  const out: { line: number; value: unknown }[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    try {
      out.push({ line: i + 1, value: JSON.parse(l) });
    } catch (e) {
      throw new CriaError('bad-file', `${source}, line ${i + 1}: not valid JSON (${(e as Error).message}); each line of a JSONL file must be one JSON object`);
    }
  });
  return out;
}

/** JSONL, or a JSON array of objects (ARC and others come both ways). */
export function parseJsonOrJsonl(text: string, source = 'the file'): { line: number; value: unknown }[] {
  const t = text.replace(/^\uFEFF/, '').trimStart();
  if (t.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw new CriaError('bad-file', `${source}: not valid JSON (${(e as Error).message})`);
    }
    return (v as unknown[]).map((value, i) => ({ line: i + 1, value }));
  }
  return parseJsonl(text, source);
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines; CRLF or LF. Empty trailing lines are dropped. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const s = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

export function need<T>(cond: T, source: string, line: number, what: string): asserts cond {
  if (!cond) throw new CriaError('bad-file', `${source}, line ${line}: ${what}`);
}

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isStr = (v: unknown): v is string => typeof v === 'string';

/** "dir/abstract_algebra_dev.csv" → "abstract_algebra" */
export function subjectFromFileName(name: string): string {
  return name
    .split(/[\\/]/)
    .pop()!
    .replace(/\.csv$/i, '')
    .replace(/_(dev|test|val|validation|train)$/i, '');
}
