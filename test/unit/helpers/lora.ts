/** Random LoRA adapters for a base GGUF (tests of src/formats/lora.ts and src/model/lora.ts, in Node and Chromium). */
import type { GgufFile } from '../../../src/formats/gguf.ts';
import { encodeLoraAdapter, type LoraWriteInput } from '../../../src/formats/lora.ts';
import { concatBytes } from '../../../src/shared/bytes.ts';
import { Rng } from '../../../src/shared/rng.ts';

const MATRICES = ['attn_q', 'attn_k', 'attn_v', 'attn_qkv', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'];

/** A random adapter for every matrix of `base` named in MATRICES (and output.weight), ranks alternating 4 and 8. */
export function randomAdapter(base: GgufFile, seed: number, alpha = 16): LoraWriteInput {
  const rng = new Rng(seed);
  const arch = String(base.metadata.get('general.architecture')!.value);
  const targets = base.tensors.filter((t) => t.dims.length === 2 && (t.name === 'output.weight' || MATRICES.some((m) => t.name.endsWith(`.${m}.weight`))));
  return {
    arch,
    alpha,
    name: `random-lora-${seed}`,
    pairs: targets.map((t, i) => {
      const [inDim, outDim] = t.dims as [number, number];
      const rank = i % 2 ? 8 : 4;
      // |B·A·x| comparable to |W·x| at scale alpha / r: A ~ N(0, 1/in), B ~ N(0, (r / alpha)² / r)
      const a = Float32Array.from({ length: rank * inDim }, () => rng.normal() / Math.sqrt(inDim));
      const b = Float32Array.from({ length: outDim * rank }, () => (rng.normal() * rank) / alpha / Math.sqrt(rank));
      return { target: t.name, rank, inDim, outDim, a, b };
    }),
  };
}

/** the adapter as one GGUF file */
export const adapterBytes = (input: LoraWriteInput): Uint8Array => concatBytes(encodeLoraAdapter(input));
