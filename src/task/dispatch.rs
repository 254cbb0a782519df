//! What an object a task yields means.
//!
//! - `None`, `yield_now()`: back of a run queue.
//! - a `Waiter` (or a `Spawned`, awaited directly by generator code): resolved at once if its
//!   source can (`WaitSource::try_now`), else the task suspends on it.
//! - a generator or coroutine: run inline, like `yield from`.
//! - anything else: a TypeError thrown back into the coroutine that yielded it.
//!
//! A pending cancellation is checked *before* a source is asked to resolve at once, so a cancelled
//! task never takes a hand-off (a lock, a message) it will not get to use. A cancellation to
//! deliver, pending or terminal, goes through the source's `on_cancel`: a wait for spawned tasks
//! cancels them and waits until they have unwound.

use std::sync::Arc;

use pyo3::exceptions::{PyRecursionError, PyTypeError};
use pyo3::prelude::*;

use super::driver::cancelled_error;
use super::spawned::Spawned;
use super::task::{Task, TaskCore};
use crate::errors::CancelledError;
use crate::py;
use crate::time::{Deadline, Timeout};
use crate::wait::{OnCancel, Resumed, Taken, WaitKind, Waiter};

/// How deep `yield subgenerator()` may nest inside one task.
const MAX_STACK_DEPTH: usize = 10_000;

/// What a yielded object asks for.
pub(super) enum Dispatch<'py> {
    /// Resume the coroutine at once with this value or exception.
    Continue(PyResult<Bound<'py, PyAny>>),
    Suspend(WaitKind, Deadline),
    Reschedule,
}

pub(super) fn dispatch<'py>(
    py: Python<'py>,
    task: &Arc<Task>,
    core: &mut TaskCore,
    yielded: Bound<'py, PyAny>,
) -> Dispatch<'py> {
    if yielded.is_none() {
        if task.state().take_cancel() || recancel(py, task, core) {
            return Dispatch::Continue(Err(cancelled_error()));
        }
        return Dispatch::Reschedule;
    }
    // The scheduler never keeps the yielded Waiter itself (a suspension clones its kind):
    // `ReusableWaiter` relies on a parked task not holding it.
    if let Ok(waiter) = yielded.cast::<Waiter>() {
        return match waiter.get().take() {
            Ok(taken) => wait_on(py, task, core, taken),
            Err(err) => Dispatch::Continue(Err(err)),
        };
    }
    if let Ok(spawned) = yielded.cast::<Spawned>() {
        let kind = spawned.get().wait_kind();
        let taken = Taken {
            kind: &kind,
            timeout: Timeout::Never,
            payload: None,
            asked: false,
        };
        return wait_on(py, task, core, taken);
    }
    if py::is_coroutine(&yielded) {
        if core.stack.len() >= MAX_STACK_DEPTH {
            return Dispatch::Continue(Err(PyRecursionError::new_err(format!(
                "sub-coroutines nested more than {MAX_STACK_DEPTH} deep in one task"
            ))));
        }
        core.stack.push(yielded.unbind());
        return Dispatch::Continue(Ok(py.None().into_bound(py)));
    }
    Dispatch::Continue(Err(bad_yield(&yielded)))
}

/// Resolves a wait at once when it can, else asks to suspend on it. A Waiter's `payload` (a
/// send's message) goes to the source through the task's hand-off slot, unless a cancel comes
/// first (then it is dropped: nothing was sent). `asked`: the await's first step just found the
/// source unable to resolve it (`Waiter::complete_inline`), so it is not asked again before the
/// task parks (registering checks once more, under the source's lock).
fn wait_on<'py>(
    py: Python<'py>,
    task: &Arc<Task>,
    core: &mut TaskCore,
    taken: Taken<'_>,
) -> Dispatch<'py> {
    let Taken {
        kind,
        timeout,
        payload,
        asked,
    } = taken;
    let clock = task.runtime().clock();
    // One reading of the clock serves the deadline and the checks against it.
    let now = match timeout {
        Timeout::Never => None,
        _ => Some(clock.now()),
    };
    let deadline = timeout.deadline_from(now);
    let passed = deadline.0.zip(now).is_some_and(|(at, now)| at <= now);
    // A cancellation to deliver: pending, or terminal (`recancel`). Either way the source is
    // told (`on_cancel`), so a wait for spawned tasks cancels them and waits until they have
    // unwound instead of leaving them running behind the task.
    let cancelled = task.state().take_cancel() || recancel(py, task, core);
    let source = match kind {
        WaitKind::YieldNow | WaitKind::Sleep if cancelled => {
            return Dispatch::Continue(Err(cancelled_error()))
        }
        WaitKind::YieldNow => return Dispatch::Reschedule,
        WaitKind::Sleep if passed => return Dispatch::Reschedule,
        WaitKind::Sleep => return Dispatch::Suspend(kind.clone(), deadline),
        WaitKind::Source(source) => source,
    };
    if cancelled {
        // A suspension point even when the wait could resolve at once.
        if source.on_cancel(task) == OnCancel::KeepWaiting {
            core.deferred_cancel = true;
            return Dispatch::Suspend(kind.clone(), Deadline::NEVER);
        }
        return Dispatch::Continue(Err(cancelled_error()));
    }
    if let Some(payload) = payload {
        // SAFETY: this worker runs the task.
        unsafe { task.handoff().give(payload) };
    }
    if !asked {
        if let Some(value) = source.try_now(py, task) {
            return Dispatch::Continue(value.map(|value| value.into_bound(py)));
        }
    }
    if passed {
        return match source.resume(py, task, crate::task::Outcome::TimedOut, 0) {
            Resumed::Value(value) => Dispatch::Continue(value.map(|value| value.into_bound(py))),
            Resumed::KeepWaiting => Dispatch::Suspend(kind.clone(), Deadline::NEVER),
        };
    }
    Dispatch::Suspend(kind.clone(), deadline)
}

/// Cancellation is terminal: a task that was cancelled (from outside, or inside a scope of its
/// that is cancelled) and swallowed its CancelledError is cancelled again at each later
/// suspension point, while code running as the error propagates (`finally`, `except ...:
/// raise`) may still wait. Whether the task is handling a CancelledError is read from its
/// suspended frames (`py::handling`). Not for a task that waits for the children its cancel
/// cancelled: it receives its CancelledError once they have unwound.
fn recancel(py: Python<'_>, task: &Arc<Task>, core: &TaskCore) -> bool {
    if core.deferred_cancel {
        return false;
    }
    // SAFETY: this worker runs the task.
    if !unsafe { task.doomed_or_in_cancelled_scope() } {
        return false;
    }
    let exception = py.get_type::<CancelledError>();
    !py::handling(py, &core.stack, &exception)
}

fn bad_yield(yielded: &Bound<'_, PyAny>) -> PyErr {
    let type_name = yielded
        .get_type()
        .fully_qualified_name()
        .map(|name| name.to_string())
        .unwrap_or_else(|_| "<unknown>".to_owned());
    if type_name.starts_with("asyncio.") || type_name.starts_with("_asyncio.") {
        return PyTypeError::new_err(format!(
            "{type_name} cannot be awaited by a tonio task: tonio does not run asyncio objects \
             (use tonio's Event, sleep and spawn instead)"
        ));
    }
    PyTypeError::new_err(format!(
        "a tonio task yielded {type_name}; a task can only yield None, a Waiter (event.wait(), \
         sleep(), yield_now()), the result of spawn(), or a generator/coroutine to run inline \
         (to wait for several coroutines, pass them to spawn())"
    ))
}
