//! Activation functions, forward and backward side by side, over f32 slices.
//!
//! Forward: `y[i] = f(x[i])`. Backward: `dx[i] = dy[i] · f'(x[i])`, written in terms of
//! whichever of `x` and `y` is cheaper. Softmax works on rows of length `cols`.

/// Which elementwise function; the learned PReLU slope is passed as `LeakyRelu(alpha)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Identity,
    Sigmoid,
    Tanh,
    Relu,
    LeakyRelu(f32),
    Elu(f32),
}

fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `y = f(x)` elementwise.
pub fn forward(kind: Kind, x: &[f32], y: &mut [f32]) {
    match kind {
        Kind::Identity => y.copy_from_slice(x),
        Kind::Sigmoid => {
            for (o, &v) in y.iter_mut().zip(x) {
                *o = sigmoid(v);
            }
        }
        Kind::Tanh => {
            for (o, &v) in y.iter_mut().zip(x) {
                *o = v.tanh();
            }
        }
        Kind::Relu => {
            for (o, &v) in y.iter_mut().zip(x) {
                *o = if v > 0.0 { v } else { 0.0 };
            }
        }
        Kind::LeakyRelu(alpha) => {
            for (o, &v) in y.iter_mut().zip(x) {
                *o = if v > 0.0 { v } else { alpha * v };
            }
        }
        Kind::Elu(alpha) => {
            for (o, &v) in y.iter_mut().zip(x) {
                *o = if v > 0.0 { v } else { alpha * (v.exp_m1()) };
            }
        }
    }
}

/// `dx = dy · f'(x)` elementwise, given the forward input `x` and output `y`.
pub fn backward(kind: Kind, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
    let n = dx.len();
    match kind {
        Kind::Identity => dx.copy_from_slice(dy),
        Kind::Sigmoid => {
            for i in 0..n {
                dx[i] = dy[i] * y[i] * (1.0 - y[i]);
            }
        }
        Kind::Tanh => {
            for i in 0..n {
                dx[i] = dy[i] * (1.0 - y[i] * y[i]);
            }
        }
        Kind::Relu => {
            for i in 0..n {
                dx[i] = if x[i] > 0.0 { dy[i] } else { 0.0 };
            }
        }
        Kind::LeakyRelu(alpha) => {
            for i in 0..n {
                dx[i] = if x[i] > 0.0 { dy[i] } else { alpha * dy[i] };
            }
        }
        Kind::Elu(alpha) => {
            for i in 0..n {
                dx[i] = if x[i] > 0.0 { dy[i] } else { dy[i] * (y[i] + alpha) };
            }
        }
    }
}

/// Row-wise softmax of a row-major matrix with rows of length `cols`, max-subtracted.
pub fn softmax_forward(x: &[f32], cols: usize, y: &mut [f32]) {
    if cols == 0 {
        return;
    }
    for (xr, yr) in x.chunks_exact(cols).zip(y.chunks_exact_mut(cols)) {
        let max = xr.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let mut total = 0.0f32;
        for (o, &v) in yr.iter_mut().zip(xr) {
            *o = (v - max).exp();
            total += *o;
        }
        let inv = 1.0 / total;
        for o in yr.iter_mut() {
            *o *= inv;
        }
    }
}

/// Softmax backward per row: `dx = y ⊙ (dy − Σ_j dy_j y_j)`.
pub fn softmax_backward(y: &[f32], dy: &[f32], cols: usize, dx: &mut [f32]) {
    if cols == 0 {
        return;
    }
    for ((yr, dyr), dxr) in y.chunks_exact(cols).zip(dy.chunks_exact(cols)).zip(dx.chunks_exact_mut(cols)) {
        let s: f32 = yr.iter().zip(dyr).map(|(a, b)| a * b).sum();
        for j in 0..cols {
            dxr[j] = yr[j] * (dyr[j] - s);
        }
    }
}

/// Row-wise log-softmax: `y = x − max − log Σ exp(x − max)`.
pub fn log_softmax_forward(x: &[f32], cols: usize, y: &mut [f32]) {
    if cols == 0 {
        return;
    }
    for (xr, yr) in x.chunks_exact(cols).zip(y.chunks_exact_mut(cols)) {
        let max = xr.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let total: f32 = xr.iter().map(|&v| (v - max).exp()).sum();
        let log_total = total.ln() + max;
        for (o, &v) in yr.iter_mut().zip(xr) {
            *o = v - log_total;
        }
    }
}

/// Log-softmax backward per row: `dx = dy − softmax(x) · Σ_j dy_j`, with `softmax = exp(y)`.
pub fn log_softmax_backward(y: &[f32], dy: &[f32], cols: usize, dx: &mut [f32]) {
    if cols == 0 {
        return;
    }
    for ((yr, dyr), dxr) in y.chunks_exact(cols).zip(dy.chunks_exact(cols)).zip(dx.chunks_exact_mut(cols)) {
        let s: f32 = dyr.iter().sum();
        for j in 0..cols {
            dxr[j] = dyr[j] - yr[j].exp() * s;
        }
    }
}
