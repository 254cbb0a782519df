//! Whether an object has a single owner (for `ReusableWaiter`, GIL builds only).

use pyo3::prelude::*;

/// Whether `object`'s only reference is the one passed in: its reference count is 1. Exact only
/// with a GIL held (a free-threaded build splits and defers the count: this module is not built
/// there).
pub(crate) fn sole_reference<T>(_py: Python<'_>, object: &Py<T>) -> bool {
    // SAFETY: `object` is a live reference, read while attached (`_py`), which on a GIL build
    // means holding the GIL: the count cannot change under us.
    unsafe { pyo3::ffi::Py_REFCNT(object.as_ptr()) == 1 }
}
