// dot: the epilogue the matrix products share: y[t, o] = s (+ bias[o]) (+ add[t, o]), and a horizontal sum.

// @ts-ignore: decorator
@inline
export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// @ts-ignore: decorator
@inline
export function finish(y: usize, bias: usize, add: usize, t: i32, o: i32, out: i32, s: f32): void {
  let v = s;
  if (bias) v += load<f32>(bias + (<usize>o << 2));
  const at = (<usize>t * <usize>out + <usize>o) << 2;
  if (add) v += load<f32>(add + at);
  store<f32>(y + at, v);
}
