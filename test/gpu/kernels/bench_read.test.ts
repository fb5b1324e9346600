/**
 * bench_read on WebGPU vs src/reference/bench_read.ts: wrapping u32 sums per
 * workgroup slice, compared bit for bit (integer arithmetic is exact in any
 * order). Sizes cover one vec4, slices and workgroups left partial, the 2-D grid,
 * and the unrolled and tail loops of the kernel.
 */
import { benchRead } from '../../../src/gpu/kernels/bench_read.ts';
import { benchRead as reference } from '../../../src/reference/bench_read.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  /** vec4s to read (4 words each) */
  nVec4: number;
  WG?: number;
  VEC4_PER_THREAD?: number;
  /** bind only a window of a larger buffer: words before it must not be read */
  offsetVec4?: number;
}

export default defineSuite<Case>({
  kernel: 'bench_read',
  cases: [
    { nVec4: 1 },
    { nVec4: 3, WG: 4, VEC4_PER_THREAD: 1 },
    { nVec4: 255 }, // < WG: most threads read nothing
    { nVec4: 4096 }, // exactly one 64 KiB slice
    { nVec4: 4097 }, // one slice and one vec4
    { nVec4: 10007 }, // prime: last slice partial, not a multiple of WG
    { nVec4: 1000, WG: 64, VEC4_PER_THREAD: 3 }, // rounds of 4 never fit: only the tail loop
    { nVec4: 99991, WG: 32, VEC4_PER_THREAD: 7 }, // many groups, odd slice length
    { nVec4: 70000 * 4, WG: 4, VEC4_PER_THREAD: 1 }, // 70000 groups: 2-D grid
    { nVec4: 1000, WG: 96, VEC4_PER_THREAD: 5 }, // WG not a power of two
    { nVec4: 1 << 20 }, // 16 MiB
    { nVec4: (1 << 20) + 3, VEC4_PER_THREAD: 256 }, // CPU adapters' tunables (src/gpu/measure.ts), 1 MiB slices
    { nVec4: 5000, offsetVec4: 16 }, // 256 B = minStorageBufferOffsetAlignment
  ],
  name: (c) => `${c.nVec4} vec4${c.WG ? ` WG=${c.WG}` : ''}${c.VEC4_PER_THREAD ? ` VEC4_PER_THREAD=${c.VEC4_PER_THREAD}` : ''}${c.offsetVec4 ? ` at +${c.offsetVec4} vec4` : ''}`,
  variant: (c) => `bench_read|VEC4_PER_THREAD=${c.VEC4_PER_THREAD ?? 16},WG=${c.WG ?? 256}`,
  async run(h, c) {
    const off = c.offsetVec4 ?? 0;
    const r = h.rng(c.nVec4);
    const all = Uint32Array.from({ length: (off + c.nVec4) * 4 }, () => r.nextU32());
    const words = all.subarray(off * 4);
    const buf = h.upload(all);
    const { out, plan } = benchRead(h.rec, off ? { buffer: buf, offset: off * 16, size: c.nVec4 * 16 } : buf, c.nVec4, { WG: c.WG, VEC4_PER_THREAD: c.VEC4_PER_THREAD });
    const p = h.rec.readback(out, 0, plan.groups * 4);
    await h.rec.flush();
    const got = new Uint32Array(await p);
    const want = reference(words, plan.wordsPerGroup);
    return compare(got, want, { atol: 0, rtol: 0, nmse: 0, why: 'integer sums mod 2³² are exact in any order' });
  },
});
