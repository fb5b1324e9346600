/**
 * The WebAssembly thread pool (src/wasm/pool.ts) in Node, with real worker_threads: a kernel that traps
 * in a worker or on the host ends in an error instead of a host waiting forever, and the pool keeps
 * working afterwards; a Node process running the pool exits when it is done.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instantiateKernels, type WasmKernels } from '../../src/wasm/module.ts';
import { spawnNodeWorker } from '../../src/wasm/node.ts';
import { readWasm } from '../../src/wasm/build.ts';
import { ThreadPool } from '../../src/wasm/pool.ts';

let kernels: WasmKernels;
let pool: ThreadPool;
beforeAll(async () => {
  kernels = await instantiateKernels('simd-mt', await readWasm('simd-mt'));
  pool = await ThreadPool.start(kernels.exports, kernels.module, kernels.memory, 2, spawnNodeWorker);
}, 60_000);
afterAll(() => pool?.dispose());

const K = 16; // a row of W is 64 bytes
const OUT = 8; // two threads: the host takes rows 0..3, the worker rows 4..7

/** y = W·x with matmul_f32 (no bias, no residual); W's rows at `w`, x and y at the heap's start */
function run(w: number): void {
  const base = kernels.exports.heap_base();
  pool.run('matmul_f32', [w, base, 0, 0, base + 1024, K, OUT, 1], OUT);
}

function fill(w: number): Float32Array {
  const base = kernels.exports.heap_base();
  const f = new Float32Array(kernels.memory.buffer);
  for (let i = 0; i < K; i++) f[base / 4 + i] = i + 1;
  for (let r = 0; r < OUT; r++) for (let i = 0; i < K; i++) f[w / 4 + r * K + i] = r === i ? 1 : 0;
  return f;
}

describe('the thread pool when a kernel traps', () => {
  it('a trap in the worker thread ends in an internal error, not a hang', () => {
    const end = kernels.memory.buffer.byteLength;
    // rows 0..3 (the host's) end exactly at the memory's end; rows 4..7 (the worker's) lie beyond it
    expect(() => run(end - 4 * K * 4)).toThrow(/the WebAssembly kernel matmul_f32 trapped in a worker thread/);
  });

  it('a trap on the host is thrown after the worker finished its share', () => {
    expect(() => run(kernels.memory.buffer.byteLength + 4096)).toThrow(/out of bounds/);
  });

  it('the pool works after either trap: both threads compute their rows', () => {
    const w = kernels.exports.heap_base() + 4096;
    const f = fill(w);
    run(w);
    const base = kernels.exports.heap_base();
    expect(Array.from(f.subarray((base + 1024) / 4, (base + 1024) / 4 + OUT))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
