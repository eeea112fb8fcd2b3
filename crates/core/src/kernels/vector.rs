//! Elementwise arithmetic and reductions over f32 slices. Binary ops require equal lengths
//! (callers check); reductions accumulate in f32 lanes and combine at the end.

/// `out[i] = a[i] + b[i]`
pub fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
    for i in 0..out.len() {
        out[i] = a[i] + b[i];
    }
}

/// `out[i] = a[i] - b[i]`
pub fn sub(a: &[f32], b: &[f32], out: &mut [f32]) {
    for i in 0..out.len() {
        out[i] = a[i] - b[i];
    }
}

/// `out[i] = a[i] * b[i]`
pub fn mul(a: &[f32], b: &[f32], out: &mut [f32]) {
    for i in 0..out.len() {
        out[i] = a[i] * b[i];
    }
}

/// `out[i] = a[i] / b[i]`
pub fn div(a: &[f32], b: &[f32], out: &mut [f32]) {
    for i in 0..out.len() {
        out[i] = a[i] / b[i];
    }
}

/// `y[i] += alpha · x[i]`
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for i in 0..y.len() {
        y[i] += alpha * x[i];
    }
}

/// `x[i] *= alpha`
pub fn scale(alpha: f32, x: &mut [f32]) {
    for v in x.iter_mut() {
        *v *= alpha;
    }
}

/// `x[i] = clamp(x[i], -limit, limit)`
pub fn clamp(limit: f32, x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = v.max(-limit).min(limit);
    }
}

/// `Σ a[i]·b[i]`
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `Σ x[i]`
pub fn sum(x: &[f32]) -> f32 {
    x.iter().sum()
}

/// `Σ x[i]²`, accumulated in f64 so norms of large gradients stay accurate.
pub fn sum_squares(x: &[f32]) -> f64 {
    x.iter().map(|&v| (v as f64) * (v as f64)).sum()
}

/// `Σ |x[i]|`
pub fn sum_abs(x: &[f32]) -> f64 {
    x.iter().map(|&v| (v as f64).abs()).sum()
}

/// True when every element is finite.
pub fn all_finite(x: &[f32]) -> bool {
    x.iter().all(|v| v.is_finite())
}

/// Adds `row` (length `cols`) to every row of the row-major matrix `x` (rows × cols).
pub fn add_row(x: &mut [f32], row: &[f32]) {
    let cols = row.len();
    if cols == 0 {
        return;
    }
    for r in x.chunks_exact_mut(cols) {
        for (v, b) in r.iter_mut().zip(row) {
            *v += b;
        }
    }
}

/// `out[j] += Σ_r x[r·cols + j]`: column sums of a row-major matrix, accumulated into `out`.
pub fn accumulate_column_sums(x: &[f32], out: &mut [f32]) {
    let cols = out.len();
    if cols == 0 {
        return;
    }
    for r in x.chunks_exact(cols) {
        for (o, v) in out.iter_mut().zip(r) {
            *o += v;
        }
    }
}
