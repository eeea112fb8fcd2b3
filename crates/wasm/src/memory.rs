//! Staging memory that JavaScript writes inputs into and reads outputs from, and the checked
//! conversion of (pointer, length) pairs into slices.

use gradlab_core::Error;
use std::alloc::{alloc, dealloc, Layout};

/// The largest staging buffer one call may ask for (1 GiB).
pub const MAX_ALLOC_BYTES: usize = 1 << 30;
const ALIGN: usize = 16;

/// Allocates `bytes` bytes aligned to 16; returns 0 when `bytes` is 0, too large, or memory
/// cannot grow.
#[no_mangle]
pub extern "C" fn gl_alloc(bytes: usize) -> *mut u8 {
    if bytes == 0 || bytes > MAX_ALLOC_BYTES {
        return std::ptr::null_mut();
    }
    match Layout::from_size_align(bytes, ALIGN) {
        // SAFETY: the layout has a non-zero size.
        Ok(layout) => unsafe { alloc(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

/// Frees a buffer from `gl_alloc` with the same `bytes`; null is ignored.
///
/// # Safety
/// `ptr` must come from `gl_alloc(bytes)` and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn gl_free(ptr: *mut u8, bytes: usize) {
    if ptr.is_null() || bytes == 0 || bytes > MAX_ALLOC_BYTES {
        return;
    }
    if let Ok(layout) = Layout::from_size_align(bytes, ALIGN) {
        dealloc(ptr, layout);
    }
}

fn check_range(op: &str, arg: &str, ptr: usize, len: usize, elem: usize) -> Result<(), Error> {
    let bytes = len.checked_mul(elem).filter(|&b| b <= MAX_ALLOC_BYTES);
    let bytes = match bytes {
        Some(b) => b,
        None => {
            return Err(Error::TooLarge {
                op: op.into(),
                arg: arg.into(),
                requested: len as u64,
                limit: (MAX_ALLOC_BYTES / elem) as u64,
            })
        }
    };
    if len == 0 {
        return Ok(());
    }
    if ptr == 0 || ptr % elem != 0 {
        return Err(Error::invalid(op, arg, "a non-null aligned buffer from gl_alloc", format!("address {}", ptr)));
    }
    let end = ptr.checked_add(bytes);
    if end.map_or(true, |end| end > memory_bytes()) {
        return Err(Error::invalid(op, arg, "a buffer inside the instance's memory", format!("{} bytes at {}", bytes, ptr)));
    }
    Ok(())
}

#[cfg(target_arch = "wasm32")]
fn memory_bytes() -> usize {
    core::arch::wasm32::memory_size(0) * 65536
}

#[cfg(not(target_arch = "wasm32"))]
fn memory_bytes() -> usize {
    usize::MAX
}

/// The `len` f32 values at `ptr`, checked to lie inside memory.
pub fn read_f32<'a>(op: &str, arg: &str, ptr: *const f32, len: usize) -> Result<&'a [f32], Error> {
    check_range(op, arg, ptr as usize, len, 4)?;
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: the range lies inside linear memory and is aligned; JS owns the buffer for the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// The `len` i32 values at `ptr`, checked to lie inside memory.
pub fn read_i32<'a>(op: &str, arg: &str, ptr: *const i32, len: usize) -> Result<&'a [i32], Error> {
    check_range(op, arg, ptr as usize, len, 4)?;
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: as in read_f32.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A mutable view of `len` f32 values at `ptr` for results, checked to lie inside memory.
pub fn write_f32<'a>(op: &str, arg: &str, ptr: *mut f32, len: usize) -> Result<&'a mut [f32], Error> {
    check_range(op, arg, ptr as usize, len, 4)?;
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: as in read_f32; the caller gave this buffer for output.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// A mutable view of `len` u32 values at `ptr` for results such as new handles and shapes,
/// checked to lie inside memory.
pub fn write_u32<'a>(op: &str, arg: &str, ptr: *mut u32, len: usize) -> Result<&'a mut [u32], Error> {
    check_range(op, arg, ptr as usize, len, 4)?;
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: as in read_f32; the caller gave this buffer for output.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// The UTF-8 string of `len` bytes at `ptr`.
pub fn read_str<'a>(op: &str, arg: &str, ptr: *const u8, len: usize) -> Result<&'a str, Error> {
    check_range(op, arg, ptr as usize, len, 1)?;
    if len == 0 {
        return Ok("");
    }
    // SAFETY: as in read_f32.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    std::str::from_utf8(bytes).map_err(|_| Error::invalid(op, arg, "valid UTF-8", "invalid bytes"))
}
