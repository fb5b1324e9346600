/**
 * GPU memory probe for `cria bench`, imported by bench.worker.ts before the
 * engine: it wraps `GPUDevice.prototype.createBuffer` and
 * `GPUBuffer.prototype.destroy` in this worker, so every buffer the engine's
 * device creates (weights, KV cache, temporaries, staging, uniforms) is
 * counted while it lives, and the peak is kept. It measures from outside the
 * engine, so it cannot miss a buffer the engine's own counters would not
 * know of. The page asks for the figures over a BroadcastChannel (comlink
 * owns the worker's message port). Only the worker may import this module:
 * a copy in the page would answer the page's own queries.
 */
import { GPU_MEMORY_CHANNEL, type GpuMemory } from './api.ts';

const live = new Map<GPUBuffer, number>();
const state: GpuMemory = { liveBytes: 0, peakBytes: 0, buffers: 0 };

if (typeof GPUDevice !== 'undefined') {
  const create = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (this: GPUDevice, desc: GPUBufferDescriptor): GPUBuffer {
    const buf = create.call(this, desc);
    live.set(buf, desc.size);
    state.liveBytes += desc.size;
    state.buffers++;
    state.peakBytes = Math.max(state.peakBytes, state.liveBytes);
    return buf;
  };
  const destroy = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function (this: GPUBuffer): undefined {
    const size = live.get(this);
    if (size !== undefined) {
      live.delete(this);
      state.liveBytes -= size;
    }
    return destroy.call(this);
  };
}

const channel = new BroadcastChannel(GPU_MEMORY_CHANNEL);
channel.onmessage = (e: MessageEvent) => {
  if (e.data === 'query') channel.postMessage({ ...state, buffers: live.size } satisfies GpuMemory);
};
