//! Driving generators and coroutines: one resume call that either sends a value or throws, and
//! the checks that keep a coroutine in one task.
//!
//! `PyIter_Send` is the C API's direct entry into a generator's frame: no method lookup and, unlike
//! calling `send()`, no `StopIteration` object when the generator returns. Throwing has no C
//! entry point, so it goes through the `throw` method and unwraps `StopIteration` by hand.
//!
//! A coroutine must never be resumed by two threads at once: on free-threaded 3.13 CPython does
//! not guard a generator's frame against that and the process crashes. Three layers keep it from
//! happening. At the call, `check_unstarted` refuses a coroutine that is running, suspended
//! somewhere, or finished, and `spawn` refuses one passed twice. A task's first resume (`start`)
//! checks again that its coroutine never ran, atomically with resuming it, so the same fresh
//! coroutine given to two tasks by two calls fails the second task cleanly. And on 3.13t every
//! resume holds the coroutine's critical section, so even a misuse those checks cannot see (one
//! fresh generator yielded inline by two tasks at the same instant) becomes CPython's "generator
//! already executing" error instead of a crash. (3.14t makes that check atomic itself; GIL builds
//! have the GIL.)

use pyo3::exceptions::{PyRuntimeError, PyStopIteration, PyTypeError};
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

/// Where a generator or coroutine is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Life {
    /// Created, never resumed.
    Unstarted,
    /// Started and suspended at a yield or await (in a task, an event loop, or by hand).
    Suspended,
    /// Running right now, on some thread.
    Running,
    /// Returned, raised or closed.
    Finished,
}

/// The life stage of `coro` (which must pass `is_coroutine`).
#[cfg(not(Py_3_14))]
pub(crate) fn life(coro: &Bound<'_, PyAny>) -> PyResult<Life> {
    use std::sync::atomic::{AtomicI8, Ordering};
    // The frame states of CPython 3.11-3.13 (Include/internal/pycore_frame.h): CREATED is the
    // lowest, the suspended states lie between it and EXECUTING (0), finished ones above it.
    #[cfg(Py_3_13)]
    const CREATED: i8 = -3;
    #[cfg(not(Py_3_13))]
    const CREATED: i8 = -2;
    let generator = coro.as_ptr().cast::<ffi::PyGenObject>();
    // SAFETY: `coro` is a live generator or native coroutine (the caller checked `is_coroutine`),
    // both of which start with the `PyGenObject` layout that pyo3-ffi declares for this
    // interpreter version. The state byte may be written by a thread running the coroutine, so it
    // is read as an atomic byte (same size and alignment as `i8`); a stale value only makes the
    // caller's check, which exists to catch misuse early, less precise.
    let state = unsafe {
        let field = std::ptr::addr_of!((*generator).gi_frame_state);
        (*field.cast::<AtomicI8>()).load(Ordering::Acquire)
    };
    Ok(match state {
        CREATED => Life::Unstarted,
        state if state < 0 => Life::Suspended,
        0 => Life::Running,
        _ => Life::Finished,
    })
}

/// The life stage of `coro` (which must pass `is_coroutine`). 3.14 hides the frame state, so it
/// is read through the public attributes.
#[cfg(Py_3_14)]
pub(crate) fn life(coro: &Bound<'_, PyAny>) -> PyResult<Life> {
    let py = coro.py();
    // SAFETY: only reads the type pointer of a live object.
    let native = unsafe { ffi::PyCoro_CheckExact(coro.as_ptr()) != 0 };
    let (running, suspended, frame) = if native {
        (
            intern!(py, "cr_running"),
            intern!(py, "cr_suspended"),
            intern!(py, "cr_frame"),
        )
    } else {
        (
            intern!(py, "gi_running"),
            intern!(py, "gi_suspended"),
            intern!(py, "gi_frame"),
        )
    };
    Ok(if coro.getattr(running)?.is_truthy()? {
        Life::Running
    } else if coro.getattr(suspended)?.is_truthy()? {
        Life::Suspended
    } else if coro.getattr(frame)?.is_none() {
        Life::Finished
    } else {
        Life::Unstarted
    })
}

/// `Ok` if `coro` was never started; else a RuntimeError saying why `what` cannot take it.
pub(crate) fn check_unstarted(what: &str, coro: &Bound<'_, PyAny>) -> PyResult<()> {
    let why = match life(coro)? {
        Life::Unstarted => return Ok(()),
        Life::Running => "is running right now",
        Life::Suspended => {
            "was already started: it is suspended in another task, an event loop or a \
             generator that is driving it"
        }
        Life::Finished => "has already finished (a coroutine can run only once)",
    };
    Err(PyRuntimeError::new_err(format!(
        "{what}: this coroutine {why}; a coroutine object belongs to one task, so pass a new one \
         (call the function again)"
    )))
}

/// The error for a coroutine passed twice (`what` names the two places).
pub(crate) fn already_owned(what: &str) -> PyErr {
    PyRuntimeError::new_err(format!(
        "{what} are the same coroutine object; a coroutine belongs to one task, so pass a new \
         one for each (call the function again)"
    ))
}

/// Starts a task's coroutine: resumes it as `resume` does, unless it is no longer unstarted (a
/// second task was given the same coroutine, or it was started elsewhere since the task was
/// created): then the task fails with a RuntimeError and the coroutine is left alone. The check
/// and the first resume are one step for every other resumer (under the coroutine's critical
/// section on free-threaded builds, the GIL elsewhere).
pub(crate) fn start<'py>(
    py: Python<'py>,
    coro: &Bound<'py, PyAny>,
    value: Result<Bound<'py, PyAny>, PyErr>,
) -> Step<'py> {
    if !is_coroutine(coro) {
        // A task that waits for one Waiter: the Waiter guards itself (it can be taken once).
        return resume(py, coro, value);
    }
    pyo3::sync::critical_section::with_critical_section(coro, || {
        match life(coro) {
            Ok(Life::Unstarted) => {}
            Ok(_) => {
                return Step::Raised(PyRuntimeError::new_err(
                    "this task's coroutine was started by someone else before the task ran (it \
                     was given to two tasks, or resumed by hand); a coroutine belongs to one \
                     task, so pass a new one to each",
                ))
            }
            Err(err) => return Step::Raised(err),
        }
        match value {
            Ok(value) => send(py, coro, &value),
            Err(err) => throw(py, coro, err),
        }
    })
}

/// Resumes `coro` with `value` (`Ok`: send, `Err`: throw the exception into it).
pub(crate) fn resume<'py>(
    py: Python<'py>,
    coro: &Bound<'py, PyAny>,
    value: Result<Bound<'py, PyAny>, PyErr>,
) -> Step<'py> {
    guarded(coro, || match value {
        Ok(value) => send(py, coro, &value),
        Err(err) => throw(py, coro, err),
    })
}

/// Runs `resume` under the coroutine's critical section where CPython needs one (see the module
/// documentation).
#[cfg(all(Py_GIL_DISABLED, not(Py_3_14)))]
fn guarded<'py>(coro: &Bound<'py, PyAny>, resume: impl FnOnce() -> Step<'py>) -> Step<'py> {
    pyo3::sync::critical_section::with_critical_section(coro, resume)
}

#[cfg(not(all(Py_GIL_DISABLED, not(Py_3_14))))]
fn guarded<'py>(_coro: &Bound<'py, PyAny>, resume: impl FnOnce() -> Step<'py>) -> Step<'py> {
    resume()
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
