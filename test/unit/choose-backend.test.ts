/**
 * LoadOptions.backend `auto` (src/worker/choose-backend.ts): WebGPU on a hardware adapter; WebAssembly
 * where WebGPU is missing or only a software adapter runs (by isFallbackAdapter or by its name), each
 * with its reason.
 */
import { describe, expect, it } from 'vitest';
import { chooseAuto } from '../../src/worker/choose-backend.ts';

const adapter = (o: Partial<{ vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean }>) => ({
  info: { vendor: '', architecture: '', device: '', description: '', isFallbackAdapter: false, ...o },
});

describe('auto backend', () => {
  it('a hardware GPU: WebGPU', () => {
    const c = chooseAuto(adapter({ vendor: 'nvidia', architecture: 'ada-lovelace' }));
    expect(c.kind).toBe('webgpu');
    expect(c.reason).toMatch(/WebGPU on nvidia ada-lovelace, a hardware GPU/);
  });

  it.each([
    ['SwiftShader (fallback adapter)', adapter({ vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true })],
    ['SwiftShader named only', adapter({ vendor: 'google', architecture: 'swiftshader' })],
    ['llvmpipe', adapter({ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.7, 256 bits)' })],
    ['any fallback adapter', adapter({ vendor: 'acme', isFallbackAdapter: true })],
  ])('%s: WebAssembly, saying why', (_, offer) => {
    const c = chooseAuto(offer);
    expect(c.kind).toBe('wasm');
    expect(c.reason).toMatch(/WebAssembly on the CPU, since the only WebGPU adapter .* is a software one/);
  });

  it('no WebGPU at all: WebAssembly, with what WebGPU said', () => {
    const c = chooseAuto({ unavailable: 'WebGPU is not available in this browser.' });
    expect(c.kind).toBe('wasm');
    expect(c.reason).toMatch(/since WebGPU is not usable here \(WebGPU is not available in this browser\)/);
  });
});
