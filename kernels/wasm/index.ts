// The WebAssembly kernels, one module: every kernel file's exports, plus what the host needs to
// place its own data (the first free byte after the module's static data).
export { quantize_q8_0 } from './quantize_q8_0';
export { matmul_q8_0 } from './matmul_q8_0';
export { matmul_q4_0 } from './matmul_q4_0';
export { matmul_f32 } from './matmul_f32';
export { matmul_f16 } from './matmul_f16';
export { round_activations } from './round_activations';
export { rms_norm } from './rms_norm';
export { elementwise } from './elementwise';
export { glu } from './glu';
export { rope } from './rope';
export { attention } from './attention';
export { quantize_q8_k } from './quantize_q8_k';
export { matmul_q4_k } from './matmul_q4_k';
export { matmul_q6_k } from './matmul_q6_k';
export { matmul_q5_k } from './matmul_q5_k';
export { matmul_q3_k } from './matmul_q3_k';
export { matmul_q2_k } from './matmul_q2_k';
export { quantize_q8_1 } from './quantize_q8_1';
export { matmul_q4_1 } from './matmul_q4_1';
export { matmul_q5_0 } from './matmul_q5_0';
export { matmul_q5_1 } from './matmul_q5_1';

export function heap_base(): usize {
  return __heap_base;
}
