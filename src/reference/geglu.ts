/**
 * GeGLU reference with the tanh approximation of GELU (as ggml_gelu and
 * Gemma use): y = 0.5·g·(1 + tanh(√(2/π)·(g + 0.044715·g³))) · up.
 * Note: ggml's CPU backend evaluates GELU through an fp16 lookup table; this
 * reference is exact, so llama.cpp's gemma logits differ by up to ~1e-3.
 */
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

export function geglu(gate: Float32Array, up: Float32Array): Float32Array {
  const y = new Float32Array(gate.length);
  for (let i = 0; i < y.length; i++) y[i] = gelu(gate[i]) * up[i];
  return y;
}
