// matmul_store: the output of the rowwise matrix kernels (kernels/matmul_rowwise.wgsl, matmul_int8.wgsl),
// which own whole rows for a group of up to 4 tokens: y[t, row] = a + bias (+ addend[t, row]).
// Reference: src/reference/add.ts (the residual epilogue; the product's reference is the kernel's own)
//
// Not a dequantizer: the launcher prepends it after the weights' library. The including kernel declares
// `p` (Params with rows, n_tokens, has_add), `y` (read_write f32), `addend` (read f32) and
// `override TOKENS` (1 or 4); WGSL resolves module-scope names in any order.

// y[tok, row] = a + b (+ addend[tok, row] when has_add)
fn store(tok: u32, row: u32, a: f32, b: f32) {
  var v = a + b;
  let o = tok * p.rows + row;
  if (p.has_add == 1u) {
    v += addend[o];
  }
  y[o] = v;
}

// the results of one row for the token group t0 (a: component t is token t0 + t): rows past the end
// (computed on a clamped row so every invocation reaches the barriers) and tokens past n are not written
fn store_row(t0: u32, row: u32, a: vec4<f32>, b: f32) {
  if (row >= p.rows) {
    return;
  }
  store(t0, row, a.x, b);
  if (TOKENS > 1u) {
    let n = p.n_tokens;
    if (t0 + 1u < n) {
      store(t0 + 1u, row, a.y, b);
    }
    if (t0 + 2u < n) {
      store(t0 + 2u, row, a.z, b);
    }
    if (t0 + 3u < n) {
      store(t0 + 3u, row, a.w, b);
    }
  }
}
