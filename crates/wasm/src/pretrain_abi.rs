//! The pretraining ABI: restricted Boltzmann machines behind handles. Each export validates,
//! translates and calls `gradlab_core::pretrain`; data is `rows` visible vectors, row-major.

use crate::args::positive;
use crate::handles::Handles;
use crate::memory::{read_f32, write_f32, write_u32};
use crate::status::run;
use gradlab_core::error::{Error, Result};
use gradlab_core::pretrain::{CdConfig, Part, Rbm};
use std::cell::RefCell;

thread_local! {
    static RBMS: RefCell<Handles<Rbm>> = RefCell::new(Handles::default());
}

fn with_rbm<R>(op: &str, handle: u32, f: impl FnOnce(&mut Rbm) -> Result<R>) -> Result<R> {
    RBMS.with(|rbms| f(rbms.borrow_mut().get_mut(op, "rbm", handle)?))
}

/// Part codes: 0 weight [hidden, visible], 1 visible bias [visible], 2 hidden bias [hidden].
fn part(op: &str, code: u32) -> Result<Part> {
    match code {
        0 => Ok(Part::Weight),
        1 => Ok(Part::VisibleBias),
        2 => Ok(Part::HiddenBias),
        other => Err(Error::invalid(op, "part", "a code in 0..=2", other.to_string())),
    }
}

/// Creates an RBM with `visible` and `hidden` units, W ~ N(0, 0.01²) and zero biases drawn
/// from `seed` (which also drives its shuffling and sampling); writes the handle to `out_rbm[0]`.
#[no_mangle]
pub extern "C" fn gl_rbm_new(visible: i32, hidden: i32, seed_low: u32, seed_high: u32, out_rbm: *mut u32) -> i32 {
    run(|| {
        let op = "rbm";
        let (visible, hidden) = (positive(op, "visible", visible)?, positive(op, "hidden", hidden)?);
        let out = write_u32(op, "out_rbm", out_rbm, 1)?;
        let rbm = Rbm::new(visible, hidden, crate::join_seed(seed_low, seed_high))?;
        out[0] = RBMS.with(|rbms| rbms.borrow_mut().insert(rbm));
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn gl_rbm_free(rbm: u32) -> i32 {
    run(|| RBMS.with(|rbms| rbms.borrow_mut().remove("gl_rbm_free", "rbm", rbm).map(|_| ())))
}

/// The number of live RBMs (for leak tests).
#[no_mangle]
pub extern "C" fn gl_rbm_count() -> u32 {
    RBMS.with(|rbms| rbms.borrow().len() as u32)
}

/// Reads (`write` = 0) or replaces (`write` = 1) parameter `part`; `len` must be its size.
#[no_mangle]
pub extern "C" fn gl_rbm_parameter(rbm: u32, part_code: u32, write: u32, ptr: *mut f32, len: usize) -> i32 {
    run(|| {
        let op = if write != 0 { "rbm.setParameters" } else { "rbm.parameters" };
        let part = part(op, part_code)?;
        with_rbm(op, rbm, |r| {
            if write != 0 {
                r.set_parameter(op, part, read_f32(op, "values", ptr, len)?)
            } else {
                let values = r.parameter(part);
                if len != values.len() {
                    return Err(Error::shape(op, "out", gradlab_core::error::shape_str(&r.shape(part)), format!("{} values", len)));
                }
                write_f32(op, "out", ptr, len)?.copy_from_slice(values);
                Ok(())
            }
        })
    })
}

/// Sets the visible biases to the log-odds of each unit being on in `x` ([rows, visible]).
#[no_mangle]
pub extern "C" fn gl_rbm_init_visible_bias(rbm: u32, x_ptr: *const f32, x_len: usize, rows: usize) -> i32 {
    run(|| {
        let x = read_f32("initVisibleBias", "x", x_ptr, x_len)?;
        with_rbm("initVisibleBias", rbm, |r| r.init_visible_bias(x, rows))
    })
}

/// One epoch of CD-k over `x` ([rows, visible], values in [0, 1]) in shuffled mini-batches;
/// writes the reconstruction error over `x` after the epoch into `out_error[0]`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn gl_rbm_train_epoch(rbm: u32, x_ptr: *const f32, x_len: usize, rows: usize, batch_size: i32, k: i32, lr: f32, momentum: f32, weight_decay: f32, sample_visible: u32, out_error: *mut f32) -> i32 {
    run(|| {
        let op = "rbm.trainEpoch";
        let config = CdConfig { k: positive(op, "k", k)?, lr, momentum, weight_decay, sample_visible: sample_visible != 0 };
        let batch_size = positive(op, "batchSize", batch_size)?;
        let x = read_f32(op, "x", x_ptr, x_len)?;
        let out = write_f32(op, "out_error", out_error, 1)?;
        out[0] = with_rbm(op, rbm, |r| r.train_epoch(x, rows, batch_size, &config))? as f32;
        Ok(())
    })
}

/// Writes the reconstruction error of `x` ([rows, visible]) into `out_error[0]`.
#[no_mangle]
pub extern "C" fn gl_rbm_reconstruction_error(rbm: u32, x_ptr: *const f32, x_len: usize, rows: usize, out_error: *mut f32) -> i32 {
    run(|| {
        let op = "rbm.reconstructionError";
        let x = read_f32(op, "x", x_ptr, x_len)?;
        let out = write_f32(op, "out_error", out_error, 1)?;
        out[0] = with_rbm(op, rbm, |r| r.reconstruction_error(op, x, rows))? as f32;
        Ok(())
    })
}

/// Writes p(h = 1 | v) for `x` ([rows, visible]) into `out` ([rows, hidden]).
#[no_mangle]
pub extern "C" fn gl_rbm_hidden_probabilities(rbm: u32, x_ptr: *const f32, x_len: usize, rows: usize, out_ptr: *mut f32, out_len: usize) -> i32 {
    run(|| {
        let op = "rbm.hiddenProbabilities";
        let x = read_f32(op, "x", x_ptr, x_len)?;
        with_rbm(op, rbm, |r| {
            let expected = rows.checked_mul(r.hidden());
            if expected != Some(out_len) {
                return Err(Error::shape(op, "out", format!("{} values", expected.unwrap_or(usize::MAX)), format!("{} values", out_len)));
            }
            let out = write_f32(op, "out", out_ptr, out_len)?;
            out.copy_from_slice(&r.hidden_probabilities(op, x, rows)?);
            Ok(())
        })
    })
}
