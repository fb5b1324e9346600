import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CriaError } from '../../shared/errors.ts';
import { EXPORT_ARCHITECTURES, exportOnnx } from '../../export/onnx.ts';
import type { Command } from '../command.ts';
import { numberOption, openModelFile, writeJson } from '../model-source.ts';

export const exportCommand: Command = {
  summary: 'write a GGUF model in another format (onnx: the Optimum / Transformers.js layout, for onnxruntime)',
  usage:
    'cria export onnx MODEL --out DIR [--q8 nbits|f32] [--external-data BYTES] [--force]\n\n' +
    `  Architectures: ${EXPORT_ARCHITECTURES.join(', ')}. Q4_0 weights become MatMulNBits (4-bit, blocks of 32: the same\n` +
    '  codes and scales), Q8_0 8-bit MatMulNBits (--q8 f32: dequantized), other types f32. Writes DIR/onnx/model.onnx\n' +
    '  (+ model.onnx_data: every tensor of at least --external-data bytes, default 1 MiB), DIR/config.json,\n' +
    '  DIR/generation_config.json, DIR/tokenizer.json and DIR/tokenizer_config.json (with the chat template); an existing non-empty DIR needs --force.\n' +
    '  Prints JSON: out, files (path → bytes), weights (tensor → how it was written).',
  options: {
    out: { type: 'string' },
    q8: { type: 'string' },
    force: { type: 'boolean' },
    'external-data': { type: 'string' },
  },
  positionals: true,
  async run(values, positionals) {
    const [format, model] = positionals;
    if (format !== 'onnx') throw new CriaError('bad-argument', `cria export: the format must be onnx, got ${JSON.stringify(format ?? '')}`);
    const out = values.out as string | undefined;
    if (!out) throw new CriaError('bad-argument', 'no output folder given: pass --out DIR');
    const q8 = (values.q8 as string | undefined) ?? 'nbits';
    if (q8 !== 'nbits' && q8 !== 'f32') throw new CriaError('bad-argument', `--q8 must be nbits or f32, got ${q8}`);
    const existing = await readdir(out).catch(() => []);
    if (existing.length > 0 && !values.force) throw new CriaError('bad-argument', `${out} is not empty; choose another folder or pass --force to replace its files`);
    const externalThreshold = numberOption(values, 'external-data', 1 << 20, { integer: true });
    if (externalThreshold < 0) throw new CriaError('bad-argument', `--external-data must be 0 or more bytes, got ${externalThreshold}`);
    const ex = await exportOnnx(await openModelFile(model), { q8, externalThreshold });
    // each file under a temporary name, then renamed: an interrupted export leaves no half file under a real name
    for (const [path, bytes] of ex.files) {
      const target = join(out, path);
      await mkdir(dirname(target), { recursive: true });
      const tmp = `${target}.partial`;
      try {
        await writeFile(tmp, bytes);
        await rename(tmp, target);
      } catch (e) {
        await rm(tmp, { force: true });
        throw new CriaError('bad-argument', `writing ${target} failed: ${(e as Error).message}`);
      }
    }
    for (const w of ex.warnings) process.stderr.write(`cria: warning: ${w}\n`);
    writeJson({ out, files: Object.fromEntries([...ex.files].map(([p, b]) => [p, b.byteLength])), weights: Object.fromEntries(ex.weights), warnings: ex.warnings });
  },
};
