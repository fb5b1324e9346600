import { open, rm } from 'node:fs/promises';
import { CriaError } from '../../shared/errors.ts';
import { parseSyntheticType, SYNTHETIC_SHAPES, SYNTHETIC_TYPES, syntheticModel } from '../../model/synthetic.ts';
import type { Command } from '../command.ts';
import { numberOption, writeJson } from '../model-source.ts';

export const makeBenchModelCommand: Command = {
  summary: 'write a random-weight GGUF shaped like a real model (benchmarks, structural tests)',
  usage:
    `cria make-bench-model --shape SHAPE --type TYPE --out FILE [--seed N] [--pure]\n\n` +
    `  SHAPE: ${Object.keys(SYNTHETIC_SHAPES).join(', ')}\n` +
    `  TYPE:  ${SYNTHETIC_TYPES.map((t) => t.toLowerCase()).join(', ')} (llama.cpp's per-tensor mix for each; see src/model/synthetic.ts)\n` +
    '  --pure: every matrix in the type itself, the output one too (llama-quantize --pure; q4_k_m: all Q4_K), refused where\n' +
    '  rows are not a multiple of its block (e.g. q4_0 --pure for `cria export mlc --quant q4f32_1`).\n' +
    '  Same shape, type and seed (default 0) give the same bytes. Prints JSON: shape, type, seed, bytes, parameters,\n' +
    '  tensor_types (bytes per ggml type), out.',
  options: {
    shape: { type: 'string' },
    type: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    pure: { type: 'boolean' },
  },
  async run(values) {
    const shape = values.shape as string | undefined;
    const out = values.out as string | undefined;
    if (!shape) throw new CriaError('bad-argument', `no shape given: pass --shape (${Object.keys(SYNTHETIC_SHAPES).join(', ')})`);
    if (!values.type) throw new CriaError('bad-argument', `no type given: pass --type (${SYNTHETIC_TYPES.map((t) => t.toLowerCase()).join(', ')})`);
    if (!out) throw new CriaError('bad-argument', 'no output file given: pass --out FILE');
    const model = syntheticModel(shape, parseSyntheticType(values.type as string), numberOption(values, 'seed', 0, { integer: true }), { pure: values.pure === true });

    let fh;
    try {
      fh = await open(out, 'w');
    } catch (e) {
      throw new CriaError('bad-argument', `cannot write ${out}: ${(e as Error).message}`);
    }
    try {
      // one tensor in memory at a time
      for (const part of model.parts()) {
        for (let done = 0; done < part.byteLength; ) done += (await fh.write(part, done, part.byteLength - done)).bytesWritten;
      }
      await fh.close();
    } catch (e) {
      await fh.close().catch(() => {});
      await rm(out, { force: true });
      throw new CriaError('bad-argument', `writing ${out} failed: ${(e as Error).message}`);
    }
    writeJson({
      shape: model.shape.name,
      type: model.type.toLowerCase(),
      seed: model.seed,
      ...(model.pure ? { pure: true } : {}),
      bytes: model.fileSize,
      parameters: model.parameters,
      tensor_types: model.tensorTypes,
      out,
    });
  },
};
