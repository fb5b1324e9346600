/**
 * The Models page's MLC entries (src/app/catalogue-mlc.ts): written out by hand so the app's bundle
 * does not carry WebLLM, so checked here against the pinned @mlc-ai/web-llm's own prebuilt list (the
 * same id, repository, model library, GPU memory figure and shader-f16 need), and filtered by the
 * adapter's features as the runtime chooses builds.
 */
import { prebuiltAppConfig } from '@mlc-ai/web-llm';
import { describe, expect, it } from 'vitest';
import { catalogueSource } from '../../src/app/catalogue.ts';
import { MLC_ENTRIES, mlcCatalogue, mlcQuant, mlcRecord } from '../../src/app/catalogue-mlc.ts';
import { needsF16, type MlcRecord } from '../../src/runtimes/webllm/catalog.ts';

const list = prebuiltAppConfig.model_list as MlcRecord[];

describe('the MLC catalogue entries', () => {
  it.each(MLC_ENTRIES.map((e) => [e.id, e] as const))('%s is in WebLLM 0.2.79\'s prebuilt list, with the same library, memory figure and f16 need', (id, e) => {
    const theirs = list.find((r) => r.model_id === id);
    expect(theirs, `${id} is not in the pinned prebuilt list`).toBeDefined();
    const ours = mlcRecord(e);
    expect(ours.model).toBe(theirs!.model);
    expect(ours.model_lib).toBe(theirs!.model_lib);
    expect(ours.vram_required_MB).toBe(theirs!.vram_required_MB);
    expect(ours.required_features ?? []).toEqual(theirs!.required_features ?? []);
    expect(needsF16(ours)).toBe(needsF16(theirs!));
    expect(theirs!.model_type ?? 0).toBe(0); // a language model
  });

  it('both builds of each model are listed: a float16 one and its float32 sibling', () => {
    const f16 = MLC_ENTRIES.filter((e) => needsF16(mlcRecord(e))).map((e) => e.id);
    const f32 = MLC_ENTRIES.filter((e) => !needsF16(mlcRecord(e))).map((e) => e.id);
    expect(f16.map((id) => id.replace(/q(\d)f16/, 'q$1f32'))).toEqual(f32);
    expect(new Set(MLC_ENTRIES.map((e) => e.id)).size).toBe(MLC_ENTRIES.length);
  });

  it('no WebGPU: none; no shader-f16: the float32 builds only; shader-f16: all of them', () => {
    expect(mlcCatalogue(undefined)).toEqual([]);
    const f32 = mlcCatalogue(new Set(['timestamp-query']));
    expect(f32.map((m) => m.id)).toEqual(['SmolLM2-135M-Instruct-q0f32-MLC', 'SmolLM2-360M-Instruct-q4f32_1-MLC', 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC', 'Llama-3.2-1B-Instruct-q4f32_1-MLC']);
    expect(mlcCatalogue(new Set(['shader-f16'])).map((m) => m.id)).toEqual(MLC_ENTRIES.map((e) => e.id));
  });

  it('an entry is tagged MLC, loads { mlc: { id } }, names its build, and is matched to the cache by its repository URL', () => {
    const [m] = mlcCatalogue(new Set());
    expect(m).toMatchObject({ format: 'mlc', id: 'SmolLM2-135M-Instruct-q0f32-MLC', name: 'SmolLM2 135M Instruct · MLC q0f32', url: 'https://huggingface.co/mlc-ai/SmolLM2-135M-Instruct-q0f32-MLC', repo: 'mlc-ai/SmolLM2-135M-Instruct-q0f32-MLC' });
    expect(m.quant).toBe('q0f32 (unquantized, float32 compute)');
    expect(catalogueSource(m)).toEqual({ mlc: { id: 'SmolLM2-135M-Instruct-q0f32-MLC' } });
    // the download estimated from the parameters (4 bytes each), the GPU memory as WebLLM states it
    expect(m.approxBytes).toBe(134_515_008 * 4);
    expect(m.vramBytes).toBe(Math.round(719.38 * 2 ** 20));
    expect(mlcQuant('Qwen2.5-0.5B-Instruct-q4f16_1-MLC')).toBe('q4f16_1');
  });
});
