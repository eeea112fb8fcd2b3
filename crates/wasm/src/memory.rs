//! Room in WASM memory. The glue copies each argument array into memory it allocates itself,
//! and that allocation aborts the instance when memory is exhausted; so the façade asks here
//! first for large arrays, and refuses them with a typed error instead.

use gradlab_core::size;
use wasm_bindgen::prelude::*;

/// Whether `bytes` bytes can be allocated now with the core's headroom to spare
/// (`size::fits`).
#[wasm_bindgen(js_name = canAllocate)]
pub fn can_allocate(bytes: f64) -> bool {
    bytes >= 0.0 && bytes <= u32::MAX as f64 && size::fits(bytes as usize)
}
