// elementwise: the row-independent f32 operations, each over elements [i0, i1) of flat arrays:
//   add: y = a + b;  scale: y = s·x;  softcap: y = cap·tanh(x/cap)
// Threads: elements [i0, i1).
// Memory: a, b, x, y f32 [count] (y may be an input).
// Reference: src/reference/add.ts, src/reference/scale.ts, src/reference/softcap.ts

export function elementwise(op: i32, a: usize, b: usize, y: usize, s: f32, i0: i32, i1: i32): void {
  let i = i0;
  if (op == 0) {
    for (; i + 4 <= i1; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
    }
    for (; i < i1; i++) store<f32>(y + (<usize>i << 2), load<f32>(a + (<usize>i << 2)) + load<f32>(b + (<usize>i << 2)));
  } else if (op == 1) {
    const sv = f32x4.splat(s);
    for (; i + 4 <= i1; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, f32x4.mul(v128.load(a + o), sv));
    }
    for (; i < i1; i++) store<f32>(y + (<usize>i << 2), load<f32>(a + (<usize>i << 2)) * s);
  } else {
    for (; i < i1; i++) {
      const o = <usize>i << 2;
      store<f32>(y + o, <f32>(<f64>s * Math.tanh(<f64>load<f32>(a + o) / <f64>s)));
    }
  }
}
