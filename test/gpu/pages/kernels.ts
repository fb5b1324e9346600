/**
 * Kernel test page: `window.criaKernels.run(name)` imports
 * test/gpu/kernels/<name>.test.ts, runs every case on this browser's WebGPU
 * and returns plain results (test/gpu/kernels.spec.ts asserts them).
 */
import { runSuite, type CaseResult, type KernelSuite } from '../harness/suite.ts';

const suites = import.meta.glob<{ default: KernelSuite<unknown> }>('../kernels/*.test.ts');

declare global {
  interface Window {
    criaKernels?: { names: string[]; run(name: string): Promise<CaseResult[]> };
  }
}

window.criaKernels = {
  names: Object.keys(suites).map((p) => p.replace(/^.*\/(.*)\.test\.ts$/, '$1')),
  async run(name: string) {
    const load = suites[`../kernels/${name}.test.ts`];
    if (!load) throw new Error(`no kernel test named ${name}`);
    const results = await runSuite((await load()).default);
    const out = document.getElementById('out')!;
    out.textContent += results.map((r) => `${r.error || !r.comparison?.ok ? 'FAIL' : 'ok  '} ${name} ${r.name} ${r.error ?? ''}`).join('\n') + '\n';
    return results;
  },
};
