// glu: y = act(gate) · up, per row, act = silu (op 0: x / (1 + e^−x)) or gelu_tanh
//   (op 1: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))), in f64 then rounded to f32 (the reference's arithmetic).
//   gate and up are rows of their own arrays or the two halves of a fused gate|up row (strides say which).
// Threads: rows [r0, r1).
// Memory: gate f32 at g + r·gs, up f32 at u + r·us, y f32 [rows, cols].
// Reference: src/reference/swiglu.ts, src/reference/geglu.ts

const SQRT_2_OVER_PI: f64 = 0.7978845608028654;

export function glu(op: i32, g: usize, gs: i32, u: usize, us: i32, y: usize, cols: i32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const gr = g + ((<usize>r * <usize>gs) << 2);
    const ur = u + ((<usize>r * <usize>us) << 2);
    const yr = y + ((<usize>r * <usize>cols) << 2);
    for (let i = 0; i < cols; i++) {
      const o = <usize>i << 2;
      const x = <f64>load<f32>(gr + o);
      const a = op == 0 ? x / (1 + Math.exp(-x)) : 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
      store<f32>(yr + o, <f32>(a * <f64>load<f32>(ur + o)));
    }
  }
}
