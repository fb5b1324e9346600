/**
 * The report of `cria bench`: its JSON shape (field names are a stable
 * interface) and the table printed for people.
 */
import { CRIA_ENGINES, ENGINE_LABEL, ORT_ENGINES, SHORT_LABEL, type CriaEngineName, type EngineFigures, type EngineName, type EngineReport, type LoadParts, type Ratios, type Roofline } from './figures.ts';

export interface BenchReport {
  /** format version of this JSON (2: Cria on WebAssembly, ratios by Cria engine) */
  cria_bench: 2;
  /** ISO time the run started */
  date: string;
  model: {
    source: string;
    name: string;
    architecture: string;
    parameters: number;
    file_bytes: number;
    tensor_types: Record<string, number>;
    n_layer: number;
    n_vocab: number;
    weight_bytes_per_token: number;
  };
  settings: {
    engines: EngineName[];
    runs: number;
    /** cold + warm load pairs */
    load_runs: number;
    prompt_tokens: number[];
    decode_tokens: number;
    /** threads given to the CPU engines (Cria on WebAssembly, wllama, llama.cpp) */
    threads: number;
    /** context every engine was given */
    context: number;
    prompts: string;
  };
  machine: { cpu: string; cores: number; memory_bytes: number; os: string; node: string };
  browser: { executable: string; version: string } | null;
  adapter: { name: string; vendor: string; architecture: string; description: string; fallback: boolean; features: string[] } | null;
  /** null when the adapter could not be measured (Cria not run or failed) */
  roofline: Roofline | null;
  engines: Partial<Record<EngineName, EngineReport>>;
  /**
   * For each Cria engine run, that engine ÷ each other engine run, figure by figure: Cria-WebGPU ÷
   * the peers (wllama, ORT's WASM and WebGPU EPs, WebLLM, llama.cpp); Cria-WASM ÷ the peers and Cria-WebGPU.
   * null when either side failed.
   */
  ratios: Partial<Record<CriaEngineName, Partial<Record<EngineName, Ratios | null>>>>;
}

const MiB = 2 ** 20;

function num(v: number | null | undefined, digits?: number): string {
  if (v == null || !Number.isFinite(v)) return '—';
  // below 1, two significant digits (WebLLM on SwiftShader decodes ~0.06 tok/s)
  if (digits === undefined && v !== 0 && Math.abs(v) < 1) return v.toPrecision(2);
  const d = digits ?? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2);
  return v.toFixed(d);
}

const ratioText = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? '—' : v >= 10 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(2));

function label(name: EngineName, e: EngineReport | undefined): string {
  const base = ENGINE_LABEL[name];
  if (e?.ok && e.threads != null) return `${base.replace(/\)$/, '')}, ${e.threads} thr)`;
  return base;
}

/** The table, for stdout. */
export function formatTable(r: BenchReport): string {
  const out: string[] = [];
  const m = r.model;
  out.push(
    `cria bench: ${m.source}`,
    `  ${m.architecture}, ${(m.parameters / 1e6).toFixed(1)} M parameters, ${(m.file_bytes / MiB).toFixed(1)} MiB; a decoded token reads ${(m.weight_bytes_per_token / MiB).toFixed(1)} MiB of weights`,
    `  median of ${r.settings.runs} run${r.settings.runs === 1 ? '' : 's'} (loads: ${r.settings.load_runs}); prompts of ${r.settings.prompt_tokens.join(' and ')} tokens, ${r.settings.decode_tokens} decoded; greedy, the same prompts for every engine, context ${r.settings.context}`,
    `  ${r.machine.cpu} (${r.machine.cores} cores), ${r.machine.os}${r.browser ? `; Chromium ${r.browser.version}` : ''}${r.adapter ? `; adapter ${r.adapter.name}` : ''}`,
  );
  if (r.roofline) {
    const f = r.roofline;
    out.push(
      `  roofline: the adapter reads ${num(f.read_gb_per_s)} GB/s and computes ${num(f.fma_gflop_per_s)} GFLOP/s (${f.timing ?? 'timing unknown'}): at most ${num(f.decode_ceiling_tokens_per_s)} tok/s for these weights;` +
        (f.efficiency == null ? ' Cria did not decode' : ` Cria decodes ${num(f.cria_weight_gb_per_s)} GB/s of weights = ${(100 * f.efficiency).toFixed(1)}% of it`),
    );
  }
  out.push('');

  const engines = r.settings.engines;
  const cria = r.engines.cria;
  // a ratio column A/B (A one of Cria's engines, B another engine) comes right after the later of A's and B's columns
  const at = (e: EngineName) => engines.indexOf(e);
  const ratioColumns = (e: EngineName): [CriaEngineName, EngineName][] =>
    CRIA_ENGINES.flatMap((a) => (Object.keys(r.ratios[a] ?? {}) as EngineName[]).filter((b) => at(a) >= 0 && at(b) >= 0 && Math.max(at(a), at(b)) === at(e)).map((b): [CriaEngineName, EngineName] => [a, b]));
  const header = ['', ...engines.flatMap((e) => [label(e, r.engines[e]), ...ratioColumns(e).map(([a, b]) => `${SHORT_LABEL[a]}/${SHORT_LABEL[b]}`)])];
  const rows: string[][] = [];
  const figure = (name: string, get: (e: EngineFigures) => number | null, rget: (x: Ratios) => number | null, digits?: number) => {
    const row = [name];
    for (const e of engines) {
      const rep = r.engines[e];
      row.push(rep?.ok ? num(get(rep), digits) : rep ? (rep.skipped ? 'skipped' : 'error') : '—');
      for (const [a, b] of ratioColumns(e)) {
        const x = r.ratios[a]![b];
        row.push(ratioText(x ? rget(x) : null));
      }
    }
    rows.push(row);
  };
  figure('load, cold (ms)', (e) => e.load_cold_ms, (x) => x.load_cold_ms, 0);
  figure('load, warm (ms)', (e) => e.load_warm_ms, (x) => x.load_warm_ms, 0);
  for (const p of r.settings.prompt_tokens) figure(`first token @${p} (ms)`, (e) => e.time_to_first_token_ms[p] ?? null, (x) => x.time_to_first_token_ms[p] ?? null, 0);
  for (const p of r.settings.prompt_tokens) figure(`prefill @${p} (tok/s)`, (e) => e.prefill_tokens_per_s[p] ?? null, (x) => x.prefill_tokens_per_s[p] ?? null);
  figure(`decode ${r.settings.decode_tokens} (tok/s)`, (e) => e.decode_tokens_per_s, (x) => x.decode_tokens_per_s);
  figure('peak GPU memory (MiB)', (e) => (e.gpu_peak_bytes == null ? null : e.gpu_peak_bytes / MiB), () => null, 1);

  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  out.push(line(header), ...rows.map(line), '');

  if (cria?.ok && cria.load_warm_parts_ms) {
    const part = (p: LoadParts | null) => (p ? `${num(p.prepare, 0)} ms opening, ${num(p.upload, 0)} ms reading and uploading, ${num(p.warmup, 0)} ms compiling and warming up` : 'parts unknown');
    out.push(`Cria load parts: cold ${part(cria.load_cold_parts_ms)}; warm ${part(cria.load_warm_parts_ms)}`);
  }
  // onnxruntime-web's loads by the same progress events: the repository's files read (cold: downloaded), the session created, one step
  for (const e of ORT_ENGINES) {
    const f = r.engines[e];
    if (!f?.ok || !(f.load_cold_parts_ms || f.load_warm_parts_ms)) continue;
    const part = (p: LoadParts, from: string) => `${num(p.prepare, 0)} ms reading the files from the ${from}, ${num(p.upload, 0)} ms creating the session, ${num(p.warmup, 0)} ms on its first step`;
    const parts = [f.load_cold_parts_ms ? `cold ${part(f.load_cold_parts_ms, 'server')}` : '', f.load_warm_parts_ms ? `warm ${part(f.load_warm_parts_ms, 'cache')}` : ''].filter(Boolean);
    out.push(`${ENGINE_LABEL[e]} load parts: ${parts.join('; ')}`);
  }
  for (const e of engines) {
    const f = r.engines[e];
    if (f?.ok && f.engine_start_ms != null) out.push(`${ENGINE_LABEL[e]}: its engine worker started in ${num(f.engine_start_ms, 0)} ms before each load (not in the load figures; on this dev server it loads the engine's modules one by one)`);
  }
  if (cria?.ok && cria.structure_per_token) {
    const s = cria.structure_per_token;
    out.push(
      `Cria per decoded token: ${num(s.dispatches, 1)} dispatches (${num(s.dispatches_per_layer, 1)} per layer), ${num(s.submits, 2)} submits, ${num(s.bytes_read_back, 1)} bytes read back, ${num(s.buffers_created, 2)} buffers created`,
    );
  }
  for (const e of engines) {
    const f = r.engines[e];
    if (!f?.ok || f.decode_tokens_per_s_schema == null) continue;
    const slower = 1 - f.decode_tokens_per_s_schema / f.decode_tokens_per_s;
    out.push(
      `${ENGINE_LABEL[e]} under a JSON Schema (--schema): decode ${num(f.decode_tokens_per_s_schema, 2)} tok/s against ${num(f.decode_tokens_per_s, 2)} without (${num(100 * slower, 1)}% slower); the grammar engine's mask took ${num(100 * (f.schema_constraint_share ?? NaN), 1)}% of the request's time`,
    );
  }
  if (Object.values(r.ratios).some((x) => x && Object.keys(x).length)) out.push('Ratios are A/B = A ÷ B (WebGPU and Wasm are Cria\'s engines; ORT-Wasm and ORT-WebGPU onnxruntime-web\'s EPs on the ONNX export of the same file; WebLLM on its MLC export): for times, below 1 means A is faster; for tok/s, above 1 does.');
  for (const e of engines) {
    const rep = r.engines[e];
    if (rep && !rep.ok) out.push(rep.skipped ? `${ENGINE_LABEL[e]}: skipped: ${rep.error}` : `${ENGINE_LABEL[e]}: error${rep.code ? ` [${rep.code}]` : ''}: ${rep.error}`);
    if (rep?.ok) for (const n of rep.notes) out.push(`${ENGINE_LABEL[e]}: ${n}`);
  }
  return out.join('\n') + '\n';
}
