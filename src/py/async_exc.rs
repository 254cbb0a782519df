//! Raising an exception in another thread at its next Python bytecode
//! (`PyThreadState_SetAsyncExc`), how a cancelled waiter stops the blocking function it waited
//! for.

use std::ffi::c_long;

use pyo3::ffi;
use pyo3::prelude::*;

/// The calling thread's identifier, as `threading.get_ident()` gives it.
pub(crate) fn thread_ident(py: Python<'_>) -> PyResult<u64> {
    py.import("threading")?.call_method0("get_ident")?.extract()
}

/// Makes the thread `thread` raise `exception` (an exception type) at its next bytecode.
/// Returns whether a thread state was found.
pub(crate) fn raise_in(py: Python<'_>, thread: u64, exception: &Bound<'_, PyAny>) -> bool {
    let _ = py;
    // SAFETY: we are attached; `exception` is a live exception type (a new reference is taken
    // by CPython for the pending exception). The identifier is compared with the interpreter's
    // thread states; an unknown one modifies nothing.
    unsafe { ffi::PyThreadState_SetAsyncExc(thread as c_long, exception.as_ptr()) > 0 }
}

/// Clears an exception `raise_in` left pending for `thread` (which has stopped running the code
/// it was meant for).
pub(crate) fn clear_pending(py: Python<'_>, thread: u64) {
    let _ = py;
    // SAFETY: we are attached; a NULL exception clears any pending one for that thread.
    unsafe {
        ffi::PyThreadState_SetAsyncExc(thread as c_long, std::ptr::null_mut());
    }
}
