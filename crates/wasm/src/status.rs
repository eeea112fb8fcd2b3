//! Status codes and the last error's message.

use gradlab_core::Error;
use std::cell::RefCell;

thread_local! {
    static LAST_ERROR: RefCell<String> = RefCell::new(String::new());
}

/// Runs an ABI body: `Ok` gives status 0; an error is stored for `gl_last_error_*` and its
/// status code returned.
pub fn run(body: impl FnOnce() -> Result<(), Error>) -> i32 {
    match body() {
        Ok(()) => 0,
        Err(error) => {
            let status = error.status();
            LAST_ERROR.with(|last| *last.borrow_mut() = error.to_json());
            status
        }
    }
}

/// Address of the last error's JSON text (UTF-8); valid until the next failing call.
#[no_mangle]
pub extern "C" fn gl_last_error_ptr() -> *const u8 {
    LAST_ERROR.with(|last| last.borrow().as_ptr())
}

/// Length in bytes of the last error's JSON text.
#[no_mangle]
pub extern "C" fn gl_last_error_len() -> usize {
    LAST_ERROR.with(|last| last.borrow().len())
}
