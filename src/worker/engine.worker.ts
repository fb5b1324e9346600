/**
 * The engine's Web Worker: the only place an engine is built. It owns the WebGPU device (created on
 * first use, again after a device loss) and the WebAssembly backend's kernels and threads, picks the
 * backend a load asks for (`auto`: src/worker/choose-backend.ts), and exposes the Engine through comlink.
 */
import * as Comlink from 'comlink';
import { Engine, type BackendRequest, type ChosenBackend } from '../engine/engine.ts';
import { GpuBackend } from '../gpu/backend.ts';
import { createGpu, type GpuContext } from '../gpu/device.ts';
import { measureDevice } from '../gpu/measure.ts';
import type { Backend } from '../model/backend.ts';
import type { DeviceInfo, EngineApi } from '../protocol/api.ts';
import { installErrorTransfer } from '../client/comlink-errors.ts';
import { isCriaError } from '../shared/errors.ts';
import { IdbModelStore } from '../storage/idb-store.ts';
import { IdbCheckpointStore } from '../storage/checkpoints.ts';
import { WasmBackend } from '../wasm/backend.ts';
import { browserThreads, createBrowserWasmBackend } from '../wasm/browser.ts';
import type { Runtime } from '../engine/runtime.ts';
import { isOnnxSource } from '../runtimes/onnx/repo.ts';
import type { OnnxRuntime, ProviderChoice } from '../runtimes/onnx/runtime.ts';
import { isMlcSource } from '../runtimes/webllm/catalog.ts';
import { mlcCache } from '../runtimes/webllm/cache.ts';
import type { WebLlmRuntime } from '../runtimes/webllm/runtime.ts';
// onnxruntime-web's WebAssembly binary (with its WebGPU EP): served by Vite / emitted into the build,
// fetched only when an ONNX model loads
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import { chooseAuto } from './choose-backend.ts';

installErrorTransfer();

let ctx: Promise<GpuContext> | undefined;
async function gpu(): Promise<GpuContext> {
  const current = ctx && (await ctx.catch(() => undefined));
  if (!current || current.isLost) ctx = createGpu();
  return ctx!;
}

async function wasm(req: BackendRequest, why: string): Promise<ChosenBackend> {
  const { backend, threadsWhy } = await createBrowserWasmBackend(req.threads !== undefined ? { threads: req.threads } : {});
  return { backend, reason: `${why}; ${threadsWhy}` };
}

/** `auto`: what WebGPU offers here (its device, when there is one) and the choice it makes (choose-backend.ts). */
async function autoChoice(): Promise<{ choice: ReturnType<typeof chooseAuto>; context?: GpuContext }> {
  try {
    const context = await gpu();
    return { choice: chooseAuto({ info: context.info }), context };
  } catch (e) {
    if (!isCriaError(e, 'webgpu-unavailable')) throw e;
    return { choice: chooseAuto({ unavailable: e.message }) };
  }
}

async function createBackend(req: BackendRequest): Promise<ChosenBackend> {
  if (req.backend === 'wasm') return wasm(req, 'WebAssembly, as asked');
  if (req.backend === 'webgpu') return { backend: new GpuBackend(await gpu()), reason: 'WebGPU, as asked' };
  const { choice, context } = await autoChoice();
  return choice.kind === 'webgpu' ? { backend: new GpuBackend(context!), reason: choice.reason } : wasm(req, choice.reason);
}

function wasmDeviceInfo(b: WasmBackend): DeviceInfo {
  const d = b.describe();
  return {
    backend: 'wasm',
    threads: d.threads,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    vendor: 'WebAssembly',
    architecture: b.kernels.variant,
    device: `${d.threads} thread${d.threads === 1 ? '' : 's'}`,
    description: d.detail,
    isFallbackAdapter: false,
    features: [b.kernels.variant.startsWith('relaxed') ? 'relaxed-simd' : 'simd128', ...(b.kernels.shared ? ['threads'] : [])],
    limits: { memoryBytes: b.memoryLimitBytes },
    f16: false,
  };
}

/** onnxruntime-web's execution provider for a load: the same rules as Cria's backends (`auto`: WebGPU on a hardware adapter). */
async function chooseOrtProvider(asked: 'auto' | 'webgpu' | 'wasm', threads: number | undefined): Promise<ProviderChoice> {
  const wasmEp = (why: string): ProviderChoice => {
    const t = browserThreads(threads);
    return {
      ep: 'wasm',
      reason: `${why}; onnxruntime-web's WebAssembly EP, ${t.why}`,
      threads: t.threads,
      deviceInfo: async () => ({
        backend: 'wasm',
        threads: t.threads,
        crossOriginIsolated: globalThis.crossOriginIsolated === true,
        vendor: 'onnxruntime-web',
        architecture: 'wasm-simd',
        device: `${t.threads} thread${t.threads === 1 ? '' : 's'}`,
        description: 'onnxruntime-web, WebAssembly execution provider',
        isFallbackAdapter: false,
        features: ['simd128', ...(t.threads > 1 ? ['threads'] : [])],
        limits: {},
        f16: false,
      }),
    };
  };
  const webgpuEp = (why: string, context: GpuContext): ProviderChoice => ({ ep: 'webgpu', reason: `${why}; onnxruntime-web's WebGPU EP`, deviceInfo: async () => ({ backend: 'webgpu', ...context.info }) });
  if (asked === 'wasm') return wasmEp('WebAssembly, as asked');
  if (asked === 'webgpu') return webgpuEp('WebGPU, as asked', await gpu());
  const { choice, context } = await autoChoice();
  return choice.kind === 'webgpu' ? webgpuEp(choice.reason, context!) : wasmEp(choice.reason);
}

/** The ONNX runtime, its module (and onnxruntime-web) imported at the first ONNX load only. */
let onnxRuntime: Promise<OnnxRuntime> | undefined;
const onnx: Runtime = {
  name: 'onnx',
  accepts: isOnnxSource,
  async load(source, ctx) {
    onnxRuntime ??= import('../runtimes/onnx/runtime.ts').then((m) => new m.OnnxRuntime({ wasmUrl: ortWasmUrl, chooseProvider: chooseOrtProvider }));
    return (await onnxRuntime).load(source, ctx);
  },
};

/** The WebLLM runtime, its module (and @mlc-ai/web-llm) imported at the first MLC load only; its cache is listed without it. */
let webllmRuntime: Promise<WebLlmRuntime> | undefined;
const webllm: Runtime = {
  name: 'webllm',
  accepts: isMlcSource,
  cache: mlcCache,
  async load(source, ctx) {
    webllmRuntime ??= import('../runtimes/webllm/runtime.ts').then((m) => new m.WebLlmRuntime());
    return (await webllmRuntime).load(source, ctx);
  },
};

const engine = new Engine({
  runtimes: [onnx, webllm],
  createBackend,
  deviceInfo: async (backend?: Backend) => (backend instanceof WasmBackend ? wasmDeviceInfo(backend) : { backend: 'webgpu', ...(await gpu()).info }),
  measureDevice: async () => measureDevice(await gpu()),
  // the model cache lives with the engine, in this worker: IndexedDB, quota estimates, Web Locks
  openStore: () => IdbModelStore.open(),
  openCheckpoints: () => IdbCheckpointStore.open(),
  storage: navigator.storage,
  locks: navigator.locks,
}) satisfies EngineApi;

Comlink.expose(engine);
