/**
 * Where the WebAssembly backend keeps its data: one wasm memory, laid out by the host.
 *
 *   [ module's static data | permanent: weights, KV cache, tables | scratch: a forward's activations → ]
 *
 * Permanent allocations (`alloc`) bump upward and are freed all at once (`reset`); the scratch arena
 * sits above them and is emptied at the start of every forward pass (`clearScratch`), so a forward's
 * activations live until the next one begins (what the engine reads back in between).
 * The scratch of a forward stays valid after it returns, however many permanent blocks were made. Every block is
 * 64-byte aligned (a cache line: SIMD loads never split one). The memory grows on demand, up to
 * wasm32's 4 GiB; past it: `out-of-memory` with the numbers.
 */
import { CriaError } from '../shared/errors.ts';
import { MAX_PAGES } from './module.ts';

const ALIGN = 64;
const PAGE = 65536;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
const MiB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

export class WasmHeap {
  private top: number;
  private scratchTop: number;
  private readonly base: number;

  constructor(
    readonly memory: WebAssembly.Memory,
    heapBase: number,
  ) {
    this.base = align(heapBase);
    this.top = this.base;
    this.scratchTop = this.top;
  }

  /** bytes held by permanent allocations */
  get permanentBytes(): number {
    return this.top - this.base;
  }

  /** bytes of the scratch arena in use */
  get scratchBytes(): number {
    return this.scratchTop - this.top;
  }

  private ensure(end: number, what: string): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) {
      throw new CriaError('out-of-memory', `the WebAssembly engine needs ${MiB(end)} for ${what}, more than the 4 GiB a WebAssembly memory can hold; choose a smaller model, a more quantized file or a shorter context`, { need: end, max: MAX_PAGES * PAGE });
    }
    try {
      this.memory.grow(pages);
    } catch {
      throw new CriaError('out-of-memory', `the browser refused the WebAssembly engine ${MiB(end)} of memory (for ${what}); close other tabs or choose a smaller model`, { need: end });
    }
  }

  /**
   * A permanent block (weights, cache, tables). Made while the scratch arena is in use (a table built
   * on first use, mid-forward), it goes above the scratch, and what the scratch held becomes dead
   * permanent space: once per such block, during the first forward pass (small, the warm-up's).
   */
  alloc(bytes: number, what: string): number {
    const p = this.scratchTop;
    this.ensure(p + bytes, what);
    this.top = align(p + bytes);
    this.scratchTop = this.top;
    return p;
  }

  /** A block of the current forward pass. */
  scratch(bytes: number, what = 'activations'): number {
    const p = this.scratchTop;
    this.ensure(p + bytes, what);
    this.scratchTop = align(p + bytes);
    return p;
  }

  clearScratch(): void {
    this.scratchTop = this.top;
  }

  /** Free everything. */
  reset(): void {
    this.top = this.base;
    this.scratchTop = this.top;
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }
}
