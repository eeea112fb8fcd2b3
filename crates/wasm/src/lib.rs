//! The C ABI of gradlab: `#[no_mangle] extern "C"` functions that validate their arguments,
//! translate them into calls on `gradlab-core`, and return a status code (0 = success; the
//! codes are `Error::status`). The message of the last error is read with
//! `gl_last_error_ptr`/`gl_last_error_len` as a JSON object. Objects live behind integer
//! handles (0 means none); whoever creates a handle frees it.
//!
//! Nothing that JavaScript passes may reach a panic: a panic aborts the instance.

mod args;
mod handles;
mod memory;
mod status;
pub mod kernel_abi;
pub mod model_abi;
pub mod pretrain_abi;
pub mod tasks_abi;
pub mod tensor_abi;

pub use handles::Handles;
pub use memory::{read_f32, read_i32, read_str, write_f32, write_u32};
pub use status::run;

/// The 64-bit seed that JavaScript passes as two u32 words (it has no 64-bit integers).
pub fn join_seed(low: u32, high: u32) -> u64 {
    (high as u64) << 32 | low as u64
}
