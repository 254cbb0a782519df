//! `Waiter`: the one object a task suspends on.
//!
//! Every suspension in tonio is a task handing a `Waiter` to the scheduler: `event.wait()`,
//! `sleep()`, `yield_now()` and awaiting a `spawn()` result all produce one. In generator style the
//! task yields it (`value = yield event.wait()`); in `async def` style `await` drives the Waiter's
//! own iterator protocol, which yields the Waiter itself up through the coroutine chain to the
//! scheduler and, once resumed, returns the value the scheduler sent. So both syntaxes reach the
//! same scheduler with the same object; there is no second code path.
//!
//! A Waiter is single use. Its state goes FRESH -> TAKEN (the scheduler took it: yielding it again
//! is an error) -> DONE (an `await` received its value: awaiting it again is an error).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use pyo3::exceptions::{PyRuntimeError, PyStopIteration, PyTypeError};
use pyo3::prelude::*;

use super::EventCore;
use crate::scope::ScopeCore;
use crate::task::JoinGroup;
use crate::time::Timeout;

const FRESH: u8 = 0;
const TAKEN: u8 = 1;
const DONE: u8 = 2;

/// What a suspended task waits for; decides the value it resumes with.
#[derive(Clone)]
pub(crate) enum WaitKind {
    /// Resumes with True when the event is set, False on timeout.
    Event(Arc<EventCore>),
    /// Resumes with None when the deadline passes.
    Sleep,
    /// Resumes with None after every other runnable task had a turn.
    YieldNow,
    /// Resumes with the results of spawned tasks or blocking calls (or raises their error).
    Join(Arc<JoinGroup>),
    /// Resumes with None once every task of the scope finished (or raises their failures).
    Scope(Arc<ScopeCore>),
}

impl WaitKind {
    /// The event this wait registers the task with, if any.
    pub(crate) fn event(&self) -> Option<&EventCore> {
        match self {
            WaitKind::Event(event) => Some(event),
            WaitKind::Join(group) => Some(group.done_event()),
            WaitKind::Scope(scope) => Some(scope.done_event()),
            WaitKind::Sleep | WaitKind::YieldNow => None,
        }
    }
}

/// A single-use suspension point: yield it (generator style) or await it (`async def` style).
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct Waiter {
    kind: WaitKind,
    timeout: Timeout,
    state: AtomicU8,
}

impl Waiter {
    pub(crate) fn new(kind: WaitKind, timeout: Timeout) -> Self {
        Self {
            kind,
            timeout,
            state: AtomicU8::new(FRESH),
        }
    }

    /// Hands the wait to the scheduler. Fails if this Waiter was already yielded once.
    pub(crate) fn take(&self) -> PyResult<(WaitKind, Timeout)> {
        match self
            .state
            .compare_exchange(FRESH, TAKEN, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok((self.kind.clone(), self.timeout)),
            Err(_) => Err(PyRuntimeError::new_err(
                "this Waiter was already yielded or awaited; a Waiter can be waited on only once \
                 (call wait() again for a new one)",
            )),
        }
    }

    fn advance(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        let this = slf.get();
        match this.state.load(Ordering::Acquire) {
            // First step of an `await`: suspend by yielding ourselves to the scheduler.
            FRESH => Ok(Some(slf.clone().into_any().unbind())),
            // The scheduler took us and resumed the coroutine: the await is over.
            TAKEN => {
                this.state.store(DONE, Ordering::Release);
                Ok(None)
            }
            _ => Err(already_awaited()),
        }
    }
}

fn already_awaited() -> PyErr {
    PyRuntimeError::new_err("this Waiter was already awaited; a Waiter can be waited on only once")
}

#[pymethods]
impl Waiter {
    fn __await__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        Self::advance(slf)
    }

    /// Called by `await`/`yield from` when the scheduler resumes the task with a value.
    fn send(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let this = slf.get();
        match this.state.load(Ordering::Acquire) {
            FRESH if value.is_none() => Ok(slf.clone().into_any().unbind()),
            FRESH => Err(PyTypeError::new_err(
                "can't send a non-None value to a Waiter that has not been yielded yet",
            )),
            TAKEN => {
                this.state.store(DONE, Ordering::Release);
                Err(PyStopIteration::new_err((value.clone().unbind(),)))
            }
            _ => Err(already_awaited()),
        }
    }

    fn __repr__(&self) -> &'static str {
        match self.kind {
            WaitKind::Event(_) => "<tonio.Waiter event>",
            WaitKind::Sleep => "<tonio.Waiter sleep>",
            WaitKind::YieldNow => "<tonio.Waiter yield_now>",
            WaitKind::Join(_) => "<tonio.Waiter spawned tasks>",
            WaitKind::Scope(_) => "<tonio.Waiter scope>",
        }
    }
}

/// `sleep(seconds)`: a Waiter that resumes after `seconds` (negative: now; inf: never).
#[pyfunction]
pub(crate) fn sleep(seconds: &Bound<'_, PyAny>) -> PyResult<Waiter> {
    if seconds.is_none() {
        return Err(PyTypeError::new_err(
            "sleep delay must be a number of seconds, not None",
        ));
    }
    let timeout = Timeout::after(Some(seconds), "sleep delay")?;
    Ok(Waiter::new(WaitKind::Sleep, timeout))
}

/// `sleep_until(when)`: a Waiter that resumes once the runtime clock reaches `when` seconds.
#[pyfunction]
pub(crate) fn sleep_until(when: &Bound<'_, PyAny>) -> PyResult<Waiter> {
    let timeout = Timeout::at(when, "sleep_until time")?;
    Ok(Waiter::new(WaitKind::Sleep, timeout))
}

/// `yield_now()`: a Waiter that lets every other runnable task run once before resuming.
#[pyfunction]
pub(crate) fn yield_now() -> Waiter {
    Waiter::new(WaitKind::YieldNow, Timeout::Never)
}
