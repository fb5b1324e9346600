/**
 * `npm run bench:matvec [-- --types Q8_0,Q4_0 --plans rowwise,workgroup --reps 10]`: the decode-shaped
 * matrix–vector products of SmolLM2-135M (q/k/v fused 576→960, gate|up 576→3072, down 1536→576, the
 * tied output 576→49152), each alone, on this machine's WebGPU adapter, in GB/s of weights beside the
 * adapter's streaming bandwidth. The page is bench/matvec/page.ts, served by a Vite dev server on
 * 127.0.0.1; results are checked against the CPU reference (max relative error printed).
 * A tool for working on the matmul kernels; `npm run bench` is the benchmark against the peers.
 */
import { createServer } from 'vite';
import { launchChromium } from '../../src/cli/chromium.ts';
import type { MatvecCase, MatvecResult } from './page.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const types = arg('types', 'Q8_0,Q4_0').split(',');
// plans: workgroup, rowwise, subgroup, and int8 (int8 activations, kernels/matmul_int8.wgsl)
const plans = arg('plans', 'rowwise').split(',');
const reps = Number(arg('reps', '10'));
const only = arg('only', '');
// tokens per product: 1 is decode; e.g. --n 64 for a prefill batch (times are then per token)
const nTok = Number(arg('n', '1'));
// rowwise tunables to compare, e.g. --rowwise "ROWS=1,WG=64;ROWS=4" (default: the launcher's plan)
const variants: (Record<string, number> | undefined)[] = arg('rowwise', '')
  .split(';')
  .map((v) => (v ? Object.fromEntries(v.split(',').map((kv) => [kv.split('=')[0], Number(kv.split('=')[1])])) : undefined));

const SHAPES: { name: string; rows: number; cols: number; norm: boolean }[] = [
  { name: 'norm + q|k|v', rows: 960, cols: 576, norm: true },
  { name: 'norm + gate|up', rows: 3072, cols: 576, norm: true },
  { name: 'down', rows: 576, cols: 1536, norm: false },
  { name: 'output (tied)', rows: 49152, cols: 576, norm: true },
];

const server = await createServer({ server: { host: '127.0.0.1', port: 0, hmr: false }, logLevel: 'error' });
await server.listen();
const addr = server.httpServer!.address() as { port: number };
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`http://127.0.0.1:${addr.port}/bench/matvec/index.html`);
  await page.waitForFunction(() => window.criaMatvec !== undefined);
  const dev = await page.evaluate(() => window.criaMatvec!.device());
  const bw = dev.readGBps;
  console.log(`adapter: streaming read ${bw.toFixed(2)} GB/s, f32 multiply-add ${dev.fmaGflops.toFixed(1)} GFLOP/s`);
  console.log('shape                 type   plan        MB      ms/matvec   GB/s   of bandwidth   Mweights/s   max rel err   compile ms');
  for (const s of SHAPES) {
    if (only && !s.name.includes(only)) continue;
    for (const type of types) {
      for (const plan of plans) for (const rowwise of plan === 'rowwise' || plan === 'int8' ? variants : [undefined]) {
        const kind = plan === 'int8' ? { plan: 'rowwise' as const, int8: true } : { plan: plan as MatvecCase['plan'] };
        const out: MatvecResult = await page.evaluate((c) => window.criaMatvec!.run(c), { type, rows: s.rows, cols: s.cols, n: nTok, norm: s.norm, ...kind, rowwise, reps: s.rows > 10000 || nTok > 1 ? Math.max(2, reps / 5) : reps });
        const name = rowwise ? `${plan} ${Object.entries(rowwise).map(([k, v]) => `${k}=${v}`).join(',')}` : plan!;
        console.log(
          `${s.name.padEnd(21)} ${type.padEnd(6)} ${name.padEnd(10)} ${(out.weightBytes / 1e6).toFixed(2).padStart(6)} ${out.msPerMatvec.toFixed(2).padStart(10)} ${out.gbPerS.toFixed(3).padStart(7)} ${((100 * out.gbPerS) / bw).toFixed(1).padStart(9)}%  ${((s.rows * s.cols) / out.msPerMatvec / 1e3).toFixed(0).padStart(10)}    ${out.maxRelErr.toExponential(1)}   ${out.compileMs.toFixed(0).padStart(8)}`,
        );
      }
    }
  }
} finally {
  await browser.close();
  await server.close();
}
