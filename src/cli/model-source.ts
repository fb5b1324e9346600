/** Opening a MODEL argument (path or URL) for the CLI. */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { CriaError } from '../shared/errors.ts';
import { readGguf, type GgufFile } from '../formats/gguf.ts';
import { urlSource, type ByteSource } from '../formats/source.ts';
import { fileSource, notAFileError } from '../formats/source-node.ts';

export async function openSource(model: string | undefined): Promise<ByteSource> {
  if (!model) throw new CriaError('bad-argument', 'no model given: pass --model PATH_OR_URL');
  if (/^https?:\/\//i.test(model)) return urlSource(model);
  return fileSource(model);
}

/**
 * A MODEL argument checked without reading it: an http(s) URL of a GGUF, an existing local file
 * (absolute path), a folder holding an ONNX repository (config.json and onnx/, as `cria export onnx`
 * writes), or an ONNX repository elsewhere: its base URL (ending in /), a .onnx file's URL, or a
 * Hugging Face repository id (owner/name, when no such local path exists).
 */
export type ModelLocation = { url: string } | { path: string } | { dir: string } | { onnx: { url: string } | { repo: string } };

const HF_REPO = /^[\w.-]+\/[\w.-]+$/;

export async function locateModel(model: string | undefined): Promise<ModelLocation> {
  if (!model) throw new CriaError('bad-argument', 'no model given: pass --model PATH_OR_URL');
  if (/^https?:\/\//i.test(model)) {
    const path = (() => {
      try {
        return new URL(model).pathname;
      } catch {
        return '';
      }
    })();
    return path.endsWith('/') || /\.onnx$/i.test(path) ? { onnx: { url: model } } : { url: model };
  }
  const path = resolve(model);
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    if (HF_REPO.test(model) && !model.split('/').some((p) => /^\.+$/.test(p))) return { onnx: { repo: model } };
    throw new CriaError('bad-argument', `cannot open ${model}: ${(e as Error).message}`);
  }
  if (st.isDirectory() && (await isOnnxRepository(path))) return { dir: path };
  // a FIFO or a device would be served to the engine as an endless or empty stream
  if (!st.isFile()) throw notAFileError(model, st);
  return { path };
}

/** The files of an ONNX repository the ONNX runtime reads (src/runtimes/onnx/runtime.ts), by path in the repository. */
export const ONNX_REPO_FILE = /^(config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|onnx\/[^/]+\.onnx(_data[^/]*)?)$/;

/** An ONNX folder's files the runtime reads: path in the repository → absolute path. */
export async function onnxFolderFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rel of await readdir(dir, { recursive: true })) {
    const path = rel.split(sep).join('/');
    if (ONNX_REPO_FILE.test(path)) out[path] = join(dir, rel);
  }
  return out;
}

/** A folder with config.json and an onnx/ folder: an ONNX repository in the Optimum layout. */
async function isOnnxRepository(dir: string): Promise<boolean> {
  const [config, onnx] = await Promise.all([stat(join(dir, 'config.json')).catch(() => undefined), stat(join(dir, 'onnx')).catch(() => undefined)]);
  return !!config?.isFile() && !!onnx?.isDirectory();
}

export async function openModelFile(model: string | undefined): Promise<GgufFile> {
  return readGguf(await openSource(model));
}

/** Parse a numeric option; a malformed value is a usage error, not NaN. */
export function numberOption(values: Record<string, unknown>, name: string, fallback: number, opts: { integer?: boolean } = {}): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(v) || (opts.integer && !Number.isInteger(v))) {
    throw new CriaError('bad-argument', `--${name} must be ${opts.integer ? 'a whole number' : 'a number'}, got "${String(raw)}"`);
  }
  return v;
}

export function writeJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}
