/** Loading a model: what the user is told when a file is incomplete, inconsistent or unsupported. */
import { describe, expect, it } from 'vitest';
import { GgmlType, ggmlTypeInfo } from '../../src/formats/ggml-types.ts';
import { readGguf, readTensorBytes, type GgufFile, type GgufValue } from '../../src/formats/gguf.ts';
import { gv, writeGguf, type GgufWriteTensor } from '../../src/formats/gguf-writer.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { Model, planModel } from '../../src/model/model.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { CriaError } from '../../src/shared/errors.ts';
import { fixtureGguf } from './helpers/models.ts';

/** Rewrite a fixture with edits to its metadata and tensors. */
async function rewrite(src: GgufFile, edit: { meta?: (m: Map<string, GgufValue>) => void; tensors?: (t: GgufWriteTensor[]) => GgufWriteTensor[] }) {
  const meta = new Map(src.metadata);
  edit.meta?.(meta);
  let tensors: GgufWriteTensor[] = [];
  for (const t of src.tensors) tensors.push({ name: t.name, type: t.type, dims: t.dims, data: await readTensorBytes(src, t) });
  if (edit.tensors) tensors = edit.tensors(tensors);
  return readGguf(bytesSource(writeGguf({ metadata: meta, tensors }), 'edited.gguf'));
}

async function loadError(file: GgufFile): Promise<CriaError> {
  try {
    await Model.load(file, new CpuBackend());
  } catch (e) {
    if (e instanceof CriaError) return e;
    throw e;
  }
  throw new Error('expected the load to fail');
}

const base = () => fixtureGguf('models/random/qwen2-f32/qwen2-f32.gguf');

describe('model loading errors', () => {
  it('names a missing tensor and the architecture', async () => {
    const f = await rewrite(await base(), { tensors: (t) => t.filter((x) => x.name !== 'blk.1.attn_norm.weight') });
    const e = await loadError(f);
    expect(e.code).toBe('missing-tensor');
    expect(e.message).toContain('missing tensor blk.1.attn_norm.weight for arch qwen2');
  });

  it('names an unsupported architecture and lists the supported ones', async () => {
    const f = await rewrite(await base(), { meta: (m) => m.set('general.architecture', gv.str('mamba')) });
    const e = await loadError(f);
    expect(e.code).toBe('unsupported-arch');
    expect(e.message).toMatch(/"mamba".*llama, qwen2/);
  });

  it('reports a missing hyperparameter by its GGUF key', async () => {
    const f = await rewrite(await base(), { meta: (m) => m.delete('qwen2.embedding_length') });
    const e = await loadError(f);
    expect(e.code).toBe('missing-key');
    expect(e.message).toContain('"qwen2.embedding_length"');
  });

  it('refuses inconsistent hyperparameters', async () => {
    const f = await rewrite(await base(), { meta: (m) => m.set('qwen2.attention.head_count_kv', gv.u32(3)) });
    const e = await loadError(f);
    expect(e.code).toBe('bad-file');
    expect(e.message).toMatch(/head_count 4 is not a multiple of head_count_kv 3/);
  });

  it('refuses a tensor whose shape does not fit the hyperparameters', async () => {
    const f = await rewrite(await base(), { meta: (m) => m.set('qwen2.feed_forward_length', gv.u32(256)) });
    const e = await loadError(f);
    expect(e.code).toBe('bad-file');
    expect(e.message).toMatch(/tensor blk\.0\.ffn_gate\.weight has shape \[256, 512\].*need \[256, 256\]/);
  });

  it('names a tensor type the backend cannot compute with', async () => {
    const iq4 = ggmlTypeInfo(GgmlType.IQ4_NL)!;
    const f = await rewrite(await base(), {
      tensors: (t) => t.map((x) => (x.name === 'blk.0.ffn_up.weight' ? { ...x, type: iq4, data: new Uint8Array((256 * 512 / 32) * 18) } : x)),
    });
    const e = await loadError(f);
    expect(e.code).toBe('unsupported-type');
    expect(e.message).toMatch(/blk\.0\.ffn_up\.weight is IQ4_NL/);
  });

  it('plans a valid model without reading tensor data', async () => {
    const f = await base();
    const read = f.source.read.bind(f.source);
    let reads = 0;
    const counting = { ...f, source: { ...f.source, read: (o: number, n: number) => (reads++, read(o, n)) } };
    const plan = planModel(counting);
    expect(plan.config.arch).toBe('qwen2');
    expect(plan.tensors.length).toBe(f.tensors.length);
    expect(reads).toBe(0);
  });
});
