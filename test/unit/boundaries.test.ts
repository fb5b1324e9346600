/**
 * Module boundaries (ARCHITECTURE.md), checked by reading every import in src/:
 * - model/ works on the Ops interface only: it never imports gpu/ or reference/;
 * - gpu/ knows nothing about models: from model/ it imports types only;
 * - engine/ is backend-agnostic and comlink-free: no gpu/, reference/, worker/, client/, comlink;
 * - comlink appears only in worker/ and client/;
 * - the UI and eval (app/, widget/, eval/) talk to the engine through client/ and protocol/ only;
 * - runtimes/ (whole models on another engine: onnxruntime-web) reach Cria only through the seam
 *   (engine/runtime.ts) and shared pieces, never its backends; onnxruntime-web is imported there only,
 *   @mlc-ai/web-llm there and in the bench page only (never in what the worker loads eagerly);
 * - the ONNX writer (formats/onnx/, onnx-proto) serves the exporter (export/, Node) and nothing the
 *   browser loads.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.ts$/.test(f) ? [p] : [];
  });
}

interface Import {
  file: string; // relative to src/
  from: string; // folder of the file
  target: string; // resolved folder under src/, or the package name
  /** an asset's URL (`?url`), not code: the importing module never runs what it names */
  asset: boolean;
  /** the imported module's path under src/ (relative imports only) */
  resolved?: string;
  typeOnly: boolean;
}

const imports: Import[] = files(src).flatMap((path) => {
  const file = relative(src, path);
  const from = file.split('/')[0];
  const text = readFileSync(path, 'utf8');
  // `import … from 'x'`, `export … from 'x'`, and side-effect imports (`import 'x'`)
  return [...text.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'"]*?from\s+)?['"]([^'"]+)['"]/gm)].map((m) => {
    const spec = m[2];
    // a package by its name: `@scope/name` for scoped ones
    const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
    const target = spec.startsWith('.') ? relative(src, join(path, '..', spec)).split('/')[0] : spec.startsWith('@kernels') ? 'kernels' : pkg;
    return { file, from, target, typeOnly: !!m[1], asset: spec.endsWith('?url'), ...(spec.startsWith('.') ? { resolved: relative(src, join(path, '..', spec)) } : {}) };
  });
});

const violations = (pred: (i: Import) => boolean) => imports.filter(pred).map((i) => `${i.file} imports ${i.target}${i.typeOnly ? ' (type)' : ''}`);

describe('module boundaries', () => {
  it('reads the imports', () => {
    expect(imports.length).toBeGreaterThan(100);
  });

  it('model/ never imports a concrete backend', () => {
    expect(violations((i) => i.from === 'model' && ['gpu', 'reference', 'engine', 'worker', 'client'].includes(i.target))).toEqual([]);
  });

  it('gpu/ imports only types from model/', () => {
    expect(violations((i) => i.from === 'gpu' && i.target === 'model' && !i.typeOnly)).toEqual([]);
  });

  it('engine/ is backend-agnostic and comlink-free', () => {
    expect(violations((i) => i.from === 'engine' && ['gpu', 'reference', 'worker', 'client', 'comlink'].includes(i.target))).toEqual([]);
  });

  it('comlink only in worker/ and client/', () => {
    expect(violations((i) => i.target === 'comlink' && !['worker', 'client'].includes(i.from))).toEqual([]);
  });

  it('runtimes/ never import a Cria backend, the worker or comlink; onnxruntime-web only in runtimes/', () => {
    expect(violations((i) => i.from === 'runtimes' && ['gpu', 'wasm', 'reference', 'worker', 'client', 'comlink'].includes(i.target))).toEqual([]);
    // (the worker names onnxruntime-web's .wasm as an asset URL for the lazily loaded runtime: not code)
    expect(violations((i) => i.target === 'onnxruntime-web' && i.from !== 'runtimes' && !i.asset)).toEqual([]);
  });

  it('WebLLM (@mlc-ai/web-llm, 6 MB) is imported by the WebLLM runtime and the bench page only, never by what every page loads', () => {
    expect(violations((i) => i.target === '@mlc-ai/web-llm' && !(i.file.startsWith('runtimes/webllm/') || i.file.startsWith('cli/')))).toEqual([]);
    // the worker lists WebLLM's cache without loading WebLLM: its cache and catalogue modules do not import it
    expect(violations((i) => i.target === '@mlc-ai/web-llm' && ['runtimes/webllm/cache.ts', 'runtimes/webllm/catalog.ts'].includes(i.file))).toEqual([]);
  });

  it('the ONNX protobuf code (formats/onnx/, onnx-proto) serves the exporter and, for reading a graph\'s external data names only, the ONNX runtime', () => {
    expect(violations((i) => i.target === 'onnx-proto' && !i.file.startsWith('formats/onnx/'))).toEqual([]);
    expect(violations((i) => !!i.resolved?.startsWith('formats/onnx/') && !i.file.startsWith('formats/onnx/') && i.from !== 'export' && !(i.from === 'runtimes' && i.resolved === 'formats/onnx/external-data.ts'))).toEqual([]);
  });

  it('app/, widget/ and eval/ reach the engine only through client/ and protocol/', () => {
    const allowed = ['client', 'protocol', 'shared', 'app', 'widget', 'eval'];
    expect(violations((i) => ['app', 'widget', 'eval'].includes(i.from) && !i.target.startsWith('@') && !allowed.includes(i.target) && i.target.length > 0 && ['formats', 'tokenizer', 'reference', 'gpu', 'model', 'sampling', 'storage', 'engine', 'worker', 'cli'].includes(i.target))).toEqual([]);
  });
});
