/**
 * Load-time weight fusion (src/model/model.ts `planFusions`, `Fusion` in src/model/arch/types.ts):
 * - which fusions a file allows: same type and row length for every part, biases fused with their
 *   weights or not at all, nothing larger than the backend can hold; mixed-quant files (Q4_K_M keeps
 *   some attn_v in Q6_K) fall back per layer;
 * - the fused tensor is the parts' bytes concatenated in row order, and progress still counts every
 *   byte of the file once;
 * - the fused path of every architecture computes exactly what the plain path does: the CPU reference
 *   with fused weights gives bit-identical logits (its matmul rows, slices and ropes are the same
 *   float64 computations), for every random model and stories260K.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/engine/session.ts';
import { GgmlType, ggmlTypeInfo, type GgmlTypeInfo } from '../../src/formats/ggml-types.ts';
import type { Backend } from '../../src/model/backend.ts';
import { readTensorBytes } from '../../src/formats/gguf.ts';
import { blk } from '../../src/model/arch/types.ts';
import { Model, planFusions, planModel, type LoadProgress } from '../../src/model/model.ts';
import { CpuBackend, type CpuWeight } from '../../src/reference/backend.ts';
import { canMix } from '../../src/gpu/mixed.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { fixtureGguf, readJson } from './helpers/models.ts';

/** The CPU reference asking for fused weights (the GPU backend does; the reference itself stays plain). */
class FusingCpu extends CpuBackend {
  readonly fuseWeights = true;
  readonly loaded: { name: string; type: GgmlTypeInfo; dims: readonly number[]; bytes: Uint8Array }[] = [];
  constructor(readonly maxWeightBytes = Infinity) {
    super();
  }
  override async loadWeight(name: string, type: GgmlTypeInfo, dims: readonly number[], bytes: Uint8Array): Promise<CpuWeight> {
    this.loaded.push({ name, type, dims, bytes });
    return super.loadWeight(name, type, dims, bytes);
  }
}

const dir = 'models/random/';
const randomModels = readdirSync(fixturePath(dir), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => `${dir}${d.name}/${d.name}.gguf`)
  .sort();
const models = [...randomModels, 'models/stories260K/stories260K-f32.gguf'];

describe('load-time weight fusion', () => {
  it.each(models)('%s: fused where the file allows it, with bit-identical logits', async (rel) => {
    const file = await fixtureGguf(rel);
    const { arch, config } = planModel(file);
    const fusing = new FusingCpu();
    const progress: LoadProgress[] = [];
    const fused = await Model.load(file, fusing, { onProgress: (p) => progress.push(p) });
    const plain = await Model.load(file, new CpuBackend());

    // what was made: every fusion the architecture lists whose parts agree in type (and row length)
    const names = new Set(fusing.loaded.map((l) => l.name));
    for (const f of arch.fusions?.(config) ?? []) {
      const parts = f.parts.map((p) => file.tensorsByName.get(p)!);
      const agree = parts.every((p) => p.type.id === parts[0].type.id && p.dims[0] === parts[0].dims[0]);
      expect(names.has(f.into), `${f.into} (${parts.map((p) => p.type.name).join(', ')})`).toBe(agree);
      for (const p of parts) expect(names.has(p.name), `${p.name} loaded on its own`).toBe(!agree);
      if (agree) {
        const got = fusing.loaded.find((l) => l.name === f.into)!;
        const want = await Promise.all(parts.map((p) => readTensorBytes(file, p)));
        expect(got.dims).toEqual([parts[0].dims[0], parts.reduce((a, p) => a + p.dims[1], 0)]);
        expect(Buffer.from(got.bytes).equals(Buffer.concat(want)), `${f.into} is the parts' bytes in order`).toBe(true);
        if (f.companion) expect(names.has(f.companion.into)).toBe(f.companion.parts.every((p) => file.tensorsByName.has(p)));
      }
    }
    // progress: every tensor's bytes once, in file order, ending at the total
    expect(progress[progress.length - 1].loadedBytes).toBe(progress[progress.length - 1].totalBytes);
    expect(progress.every((p, i) => i === 0 || p.loadedBytes > progress[i - 1].loadedBytes)).toBe(true);

    const tokens = rel.includes('stories') ? [1, 403, 407, 261, 378] : readJson(rel.replace(/[^/]+\.gguf$/, 'expected.json')).prompts[0].tokens;
    const a = await new Session(fused).eval(tokens, 'all');
    const b = await new Session(plain).eval(tokens, 'all');
    expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), 'fused logits = plain logits, bit for bit').toBe(true);
  });

  it('llama and qwen2 fuse q|k|v and gate|up; qwen3 only gate|up; phi3 has its own fused tensors', async () => {
    const fusedNames = async (rel: string) => {
      const b = new FusingCpu();
      await Model.load(await fixtureGguf(rel), b);
      return b.loaded.map((l) => l.name).filter((n) => n.startsWith('blk.0.'));
    };
    expect(await fusedNames(`${dir}llama-gqa-q8_0/llama-gqa-q8_0.gguf`)).toEqual(expect.arrayContaining([blk(0, 'attn_qkv'), blk(0, 'ffn_gate_up')]));
    const qwen2 = await fusedNames(`${dir}qwen2-q8_0/qwen2-q8_0.gguf`);
    expect(qwen2).toEqual(expect.arrayContaining([blk(0, 'attn_qkv'), blk(0, 'attn_qkv', 'bias'), blk(0, 'ffn_gate_up')]));
    expect(qwen2.some((n) => /attn_[qkv]\./.test(n))).toBe(false);
    const qwen3 = await fusedNames(`${dir}qwen3-q8_0/qwen3-q8_0.gguf`);
    expect(qwen3).toContain(blk(0, 'ffn_gate_up'));
    expect(qwen3).toContain(blk(0, 'attn_q'));
    expect(await fusedNames(`${dir}phi3-q8_0/phi3-q8_0.gguf`)).not.toContain(blk(0, 'ffn_gate_up'));
  });

  it('a Q4_K_M file whose attn_v is Q6_K keeps that layer unfused', async () => {
    const file = await fixtureGguf(`${dir}llama-gqa-q4_k_m/llama-gqa-q4_k_m.gguf`);
    const types = [0, 1].map((il) => ['attn_q', 'attn_k', 'attn_v'].map((p) => file.tensorsByName.get(blk(il, p))!.type.name));
    const plan = planFusions(planModel(file).arch.fusions!(planModel(file).config), planModel(file).tensors, Infinity);
    for (const [il, t] of types.entries()) expect(plan.has(blk(il, 'attn_v')), `layer ${il}: ${t.join(', ')}`).toBe(t.every((x) => x === t[0]));
    expect(types.some((t) => t[2] !== t[0]), 'the fixture has a layer with a different attn_v type').toBe(true);
  });

  it('a backend that can mix the two types (the GPU: src/gpu/mixed.ts) gets those layers fused too, marked mixed', async () => {
    const file = await fixtureGguf(`${dir}llama-gqa-q4_k_m/llama-gqa-q4_k_m.gguf`);
    const { arch, config, tensors } = planModel(file);
    const plan = planFusions(arch.fusions!(config), tensors, Infinity, canMix);
    for (let il = 0; il < config.nLayer; il++) {
      const t = ['attn_q', 'attn_k', 'attn_v'].map((p) => file.tensorsByName.get(blk(il, p))!.type.name);
      const f = plan.get(blk(il, 'attn_v'));
      expect(f?.into, `layer ${il}: ${t.join(', ')}`).toBe(blk(il, 'attn_qkv'));
      expect(f?.mixed).toBe(t[2] !== t[0]);
      expect(f?.dims).toEqual([config.nEmbd, (config.nHead + 2 * config.nHeadKv) * config.headDim]);
    }
    // a pair the backend refuses stays unfused, as do three runs (Q4_K, Q6_K, Q4_K)
    expect(planFusions(arch.fusions!(config), tensors, Infinity, () => false).size).toBeLessThan(plan.size);
    const q6 = ggmlTypeInfo(GgmlType.Q6_K)!;
    const threeRuns = tensors.map((t) => (t.name === blk(0, 'attn_k') ? { ...t, type: q6 } : t.name === blk(0, 'attn_v') ? { ...t, type: file.tensorsByName.get(blk(0, 'attn_q'))!.type } : t));
    expect(planFusions(arch.fusions!(config), threeRuns, Infinity, canMix).has(blk(0, 'attn_q'))).toBe(false);
  });

  it('refuses what it cannot make: a part or a bias missing, differing types, too large for the backend', async () => {
    const file = await fixtureGguf(`${dir}qwen2-q8_0/qwen2-q8_0.gguf`);
    const { arch, config, tensors } = planModel(file);
    const fusions = arch.fusions!(config);
    const without = (name: string) => tensors.filter((t) => t.name !== name);
    expect(planFusions(fusions, tensors, Infinity).has(blk(0, 'attn_q'))).toBe(true);
    expect(planFusions(fusions, without(blk(0, 'attn_k')), Infinity).has(blk(0, 'attn_q'))).toBe(false);
    // a bias missing: the weights stay plain too (a fused weight needs a fused bias or none)
    const noBias = planFusions(fusions, without(blk(0, 'attn_k', 'bias')), Infinity);
    expect(noBias.has(blk(0, 'attn_q'))).toBe(false);
    expect(noBias.has(blk(0, 'attn_q', 'bias'))).toBe(false);
    expect(noBias.has(blk(1, 'attn_q')), 'other layers are not affected').toBe(true);
    const f16 = tensors.map((t) => (t.name === blk(0, 'ffn_up') ? { ...t, type: ggmlTypeInfo(GgmlType.F16)! } : t));
    expect(planFusions(fusions, f16, Infinity).has(blk(0, 'ffn_gate'))).toBe(false);
    const gateUp = file.tensorsByName.get(blk(0, 'ffn_gate'))!.byteLength * 2;
    expect(planFusions(fusions, tensors, gateUp).has(blk(0, 'ffn_gate'))).toBe(true);
    expect(planFusions(fusions, tensors, gateUp - 1).has(blk(0, 'ffn_gate'))).toBe(false);
  });

  it('the plain CPU reference gets no fused weights', async () => {
    const b: Backend = new CpuBackend();
    expect(b.fuseWeights).toBeUndefined();
  });
});
