/**
 * bench/RESULTS.md from `cria bench` JSON reports (bench/results/*.json):
 * machine, browser, adapter and versions, then decode with the ratios and the
 * roofline, prefill and first token, onnxruntime-web beside Cria (the runs
 * with ORT's engines: their own section), loading and memory, Cria's
 * structure per decoded token, the settings, and the hand-written analysis
 * kept in bench/where-time-goes.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CRIA_ENGINES, ENGINE_LABEL, ORT_ENGINES, type EngineFigures, type EngineName, type EngineReport, type Ratios } from '../src/cli/bench/figures.ts';
import type { BenchReport } from '../src/cli/bench/report.ts';

const NOTES = fileURLToPath(new URL('./where-time-goes.md', import.meta.url));
const MiB = 2 ** 20;

export interface ResultsOptions {
  note?: string;
  /** a note at the top of the onnxruntime-web section */
  ortNote?: string;
  shapes: string[];
  types: string[];
}

function fmt(v: number | null | undefined, digits?: number): string {
  if (v == null || !Number.isFinite(v)) return '—';
  const d = digits ?? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2);
  return v.toFixed(d);
}

const ratio = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? '—' : v >= 10 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(2));
const ok = (e: EngineReport | undefined): EngineFigures | undefined => (e?.ok ? e : undefined);
const cell = (e: EngineReport | undefined, get: (f: EngineFigures) => number | null | undefined, digits?: number) => (e === undefined ? '—' : e.ok ? fmt(get(e), digits) : 'error');
const table = (head: string[], rows: string[][]) => [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

/** the file name the suite gives a model: <shape>-<type>.gguf */
const TYPE_SUFFIX = /-(q\d_k_m|q\d_k|q\d_\d|f16|f32)\.gguf$/i;
function shapeOf(r: BenchReport): string {
  const file = r.model.source.split(/[\\/]/).pop() ?? r.model.source;
  return TYPE_SUFFIX.test(file) ? file.replace(TYPE_SUFFIX, '') : r.model.name;
}
function typeOf(r: BenchReport): string {
  const m = TYPE_SUFFIX.exec(r.model.source);
  return m ? m[1].toUpperCase() : '?';
}

/** A report of format 1 (Cria on WebGPU only, ratios keyed by peer) in format 2's shape. */
export function normalizeReport(r: BenchReport | (Omit<BenchReport, 'cria_bench' | 'ratios'> & { cria_bench: 1; ratios: Partial<Record<string, Ratios | null>> })): BenchReport {
  if (r.cria_bench === 2) return r;
  return { ...r, cria_bench: 2, ratios: { cria: r.ratios as Partial<Record<EngineName, Ratios | null>> } };
}

/** Cria-WASM's figure ÷ another engine's, or WebGPU's (`of` 'cria') */
const wasmRatio = (r: BenchReport, other: EngineName, get: (x: Ratios) => number | null | undefined) => {
  const x = r.ratios['cria-wasm']?.[other];
  return ratio(x ? get(x) : null);
};
const gpuRatio = (r: BenchReport, other: EngineName, get: (x: Ratios) => number | null | undefined) => {
  const x = r.ratios.cria?.[other];
  return ratio(x ? get(x) : null);
};

function uniq(xs: (string | undefined)[]): string {
  return [...new Set(xs.filter((x): x is string => !!x))].join('; ') || '—';
}

const hasOrt = (r: BenchReport) => r.settings.engines.some((e) => (ORT_ENGINES as readonly string[]).includes(e));

/** the command that made a report, from its settings */
function commandOf(r: BenchReport): string {
  const s = r.settings;
  const file = r.model.source.split(/[\\/]/).pop() ?? r.model.source;
  return `cria bench --model ${file} --peers ${s.engines.join(',')} --runs ${s.runs} --load-runs ${s.load_runs ?? s.runs} --prompt ${s.prompt_tokens.join(',')} --decode ${s.decode_tokens} --threads ${s.threads}`;
}

/**
 * onnxruntime-web beside Cria: each row one `cria bench` run in which Cria's engines and ORT's ran
 * on the same GGUF (ORT on its `cria export onnx` export), one after the other in the same Chromium.
 */
function ortSection(runs: BenchReport[], note?: string): string[] {
  const out: string[] = [
    '## onnxruntime-web on the same weights',
    '',
    ...(note ? [`> ${note}`, ''] : []),
    "Each row is one `cria bench` run (same run, side by side): Cria's engines and onnxruntime-web's WASM and WebGPU execution providers in the same headless Chromium, one after the other, ORT on the ONNX export of the same GGUF (`cria export onnx`, made by the run into a temporary folder and served like the GGUF). ORT runs in Cria's engine worker through the same client, cache, requests and timers as Cria (the engine's usage: time to the first token; decode = the N − 1 steps after it); it is given Cria's token ids (the same tokens evaluated). Weights as ORT ran them: Q4_0 as 4-bit MatMulNBits (the same codes and scales), Q8_0 as 8-bit MatMulNBits on the WASM EP but as f32 on the WebGPU EP (it computes 2- and 4-bit MatMulNBits only), other types f32 (see each run's notes below). Ratios are Cria ÷ ORT: above 1 Cria is faster for tok/s, below 1 for times.",
    '',
    `- **Machine**: ${uniq(runs.map((r) => `${r.machine.cpu}, ${r.machine.cores} cores, ${(r.machine.memory_bytes / 2 ** 30).toFixed(0)} GiB, ${r.machine.os}`))}; Chromium ${uniq(runs.map((r) => r.browser?.version))}${runs.some((r) => r.adapter?.fallback) ? `; adapter ${uniq(runs.map((r) => r.adapter?.name))}: WebGPU emulated on the CPU` : ''}`,
    `- **Versions**: ${uniq(runs.flatMap((r) => ORT_ENGINES.map((e) => ok(r.engines[e])?.version)))}; Cria ${uniq(runs.flatMap((r) => CRIA_ENGINES.map((e) => ok(r.engines[e])?.version)))}`,
    '',
  ];
  const x = (r: BenchReport, subject: 'cria' | 'cria-wasm', other: EngineName, get: (x: Ratios) => number | null | undefined) => {
    const v = r.ratios[subject]?.[other];
    return ratio(v ? get(v) : null);
  };
  out.push(
    '### Decode',
    '',
    table(
      ['model', 'type', 'decoded', 'Wasm tok/s', 'wllama tok/s', 'ORT-Wasm tok/s', 'ORT-WebGPU tok/s', 'Wasm/ORT-Wasm', 'Wasm/ORT-WebGPU', 'WebGPU tok/s', 'WebGPU/ORT-WebGPU', 'Wasm/wllama', 'runs', 'threads', 'date'],
      runs.map((r) => [
        shapeOf(r),
        typeOf(r),
        String(r.settings.decode_tokens),
        cell(r.engines['cria-wasm'], (f) => f.decode_tokens_per_s),
        cell(r.engines.wllama, (f) => f.decode_tokens_per_s),
        cell(r.engines['ort-wasm'], (f) => f.decode_tokens_per_s),
        cell(r.engines['ort-webgpu'], (f) => f.decode_tokens_per_s),
        x(r, 'cria-wasm', 'ort-wasm', (v) => v.decode_tokens_per_s),
        x(r, 'cria-wasm', 'ort-webgpu', (v) => v.decode_tokens_per_s),
        cell(r.engines.cria, (f) => f.decode_tokens_per_s),
        x(r, 'cria', 'ort-webgpu', (v) => v.decode_tokens_per_s),
        x(r, 'cria-wasm', 'wllama', (v) => v.decode_tokens_per_s),
        String(r.settings.runs),
        String(r.settings.threads),
        r.date.slice(0, 16).replace('T', ' '),
      ]),
    ),
    '',
  );
  const prefill: string[][] = [];
  for (const r of runs) {
    for (const p of r.settings.prompt_tokens) {
      const k = String(p);
      prefill.push([
        shapeOf(r),
        typeOf(r),
        k,
        cell(r.engines['cria-wasm'], (f) => f.prefill_tokens_per_s[k]),
        cell(r.engines.wllama, (f) => f.prefill_tokens_per_s[k]),
        cell(r.engines['ort-wasm'], (f) => f.prefill_tokens_per_s[k]),
        cell(r.engines['ort-webgpu'], (f) => f.prefill_tokens_per_s[k]),
        x(r, 'cria-wasm', 'ort-wasm', (v) => v.prefill_tokens_per_s[k]),
        x(r, 'cria-wasm', 'ort-webgpu', (v) => v.prefill_tokens_per_s[k]),
        cell(r.engines.cria, (f) => f.prefill_tokens_per_s[k]),
        x(r, 'cria', 'ort-webgpu', (v) => v.prefill_tokens_per_s[k]),
        cell(r.engines['cria-wasm'], (f) => f.time_to_first_token_ms[k], 0),
        cell(r.engines['ort-wasm'], (f) => f.time_to_first_token_ms[k], 0),
        cell(r.engines.cria, (f) => f.time_to_first_token_ms[k], 0),
        cell(r.engines['ort-webgpu'], (f) => f.time_to_first_token_ms[k], 0),
      ]);
    }
  }
  out.push(
    '### Prefill and first token',
    '',
    table(['model', 'type', 'prompt', 'Wasm tok/s', 'wllama tok/s', 'ORT-Wasm tok/s', 'ORT-WebGPU tok/s', 'Wasm/ORT-Wasm', 'Wasm/ORT-WebGPU', 'WebGPU tok/s', 'WebGPU/ORT-WebGPU', 'Wasm first token ms', 'ORT-Wasm ms', 'WebGPU ms', 'ORT-WebGPU ms'], prefill),
    '',
  );
  const parts = (e: EngineReport | undefined) => {
    const p = ok(e)?.load_warm_parts_ms;
    return p ? `${fmt(p.prepare, 0)} + ${fmt(p.upload, 0)} + ${fmt(p.warmup, 0)}` : '—';
  };
  out.push(
    '### Loading',
    '',
    'Measured as Cria\'s: cold from the local server into an emptied cache, warm from the cache, each in a new engine worker already up. ORT\'s warm load in parts: reading the repository\'s files from the cache + creating the session (onnxruntime-web starting in the new worker included) + its first step.',
    '',
    table(
      ['model', 'type', 'Wasm cold ms', 'Wasm warm ms', 'ORT-Wasm cold ms', 'ORT-Wasm warm ms', 'ORT-Wasm warm parts', 'WebGPU cold ms', 'WebGPU warm ms', 'ORT-WebGPU cold ms', 'ORT-WebGPU warm ms', 'ORT-WebGPU warm parts', 'ORT-WebGPU peak GPU MiB'],
      runs.map((r) => [
        shapeOf(r),
        typeOf(r),
        cell(r.engines['cria-wasm'], (f) => f.load_cold_ms, 0),
        cell(r.engines['cria-wasm'], (f) => f.load_warm_ms, 0),
        cell(r.engines['ort-wasm'], (f) => f.load_cold_ms, 0),
        cell(r.engines['ort-wasm'], (f) => f.load_warm_ms, 0),
        parts(r.engines['ort-wasm']),
        cell(r.engines.cria, (f) => f.load_cold_ms, 0),
        cell(r.engines.cria, (f) => f.load_warm_ms, 0),
        cell(r.engines['ort-webgpu'], (f) => f.load_cold_ms, 0),
        cell(r.engines['ort-webgpu'], (f) => f.load_warm_ms, 0),
        parts(r.engines['ort-webgpu']),
        cell(r.engines['ort-webgpu'], (f) => (f.gpu_peak_bytes == null ? null : f.gpu_peak_bytes / MiB), 1),
      ]),
    ),
    '',
  );
  out.push('### The runs', '');
  for (const r of runs) {
    out.push(`- ${shapeOf(r)} ${typeOf(r)}, ${r.date.slice(0, 16).replace('T', ' ')}: \`${commandOf(r)}\``);
    for (const e of r.settings.engines) {
      const rep = r.engines[e];
      if (!rep) continue;
      if (!rep.ok) out.push(`  - ${ENGINE_LABEL[e]}: ${rep.error.split('\n')[0]}`);
      else if ((ORT_ENGINES as readonly string[]).includes(e)) for (const n of rep.notes) out.push(`  - ${ENGINE_LABEL[e]}: ${n}`);
    }
  }
  out.push('');
  return out;
}

export function resultsMarkdown(reports: BenchReport[], o: ResultsOptions): string {
  const order = (r: BenchReport) => o.shapes.indexOf(shapeOf(r)) * 100 + o.types.indexOf(typeOf(r).toLowerCase());
  const all = reports.map(normalizeReport);
  // runs with onnxruntime-web get their own section (other engines, other settings); the single-thread runs (--threads 1) too
  const ortRuns = all.filter(hasOrt).sort((a, b) => order(a) - order(b) || a.date.localeCompare(b.date));
  const oneThread = all.filter((r) => !hasOrt(r) && r.settings.threads === 1).sort((a, b) => order(a) - order(b));
  const rs = all.filter((r) => !hasOrt(r) && r.settings.threads !== 1).sort((a, b) => order(a) - order(b));
  const out: string[] = ['# Cria benchmark results', ''];
  if (o.note) out.push(`> ${o.note}`, '');
  if (rs.length === 0) {
    out.push('No results yet: run `npm run bench`.', '');
    if (ortRuns.length) out.push(...ortSection(ortRuns, o.ortNote));
    return out.join('\n') + '\n';
  }
  const first = rs[0];
  const dates = rs.map((r) => r.date).sort();
  const version = (e: EngineName) => uniq(rs.map((r) => ok(r.engines[e])?.version));
  out.push(
    `Generated by \`npm run bench\` (bench/run.ts → \`cria bench\` per model, bench/results/*.json) from runs between ${dates[0]} and ${dates[dates.length - 1]}.`,
    '',
    `- **Machine**: ${first.machine.cpu}, ${first.machine.cores} cores, ${(first.machine.memory_bytes / 2 ** 30).toFixed(0)} GiB, ${first.machine.os}, Node ${first.machine.node}`,
    `- **Browser**: Chromium ${uniq(rs.map((r) => r.browser?.version))}, headless, WebGPU flags of src/cli/chromium.ts`,
    `- **Adapter**: ${uniq(rs.map((r) => r.adapter?.name))}${first.adapter?.fallback ? ' — WebGPU emulated on the CPU: these are CPU figures, not GPU ones' : ''}`,
    `- **Cria**: ${version('cria')}${uniq(rs.map((r) => ok(r.engines['cria-wasm'])?.notes[0])) !== '—' ? `; on WebAssembly: ${uniq(rs.map((r) => ok(r.engines['cria-wasm'])?.notes[0]))}` : ''}`,
    `- **wllama** (llama.cpp in WebAssembly, CPU, multi-threaded, same Chromium): ${version('wllama')}, ${uniq(rs.map((r) => String(ok(r.engines.wllama)?.threads ?? '')))} threads`,
    `- **llama.cpp** (native, CPU): ${version('llamacpp')}, ${uniq(rs.map((r) => String(ok(r.engines.llamacpp)?.threads ?? '')))} threads`,
    '- **Models**: random weights, shaped exactly like the real ones, written by `cria make-bench-model` (speed does not depend on the values); the same file for every engine',
    '- **Method**: the same prompts for every engine (texts of exactly N tokens, the evaluated counts checked), greedy, end-of-generation ignored; medians of the runs (see Settings). Ratios A/B are A ÷ B, where WebGPU and Wasm are Cria\'s two engines: above 1 A is faster for tok/s, below 1 for times.',
    '',
  );

  out.push('## Decode', '', 'Tokens per second after the first token; the roofline compares Cria with the adapter\'s own measured streaming read bandwidth (`measureDevice`): ceiling = bandwidth ÷ weight bytes read per token, efficiency = Cria\'s weight bytes per second ÷ bandwidth.', '');
  out.push(
    table(
      ['model', 'type', 'file MiB', 'decoded', 'Wasm tok/s', 'WebGPU tok/s', 'wllama tok/s', 'llama.cpp tok/s', 'Wasm/wllama', 'Wasm/llama.cpp', 'Wasm/WebGPU', 'WebGPU/wllama', 'bandwidth GB/s', 'ceiling tok/s', 'WebGPU efficiency'],
      rs.map((r) => [
        shapeOf(r),
        typeOf(r),
        fmt(r.model.file_bytes / MiB, 1),
        String(r.settings.decode_tokens),
        cell(r.engines['cria-wasm'], (f) => f.decode_tokens_per_s),
        cell(r.engines.cria, (f) => f.decode_tokens_per_s),
        cell(r.engines.wllama, (f) => f.decode_tokens_per_s),
        cell(r.engines.llamacpp, (f) => f.decode_tokens_per_s),
        wasmRatio(r, 'wllama', (x) => x.decode_tokens_per_s),
        wasmRatio(r, 'llamacpp', (x) => x.decode_tokens_per_s),
        wasmRatio(r, 'cria', (x) => x.decode_tokens_per_s),
        gpuRatio(r, 'wllama', (x) => x.decode_tokens_per_s),
        fmt(r.roofline?.read_gb_per_s),
        fmt(r.roofline?.decode_ceiling_tokens_per_s),
        r.roofline?.efficiency == null ? '—' : `${(100 * r.roofline.efficiency).toFixed(1)}%`,
      ]),
    ),
    '',
  );

  out.push('## Prefill and first token', '', 'Prefill tok/s = prompt tokens ÷ time to the first generated token.', '');
  const prefillRows: string[][] = [];
  for (const r of rs) {
    for (const p of r.settings.prompt_tokens) {
      const k = String(p);
      prefillRows.push([
        shapeOf(r),
        typeOf(r),
        k,
        cell(r.engines['cria-wasm'], (f) => f.prefill_tokens_per_s[k]),
        cell(r.engines.cria, (f) => f.prefill_tokens_per_s[k]),
        cell(r.engines.wllama, (f) => f.prefill_tokens_per_s[k]),
        cell(r.engines.llamacpp, (f) => f.prefill_tokens_per_s[k]),
        wasmRatio(r, 'wllama', (x) => x.prefill_tokens_per_s[k]),
        wasmRatio(r, 'llamacpp', (x) => x.prefill_tokens_per_s[k]),
        wasmRatio(r, 'cria', (x) => x.prefill_tokens_per_s[k]),
        gpuRatio(r, 'wllama', (x) => x.prefill_tokens_per_s[k]),
        cell(r.engines['cria-wasm'], (f) => f.time_to_first_token_ms[k], 0),
        cell(r.engines.cria, (f) => f.time_to_first_token_ms[k], 0),
        cell(r.engines.wllama, (f) => f.time_to_first_token_ms[k], 0),
        cell(r.engines.llamacpp, (f) => f.time_to_first_token_ms[k], 0),
      ]);
    }
  }
  out.push(table(['model', 'type', 'prompt', 'Wasm tok/s', 'WebGPU tok/s', 'wllama tok/s', 'llama.cpp tok/s', 'Wasm/wllama', 'Wasm/llama.cpp', 'Wasm/WebGPU', 'WebGPU/wllama', 'Wasm first token ms', 'WebGPU ms', 'wllama ms', 'llama.cpp ms'], prefillRows), '');

  if (oneThread.length) {
    out.push('## One thread', '', 'The same measurement with `--threads 1` for every CPU engine (Cria on WebAssembly, wllama, llama.cpp): what a page that is not cross-origin isolated (an embedded widget) or a one-core device gets.', '');
    const rows: string[][] = [];
    for (const r of oneThread) {
      rows.push([
        shapeOf(r),
        typeOf(r),
        cell(r.engines['cria-wasm'], (f) => f.decode_tokens_per_s),
        cell(r.engines.wllama, (f) => f.decode_tokens_per_s),
        cell(r.engines.llamacpp, (f) => f.decode_tokens_per_s),
        wasmRatio(r, 'wllama', (x) => x.decode_tokens_per_s),
        wasmRatio(r, 'llamacpp', (x) => x.decode_tokens_per_s),
        ...r.settings.prompt_tokens.flatMap((p) => [cell(r.engines['cria-wasm'], (f) => f.prefill_tokens_per_s[p]), cell(r.engines.wllama, (f) => f.prefill_tokens_per_s[p]), wasmRatio(r, 'wllama', (x) => x.prefill_tokens_per_s[p])]),
      ]);
    }
    const prompts = oneThread[0].settings.prompt_tokens;
    out.push(table(['model', 'type', 'Wasm decode tok/s', 'wllama', 'llama.cpp', 'Wasm/wllama', 'Wasm/llama.cpp', ...prompts.flatMap((p) => [`Wasm prefill @${p}`, `wllama @${p}`, `Wasm/wllama @${p}`])], rows), '');
  }

  if (ortRuns.length) out.push(...ortSection(ortRuns, o.ortNote));

  out.push(
    '## Loading and memory',
    '',
    "Cold: from the local HTTP server into an empty cache (Cria: IndexedDB, in a new engine worker; wllama: its own cache); warm: from that cache in a new worker/instance. llama.cpp maps the file (cold = first load in the process; the file is in the OS page cache either way). Cria's load ends when the model is ready to answer at full speed: it includes compiling its pipelines and a warm-up forward (8 tokens, then 1) that runs every kernel once, which on SwiftShader is a few seconds of CPU work (src/engine/engine.ts `warmUp`); the columns *reading + uploading* and *compiling + warm-up* split Cria-WebGPU's warm load; Cria on WebAssembly reads the weights from IndexedDB into its memory (no compiling beyond the one WebAssembly module) and runs the same warm-up by its progress events (results measured before they were recorded show —). Peak GPU memory: every buffer Cria's device held at once (weights, KV cache for the whole context, temporaries), counted in the worker.",
    '',
    table(
      ['model', 'type', 'Wasm cold ms', 'Wasm warm ms', 'WebGPU cold ms', 'WebGPU warm ms', 'WebGPU warm: reading + uploading', 'compiling + warm-up', 'wllama cold ms', 'wllama warm ms', 'llama.cpp cold ms', 'llama.cpp warm ms', 'Cria peak GPU MiB'],
      rs.map((r) => [
        shapeOf(r),
        typeOf(r),
        cell(r.engines['cria-wasm'], (f) => f.load_cold_ms, 0),
        cell(r.engines['cria-wasm'], (f) => f.load_warm_ms, 0),
        cell(r.engines.cria, (f) => f.load_cold_ms, 0),
        cell(r.engines.cria, (f) => f.load_warm_ms, 0),
        cell(r.engines.cria, (f) => (f.load_warm_parts_ms ? f.load_warm_parts_ms.prepare + f.load_warm_parts_ms.upload : null), 0),
        cell(r.engines.cria, (f) => f.load_warm_parts_ms?.warmup ?? null, 0),
        cell(r.engines.wllama, (f) => f.load_cold_ms, 0),
        cell(r.engines.wllama, (f) => f.load_warm_ms, 0),
        cell(r.engines.llamacpp, (f) => f.load_cold_ms, 0),
        cell(r.engines.llamacpp, (f) => f.load_warm_ms, 0),
        cell(r.engines.cria, (f) => (f.gpu_peak_bytes == null ? null : f.gpu_peak_bytes / MiB), 1),
      ]),
    ),
    '',
  );

  out.push(
    '## Structure per decoded token (Cria on WebGPU)',
    '',
    'From the engine\'s counters, the difference of two requests (N and 2 generated tokens) over N − 2 steady decode steps. Target: one submit, no buffer created, at most 7 dispatches per layer.',
    '',
    table(
      ['model', 'type', 'dispatches', 'per layer', 'submits', 'bytes read back', 'buffers created'],
      rs.map((r) => {
        const s = ok(r.engines.cria)?.structure_per_token;
        return [shapeOf(r), typeOf(r), fmt(s?.dispatches, 0), fmt(s?.dispatches_per_layer, 1), fmt(s?.submits, 2), fmt(s?.bytes_read_back, 0), fmt(s?.buffers_created, 2)];
      }),
    ),
    '',
  );

  const errors = rs.flatMap((r) =>
    (Object.entries(r.engines) as [EngineName, EngineReport][]).filter(([, e]) => !e.ok).map(([n, e]) => `- ${shapeOf(r)} ${typeOf(r)}, ${n}: ${(e as { error: string }).error.split('\n')[0]}`),
  );
  if (errors.length) out.push('### Errors', '', ...errors, '');

  out.push('## Settings', '', 'As each model was measured (from its JSON). `npm run bench` uses bench/run.ts `SETTINGS`, sized for SwiftShader on 2 cores; `--quick` smaller ones.', '');
  out.push(
    table(
      ['model', 'type', 'runs', 'load runs', 'prompt tokens', 'decoded tokens', 'threads (CPU engines)', 'date'],
      [...rs, ...oneThread].map((r) => [shapeOf(r), typeOf(r), String(r.settings.runs), String(r.settings.load_runs ?? r.settings.runs), r.settings.prompt_tokens.join(', '), String(r.settings.decode_tokens), String(r.settings.threads), r.date.slice(0, 16).replace('T', ' ')]),
    ),
    '',
  );
  if (existsSync(NOTES)) out.push(readFileSync(NOTES, 'utf8').trim(), '');
  return out.join('\n') + '\n';
}
