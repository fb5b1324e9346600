/**
 * The app shell: for now it only says what Cria is and whether this browser
 * can run it. The real UI (model picker, chat) comes later and talks to
 * src/client only.
 */
import './style.css';
import './pwa.ts'; // the service worker (production builds only): src/app/pwa.ts, news via src/app/pwa-hook.ts

type WebGpuStatus = { available: true; adapter: string } | { available: false; reason: string };

const HOW_TO_GET_WEBGPU =
  'Cria needs WebGPU. Use a recent Chrome or Edge (version 113 or later) on desktop, ' +
  'or enable WebGPU in your browser’s settings/flags, then reload this page.';

/** Capability check up front: a missing API and a missing adapter are told apart. */
async function detectWebGpu(): Promise<WebGpuStatus> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    const why = window.isSecureContext ? 'This browser does not offer WebGPU.' : 'WebGPU needs a secure page (https or localhost).';
    return { available: false, reason: `${why} ${HOW_TO_GET_WEBGPU}` };
  }
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) {
      return {
        available: false,
        reason: `WebGPU is present, but no graphics adapter is available (it may be disabled or blocklisted; see chrome://gpu). ${HOW_TO_GET_WEBGPU}`,
      };
    }
    const { vendor, architecture, description } = adapter.info;
    const name = description || [vendor, architecture].filter(Boolean).join(' ') || 'unnamed adapter';
    return { available: true, adapter: name };
  } catch (e) {
    return { available: false, reason: `Asking for a WebGPU adapter failed (${e instanceof Error ? e.message : String(e)}). ${HOW_TO_GET_WEBGPU}` };
  }
}

async function main(): Promise<void> {
  const el = document.getElementById('webgpu-status');
  if (!el) return;
  const status = await detectWebGpu();
  el.dataset.webgpu = status.available ? 'available' : 'unavailable';
  el.textContent = status.available ? `WebGPU is available (${status.adapter}).` : status.reason;
}

void main();
