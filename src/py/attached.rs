//! Whether the calling thread is attached to the interpreter.

use pyo3::ffi;

/// Whether the calling thread is attached to the interpreter (holds the GIL on GIL builds).
pub(crate) fn attached() -> bool {
    // SAFETY: PyGILState_Check only reads the calling thread's state; it may be called from any
    // thread, attached or not, once the interpreter is initialized (tonio runs inside it).
    unsafe { ffi::PyGILState_Check() == 1 }
}
