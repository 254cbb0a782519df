//! `contextvars` support: copying the spawner's context and entering a task's context per step.

use pyo3::ffi;
use pyo3::prelude::*;

/// A copy of the calling thread's current `contextvars.Context`.
pub(crate) fn copy_current_context(py: Python<'_>) -> PyResult<Py<PyAny>> {
    // SAFETY: attached to the interpreter; returns a new reference or NULL with an exception set.
    let ptr = unsafe { ffi::PyContext_CopyCurrent() };
    if ptr.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `ptr` is a new, non-null reference.
    Ok(unsafe { Bound::from_owned_ptr(py, ptr) }.unbind())
}

/// A new, empty `contextvars.Context`.
pub(crate) fn new_context(py: Python<'_>) -> PyResult<Py<PyAny>> {
    // SAFETY: attached to the interpreter; returns a new reference or NULL with an exception set.
    let ptr = unsafe { ffi::PyContext_New() };
    if ptr.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `ptr` is a new, non-null reference.
    Ok(unsafe { Bound::from_owned_ptr(py, ptr) }.unbind())
}

/// Keeps a context entered on this thread; leaving the scope exits it.
pub(crate) struct ContextGuard<'py> {
    context: Bound<'py, PyAny>,
}

impl<'py> ContextGuard<'py> {
    /// Enters `context`. Fails if it is already entered (a context can be entered once at a time).
    pub(crate) fn enter(context: Bound<'py, PyAny>) -> PyResult<Self> {
        // SAFETY: `context` is a live `contextvars.Context` (it only ever comes from
        // `copy_current_context` or `new_context`) and we are attached; returns -1 with an
        // exception set on error.
        if unsafe { ffi::PyContext_Enter(context.as_ptr()) } != 0 {
            return Err(PyErr::fetch(context.py()));
        }
        Ok(Self { context })
    }
}

impl Drop for ContextGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: the context was entered by `enter` on this thread and nothing entered since is
        // still active (guards are dropped in reverse order), which is what PyContext_Exit needs.
        if unsafe { ffi::PyContext_Exit(self.context.as_ptr()) } != 0 {
            PyErr::fetch(self.context.py()).write_unraisable(self.context.py(), None);
        }
    }
}
