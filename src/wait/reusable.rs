//! `ReusableWaiter`: the Waiters of one receiving operation (`receiver.receive()`, `.next()`,
//! `__anext__`), made once and handed out again while nobody else holds them.
//!
//! A Waiter is single use, but once the task that yielded or awaited it is done with it, nothing
//! can tell it from a new one: its state is all it remembers. A loop of `yield receiver.next()`
//! would otherwise allocate, initialise and free a Python object per message (on 3.11,
//! `receiver.next()` and dropping the result: 56 ns with a new Waiter, 29 ns with the kept one).
//! So each operation keeps its last Waiter, and when the kept one's reference count is 1 (only
//! this keeper holds it: no task is awaiting it, no user variable names it) it is reset to FRESH
//! and given out again; otherwise a new one is made and kept instead.
//!
//! Only with a GIL: there the reference count is an exact plain integer, changed only by threads
//! holding the GIL, so a count of 1 read under the GIL stays 1 until this thread hands the object
//! out. A free-threaded interpreter splits the count between the owning thread and the others
//! (biased reference counting) and may defer decrements, so "nobody else holds it" cannot be read
//! off it there: those builds make a new Waiter every time.
//!
//! Only for waits without a payload: a send's Waiter carries its message until taken, and one
//! made and dropped unyielded must drop that message at once, not when the Waiter is next reused.

#[cfg(not(Py_GIL_DISABLED))]
use std::cell::UnsafeCell;
use std::sync::Arc;

use pyo3::prelude::*;

use super::source::{WaitKind, WaitSource};
use super::waiter::Waiter;
use crate::time::Timeout;

pub(crate) struct ReusableWaiter {
    source: Arc<dyn WaitSource>,
    /// The Waiter handed out last (touched only under the GIL).
    #[cfg(not(Py_GIL_DISABLED))]
    kept: UnsafeCell<Option<Py<Waiter>>>,
}

// SAFETY: `kept` is read and written only by methods taking a `Python` token, and on a GIL build
// (the only one with the field) holding that token means holding the GIL, which serializes them;
// none of them runs Python code (which could release the GIL or re-enter) while it holds a
// reference into the cell. `Py` values may move between threads.
#[cfg(not(Py_GIL_DISABLED))]
unsafe impl Sync for ReusableWaiter {}

impl ReusableWaiter {
    pub(crate) fn new(source: Arc<dyn WaitSource>) -> Self {
        Self {
            source,
            #[cfg(not(Py_GIL_DISABLED))]
            kept: UnsafeCell::new(None),
        }
    }

    /// A fresh Waiter on the source.
    #[cfg(Py_GIL_DISABLED)]
    pub(crate) fn waiter(&self, py: Python<'_>) -> PyResult<Py<Waiter>> {
        Py::new(py, self.make())
    }

    /// A fresh Waiter on the source: the kept one when nobody else holds it, else a new one.
    #[cfg(not(Py_GIL_DISABLED))]
    pub(crate) fn waiter(&self, py: Python<'_>) -> PyResult<Py<Waiter>> {
        // Every touch of the cell is a short borrow that ends before anything that may run Python
        // code (an allocation may start the garbage collector, a drop a finalizer), which could
        // come back here.
        // SAFETY: we hold the GIL (see the `Sync` impl) and the borrow ends at once.
        if let Some(waiter) = unsafe { &*self.kept.get() } {
            if crate::py::sole_reference(py, waiter) {
                // SAFETY: nobody else holds it (a reference count of 1 under the GIL): it is
                // ours to reset.
                unsafe { waiter.get().reset() };
                return Ok(waiter.clone_ref(py));
            }
        }
        let waiter = Py::new(py, self.make())?;
        // SAFETY: as above; the replaced Waiter is dropped after the borrow ends.
        let replaced = unsafe { (*self.kept.get()).replace(waiter.clone_ref(py)) };
        drop(replaced);
        Ok(waiter)
    }

    fn make(&self) -> Waiter {
        Waiter::new(WaitKind::Source(Arc::clone(&self.source)), Timeout::Never)
    }
}
