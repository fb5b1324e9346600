/** Every WebAssembly kernel suite (one file per kernel; the inventory test checks each kernel has one). */
import type { Suite } from '../harness.ts';
import { matmulSuite, quantizeSuite } from './matmul_q8_0.ts';

export const suites: Suite[] = [quantizeSuite, matmulSuite];
