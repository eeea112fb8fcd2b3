//! The JavaScript boundary of gradlab, built by wasm-bindgen: exported structs and functions
//! that check what JavaScript passes, translate it into calls on `gradlab-core`, and throw
//! the core's errors as JavaScript errors whose message is the error as JSON (the TypeScript
//! façade turns them into `GradlabError`s). One module per concern; none holds numerics.
//!
//! Nothing that JavaScript passes may reach a panic: a panic aborts the instance.

mod args;
pub mod batch;
pub mod exchange;
pub mod health;
pub mod kernels;
pub mod memory;
pub mod model;
pub mod pretrain;
pub mod spec;
pub mod tasks;
pub mod tensors;

pub use args::{thrown, JsResult};
