/**
 * The f64 reference of one element of an sgemm product, shared by the kernel tests and the
 * relaxed-SIMD tests: `Σ_p op(A)[i][p]·op(B)[p][j]` and `Σ_p |term|`, which bounds the f32
 * rounding error of the sum.
 */
export function productElement(
  a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number, k: number,
  transA: boolean, transB: boolean, i: number, j: number,
): { exact: number; magnitude: number } {
  let exact = 0;
  let magnitude = 0;
  for (let p = 0; p < k; p++) {
    const term = (transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
    exact += term;
    magnitude += Math.abs(term);
  }
  return { exact, magnitude };
}
