/**
 * The engine's Web Worker: the only place an engine is built. It owns the
 * WebGPU device (created on first load, again after a device loss) and
 * exposes the Engine through comlink.
 */
import * as Comlink from 'comlink';
import { Engine } from '../engine/engine.ts';
import { GpuBackend } from '../gpu/backend.ts';
import { createGpu, type GpuContext } from '../gpu/device.ts';
import { measureDevice } from '../gpu/measure.ts';
import type { EngineApi } from '../protocol/api.ts';
import { installErrorTransfer } from '../client/comlink-errors.ts';
import { IdbModelStore } from '../storage/idb-store.ts';

installErrorTransfer();

let ctx: Promise<GpuContext> | undefined;
async function gpu(): Promise<GpuContext> {
  const current = ctx && (await ctx.catch(() => undefined));
  if (!current || current.isLost) ctx = createGpu();
  return ctx!;
}

const engine = new Engine({
  createBackend: async () => new GpuBackend(await gpu()),
  deviceInfo: async () => (await gpu()).info,
  measureDevice: async () => measureDevice(await gpu()),
  // the model cache lives with the engine, in this worker: IndexedDB, quota estimates, Web Locks
  openStore: () => IdbModelStore.open(),
  storage: navigator.storage,
  locks: navigator.locks,
}) satisfies EngineApi;

Comlink.expose(engine);
