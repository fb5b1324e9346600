/** Launcher for kernels/wasm/rope.ts: rotary embedding of every head of each row, from a cos/sin table in the heap. */
import type { WasmHeap } from '../heap.ts';
import type { Runner } from '../runner.ts';

export interface RopeLaunch {
  nHeads: number;
  headDim: number;
  dim: number;
  neox: boolean;
  /** the table: f32 [positions, dim/2, 2] (src/shared/rope-table.ts) */
  table: number;
}

/** x rows of `stride` floats (the heads start at x), rows at positions pos0.. → y [rows, nHeads·headDim] */
export function rope(run: Runner, heap: WasmHeap, x: number, stride: number, rows: number, p: RopeLaunch, pos0: number): number {
  const y = heap.scratch(rows * p.nHeads * p.headDim * 4);
  run.run('rope', [x, stride, y, p.table, p.nHeads, p.headDim, p.dim, p.neox ? 1 : 0, pos0], rows, 4);
  return y;
}
