//! Driving generators and coroutines: one resume call that either sends a value or throws.
//!
//! `PyIter_Send` is the C API's direct entry into a generator's frame: no method lookup and, unlike
//! calling `send()`, no `StopIteration` object when the generator returns. Throwing has no C
//! entry point, so it goes through the `throw` method and unwraps `StopIteration` by hand.

use pyo3::exceptions::{PyStopIteration, PyTypeError};
use pyo3::prelude::*;
use pyo3::{ffi, intern};

/// What a generator did when resumed.
pub(crate) enum Step<'py> {
    /// It suspended, handing this object to the scheduler.
    Yielded(Bound<'py, PyAny>),
    /// It finished with this return value.
    Returned(Bound<'py, PyAny>),
    /// It finished by raising.
    Raised(PyErr),
}

/// True for the objects a task can drive: generators (including `types.coroutine` ones) and
/// native `async def` coroutines.
pub(crate) fn is_coroutine(obj: &Bound<'_, PyAny>) -> bool {
    // SAFETY: both checks only read the type pointer of a live object we hold a reference to.
    unsafe { ffi::PyGen_Check(obj.as_ptr()) != 0 || ffi::PyCoro_CheckExact(obj.as_ptr()) != 0 }
}

/// `Ok` if `obj` can be driven as a task; else a TypeError naming `what` took the wrong object.
pub(crate) fn expect_coroutine(what: &str, obj: &Bound<'_, PyAny>) -> PyResult<()> {
    if is_coroutine(obj) {
        return Ok(());
    }
    let hint = if obj.is_callable() {
        " (did you forget to call it?)"
    } else {
        ""
    };
    Err(PyTypeError::new_err(format!(
        "{what} must be a generator or coroutine object, not {}{hint}",
        obj.get_type().name()?
    )))
}

/// Resumes `coro` with `value` (`Ok`: send, `Err`: throw the exception into it).
pub(crate) fn resume<'py>(
    py: Python<'py>,
    coro: &Bound<'py, PyAny>,
    value: Result<Bound<'py, PyAny>, PyErr>,
) -> Step<'py> {
    match value {
        Ok(value) => send(py, coro, &value),
        Err(err) => throw(py, coro, err),
    }
}

fn send<'py>(py: Python<'py>, coro: &Bound<'py, PyAny>, value: &Bound<'py, PyAny>) -> Step<'py> {
    let mut out: *mut ffi::PyObject = std::ptr::null_mut();
    // SAFETY: `coro` is a live generator or coroutine (checked by `is_coroutine` before it was put
    // on a task's stack) and `value` a live object; we are attached to the interpreter. On NEXT
    // and RETURN `out` holds a new (owned) reference; on ERROR an exception is set and `out` is
    // untouched.
    let result = unsafe { ffi::PyIter_Send(coro.as_ptr(), value.as_ptr(), &mut out) };
    match result {
        // SAFETY: `out` is a new, non-null reference on NEXT and RETURN (see above).
        ffi::PySendResult::PYGEN_NEXT => Step::Yielded(unsafe { Bound::from_owned_ptr(py, out) }),
        ffi::PySendResult::PYGEN_RETURN => {
            // SAFETY: as above, `out` is a new, non-null reference.
            Step::Returned(unsafe { Bound::from_owned_ptr(py, out) })
        }
        ffi::PySendResult::PYGEN_ERROR => Step::Raised(PyErr::fetch(py)),
    }
}

fn throw<'py>(py: Python<'py>, coro: &Bound<'py, PyAny>, err: PyErr) -> Step<'py> {
    match coro.call_method1(intern!(py, "throw"), (err.into_value(py),)) {
        Ok(yielded) => Step::Yielded(yielded),
        Err(err) if err.is_instance_of::<PyStopIteration>(py) => {
            // The generator caught the exception and returned: its value rides on StopIteration.
            match err.value(py).getattr(intern!(py, "value")) {
                Ok(value) => Step::Returned(value),
                Err(err) => Step::Raised(err),
            }
        }
        Err(err) => Step::Raised(err),
    }
}
