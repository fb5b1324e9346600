import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CriaError } from '../../shared/errors.ts';
import { EXPORT_ARCHITECTURES, exportOnnx } from '../../export/onnx.ts';
import { MLC_ARCHITECTURES, MLC_QUANTS, mlcExportFiles, planMlcExport, type MlcQuant } from '../../export/mlc.ts';
import type { Command } from '../command.ts';
import { numberOption, openModelFile, writeJson } from '../model-source.ts';

/** Options each format takes (a flag of the other format is a usage error, not silently ignored). */
const FORMAT_OPTIONS: Record<'onnx' | 'mlc', string[]> = { onnx: ['q8', 'external-data'], mlc: ['quant', 'lib'] };

export const exportCommand: Command = {
  summary: 'write a GGUF model in another format (onnx: the Optimum / Transformers.js layout, for onnxruntime; mlc: MLC weights, for WebLLM)',
  usage:
    'cria export onnx MODEL --out DIR [--q8 nbits|f32] [--external-data BYTES] [--force]\n' +
    `cria export mlc MODEL --out DIR [--quant ${MLC_QUANTS.join('|')}] [--lib LIBRARY.wasm] [--force]\n\n` +
    `  onnx — architectures: ${EXPORT_ARCHITECTURES.join(', ')}. Q4_0 weights become MatMulNBits (4-bit, blocks of 32: the same\n` +
    '  codes and scales), Q8_0 8-bit MatMulNBits (--q8 f32: dequantized), other types f32. Writes DIR/onnx/model.onnx\n' +
    '  (+ model.onnx_data: every tensor of at least --external-data bytes, default 1 MiB), DIR/config.json,\n' +
    '  DIR/generation_config.json, DIR/tokenizer.json and DIR/tokenizer_config.json (with the chat template).\n\n' +
    `  mlc — architectures: ${MLC_ARCHITECTURES.join(', ')}; for WebLLM 0.2.79 with a prebuilt model library (v0_2_48). Writes\n` +
    '  DIR/ndarray-cache.json + DIR/params_shard_N.bin (the weights, named, shaped and typed as MLC declares them),\n' +
    '  DIR/mlc-chat-config.json (a neutral conversation template: Cria applies the chat template), DIR/tokenizer.json and\n' +
    '  DIR/tokenizer_config.json. --quant q4f32_1 (default) holds Q4_0 exactly and needs every matrix in Q4_0 (a --pure\n' +
    '  Q4_0 GGUF); q0f32 takes any type, as float32. --lib: the model library the weights are for; its parameter list\n' +
    '  must be exactly the export\'s (the library compiles in RoPE base and norm epsilon without listing them: it must\n' +
    '  be built for a model with the GGUF\'s).\n\n' +
    '  An existing non-empty DIR needs --force. Prints JSON: out, files (path → bytes), weights (tensor → how it was\n' +
    '  written), warnings; mlc adds quant, params and library (its model_type, quantization and parameter count).',
  options: {
    out: { type: 'string' },
    q8: { type: 'string' },
    force: { type: 'boolean' },
    'external-data': { type: 'string' },
    quant: { type: 'string' },
    lib: { type: 'string' },
  },
  positionals: true,
  async run(values, positionals) {
    const [format, model] = positionals;
    if (format !== 'onnx' && format !== 'mlc') throw new CriaError('bad-argument', `cria export: the format must be onnx or mlc, got ${JSON.stringify(format ?? '')}`);
    const other = format === 'onnx' ? 'mlc' : 'onnx';
    for (const o of FORMAT_OPTIONS[other]) if (values[o] !== undefined) throw new CriaError('bad-argument', `--${o} is an option of cria export ${other}, not ${format}`);
    const out = values.out as string | undefined;
    if (!out) throw new CriaError('bad-argument', 'no output folder given: pass --out DIR');
    const existing = await readdir(out).catch(() => []);
    if (existing.length > 0 && !values.force) throw new CriaError('bad-argument', `${out} is not empty; choose another folder or pass --force to replace its files`);

    if (format === 'mlc') {
      const quant = (values.quant as string | undefined) ?? 'q4f32_1';
      if (!(MLC_QUANTS as readonly string[]).includes(quant)) throw new CriaError('bad-argument', `--quant must be ${MLC_QUANTS.join(' or ')}, got ${quant}`);
      const libPath = values.lib as string | undefined;
      let library: Uint8Array | undefined;
      if (libPath !== undefined) {
        try {
          library = new Uint8Array(await readFile(libPath));
        } catch (e) {
          throw new CriaError('bad-argument', `cannot read the model library ${libPath}: ${(e as Error).message}`);
        }
      }
      const file = await openModelFile(model);
      // every check (architecture, tensor types, the library's parameter list) before a byte is written
      const plan = planMlcExport(file, { quant: quant as MlcQuant, library, libraryName: libPath });
      const files: Record<string, number> = {};
      for await (const f of mlcExportFiles(file, plan)) {
        await writeAtomic(join(out, f.path), f.bytes);
        files[f.path] = f.bytes.byteLength;
      }
      for (const w of plan.warnings) process.stderr.write(`cria: warning: ${w}\n`);
      const lib = plan.library && { path: libPath, model_type: plan.library.model_type, quantization: plan.library.quantization, params: plan.library.params.length, matches: true };
      writeJson({ out, quant, files, params: plan.params.length, ...(lib ? { library: lib } : {}), weights: Object.fromEntries(plan.how), warnings: plan.warnings });
      return;
    }

    const q8 = (values.q8 as string | undefined) ?? 'nbits';
    if (q8 !== 'nbits' && q8 !== 'f32') throw new CriaError('bad-argument', `--q8 must be nbits or f32, got ${q8}`);
    const externalThreshold = numberOption(values, 'external-data', 1 << 20, { integer: true });
    if (externalThreshold < 0) throw new CriaError('bad-argument', `--external-data must be 0 or more bytes, got ${externalThreshold}`);
    const ex = await exportOnnx(await openModelFile(model), { q8, externalThreshold });
    for (const [path, bytes] of ex.files) await writeAtomic(join(out, path), bytes);
    for (const w of ex.warnings) process.stderr.write(`cria: warning: ${w}\n`);
    writeJson({ out, files: Object.fromEntries([...ex.files].map(([p, b]) => [p, b.byteLength])), weights: Object.fromEntries(ex.weights), warnings: ex.warnings });
  },
};

/** Each file under a temporary name, then renamed: an interrupted export leaves no half file under a real name. */
async function writeAtomic(target: string, bytes: Uint8Array): Promise<void> {
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
