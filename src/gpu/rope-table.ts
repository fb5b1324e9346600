/** The RoPE table on the GPU (built by `createRopeTable` in src/gpu/kernels/rope.ts from src/shared/rope-table.ts). */
import type { RopeTableSpec } from '../shared/rope-table.ts';

/** A table on the GPU with the parameters it was built for (made by `createRopeTable` in src/gpu/kernels/rope.ts). */
export interface RopeTable extends RopeTableSpec {
  /** positions 0..nCtx−1 are in the table */
  readonly nCtx: number;
  /** array<vec2<f32>> [nCtx · dim/2] */
  readonly buffer: GPUBuffer;
}

