/**
 * Building the WebAssembly kernels (Node only): kernels/wasm/index.ts and everything it imports,
 * compiled by AssemblyScript (a devDependency, offline) into build/wasm/<variant>.wasm. The binaries
 * are never committed: `npm run build`, `npm test`, the dev server and the CLI build them when the
 * sources (or the compiler, or the flags) changed, keyed by a hash in build/wasm/key.json.
 *
 * Variants (the host picks one at run time, src/wasm/module.ts):
 *   simd          SIMD128, its own (growable) memory imported from the host, one thread
 *   simd-mt       the same over a shared memory, for a pool of workers (threads, Atomics)
 *   relaxed       SIMD128 + relaxed SIMD fast paths (the kernels test ASC_FEATURE_RELAXED_SIMD)
 *   relaxed-mt    the same, shared memory
 *
 *   npm run build:wasm            (tsx src/wasm/build.ts [--force])
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const WASM_SOURCE_DIR = join(root, 'kernels/wasm');
export const WASM_BUILD_DIR = join(root, 'build/wasm');

/** 4 GiB: wasm32's whole address space, in 64 KiB pages (memory is grown on demand up to it) */
const MAX_PAGES = 65536;
const COMMON = ['-O3', '--noAssert', '--runtime', 'stub', '--importMemory', '--maximumMemory', String(MAX_PAGES)];

export const WASM_VARIANTS = {
  simd: [...COMMON, '--enable', 'simd'],
  'simd-mt': [...COMMON, '--enable', 'simd', '--enable', 'threads', '--sharedMemory'],
  relaxed: [...COMMON, '--enable', 'simd', '--enable', 'relaxed-simd'],
  'relaxed-mt': [...COMMON, '--enable', 'simd', '--enable', 'relaxed-simd', '--enable', 'threads', '--sharedMemory'],
} as const;
export type WasmVariant = keyof typeof WASM_VARIANTS;

export function wasmPath(variant: WasmVariant): string {
  return join(WASM_BUILD_DIR, `${variant}.wasm`);
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts') || e.name === 'tsconfig.json') out.push(p);
  }
  return out.sort();
}

/** What the binaries depend on: every source, the compiler's version, the flags. */
function buildKey(): string {
  const h = createHash('sha256');
  const asc = JSON.parse(readFileSync(join(root, 'node_modules/assemblyscript/package.json'), 'utf8')) as { version: string };
  h.update(`assemblyscript ${asc.version}\n${JSON.stringify(WASM_VARIANTS)}\n`);
  for (const f of sources(WASM_SOURCE_DIR)) h.update(`${relative(root, f)}\n`).update(readFileSync(f));
  return h.digest('hex');
}

function upToDate(key: string): boolean {
  try {
    const k = JSON.parse(readFileSync(join(WASM_BUILD_DIR, 'key.json'), 'utf8')) as { key: string };
    return k.key === key && (Object.keys(WASM_VARIANTS) as WasmVariant[]).every((v) => existsSync(wasmPath(v)) && statSync(wasmPath(v)).size > 0);
  } catch {
    return false;
  }
}

let building: Promise<string[]> | undefined;

/**
 * Build the variants unless they are up to date; returns the variants built (empty: nothing to do).
 * Files are written under a temporary name and renamed, so a concurrent reader (another test
 * process) sees the old binary or the new one, never half of one.
 */
export function buildWasm(opts: { force?: boolean } = {}): Promise<string[]> {
  building ??= (async () => {
    const key = buildKey();
    if (!opts.force && upToDate(key)) return [];
    const asc = (await import('assemblyscript/asc')).default;
    mkdirSync(WASM_BUILD_DIR, { recursive: true });
    const built: string[] = [];
    for (const [variant, flags] of Object.entries(WASM_VARIANTS) as [WasmVariant, readonly string[]][]) {
      const tmp = `${wasmPath(variant)}.${process.pid}.tmp`;
      let stderr = '';
      const r = await asc.main([join(WASM_SOURCE_DIR, 'index.ts'), '-o', tmp, ...flags], {
        stderr: { write: (s: string | Uint8Array) => ((stderr += String(s)), true) } as never,
        stdout: { write: () => true } as never,
      });
      if (r.error) throw new Error(`AssemblyScript could not build kernels/wasm (${variant}):\n${stderr || r.error.message}`);
      renameSync(tmp, wasmPath(variant));
      built.push(variant);
    }
    const tmpKey = join(WASM_BUILD_DIR, `key.json.${process.pid}.tmp`);
    writeFileSync(tmpKey, JSON.stringify({ key, built: new Date().toISOString() }, null, 2) + '\n');
    renameSync(tmpKey, join(WASM_BUILD_DIR, 'key.json'));
    return built;
  })().finally(() => {
    building = undefined;
  });
  return building;
}

/** The bytes of a variant, built first if needed (Node: tests, the CLI). */
export async function readWasm(variant: WasmVariant): Promise<Uint8Array> {
  await buildWasm();
  return readFileSync(wasmPath(variant));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t0 = performance.now();
  buildWasm({ force: process.argv.includes('--force') }).then(
    (built) => {
      const where = relative(process.cwd(), WASM_BUILD_DIR) || '.';
      process.stdout.write(built.length ? `built ${built.join(', ')} into ${where} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n` : `${where} is up to date\n`);
    },
    (e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
