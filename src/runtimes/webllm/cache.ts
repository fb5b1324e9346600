/**
 * MLC models in WebLLM's own storage, as Cria's cache list sees them.
 *
 * WebLLM keeps a model's files in the Cache API (@mlc-ai/web-llm 0.2.79: scope `webllm/config` for
 * mlc-chat-config.json, `webllm/model` for ndarray-cache.json, the params_shard_*.bin and the
 * tokenizer files, `webllm/wasm` for the model library), keyed by URL. Cria adds one small record
 * per model in its own scope (`cria/mlc`): which model it is, its library, its total bytes; the bytes
 * stored are counted from WebLLM's entries each time, so a list never says more than is there.
 * Deleting a model removes its files from all three scopes (the library only when no other model
 * uses it). Imports nothing of WebLLM: the worker lists and deletes without loading it.
 */
import type { CachedModel } from '../../protocol/api.ts';
import type { RuntimeCache } from '../../engine/runtime.ts';
import { MLC_PREFIX } from './catalog.ts';

export const SCOPES = { config: 'webllm/config', model: 'webllm/model', wasm: 'webllm/wasm', index: 'cria/mlc' } as const;

/** Cria's record of an MLC model (kept in `cria/mlc`). */
export interface MlcCacheRecord {
  /** `mlc:` + the base URL WebLLM reads its files under */
  id: string;
  name: string;
  /** the URL the source gave (WebLLM's `model`) */
  model: string;
  modelLib: string;
  /** a prebuilt model's id in WebLLM's list */
  prebuiltId?: string;
  /** the weights' bytes (ndarray-cache.json) */
  bytes: number;
  /** the shard files' URLs */
  shards: string[];
  createdAt: number;
  lastUsedAt?: number;
  /** a load finished once: every file was there */
  complete: boolean;
}

const indexKey = (id: string) => `https://cria.invalid/mlc/${encodeURIComponent(id)}`;
const hasCaches = () => typeof caches !== 'undefined';

export async function readRecord(id: string): Promise<MlcCacheRecord | undefined> {
  if (!hasCaches()) return undefined;
  const r = await (await caches.open(SCOPES.index)).match(indexKey(id));
  return r ? ((await r.json()) as MlcCacheRecord) : undefined;
}

export async function writeRecord(rec: MlcCacheRecord): Promise<void> {
  if (!hasCaches()) return;
  await (await caches.open(SCOPES.index)).put(indexKey(rec.id), new Response(JSON.stringify(rec), { headers: { 'content-type': 'application/json' } }));
}

async function records(): Promise<MlcCacheRecord[]> {
  if (!hasCaches()) return [];
  const c = await caches.open(SCOPES.index);
  const out: MlcCacheRecord[] = [];
  for (const k of await c.keys()) {
    const r = await c.match(k);
    if (r) out.push((await r.json()) as MlcCacheRecord);
  }
  return out;
}

/** Bytes of a stored response: its length header, else its body's size. */
async function sizeOf(r: Response): Promise<number> {
  const h = Number(r.headers.get('content-length'));
  return Number.isFinite(h) && h > 0 ? h : (await r.blob()).size;
}

/** Which of a model's shards are in WebLLM's cache, and their bytes. */
export async function storedShards(shards: readonly string[]): Promise<{ stored: number; bytes: number }> {
  if (!hasCaches()) return { stored: 0, bytes: 0 };
  const c = await caches.open(SCOPES.model);
  let stored = 0;
  let bytes = 0;
  for (const s of shards) {
    const r = await c.match(s);
    if (r) {
      stored++;
      bytes += await sizeOf(r);
    }
  }
  return { stored, bytes };
}

/** The MLC models in WebLLM's storage, in Cria's cache list shape. */
export async function listMlcModels(): Promise<CachedModel[]> {
  const out: CachedModel[] = [];
  for (const rec of await records()) {
    const base = rec.id.slice(MLC_PREFIX.length);
    const { stored, bytes } = await storedShards(rec.shards);
    let other = 0;
    const m = await caches.open(SCOPES.model);
    for (const k of await m.keys()) {
      if (k.url.startsWith(base) && !rec.shards.includes(k.url)) {
        const r = await m.match(k);
        if (r) other += await sizeOf(r);
      }
    }
    const complete = rec.complete && stored === rec.shards.length;
    out.push({
      id: rec.id,
      name: rec.name,
      url: rec.model,
      size: rec.bytes,
      storedBytes: bytes + other,
      complete,
      chunks: rec.shards.length,
      chunksStored: stored,
      createdAt: rec.createdAt,
      ...(rec.lastUsedAt !== undefined ? { lastUsedAt: rec.lastUsedAt } : {}),
      format: 'mlc',
      files: rec.shards.length,
      model: rec.modelLib,
    });
  }
  return out;
}

/** Delete an MLC model's files from WebLLM's storage and Cria's record of it; false if Cria has no such model. */
export async function deleteMlcModel(id: string): Promise<boolean> {
  const rec = await readRecord(id);
  if (!rec) return false;
  const base = id.slice(MLC_PREFIX.length);
  for (const scope of [SCOPES.model, SCOPES.config]) {
    const c = await caches.open(scope);
    for (const k of await c.keys()) if (k.url.startsWith(base)) await c.delete(k);
  }
  const others = (await records()).filter((r) => r.id !== id);
  if (!others.some((r) => r.modelLib === rec.modelLib)) await (await caches.open(SCOPES.wasm)).delete(rec.modelLib);
  await (await caches.open(SCOPES.index)).delete(indexKey(id));
  return true;
}

/**
 * Remove what a load that cannot succeed stored of a model (its files under its base URL, its record,
 * its library unless another model uses it), with or without a record of it.
 */
export async function forgetMlcFiles(id: string, modelLib: string): Promise<void> {
  if (!hasCaches()) return;
  if (await deleteMlcModel(id)) return;
  const base = id.slice(MLC_PREFIX.length);
  for (const scope of [SCOPES.model, SCOPES.config]) {
    const c = await caches.open(scope);
    for (const k of await c.keys()) if (k.url.startsWith(base)) await c.delete(k);
  }
  if (!(await records()).some((r) => r.modelLib === modelLib)) await (await caches.open(SCOPES.wasm)).delete(modelLib);
}

/** Delete every MLC model Cria knows of. */
export async function clearMlcModels(): Promise<void> {
  for (const r of await records()) await deleteMlcModel(r.id);
}

/** The models' cache, as the engine lists and deletes it. */
export const mlcCache: RuntimeCache = {
  owns: (id) => id.startsWith(MLC_PREFIX),
  list: listMlcModels,
  delete: deleteMlcModel,
  clear: clearMlcModels,
};
