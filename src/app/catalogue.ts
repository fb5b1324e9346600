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
