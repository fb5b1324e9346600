/**
 * Capability check up front, on the page's own thread: a browser without
 * WebGPU is told what to do before it downloads anything. (The engine's
 * worker checks again when it loads a model and says `webgpu-unavailable`.)
 */
export type WebGpuStatus =
  | { state: 'checking' }
  /** `features`: the adapter's WebGPU features (the Models page lists WebLLM's float16 builds only where `shader-f16` is one) */
  | { state: 'available'; adapter: string; features: string[] }
  | { state: 'unavailable'; reason: string };

/** What to do, in the order people are most likely to need it. */
export const HOW_TO_GET_WEBGPU: readonly string[] = [
  'Use a recent Chrome or Edge (version 113 or later) on Windows, macOS or ChromeOS, Chrome 121+ on Android, Safari 26+, or Firefox 141+ on Windows.',
  'If your browser supports WebGPU but it is off: turn on hardware acceleration in its settings and look at chrome://gpu (or edge://gpu). On Linux, Chrome may need chrome://flags/#enable-unsafe-webgpu.',
  'Then reload this page.',
];

export async function detectWebGpu(): Promise<WebGpuStatus> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    const why = window.isSecureContext ? 'This browser does not offer WebGPU.' : 'WebGPU needs a secure page (https, or localhost).';
    return { state: 'unavailable', reason: why };
  }
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return { state: 'unavailable', reason: 'WebGPU is present, but no graphics adapter is available: it may be disabled or blocklisted for this GPU or driver.' };
    const { vendor, architecture, description } = adapter.info;
    return { state: 'available', adapter: description || [vendor, architecture].filter(Boolean).join(' ') || 'unnamed adapter', features: [...adapter.features] };
  } catch (e) {
    return { state: 'unavailable', reason: `Asking for a WebGPU adapter failed (${e instanceof Error ? e.message : String(e)}).` };
  }
}
