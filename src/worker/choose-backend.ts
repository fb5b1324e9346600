/**
 * `auto`: which backend runs a model in this browser (LoadOptions.backend). Pure: given what WebGPU
 * offered (an adapter's description, or why there is none), the choice and its reason, so it is
 * tested without a browser.
 *   - a hardware GPU adapter → WebGPU;
 *   - no WebGPU, no adapter, or only a software one (SwiftShader, llvmpipe: `isFallbackAdapter` or a
 *     CPU adapter's name) → WebAssembly, whose kernels are made for CPUs and run faster there.
 * An explicit `webgpu` or `wasm` is taken as asked (a missing WebGPU is then an error, not a switch).
 */
import { isCpuAdapter } from '../gpu/device.ts';
import type { DeviceInfo } from '../protocol/api.ts';

export type GpuOffer = { info: Pick<DeviceInfo, 'vendor' | 'architecture' | 'device' | 'description' | 'isFallbackAdapter'> } | { unavailable: string };

export function adapterName(info: Pick<DeviceInfo, 'vendor' | 'architecture' | 'device' | 'description'>): string {
  return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
}

export function chooseAuto(offer: GpuOffer): { kind: 'webgpu' | 'wasm'; reason: string } {
  if ('unavailable' in offer) return { kind: 'wasm', reason: `auto: WebAssembly on the CPU, since WebGPU is not usable here (${offer.unavailable.replace(/\.$/, '')})` };
  const name = adapterName(offer.info);
  if (isCpuAdapter(offer.info)) {
    return { kind: 'wasm', reason: `auto: WebAssembly on the CPU, since the only WebGPU adapter (${name}${offer.info.isFallbackAdapter ? ', a fallback adapter' : ''}) is a software one that runs on the CPU too, more slowly` };
  }
  return { kind: 'webgpu', reason: `auto: WebGPU on ${name}, a hardware GPU adapter` };
}
