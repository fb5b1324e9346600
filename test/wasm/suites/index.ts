/** Every WebAssembly kernel suite (one file per kernel; the inventory test checks each kernel has one). */
import type { Suite } from '../harness.ts';
import { attentionSuite } from './attention.ts';
import { elementwiseSuite } from './elementwise.ts';
import { gluSuite } from './glu.ts';
import { matmulSuite, quantizeSuite } from './matmul.ts';
import { maskLogitsSuite } from './mask_logits.ts';
import { legacyBatchSuite, legacyMatmulSuite, quantizeQ8_1Suite } from './matmul_legacy.ts';
import { matmulKQuantsSuite, quantizeQ8_KSuite } from './matmul_kquants.ts';
import { rmsNormSuite } from './rms_norm.ts';
import { ropeSuite } from './rope.ts';

export const suites: Suite[] = [
  quantizeSuite,
  matmulSuite,
  rmsNormSuite,
  elementwiseSuite,
  gluSuite,
  ropeSuite,
  attentionSuite,
  quantizeQ8_KSuite,
  matmulKQuantsSuite,
  quantizeQ8_1Suite,
  legacyMatmulSuite,
  legacyBatchSuite,
  maskLogitsSuite,
];
