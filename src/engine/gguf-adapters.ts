/**
 * LoRA adapters of Cria's own runtime (the `RuntimeAdapters` of a GGUF model, src/engine/runtime.ts):
 * an adapter's file is opened like a model's (a URL through the model cache, resumable and listed
 * there; a file or bytes directly), its header checked against the loaded model before anything past
 * it is downloaded or cached (src/formats/lora.ts: architecture, each adapted matrix and its shape),
 * its memory (f32 A and B as src/model/lora.ts lays them out) checked against what the model's budget
 * leaves, then its weights read and uploaded (Model.addAdapter).
 */
import { CriaError } from '../shared/errors.ts';
import { readGguf, type GgufFile } from '../formats/gguf.ts';
import type { Model } from '../model/model.ts';
import type { AdapterInfo, AdapterSource, ModelSource } from '../protocol/api.ts';
import { openModelSource } from './open-source.ts';
import type { RuntimeAdapters } from './runtime.ts';

const MiB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** `budgetLeft()`: bytes the model's memory budget leaves for adapters now. */
export function ggufAdapters(model: Model, budgetLeft: () => number, onTaken: (bytes: number) => void): RuntimeAdapters {
  return {
    async add(source: AdapterSource, id, ctx) {
      if (typeof source !== 'object' || source === null || !('url' in source || 'file' in source || 'bytes' in source || 'cached' in source)) {
        throw new CriaError('bad-argument', 'loadAdapter() needs a source: { url }, { file }, { bytes } or { cached }');
      }
      if (id !== undefined && (typeof id !== 'string' || id === '')) throw new CriaError('bad-argument', 'an adapter id must be a non-empty string');
      const check = (file: GgufFile) => {
        const plan = model.planAdapter(file, `the adapter${id ? ` "${id}"` : ''}`);
        const left = budgetLeft();
        if (plan.bytes > left) {
          throw new CriaError('out-of-memory', `the adapter needs ${MiB(plan.bytes)} on the device and the model's memory budget leaves ${MiB(left)}; load the model with a larger memoryBudgetBytes or a smaller context, or use a smaller adapter`, {
            adapterBytes: plan.bytes,
            leftBytes: left,
          });
        }
        return plan;
      };
      const opened = await openModelSource(source as ModelSource, {
        store: ctx.store,
        storage: ctx.storage,
        locks: ctx.locks,
        fetch: ctx.fetch,
        signal: ctx.signal,
        onProgress: ctx.onProgress,
        inspectHeader: (file) => void check(file),
        ...(ctx.idleTimeoutMs !== undefined ? { idleTimeoutMs: ctx.idleTimeoutMs } : {}),
      });
      const file = opened.header ?? (await readGguf(opened.src));
      const plan = check(file);
      const name = plan.adapter.name;
      const fileName = opened.src.name.split('/').pop()?.replace(/\.gguf$/i, '') || 'adapter';
      const chosen = id ?? name ?? fileName;
      const { bytes } = await model.addAdapter(chosen, file, `the adapter "${chosen}"`);
      onTaken(bytes);
      const info: Omit<AdapterInfo, 'scale'> = {
        id: chosen,
        ...(name !== undefined ? { name } : {}),
        alpha: plan.adapter.alpha,
        ranks: [...new Set([...plan.adapter.pairs.values()].map((p) => p.rank))].sort((a, b) => a - b),
        matrices: plan.adapter.pairs.size,
        bytes,
        source: opened.source,
        ...(opened.cacheId !== undefined ? { cacheId: opened.cacheId } : {}),
      };
      return info;
    },
    set(list) {
      model.setAdapters(list);
    },
  };
}
