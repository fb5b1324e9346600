/**
 * Every WGSL kernel has its four places (GUIDE: one name in four places):
 * kernels/<name>.wgsl with a header naming its CPU reference (which must
 * exist), a launcher in src/gpu/kernels/ that imports it, and a browser test
 * suite in test/gpu/kernels/ that exercises that launcher. Every dequantizer
 * library names an existing CPU reference and is tested through the suites
 * that iterate over all libraries.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string) => readFileSync(root + p, 'utf8');
const list = (dir: string, ext: string) => readdirSync(root + dir).filter((f) => f.endsWith(ext));

const kernels = list('kernels', '.wgsl').map((f) => f.replace(/\.wgsl$/, ''));
const launchers = list('src/gpu/kernels', '.ts').map((f) => ({ file: `src/gpu/kernels/${f}`, text: read(`src/gpu/kernels/${f}`) }));
const suites = list('test/gpu/kernels', '.test.ts').map((f) => ({ file: `test/gpu/kernels/${f}`, text: read(`test/gpu/kernels/${f}`) }));

function reference(header: string): string | undefined {
  return /^\/\/\s*Reference:\s*(src\/\S+\.ts)/m.exec(header)?.[1];
}

describe('kernel inventory', () => {
  it('every library is a dequantizer, an int8 dot-product library or the rowwise kernels\' shared output', () => {
    for (const f of list('kernels/lib', '.wgsl')) expect(f).toMatch(/^((dequant|int8)_\w+|matmul_store)\.wgsl$/);
  });

  it('matmul_store names an existing reference and is assembled by the launcher of the kernels that call it', () => {
    const src = read('kernels/lib/matmul_store.wgsl');
    const ref = /Reference:\s*(src\/\S+\.ts)/.exec(src)?.[1];
    expect(ref && existsSync(root + ref), `reference ${ref}`).toBe(true);
    const users = kernels.filter((k) => /\bstore_row\(/.test(read(`kernels/${k}.wgsl`)));
    expect(users.sort()).toEqual(['matmul_int8', 'matmul_rowwise']);
    for (const k of users) expect(read(`kernels/${k}.wgsl`), `${k} names the library`).toContain('kernels/lib/matmul_store.wgsl');
    expect(read('src/gpu/kernels/matmul.ts')).toMatch(/@kernels\/lib\/matmul_store\.wgsl\?raw/);
  });

  it('finds the kernels', () => {
    expect(kernels.length).toBeGreaterThanOrEqual(10);
  });

  it.each(kernels)('%s has a header, an existing reference, a launcher and a test', (name) => {
    const src = read(`kernels/${name}.wgsl`);
    expect(src.startsWith(`// ${name}:`), 'header starts with "// <name>: <formula>"').toBe(true);
    for (const part of ['Dispatch', 'Bindings', 'Reference']) expect(src, `header names its ${part}`).toMatch(new RegExp(`^//\\s*${part}`, 'm'));
    expect(src, 'entry point is main').toMatch(/fn main\s*\(/);
    const ref = reference(src);
    expect(ref, 'a "Reference: src/…ts" line').toBeDefined();
    expect(existsSync(root + ref!), `${ref} exists`).toBe(true);
    const launcher = launchers.find((l) => l.text.includes(`@kernels/${name}.wgsl?raw`));
    expect(launcher, `a launcher in src/gpu/kernels imports @kernels/${name}.wgsl`).toBeDefined();
    const launcherModule = launcher!.file.replace(/^src\//, '').replace(/\.ts$/, '.ts');
    const suite = suites.find((s) => s.text.includes(launcherModule));
    expect(suite, `a suite in test/gpu/kernels imports ${launcherModule}`).toBeDefined();
  });

  it('every launcher belongs to a kernel', () => {
    for (const l of launchers) expect(/@kernels\/\w+\.wgsl\?raw/.test(l.text), l.file).toBe(true);
  });

  it.each(list('kernels/lib', '.wgsl').filter((f) => f.startsWith('int8_')))('int8 library %s names an existing reference, has a dequantizer twin and the qdot_block contract', (f) => {
    const src = read(`kernels/lib/${f}`);
    const ref = /Reference:\s*(src\/\S+\.ts)/.exec(src)?.[1];
    expect(ref && existsSync(root + ref), `reference ${ref}`).toBe(true);
    expect(existsSync(`${root}kernels/lib/${f.replace(/^int8_/, 'dequant_')}`), 'the same type has a dequantizer library').toBe(true);
    expect(src).toMatch(/fn qdot_block\(b: u32, d_off: u32, xq: array<u32, 8>, xsum: i32\) -> f32/);
    expect(read('test/gpu/kernels/matmul_int8.test.ts'), 'the int8 suite covers the type').toContain(`'${f.slice(5, -5).toUpperCase()}'`);
    expect(read('src/reference/matmul_int8.ts'), 'the CPU reference takes int8 activations for the type too (INT8_ACTIVATION_TYPES)').toContain(`'${f.slice(5, -5).toUpperCase()}'`);
  });

  it.each(list('kernels/lib', '.wgsl').filter((f) => f.startsWith('dequant_')))('library %s names an existing reference and the CHUNK contract', (f) => {
    const src = read(`kernels/lib/${f}`);
    const ref = /Reference:\s*(src\/\S+\.ts)/.exec(src)?.[1];
    expect(ref && existsSync(root + ref), `reference ${ref}`).toBe(true);
    expect(src).toMatch(/const\s+CHUNK\s*:\s*u32/);
    expect(src).toMatch(/fn load_chunk\(/);
    expect(src).toMatch(/fn load_one\(/);
  });

  it('the suites that cover dequantizer libraries iterate over all of them', () => {
    for (const name of ['embedding', 'matmul']) {
      expect(read(`test/gpu/kernels/${name}.test.ts`), name).toMatch(/DEQUANT_LIBS/);
    }
  });
});

/**
 * The WebAssembly kernels follow the same rule: kernels/wasm/<name>.ts (AssemblyScript) with a header
 * naming the formula, the thread split, the memory layout and an existing CPU reference; a launcher in
 * src/wasm/kernels/ that runs it by name; a suite in test/wasm/suites/ that exercises that launcher
 * (run in Node and in Chromium).
 */
describe('WebAssembly kernel inventory', () => {
  const wasmKernels = list('kernels/wasm', '.ts').filter((f) => f !== 'index.ts').map((f) => f.replace(/\.ts$/, ''));
  const wasmLaunchers = list('src/wasm/kernels', '.ts').map((f) => ({ file: `src/wasm/kernels/${f}`, text: read(`src/wasm/kernels/${f}`) }));
  const wasmSuites = list('test/wasm/suites', '.ts').map((f) => ({ file: `test/wasm/suites/${f}`, text: read(`test/wasm/suites/${f}`) }));
  const index = read('kernels/wasm/index.ts');

  it('finds the kernels', () => {
    expect(wasmKernels.length).toBeGreaterThanOrEqual(2);
  });

  it.each(wasmKernels)('%s has a header, an existing reference, an export, a launcher and a suite', (name) => {
    const src = read(`kernels/wasm/${name}.ts`);
    expect(src.startsWith(`// ${name}:`), 'header starts with "// <name>: <formula>"').toBe(true);
    for (const part of ['Threads', 'Memory', 'Reference']) expect(src, `header names its ${part}`).toMatch(new RegExp(`^//\\s*${part}`, 'm'));
    const ref = reference(src);
    expect(ref, 'a "Reference: src/…ts" line').toBeDefined();
    expect(existsSync(root + ref!), `${ref} exists`).toBe(true);
    expect(src, `exports ${name}`).toMatch(new RegExp(`export function ${name}\\(`));
    expect(index, `kernels/wasm/index.ts exports ${name}`).toMatch(new RegExp(`export \\{[^}]*\\b${name}\\b[^}]*\\} from './${name}'`));
    const launcher = wasmLaunchers.find((l) => l.text.includes(`'${name}'`));
    expect(launcher, `a launcher in src/wasm/kernels runs '${name}'`).toBeDefined();
    const module = launcher!.file.replace(/^src\//, '');
    expect(wasmSuites.some((s) => s.text.includes(module)), `a suite in test/wasm/suites imports ${module}`).toBe(true);
  });

  it('every suite is run (test/wasm/suites/index.ts lists it)', () => {
    const indexText = read('test/wasm/suites/index.ts');
    for (const s of wasmSuites.filter((x) => !x.file.endsWith('index.ts'))) expect(indexText, s.file).toContain(`./${s.file.split('/').pop()!.replace(/\.ts$/, '')}.ts`);
  });
});
