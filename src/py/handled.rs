//! Whether a suspended task's coroutines are in the middle of handling a CancelledError.
//!
//! A cancelled task may await in the code that runs while its CancelledError propagates (a
//! `finally` block, an `except CancelledError: ...; raise`), but a task that swallowed the error
//! and went on must be cancelled again at its next suspension point (see `task/dispatch.rs`). To
//! tell the two apart the runtime looks at what the task's suspended frames hold: a generator
//! or coroutine that is handling an exception keeps it (its saved exception state, and the value
//! stack of the `finally`/`except` block running), and a swallowed one is gone once the `except`
//! block ends (Python deletes the name it was bound to). CPython has no public accessor for a
//! suspended generator's exception state, but its `tp_traverse` (public C API, what the garbage
//! collector uses) visits every object the generator refers to, that state included. So the
//! check walks the task's stack and, through `gi_yieldfrom`/`cr_await`, every coroutine an
//! `await` chain is suspended in, looking for a CancelledError instance.
//!
//! It errs on the side of letting the task wait: a task that keeps a caught CancelledError in a
//! variable looks like one handling it. The check runs only for tasks that are cancelled and
//! about to suspend again, never on the normal path.

use std::ffi::{c_int, c_void};

use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::{ffi, intern};

use super::coroutine::is_coroutine;

struct Search {
    target: *mut ffi::PyTypeObject,
    found: bool,
}

unsafe extern "C" fn visit(object: *mut ffi::PyObject, arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `Search` `holds_instance` passed to `tp_traverse`, alive for the whole
    // traversal; `object` is a live object the traversed one refers to (tp_traverse never
    // visits NULL through Py_VISIT), and PyObject_TypeCheck only reads type pointers.
    unsafe {
        let search = &mut *arg.cast::<Search>();
        if ffi::PyObject_TypeCheck(object, search.target) != 0 {
            search.found = true;
            return 1;
        }
    }
    0
}

/// Whether `object` refers directly to an instance of `target`.
fn holds_instance(object: &Bound<'_, PyAny>, target: &Bound<'_, PyType>) -> bool {
    // SAFETY: PyType_GetSlot reads the slot table of a live type; it returns NULL for types
    // without the slot, which we treat as "refers to nothing".
    let traverse =
        unsafe { ffi::PyType_GetSlot(object.get_type().as_type_ptr(), ffi::Py_tp_traverse) };
    if traverse.is_null() {
        return false;
    }
    // SAFETY: the slot holds the type's `traverseproc` (that is what Py_tp_traverse is).
    let traverse: ffi::traverseproc = unsafe { std::mem::transmute(traverse) };
    let mut search = Search {
        target: target.as_type_ptr(),
        found: false,
    };
    // SAFETY: we are attached and hold a reference to `object`, a generator or coroutine that
    // is suspended (the task owning it is running here, not inside it), so its frame is
    // consistent; `visit` only reads, and `search` outlives the call.
    unsafe {
        traverse(
            object.as_ptr(),
            visit,
            (&mut search as *mut Search).cast::<c_void>(),
        );
    }
    search.found
}

/// Whether any coroutine of `stack` (or one it awaits, transitively) is handling an instance of
/// `exception` (see the module documentation).
pub(crate) fn handling(py: Python<'_>, stack: &[Py<PyAny>], exception: &Bound<'_, PyType>) -> bool {
    for coroutine in stack {
        let mut current = coroutine.bind(py).clone();
        // An `await` chain is followed to its end; a generator stack lists its levels itself.
        for _ in 0..10_000 {
            if !is_coroutine(&current) {
                break;
            }
            if holds_instance(&current, exception) {
                return true;
            }
            let inner = current
                .getattr(intern!(py, "gi_yieldfrom"))
                .or_else(|_| current.getattr(intern!(py, "cr_await")));
            match inner {
                Ok(inner) if !inner.is_none() => current = inner,
                _ => break,
            }
        }
    }
    false
}
