//! Single-precision general matrix multiply, row-major, in the BLIS shape: five loops around
//! a register-tiled micro-kernel, with both operands packed into contiguous panels first.
//!
//! Packing copies a KC-deep slab of `op(B)` into NR-wide column slivers and an MC×KC block of
//! `op(A)` into MR-tall row slivers, each laid out in the order the micro-kernel reads it.
//! That makes transposed operands exactly as fast as plain ones (only the packing loops see
//! the strides), keeps the working set in cache (a B sliver in L1, the A block in L2), and
//! zero-pads partial slivers so the micro-kernel always runs a full MR×NR tile; edges are
//! masked only when the tile is written to C.

use super::lanes::{load_partial, F32x4};
use crate::error::Result;
use crate::size;
use std::cell::RefCell;

/// Rows of C per micro-tile: one broadcast of A per row per step.
const MR: usize = 4;
/// Columns of C per micro-tile, as `NR / 4` vectors. 4×8 keeps 8 accumulators, 2 B vectors
/// and the 4 A broadcasts (LLVM loads them all up front) live: 14 vectors, inside the 15
/// registers V8 allocates for SIMD on x64. 6×8, 5×8, 4×12 and 8×8 spill and measured 1.7×
/// slower at n = 256..512; 2×16 and 3×8 reuse less and were slower too.
const NR: usize = 8;
const NR_VECTORS: usize = NR / 4;
/// Depth of a packed slab: an A sliver (MR·KC) and a B sliver (NR·KC) stay in L1.
const KC: usize = 256;
/// Rows of a packed A block (a multiple of MR): MC·KC floats stay in L2.
const MC: usize = 64;
/// Columns of a packed B slab (a multiple of NR).
const NC: usize = 2048;
/// A·Bᵀ takes [`multiply_rows`] instead of packing when k is at least DOT_MIN_DEPTH, A or B
/// has at most DOT_MAX_SIDE rows, and both hold at most DOT_MAX_FLOATS together (they are
/// re-read from cache). Measured on the seed network's first layer, x [10, 784] · W [30, 784]ᵀ:
/// 1.3× the packed path; with k = 30, or m and n both 64 or more, packing wins (up to 15×).
const DOT_MIN_DEPTH: usize = 256;
const DOT_MAX_SIDE: usize = 16;
const DOT_MAX_FLOATS: usize = 48 * 1024;
/// Rows of A and rows of B per tile of dot products: 2×4 = 8 accumulators.
const DOT_ROWS: usize = 2;
const DOT_COLUMNS: usize = 4;

/// `C = alpha · op(A) · op(B) + beta · C`, all row-major.
///
/// `op(A)` is m×k: `A[i·lda + p]` when `!trans_a`, `A[p·lda + i]` (A stored k×m) when `trans_a`.
/// `op(B)` is k×n: `B[p·ldb + j]` when `!trans_b`, `B[j·ldb + p]` (B stored n×k) when `trans_b`.
/// `C[i·ldc + j]` is m×n. When `beta == 0`, C is overwritten and its old contents (even NaN)
/// are ignored; when `alpha == 0` or `k == 0`, A and B are not read. Callers guarantee the
/// slices are long enough for the given strides.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    let mut out = match Output::for_product(m, n, k, alpha, beta, c, ldc) {
        Some(out) => out,
        None => return,
    };
    if !trans_a && trans_b && k >= DOT_MIN_DEPTH && m.min(n) <= DOT_MAX_SIDE && (m + n) * k <= DOT_MAX_FLOATS {
        multiply_rows(m, n, k, a, lda, b, ldb, &mut out);
        return;
    }
    multiply_packed(m, n, k, operand_a(trans_a, a, lda), Slabs::Pack(operand_b(trans_b, b, ldb)), beta, &mut out);
}

/// `C = alpha · op(A) · B + beta · C` for a `B` packed by [`PackedMatrix::pack`] (k×n), as
/// [`sgemm`] computes it (bit for bit, on its packed path).
#[allow(clippy::too_many_arguments)]
pub fn sgemm_packed(trans_a: bool, m: usize, alpha: f32, a: &[f32], lda: usize, b: &PackedMatrix, beta: f32, c: &mut [f32], ldc: usize) {
    let (n, k) = (b.n, b.k);
    let mut out = match Output::for_product(m, n, k, alpha, beta, c, ldc) {
        Some(out) => out,
        None => return,
    };
    multiply_packed(m, n, k, operand_a(trans_a, a, lda), Slabs::Packed(b), beta, &mut out);
}

/// `op(B)` packed once into the slivers the micro-kernel reads, for many products with the
/// same B: a recurrent layer multiplies by W_hh at every time step, and packing it once per
/// sequence saves T − 1 packings of it. Holds every KC-deep slab of every NC-wide block of
/// columns, in the order [`sgemm`] would pack them.
#[derive(Default)]
pub struct PackedMatrix {
    k: usize,
    n: usize,
    slivers: Vec<f32>,
}

impl PackedMatrix {
    /// Room for a packed k×n matrix, allocated fallibly (`OutOfMemory` for `arg` of `op`).
    pub fn zeros(op: &str, arg: &str, k: usize, n: usize) -> Result<PackedMatrix> {
        Ok(PackedMatrix { k, n, slivers: size::zeros(op, arg, PackedMatrix::len(k, n))? })
    }

    /// The values a packed k×n matrix holds: n rounded up to whole slivers, times k
    /// (saturating, so an impossible size fails to allocate instead of wrapping).
    pub fn len(k: usize, n: usize) -> usize {
        ((n + NR - 1) / NR * NR).saturating_mul(k)
    }

    /// Packs `op(B)`, k×n: `B[p·ldb + j]`, or `B[j·ldb + p]` (B stored n×k) when `trans_b`.
    /// The buffer grows only past what it held ([`PackedMatrix::zeros`] sizes it up front).
    pub fn pack(&mut self, trans_b: bool, k: usize, n: usize, b: &[f32], ldb: usize) {
        let len = PackedMatrix::len(k, n);
        if self.slivers.len() < len {
            self.slivers.resize(len, 0.0);
        }
        self.k = k;
        self.n = n;
        let b = operand_b(trans_b, b, ldb);
        for column in (0..n).step_by(NC) {
            let columns = NC.min(n - column);
            for depth in (0..k).step_by(KC) {
                let depths = KC.min(k - depth);
                let (start, len) = self.slab_range(column, columns, depth, depths);
                pack_into::<NR>(b, column, columns, depth, depths, &mut self.slivers[start..start + len]);
            }
        }
    }

    /// Where the slab of columns `column..column + columns` at depths `depth..depth + depths`
    /// lies: every earlier block of columns is NC wide and k deep.
    fn slab_range(&self, column: usize, columns: usize, depth: usize, depths: usize) -> (usize, usize) {
        let width = (columns + NR - 1) / NR * NR;
        (column * self.k + width * depth, width * depths)
    }
}

/// op(A) as an [`Operand`]: element (row, depth).
fn operand_a(trans_a: bool, a: &[f32], lda: usize) -> Operand {
    Operand { data: a, across: if trans_a { 1 } else { lda }, along: if trans_a { lda } else { 1 } }
}

/// op(B) as an [`Operand`]: element (column, depth).
fn operand_b(trans_b: bool, b: &[f32], ldb: usize) -> Operand {
    Operand { data: b, across: if trans_b { ldb } else { 1 }, along: if trans_b { 1 } else { ldb } }
}

/// Where the slabs of op(B) come from: packed now, slab by slab, or packed before.
enum Slabs<'a> {
    Pack(Operand<'a>),
    Packed(&'a PackedMatrix),
}

/// The five loops around the micro-kernel, with op(B)'s slabs from `slabs`.
fn multiply_packed(m: usize, n: usize, k: usize, a: Operand, slabs: Slabs, beta: f32, out: &mut Output) {
    PACKED.with(|packed| {
        let mut packed = packed.borrow_mut();
        let Packed { a: packed_a, b: packed_b } = &mut *packed;
        for column in (0..n).step_by(NC) {
            let columns = NC.min(n - column);
            for depth in (0..k).step_by(KC) {
                let depths = KC.min(k - depth);
                // Later slabs add to what the first one wrote.
                out.beta = if depth == 0 { beta } else { 1.0 };
                let b_slab: &[f32] = match &slabs {
                    Slabs::Pack(b) => pack::<NR>(*b, column, columns, depth, depths, packed_b),
                    Slabs::Packed(matrix) => {
                        let (start, len) = matrix.slab_range(column, columns, depth, depths);
                        &matrix.slivers[start..start + len]
                    }
                };
                for row in (0..m).step_by(MC) {
                    let rows = MC.min(m - row);
                    let a_block = pack::<MR>(a, row, rows, depth, depths, packed_a);
                    for (jr, b_sliver) in b_slab.chunks_exact(NR * depths).enumerate() {
                        for (ir, a_sliver) in a_block.chunks_exact(MR * depths).enumerate() {
                            let tile = multiply_slivers(depths, a_sliver, b_sliver);
                            let (i, j) = (row + ir * MR, column + jr * NR);
                            out.write_tile(&tile, i, j, MR.min(m - i), NR.min(n - j));
                        }
                    }
                }
            }
        }
    });
}

/// The packing buffers, reused by every call on this thread so small products (a batch of
/// 10 through a 30-wide layer) pay no allocation.
#[derive(Default)]
struct Packed {
    a: Vec<f32>,
    b: Vec<f32>,
}

thread_local! {
    static PACKED: RefCell<Packed> = RefCell::new(Packed::default());
}

/// A strided operand seen as slivers: element (`across`-index, `along`-index) is
/// `data[across_index · across + along_index · along]`, where `along` runs over the shared
/// depth k.
#[derive(Clone, Copy)]
struct Operand<'a> {
    data: &'a [f32],
    across: usize,
    along: usize,
}

/// Packs `count` lines (rows of op(A) or columns of op(B)) from `first`, depths
/// `depth..depth + depths`, into slivers of `WIDTH` lines and returns them:
/// `packed[s][p·WIDTH + w]` is line `first + s·WIDTH + w` at depth `depth + p`; lines past the
/// end are zero. `buffer` only grows.
fn pack<'b, const WIDTH: usize>(
    src: Operand,
    first: usize,
    count: usize,
    depth: usize,
    depths: usize,
    buffer: &'b mut Vec<f32>,
) -> &'b [f32] {
    let len = (count + WIDTH - 1) / WIDTH * WIDTH * depths;
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    let packed = &mut buffer[..len];
    pack_into::<WIDTH>(src, first, count, depth, depths, packed);
    packed
}

/// [`pack`] into `packed`, which holds exactly the slivers.
fn pack_into<const WIDTH: usize>(src: Operand, first: usize, count: usize, depth: usize, depths: usize, packed: &mut [f32]) {
    for (s, sliver) in packed.chunks_exact_mut(WIDTH * depths).enumerate() {
        let line = first + s * WIDTH;
        let width = WIDTH.min(first + count - line);
        let start = line * src.across + depth * src.along;
        // The largest index read below, checked once so the loops can skip bounds checks.
        let last = start + (width - 1) * src.across + (depths - 1) * src.along;
        assert!(last < src.data.len(), "sgemm: an operand is shorter than its dimensions and strides");
        if width < WIDTH {
            sliver.fill(0.0);
        }
        for (p, out) in sliver.chunks_exact_mut(WIDTH).enumerate() {
            let base = start + p * src.along;
            if width == WIDTH && src.across == 1 {
                // The lines are adjacent in memory: one WIDTH-wide copy per depth.
                out.copy_from_slice(&src.data[base..base + WIDTH]);
            } else if width == WIDTH {
                // A gather across the lines, unrolled for the full width.
                for (w, value) in out.iter_mut().enumerate() {
                    // SAFETY: base + w·across ≤ last < len.
                    *value = unsafe { *src.data.get_unchecked(base + w * src.across) };
                }
            } else {
                for (w, value) in out[..width].iter_mut().enumerate() {
                    // SAFETY: as above, w < width.
                    *value = unsafe { *src.data.get_unchecked(base + w * src.across) };
                }
            }
        }
    }
}

/// The MR×NR product of an A sliver (`a[p·MR + r]`) and a B sliver (`b[p·NR + j]`) over
/// `depths` steps, in registers: per step, NR/4 loads of B, MR broadcasts of A, and MR·NR/4
/// independent multiply-adds (no FMA in SIMD128, so a multiply then an add).
#[inline(always)]
fn multiply_slivers(depths: usize, a: &[f32], b: &[f32]) -> [[F32x4; NR_VECTORS]; MR] {
    let mut acc = [[F32x4::zero(); NR_VECTORS]; MR];
    for (a_step, b_step) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(depths) {
        let mut b_vectors = [F32x4::zero(); NR_VECTORS];
        for (v, b_vector) in b_vectors.iter_mut().enumerate() {
            *b_vector = F32x4::load(&b_step[4 * v..]);
        }
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let a_value = F32x4::splat(a_step[r]);
            for (acc_vector, b_vector) in acc_row.iter_mut().zip(&b_vectors) {
                *acc_vector = acc_vector.add(a_value.mul(*b_vector));
            }
        }
    }
    acc
}

/// `C = alpha · A · Bᵀ + beta · C` for small products, straight from the rows of A and of B,
/// which both run along k: every C element is a dot product, taken four depths per vector
/// for a 2×4 tile at a time. For the products a small dense layer makes (x·Wᵀ with a batch of
/// 10 and 784×30 weights) packing would cost about as much as the multiplication.
#[allow(clippy::too_many_arguments)]
fn multiply_rows(m: usize, n: usize, k: usize, a: &[f32], lda: usize, b: &[f32], ldb: usize, out: &mut Output) {
    for i in (0..m).step_by(DOT_ROWS) {
        // A partial tile repeats the last row (or column below): computed, never written.
        let a_rows = [0, 1].map(|r| &a[(i + r).min(m - 1) * lda..][..k]);
        for j in (0..n).step_by(DOT_COLUMNS) {
            let b_rows = [0, 1, 2, 3].map(|c| &b[(j + c).min(n - 1) * ldb..][..k]);
            let sums = dot_tile(&a_rows, &b_rows);
            let columns = DOT_COLUMNS.min(n - j);
            for (r, row_sums) in sums.iter().enumerate().take(DOT_ROWS.min(m - i)) {
                out.write_row(i + r, j, &row_sums[..columns]);
            }
        }
    }
}

/// The 2×4 dot products of `a_rows` with `b_rows` (all of one length).
#[inline(always)]
fn dot_tile(a_rows: &[&[f32]; DOT_ROWS], b_rows: &[&[f32]; DOT_COLUMNS]) -> [[f32; DOT_COLUMNS]; DOT_ROWS] {
    let k = a_rows[0].len();
    let mut acc = [[F32x4::zero(); DOT_COLUMNS]; DOT_ROWS];
    let mut accumulate = |load: &dyn Fn(&[f32]) -> F32x4| {
        let a_vectors = a_rows.map(load);
        for (c, b_row) in b_rows.iter().enumerate() {
            let b_vector = load(b_row);
            for (acc_row, a_vector) in acc.iter_mut().zip(&a_vectors) {
                acc_row[c] = acc_row[c].add(a_vector.mul(b_vector));
            }
        }
    };
    let whole = k - k % 4;
    for step in 0..whole / 4 {
        let p = step * 4;
        accumulate(&|row: &[f32]| F32x4::load(&row[p..p + 4]));
    }
    if whole < k {
        accumulate(&|row: &[f32]| load_partial(&row[whole..], 0.0));
    }
    acc.map(|row| row.map(F32x4::sum_lanes))
}

/// Where tiles go: `C = alpha · tile + beta · C`, with `beta == 0` ignoring C's old contents.
struct Output<'c> {
    c: &'c mut [f32],
    ldc: usize,
    alpha: f32,
    beta: f32,
}

impl<'c> Output<'c> {
    /// Where an m×n product of depth k goes, or None when there is nothing to multiply (no
    /// output, or a zero product: C is then already `beta · C`).
    #[allow(clippy::too_many_arguments)]
    fn for_product(m: usize, n: usize, k: usize, alpha: f32, beta: f32, c: &'c mut [f32], ldc: usize) -> Option<Output<'c>> {
        if m == 0 || n == 0 {
            return None;
        }
        let mut out = Output { c, ldc, alpha, beta };
        if alpha == 0.0 || k == 0 {
            out.scale_only(m, n);
            return None;
        }
        Some(out)
    }

    /// Writes the top-left `rows × cols` of `tile` at C's (`i`, `j`).
    #[inline(always)]
    fn write_tile(&mut self, tile: &[[F32x4; NR_VECTORS]; MR], i: usize, j: usize, rows: usize, cols: usize) {
        let (alpha, beta) = (F32x4::splat(self.alpha), F32x4::splat(self.beta));
        if rows == MR && cols == NR {
            for (r, tile_row) in tile.iter().enumerate() {
                let start = (i + r) * self.ldc + j;
                let c_row = &mut self.c[start..start + NR];
                for (out, value) in c_row.chunks_exact_mut(4).zip(tile_row) {
                    let scaled = alpha.mul(*value);
                    let result = if self.beta == 0.0 { scaled } else { scaled.add(beta.mul(F32x4::load(out))) };
                    result.store(out);
                }
            }
            return;
        }
        let mut values = [0.0f32; NR];
        for (r, tile_row) in tile.iter().enumerate().take(rows) {
            for (lanes, value) in values.chunks_exact_mut(4).zip(tile_row) {
                value.store(lanes);
            }
            self.write_row(i + r, j, &values[..cols]);
        }
    }

    /// `C[i][j + c] = alpha · values[c] + beta · C[i][j + c]`, one value at a time (edges).
    fn write_row(&mut self, i: usize, j: usize, values: &[f32]) {
        let start = i * self.ldc + j;
        for (out, &value) in self.c[start..start + values.len()].iter_mut().zip(values) {
            let scaled = self.alpha * value;
            *out = if self.beta == 0.0 { scaled } else { scaled + self.beta * *out };
        }
    }

    /// `C = beta · C` for the whole m×n (the product is zero).
    fn scale_only(&mut self, m: usize, n: usize) {
        for i in 0..m {
            let row = &mut self.c[i * self.ldc..i * self.ldc + n];
            if self.beta == 0.0 {
                row.fill(0.0);
            } else if self.beta != 1.0 {
                super::vector::scale(self.beta, row);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{sgemm, sgemm_packed, PackedMatrix};
    use crate::rng::Rng;

    /// One product to check: sizes, layouts, padding of the leading dimensions, α and β.
    #[derive(Clone, Copy)]
    struct Case {
        m: usize,
        n: usize,
        k: usize,
        trans_a: bool,
        trans_b: bool,
        pad: usize,
        alpha: f32,
        beta: f32,
    }

    /// Runs `case` against an f64 reference. With `beta == 0` C starts as NaN (which must be
    /// ignored); padding slots of C are NaN too and must stay untouched.
    fn check(case: Case, rng: &mut Rng) {
        let Case { m, n, k, trans_a, trans_b, pad, alpha, beta } = case;
        let (a_rows, a_cols) = if trans_a { (k, m) } else { (m, k) };
        let (b_rows, b_cols) = if trans_b { (n, k) } else { (k, n) };
        let (lda, ldb, ldc) = (a_cols + pad, b_cols + pad, n + pad);
        let a: Vec<f32> = (0..a_rows * lda).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let b: Vec<f32> = (0..b_rows * ldb).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let mut c: Vec<f32> = (0..m * ldc).map(|_| rng.uniform(-1.0, 1.0)).collect();
        for i in 0..m {
            for j in 0..ldc {
                if beta == 0.0 || j >= n {
                    c[i * ldc + j] = f32::NAN;
                }
            }
        }
        let original = c.clone();
        sgemm(trans_a, trans_b, m, n, k, alpha, &a, lda, &b, ldb, beta, &mut c, ldc);
        let a_at = |i: usize, p: usize| if trans_a { a[p * lda + i] } else { a[i * lda + p] } as f64;
        let b_at = |p: usize, j: usize| if trans_b { b[j * ldb + p] } else { b[p * ldb + j] } as f64;
        for i in 0..m {
            for j in 0..ldc {
                let got = c[i * ldc + j];
                if j >= n {
                    assert!(got.is_nan(), "padding of C at ({}, {}) was written", i, j);
                    continue;
                }
                let (mut exact, mut magnitude) = (0.0f64, 0.0f64);
                for p in 0..k {
                    exact += a_at(i, p) * b_at(p, j);
                    magnitude += (a_at(i, p) * b_at(p, j)).abs();
                }
                let old = original[i * ldc + j] as f64;
                let (exact, magnitude) = if beta == 0.0 {
                    (alpha as f64 * exact, (alpha as f64 * magnitude).abs())
                } else {
                    (alpha as f64 * exact + beta as f64 * old, (alpha as f64 * magnitude).abs() + (beta as f64 * old).abs())
                };
                let tolerance = 2e-7 * (k as f64 + 4.0) * magnitude + 1e-30;
                assert!(
                    (got as f64 - exact).abs() <= tolerance,
                    "m={} n={} k={} transA={} transB={} pad={} alpha={} beta={}: C[{}][{}] = {}, expected {}",
                    m, n, k, trans_a, trans_b, pad, alpha, beta, i, j, got, exact
                );
            }
        }
    }

    const LAYOUTS: [(bool, bool); 4] = [(false, false), (true, false), (false, true), (true, true)];

    #[test]
    fn every_size_to_17_in_every_layout() {
        let mut rng = Rng::new(1);
        for (trans_a, trans_b) in LAYOUTS {
            for m in 0..=17 {
                for n in 0..=17 {
                    for k in 0..=17 {
                        check(Case { m, n, k, trans_a, trans_b, pad: 0, alpha: 1.0, beta: 0.0 }, &mut rng);
                    }
                }
            }
        }
    }

    #[test]
    fn odd_sizes_strides_alpha_and_beta() {
        let mut rng = Rng::new(2);
        let sizes = [1, 7, 31, 63, 65, 127, 129];
        let scalars = [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.25), (1.0, -1.0)];
        for (index, &(trans_a, trans_b)) in LAYOUTS.iter().enumerate() {
            for &m in &sizes {
                for &n in &sizes {
                    let k = sizes[(m + n + index) % sizes.len()];
                    let (alpha, beta) = scalars[(m * 3 + n + index) % scalars.len()];
                    check(Case { m, n, k, trans_a, trans_b, pad: 3, alpha, beta }, &mut rng);
                }
            }
        }
    }

    #[test]
    fn blocks_larger_than_one_slab_and_one_panel() {
        // k > KC, m > MC and n > NC, so every blocking loop runs more than once with edges.
        let mut rng = Rng::new(3);
        check(Case { m: 100, n: 2053, k: 300, trans_a: false, trans_b: true, pad: 1, alpha: 1.0, beta: 0.5 }, &mut rng);
        check(Case { m: 197, n: 20, k: 513, trans_a: true, trans_b: false, pad: 0, alpha: 0.5, beta: 0.0 }, &mut rng);
    }

    #[test]
    fn small_products_with_long_rows_in_every_layout() {
        // The sizes a small dense layer makes (A·Bᵀ of these skips packing), with edges.
        let mut rng = Rng::new(4);
        for (trans_a, trans_b) in LAYOUTS {
            for &(m, n) in &[(1, 1), (2, 4), (3, 5), (10, 30), (16, 7), (17, 3)] {
                for &k in &[256, 259, 784] {
                    check(Case { m, n, k, trans_a, trans_b, pad: 2, alpha: 1.5, beta: 0.5 }, &mut rng);
                }
            }
        }
    }

    #[test]
    fn zero_alpha_or_depth_only_scales_c() {
        let mut c = vec![2.0f32, f32::NAN, 4.0, 8.0];
        // A and B are empty: they must not be read when k == 0.
        sgemm(false, false, 2, 2, 0, 1.0, &[], 0, &[], 2, 0.5, &mut c, 2);
        assert!(c[0] == 1.0 && c[1].is_nan() && c[2] == 2.0 && c[3] == 4.0);
        let a = [f32::NAN; 4];
        sgemm(false, false, 2, 2, 2, 0.0, &a, 2, &a, 2, 0.0, &mut c, 2);
        assert_eq!(c, vec![0.0; 4]);
    }

    /// A prepacked B gives what sgemm gives, bit for bit, in every layout, across several
    /// blocks of columns and of depth, and after being repacked at other sizes.
    #[test]
    fn prepacked_b_is_sgemm_bit_for_bit() {
        let mut rng = Rng::new(5);
        let mut packed = PackedMatrix::zeros("test", "b", 3, 5).unwrap();
        // (m, n, k): small, a recurrent layer's steps (batch 32, 4H = 512, H = 128, and back),
        // and past NC and KC with edges.
        for &(m, n, k) in &[(3, 5, 3), (1, 1, 1), (32, 512, 128), (32, 128, 512), (9, 2053, 300), (0, 4, 4), (4, 4, 0)] {
            for (trans_a, trans_b) in LAYOUTS {
                let (lda, ldb) = (if trans_a { m } else { k } + 1, if trans_b { k } else { n } + 2);
                let a: Vec<f32> = (0..(if trans_a { k } else { m }) * lda).map(|_| rng.uniform(-1.0, 1.0)).collect();
                let b: Vec<f32> = (0..(if trans_b { n } else { k }) * ldb).map(|_| rng.uniform(-1.0, 1.0)).collect();
                let start: Vec<f32> = (0..m * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
                packed.pack(trans_b, k, n, &b, ldb);
                for (alpha, beta) in [(1.0, 0.0), (0.5, 1.0)] {
                    let (mut expected, mut got) = (start.clone(), start.clone());
                    sgemm(trans_a, trans_b, m, n, k, alpha, &a, lda, &b, ldb, beta, &mut expected, n.max(1));
                    sgemm_packed(trans_a, m, alpha, &a, lda, &packed, beta, &mut got, n.max(1));
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&got), bits(&expected), "m={} n={} k={} transA={} transB={} alpha={} beta={}", m, n, k, trans_a, trans_b, alpha, beta);
                }
            }
        }
        assert_eq!(PackedMatrix::len(3, 9), 3 * 16);
        assert_eq!(PackedMatrix::zeros("op", "b", usize::MAX / 64, 64).err().map(|e| e.code()), Some("TooLarge"));
    }
}
