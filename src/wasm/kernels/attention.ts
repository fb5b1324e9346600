/** Launcher for kernels/wasm/attention.ts: causal GQA attention of n query rows over a layer's KV cache (already holding them). */
import type { AttentionParams } from '../../model/ops.ts';
import type { WasmHeap } from '../heap.ts';
import type { Runner } from '../runner.ts';

/** q rows of `qStride` floats (the heads start at q) → out [n, nHead·headDimV] */
export function attention(run: Runner, heap: WasmHeap, q: number, qStride: number, n: number, kCache: number, vCache: number, p: AttentionParams, pos0: number): number {
  const out = heap.scratch(n * p.nHead * p.headDimV * 4, 'attention output');
  const scores = heap.scratch(n * p.nHead * (pos0 + n) * 4, 'attention scores');
  run.run('attention', [q, qStride, kCache, vCache, out, scores, p.nHead, p.nHeadKv, p.headDim, p.headDimV, p.scale, p.softcap, p.window, pos0, n], n * p.nHead, 1);
  return out;
}
