//! Room in WASM memory. The glue copies each argument array into memory it allocates itself,
//! and that allocation aborts the instance when memory is exhausted; so the façade asks here
//! first for large arrays, and refuses them with a typed error instead.

use wasm_bindgen::prelude::*;

/// Whether `bytes` bytes can be allocated now (memory grows if need be; the block is
/// returned to the allocator, where the glue's next allocation finds it).
#[wasm_bindgen(js_name = canAllocate)]
pub fn can_allocate(bytes: f64) -> bool {
    if !(bytes >= 0.0 && bytes <= u32::MAX as f64) {
        return false;
    }
    let mut block: Vec<u8> = Vec::new();
    block.try_reserve_exact(bytes as usize).is_ok()
}
