/**
 * sgemm baselines: a competent pure-JS Float32Array matmul and the tfjs-cpu / tfjs-wasm matMul,
 * each wrapped as a prepared workload `{ run, dispose }` to time.
 *
 * Layouts are row-major. `C = op(A) · op(B)` with op(A) [m, k], op(B) [k, n], C [m, n];
 * with `transposeA`, A is stored [k, m]; with `transposeB`, B is stored [n, k].
 */
import { randomArray } from './random.mjs';
import { tf, useBackend } from './tfjs.mjs';

/**
 * @typedef {{ transposeA?: boolean, transposeB?: boolean }} Transposes
 * @typedef {{ run: () => unknown, dispose: () => void }} Workload
 */

/** Floating-point operations of one m×k·k×n product (a multiply and an add per term). */
export function sgemmFlops(m, k, n) {
  return 2 * m * k * n;
}

/**
 * C = op(A)·op(B) in pure JS, overwriting `c`. Each layout uses the loop order that walks
 * memory contiguously in the inner loop:
 * - A·B   (ikj): C row i += A[i,p] · B row p
 * - Aᵀ·B  (kij): C row i += A[p,i] · B row p
 * - A·Bᵀ  (ijk): C[i,j] = dot(A row i, B row j)
 * - Aᵀ·Bᵀ: C[i,j] = Σ_p A[p,i] · B[j,p] (strided A; rare, kept simple)
 * @param {Float32Array} a
 * @param {Float32Array} b
 * @param {Float32Array} c [m, n]
 * @param {number} m
 * @param {number} k
 * @param {number} n
 * @param {Transposes} [transposes]
 */
export function matmul(a, b, c, m, k, n, { transposeA = false, transposeB = false } = {}) {
  if (!transposeB) {
    c.fill(0, 0, m * n);
    if (!transposeA) {
      for (let i = 0; i < m; i++) {
        const cRow = i * n;
        for (let p = 0; p < k; p++) {
          const aValue = a[i * k + p];
          const bRow = p * n;
          for (let j = 0; j < n; j++) c[cRow + j] += aValue * b[bRow + j];
        }
      }
    } else {
      for (let p = 0; p < k; p++) {
        const bRow = p * n;
        for (let i = 0; i < m; i++) {
          const aValue = a[p * m + i];
          const cRow = i * n;
          for (let j = 0; j < n; j++) c[cRow + j] += aValue * b[bRow + j];
        }
      }
    }
    return c;
  }
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const bRow = j * k;
      let sum = 0;
      if (!transposeA) {
        const aRow = i * k;
        for (let p = 0; p < k; p++) sum += a[aRow + p] * b[bRow + p];
      } else {
        for (let p = 0; p < k; p++) sum += a[p * m + i] * b[bRow + p];
      }
      c[i * n + j] = sum;
    }
  }
  return c;
}

/**
 * A pure-JS n×n×n matmul on random inputs.
 * @param {number} n
 * @param {Transposes} [transposes]
 * @returns {Promise<Workload>}
 */
export async function makePureJsMatmul(n, transposes = {}) {
  const a = randomArray(n * n, 1);
  const b = randomArray(n * n, 2);
  const c = new Float32Array(n * n);
  return { run: () => matmul(a, b, c, n, n, n, transposes), dispose: () => {} };
}

/**
 * A tfjs `matMul` of two n×n random tensors on `backend` ('cpu' or 'wasm'). The backend stays
 * active until another workload switches it; `run` executes eagerly and frees its result.
 * @param {'cpu' | 'wasm'} backend
 * @param {number} n
 * @param {Transposes} [transposes]
 * @returns {Promise<Workload>}
 */
export async function makeTfjsMatmul(backend, n, { transposeA = false, transposeB = false } = {}) {
  await useBackend(backend);
  const a = tf.tensor2d(randomArray(n * n, 1), [n, n]);
  const b = tf.tensor2d(randomArray(n * n, 2), [n, n]);
  return {
    run: () => {
      // cpu and wasm kernels run synchronously inside the call, so no read-back is needed.
      tf.matMul(a, b, transposeA, transposeB).dispose();
    },
    dispose: () => {
      a.dispose();
      b.dispose();
    },
  };
}
