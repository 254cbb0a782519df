//! Whether the interpreter is shutting down.

/// Whether the interpreter has begun finalizing. Callable detached: a thread that would have to
/// re-attach to find out could be ended there by CPython.
pub(crate) fn finalizing() -> bool {
    #[cfg(Py_3_13)]
    // SAFETY: `Py_IsFinalizing` reads one atomic field of the runtime state; the C API allows it
    // from any thread, attached or not, while the interpreter exists (tonio runs inside it).
    unsafe {
        pyo3::ffi::Py_IsFinalizing() != 0
    }
    #[cfg(not(Py_3_13))]
    // SAFETY: as above: 3.11 and 3.12 export the same check as `_Py_IsFinalizing`.
    unsafe {
        _Py_IsFinalizing() != 0
    }
}

#[cfg(not(Py_3_13))]
extern "C" {
    fn _Py_IsFinalizing() -> std::ffi::c_int;
}
