/** SwiGLU reference: y = silu(gate) · up = gate / (1 + e^(−gate)) · up. Elementwise, same shapes. */
export function swiglu(gate: Float32Array, up: Float32Array): Float32Array {
  const y = new Float32Array(gate.length);
  for (let i = 0; i < y.length; i++) y[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
  return y;
}
