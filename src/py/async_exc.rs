//! Raising an exception in another thread at its next Python bytecode
//! (`PyThreadState_SetAsyncExc`), how a cancelled waiter stops the blocking function it waited
//! for.

use std::ffi::c_long;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;

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

/// Lets an exception `raise_in` sent to the calling thread fire now, at code that does nothing,
/// and swallows it if it is `expected`: it came too late for the code it was meant for, and must
/// not hit the thread's next job. A no-op when nothing is pending.
///
/// Not `PyThreadState_SetAsyncExc(thread, NULL)`: that clears the thread's exception but (up to
/// 3.12) sets the interpreter's "asynchronous exception pending" signal, which only the delivery
/// of one clears. Left set, every thread enters the eval loop's pending-work handler at every
/// check, and on 3.11 a traced function never gets past its first instruction (the tracing
/// dispatch of `RESUME` re-checks the signal without advancing).
pub(crate) fn absorb_pending(py: Python<'_>, expected: &Bound<'_, PyType>) {
    // A module-level `pass` still starts with `RESUME`, which checks for pending work.
    if let Err(err) = py.run(c"pass", None, None) {
        if !err.get_type(py).is(expected) {
            err.write_unraisable(py, None);
        }
    }
}
