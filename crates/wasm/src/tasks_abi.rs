//! The long-range sequence tasks (`gradlab_core::tasks`), generated into buffers JavaScript
//! gives, so every runtime gets the same data for a seed.

use crate::args::positive;
use crate::memory::{write_f32, write_u32};
use crate::status::run;
use gradlab_core::error::Error;
use gradlab_core::tasks;

/// The adding problem (`gradlab_core::tasks::adding_problem`): writes `count` sequences of
/// `length` steps into `x` ([count, length, 2], `x_len` values) and their sums into `y`
/// ([count], `y_len` values).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn gl_task_adding(length: i32, count: i32, seed_low: u32, seed_high: u32, x_ptr: *mut f32, x_len: usize, y_ptr: *mut f32, y_len: usize) -> i32 {
    run(|| {
        let op = "addingProblem";
        let (length, count) = (positive(op, "length", length)?, positive(op, "count", count)?);
        if y_len != count {
            return Err(Error::shape(op, "y", format!("{} values", count), format!("{} values", y_len)));
        }
        let x = write_f32(op, "x", x_ptr, x_len)?;
        let y = write_f32(op, "y", y_ptr, y_len)?;
        tasks::adding_problem(length, crate::join_seed(seed_low, seed_high), x, y)
    })
}

/// "Remember the first symbol" (`gradlab_core::tasks::first_symbol`): writes `count` one-hot
/// sequences into `x` ([count, length, classes]) and the first symbols' classes into `y`
/// ([count] i32).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn gl_task_first_symbol(length: i32, count: i32, classes: i32, seed_low: u32, seed_high: u32, x_ptr: *mut f32, x_len: usize, y_ptr: *mut i32, y_len: usize) -> i32 {
    run(|| {
        let op = "firstSymbolTask";
        let (length, count) = (positive(op, "length", length)?, positive(op, "count", count)?);
        if classes <= 0 {
            return Err(Error::invalid(op, "classes", "an integer ≥ 2", classes.to_string()));
        }
        if y_len != count {
            return Err(Error::shape(op, "y", format!("{} values", count), format!("{} values", y_len)));
        }
        let x = write_f32(op, "x", x_ptr, x_len)?;
        let y = write_u32(op, "y", y_ptr as *mut u32, y_len)?;
        // SAFETY: i32 and u32 have the same size and alignment, and `y` is a checked range.
        let labels = unsafe { std::slice::from_raw_parts_mut(y.as_mut_ptr() as *mut i32, y.len()) };
        tasks::first_symbol(length, classes as usize, crate::join_seed(seed_low, seed_high), x, labels)
    })
}
