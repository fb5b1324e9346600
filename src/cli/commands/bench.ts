import { writeFile } from 'node:fs/promises';
import { CriaError } from '../../shared/errors.ts';
import type { Command } from '../command.ts';
import { BENCH_DEFAULTS, parseBenchOptions } from '../bench/options.ts';
import { formatTable } from '../bench/report.ts';
import { runBench } from '../bench/run.ts';

export const benchCommand: Command = {
  summary: 'measure load, prefill and decode speed of Cria (WebGPU and WebAssembly) beside wllama, llama.cpp, onnxruntime-web and WebLLM, and the roofline',
  usage:
    'cria bench --model MODEL [--peers cria,cria-wasm,wllama,ort-wasm,ort-webgpu,webllm,llamacpp | ort] [--runs N] [--load-runs N]\n' +
    '           [--prompt 128,512] [--decode N] [--threads N] [--webllm-lib FILE] [--schema] [--json FILE] [--cache DIR]\n\n' +
    '  Every engine runs on the same file with the same prompts (texts of exactly N tokens), greedy, end-of-\n' +
    '  generation tokens ignored: Cria on WebGPU (cria), Cria on WebAssembly (cria-wasm) and wllama (llama.cpp\n' +
    '  in WebAssembly) in one headless Chromium, one after the other, then native llama.cpp (node-llama-cpp)\n' +
    '  in Node. A local MODEL is served from 127.0.0.1 with Range requests and cross-origin isolation headers.\n' +
    '  ort-wasm / ort-webgpu (ort: both): onnxruntime-web\'s WASM and WebGPU EPs on the ONNX export of MODEL,\n' +
    '  made into a temporary folder (Q8_0 as f32 for the WebGPU EP); not run by default.\n' +
    '  webllm: WebLLM (@mlc-ai/web-llm, pinned) on the MLC export of MODEL, with --webllm-lib FILE, the model\n' +
    '  library (.wasm, v0_2_48 series, from mlc-ai/binary-mlc-llm-libs) built for MODEL\'s architecture, shape and\n' +
    '  quantization (q4f32_1: a --pure Q4_0 GGUF; q0f32: any); without it the peer is skipped, saying why. Not run\n' +
    '  by default. Its prompts are Cria\'s token ids, stepped with WebLLM\'s forwardTokensAndSample.\n' +
    `  Figures, medians of --runs (default ${BENCH_DEFAULTS.runs}): cold load (server → empty cache) and warm load (from the\n` +
    '  cache), --load-runs times each (default: --runs); time to first token and prefill tok/s at each\n' +
    `  --prompt length (default ${BENCH_DEFAULTS.prompts.join(',')}); decode tok/s over --decode tokens (default ${BENCH_DEFAULTS.decode}); Cria's peak\n` +
    "  GPU memory and structure per decoded token; the adapter's measured bandwidth and compute, and Cria's\n" +
    '  decode as a fraction of that bandwidth (the roofline).\n' +
    '  --threads: threads of every CPU engine: cria-wasm, wllama, llama.cpp (default: all cores). Prints a table\n' +
    '  with the ratios of Cria\'s engines to the others (WebGPU/wllama, Wasm/wllama, Wasm/llama.cpp, Wasm/WebGPU);\n' +
    '  --json FILE also writes every figure and each run. Progress goes to stderr. A failing engine is\n' +
    "  reported and the others' figures are kept. --cache DIR keeps the browser profile in DIR.\n" +
    '  --schema: Cria\'s engines also decode each run under a JSON Schema (an array of {name, n} objects that N tokens\n' +
    '  never complete), and the report gives decode tok/s with and without it and the grammar engine\'s share.',
  options: {
    model: { type: 'string' },
    peers: { type: 'string' },
    runs: { type: 'string' },
    'load-runs': { type: 'string' },
    prompt: { type: 'string' },
    decode: { type: 'string' },
    threads: { type: 'string' },
    json: { type: 'string' },
    cache: { type: 'string' },
    'webllm-lib': { type: 'string' },
    schema: { type: 'boolean' },
  },
  async run(values) {
    const t0 = performance.now();
    const log = (line: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
    const opts = parseBenchOptions(values, log);
    const report = await runBench(opts);
    process.stdout.write(formatTable(report));
    if (opts.json) {
      try {
        await writeFile(opts.json, JSON.stringify(report, null, 2) + '\n');
      } catch (e) {
        throw new CriaError('bad-argument', `cannot write ${opts.json}: ${(e as Error).message}`);
      }
      log(`wrote ${opts.json}`);
    }
    if (!Object.values(report.engines).some((e) => e?.ok)) throw new CriaError('internal', 'no engine gave figures (see above)');
  },
};
