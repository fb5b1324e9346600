// rope: rotate each head's first `dim` entries by the table's (cos θ, sin θ) at the row's position
//   (pos0 + row): normal pairs (x[2j], x[2j+1]), neox pairs (x[j], x[j + dim/2]); the rest pass through.
//   y0 = x0·c − x1·s, y1 = x0·s + x1·c in f32.
// Threads: rows [r0, r1).
// Memory: x f32 [rows, stride] (a head's values at x + row·stride + h·headDim), y f32 [rows, nHeads·headDim],
//   table f32 [positions, dim/2, 2] (src/shared/rope-table.ts).
// Reference: src/reference/rope.ts

export function rope(x: usize, stride: i32, y: usize, table: usize, nHeads: i32, headDim: i32, dim: i32, neox: i32, pos0: i32, r0: i32, r1: i32): void {
  const half = dim >> 1;
  const cols = nHeads * headDim;
  for (let r = r0; r < r1; r++) {
    const tr = table + ((<usize>(pos0 + r) * <usize>half) << 3);
    const xr = x + ((<usize>r * <usize>stride) << 2);
    const yr = y + ((<usize>r * <usize>cols) << 2);
    for (let h = 0; h < nHeads; h++) {
      const xh = xr + ((<usize>h * <usize>headDim) << 2);
      const yh = yr + ((<usize>h * <usize>headDim) << 2);
      for (let j = 0; j < half; j++) {
        const c = load<f32>(tr + (<usize>j << 3));
        const s = load<f32>(tr + (<usize>j << 3) + 4);
        const i0 = neox ? j : 2 * j;
        const i1 = neox ? j + half : 2 * j + 1;
        const x0 = load<f32>(xh + (<usize>i0 << 2));
        const x1 = load<f32>(xh + (<usize>i1 << 2));
        store<f32>(yh + (<usize>i0 << 2), x0 * c - x1 * s);
        store<f32>(yh + (<usize>i1 << 2), x0 * s + x1 * c);
      }
      for (let i = dim; i < headDim; i++) store<f32>(yh + (<usize>i << 2), load<f32>(xh + (<usize>i << 2)));
    }
  }
}
