/**
 * The model catalogue: public/models.json, served with the app (same origin,
 * so it is no request to anyone else), and WebLLM's prebuilt MLC models that
 * the adapter can run (catalogue-mlc.ts, a curated list in the code). Sizes
 * are approximate: the real size is known once a download starts.
 */
import type { ModelSource } from '../client/index.ts';
export interface CatalogueModel {
  id: string;
  name: string;
  publisher: string;
  parameters: string;
  quant: string;
  /** approximate file size in bytes */
  approxBytes: number;
  /**
   * a GGUF file's URL; for an ONNX model (`format: 'onnx'`), the repository's base URL (its files are
   * url + path); for an MLC model, its repository's URL as WebLLM's prebuilt list has it (the cache
   * lists the model under it)
   */
  url: string;
  /** absent: a GGUF, run by Cria's own engine; `onnx`: a repository run by onnxruntime-web; `mlc`: a prebuilt model of WebLLM's, by its `id` (catalogue-mlc.ts) */
  format?: 'gguf' | 'onnx' | 'mlc';
  /** MLC: the GPU memory WebLLM says the model needs (its prebuilt list's vram_required_MB), bytes */
  vramBytes?: number;
  /** ONNX: the graph to run (default onnx/model.onnx) */
  onnxModel?: string;
  /** the file's SHA-256 (64 hex digits), when the catalogue states it: the download is verified against it */
  sha256?: string;
  /** the Hugging Face repository, for a link to its card */
  repo: string;
  license: string;
  description: string;
  default?: boolean;
  /**
   * ships with the app (public/models/, `url` relative to the app): read from the app's own files, no
   * download; the service worker precaches it, so it loads offline from the first visit on
   */
  embedded?: boolean;
}

export interface Catalogue {
  models: CatalogueModel[];
  note?: string;
}

let cached: Promise<Catalogue> | undefined;

export function loadCatalogue(): Promise<Catalogue> {
  cached ??= fetch(`${import.meta.env.BASE_URL}models.json`)
    .then((r) => {
      if (!r.ok) throw new Error(`models.json: HTTP ${r.status}`);
      return r.json() as Promise<Catalogue>;
    })
    .catch((e) => {
      cached = undefined; // try again next time
      throw e;
    });
  return cached;
}

/** What loading a catalogue entry asks for. */
export function catalogueSource(m: CatalogueModel): ModelSource {
  if (m.format === 'onnx') return { onnx: { url: m.url, ...(m.onnxModel ? { model: m.onnxModel } : {}), name: m.repo } };
  if (m.format === 'mlc') return { mlc: { id: m.id } };
  return { url: m.url, ...(m.sha256 ? { sha256: m.sha256 } : {}) };
}

/** an embedded model's address on this site; `?embedded`: the service worker answers it from its precache (public/sw-routes.js sends other .gguf requests to the network) */
export function embeddedUrl(m: CatalogueModel): string {
  return new URL(`${import.meta.env.BASE_URL}${m.url}?embedded`, location.href).href;
}

/**
 * What loading a catalogue entry asks for, an embedded model included: its file is read from the app
 * (one plain request, answered by the service worker offline), checked against the catalogue's
 * SHA-256, and loaded as a file kept in the model cache (its cache id stands for its content: the
 * same name, size and a "modification time" taken from its hash).
 */
export async function modelSource(m: CatalogueModel): Promise<ModelSource> {
  if (!m.embedded) return catalogueSource(m);
  let blob: Blob;
  try {
    const res = await fetch(embeddedUrl(m));
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    blob = await res.blob();
  } catch (e) {
    throw Object.assign(new Error(`${m.name} ships with Cria, but this copy of the app could not read it (${(e as Error).message}): reload the page`), { code: 'network' });
  }
  if (m.sha256) {
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer())), (b) => b.toString(16).padStart(2, '0')).join('');
    if (digest !== m.sha256.toLowerCase()) throw Object.assign(new Error(`${m.name} as this copy of the app holds it is not the file the catalogue names (SHA-256 ${digest.slice(0, 12)}…, expected ${m.sha256.slice(0, 12)}…): reload the page`), { code: 'bad-file' });
  }
  const lastModified = m.sha256 ? parseInt(m.sha256.slice(0, 12), 16) : 0;
  return { file: new File([blob], fileNameOf(m.url), { lastModified }), cache: true };
}

/** A model's format as the page tags it, and what runs it. */
export const FORMAT_TAG: Record<'gguf' | 'onnx' | 'mlc', { label: string; title: string }> = {
  gguf: { label: 'GGUF', title: "a GGUF file, run by Cria's own engine" },
  onnx: { label: 'ONNX', title: 'an ONNX repository, run by onnxruntime-web' },
  mlc: { label: 'MLC', title: 'an MLC model, run by WebLLM' },
};

/** the default model: marked `default`, else the smallest */
export function defaultModel(c: Catalogue): CatalogueModel | undefined {
  return c.models.find((m) => m.default) ?? [...c.models].sort((a, b) => a.approxBytes - b.approxBytes)[0];
}

/** a file name from a URL, for labels ("…/SmolLM2-135M-Instruct-Q8_0.gguf" → "SmolLM2-135M-Instruct-Q8_0.gguf") */
export function fileNameOf(url: string): string {
  try {
    const u = new URL(url, location.href);
    return decodeURIComponent(u.pathname.split('/').filter(Boolean).pop() ?? u.host);
  } catch {
    return url;
  }
}
