//! Driving a task: the one step function, and what each yielded object means.
//!
//! ```text
//!  worker pops task ──► begin_run ──► value = result of the wait it resumes from
//!        ┌──────────────────────────────────────────────────────────────────┐
//!        ▼                                                                  │
//!  send/throw value into the innermost coroutine of the task's stack        │
//!        │ yielded None or yield_now()  ──► reschedule (back of a queue)     │
//!        │ yielded a Waiter / Spawned   ──► resolved already? ──────────────┤
//!        │                                  else suspend + register wakes   │
//!        │ yielded a generator/coroutine ─► push it, value = None ──────────┤
//!        │ yielded anything else ─────────► value = TypeError (thrown) ─────┤
//!        │ returned v / raised e ─────────► pop; stack empty? finish ───────┘
//! ```
//!
//! A sub-coroutine runs inline on the same worker, exactly like `yield from`: its return value is
//! sent to its parent, its exception thrown into the parent. Nothing here ever panics on user
//! input: every misuse becomes a Python exception thrown into the coroutine that caused it.
//!
//! Order matters when suspending: the wait is stored in the task's core, the task's context is
//! exited, and only then is the task published as SUSPENDED and registered where it can be woken;
//! from that moment another worker may run it, so this one must not touch the core again.

use std::sync::Arc;

use pyo3::exceptions::{PyRecursionError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyBool;

use super::join::{JoinGroup, JoinHandle};
use super::state::{Outcome, RunStart, Suspend};
use super::task::{Completion, Resume, Task, TaskCore};
use crate::errors::CancelledError;
use crate::py::{self, ContextGuard, Step};
use crate::wait::{Deadline, Registered, WaitKind, Waiter};

/// How deep `yield subgenerator()` may nest inside one task.
const MAX_STACK_DEPTH: usize = 10_000;

/// Where a task goes after this run.
enum Next<'py> {
    /// The outermost coroutine (named in error reports) finished with this result.
    Finished(Bound<'py, PyAny>, PyResult<Py<PyAny>>),
    Suspend(WaitKind, Deadline),
    Reschedule,
}

/// What a yielded object asks for.
enum Dispatch<'py> {
    /// Resume the coroutine at once with this value or exception.
    Continue(PyResult<Bound<'py, PyAny>>),
    Suspend(WaitKind, Deadline),
    Reschedule,
}

/// Runs `task` until it suspends, yields to the scheduler, or finishes.
pub(crate) fn run_task(py: Python<'_>, task: Arc<Task>) {
    let start = task.state().begin_run();
    // SAFETY: `begin_run` moved the task to RUNNING on this worker: we own its core until we
    // publish it as suspended, rescheduled or done below.
    let core = unsafe { task.core() };
    let mut value = resume_value(py, &task, core, start);
    let next = {
        let _context = match &core.context {
            Some(context) => match ContextGuard::enter(context.bind(py).clone()) {
                Ok(guard) => Some(guard),
                Err(err) => {
                    value = Err(err);
                    None
                }
            },
            None => None,
        };
        drive(py, &task, core, value)
    };
    match next {
        Next::Finished(coroutine, result) => finish(py, &task, core, &coroutine, result),
        Next::Reschedule => {
            core.resume = Resume::Wait(WaitKind::YieldNow);
            task.state().reschedule();
            let runtime = Arc::clone(task.runtime());
            runtime.schedule(task);
        }
        Next::Suspend(kind, deadline) => suspend(&task, core, kind, deadline),
    }
}

/// The value (or exception) the task resumes with, from what it was waiting for and why it woke.
fn resume_value<'py>(
    py: Python<'py>,
    task: &Arc<Task>,
    core: &mut TaskCore,
    start: RunStart,
) -> PyResult<Bound<'py, PyAny>> {
    let resume = std::mem::replace(&mut core.resume, Resume::Wait(WaitKind::YieldNow));
    if let (Resume::Wait(kind), false) = (&resume, start.outcome == Outcome::Set) {
        // Woken by a timeout or a cancel: the event still lists this task; drop that entry.
        if let Some(event) = kind.event() {
            event.deregister(task);
        }
    }
    if start.cancelled {
        return Err(CancelledError::new_err("task was cancelled"));
    }
    match resume {
        Resume::Throw(err) => Err(err),
        Resume::Wait(WaitKind::Event(_)) => Ok(PyBool::new(py, start.outcome == Outcome::Set)
            .to_owned()
            .into_any()),
        Resume::Wait(WaitKind::Join(group)) => group.outcome(py).map(|value| value.into_bound(py)),
        Resume::Wait(WaitKind::Sleep | WaitKind::YieldNow) => Ok(py.None().into_bound(py)),
    }
}

fn drive<'py>(
    py: Python<'py>,
    task: &Arc<Task>,
    core: &mut TaskCore,
    mut value: PyResult<Bound<'py, PyAny>>,
) -> Next<'py> {
    loop {
        let Some(top) = core.stack.last() else {
            // Unreachable: a task with an empty stack has finished and is never run again.
            return Next::Reschedule;
        };
        let top = top.bind(py).clone();
        match py::resume(py, &top, value) {
            Step::Yielded(yielded) => match dispatch(py, task, core, yielded) {
                Dispatch::Continue(next) => value = next,
                Dispatch::Suspend(kind, deadline) => return Next::Suspend(kind, deadline),
                Dispatch::Reschedule => return Next::Reschedule,
            },
            Step::Returned(returned) => {
                core.stack.pop();
                if core.stack.is_empty() {
                    return Next::Finished(top, Ok(returned.unbind()));
                }
                value = Ok(returned);
            }
            Step::Raised(err) => {
                core.stack.pop();
                if core.stack.is_empty() {
                    return Next::Finished(top, Err(err));
                }
                value = Err(err);
            }
        }
    }
}

fn dispatch<'py>(
    py: Python<'py>,
    task: &Arc<Task>,
    core: &mut TaskCore,
    yielded: Bound<'py, PyAny>,
) -> Dispatch<'py> {
    if yielded.is_none() {
        return Dispatch::Reschedule;
    }
    if let Ok(waiter) = yielded.cast::<Waiter>() {
        return match waiter.get().take() {
            Ok((kind, deadline)) => wait_on(py, task, kind, deadline),
            Err(err) => Dispatch::Continue(Err(err)),
        };
    }
    if let Ok(handle) = yielded.cast::<JoinHandle>() {
        return join(py, task, handle.get().group());
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

/// Resolves a wait at once when it can, else asks to suspend on it.
fn wait_on<'py>(
    py: Python<'py>,
    task: &Arc<Task>,
    kind: WaitKind,
    deadline: Deadline,
) -> Dispatch<'py> {
    match kind {
        WaitKind::YieldNow => Dispatch::Reschedule,
        WaitKind::Sleep if deadline.has_passed() => Dispatch::Reschedule,
        WaitKind::Sleep => Dispatch::Suspend(kind, deadline),
        WaitKind::Event(ref event) => {
            if event.is_set() {
                resolved(task, Ok(PyBool::new(py, true).to_owned().into_any()))
            } else if deadline.has_passed() {
                resolved(task, Ok(PyBool::new(py, false).to_owned().into_any()))
            } else {
                Dispatch::Suspend(kind, deadline)
            }
        }
        WaitKind::Join(group) => join(py, task, &group),
    }
}

fn join<'py>(py: Python<'py>, task: &Arc<Task>, group: &Arc<JoinGroup>) -> Dispatch<'py> {
    if group.is_done() {
        resolved(task, group.outcome(py).map(|value| value.into_bound(py)))
    } else {
        Dispatch::Suspend(WaitKind::Join(Arc::clone(group)), Deadline::NEVER)
    }
}

/// A wait that completed without suspending still counts as a suspension point for cancellation.
fn resolved<'py>(task: &Arc<Task>, value: PyResult<Bound<'py, PyAny>>) -> Dispatch<'py> {
    if task.state().take_cancel() {
        return Dispatch::Continue(Err(CancelledError::new_err("task was cancelled")));
    }
    Dispatch::Continue(value)
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

fn suspend(task: &Arc<Task>, core: &mut TaskCore, kind: WaitKind, deadline: Deadline) {
    core.resume = Resume::Wait(kind.clone());
    let epoch = match task.state().suspend() {
        Suspend::Suspended(epoch) => epoch,
        Suspend::Cancelled => {
            // A cancel arrived while the task ran: deliver it at this suspension point.
            core.resume = Resume::Throw(CancelledError::new_err("task was cancelled"));
            task.state().reschedule();
            task.runtime().schedule(Arc::clone(task));
            return;
        }
    };
    // From here on the task may be running elsewhere: `core` must not be touched.
    if let Some(event) = kind.event() {
        if let Registered::AlreadySet = event.register(task, epoch) {
            task.wake(epoch, Outcome::Set);
            return;
        }
    }
    if let Some(at) = deadline.0 {
        task.runtime().add_timer(at, Arc::downgrade(task), epoch);
    }
}

fn finish(
    py: Python<'_>,
    task: &Arc<Task>,
    core: &mut TaskCore,
    coroutine: &Bound<'_, PyAny>,
    result: PyResult<Py<PyAny>>,
) {
    task.state().finish();
    core.context = None;
    let completion = std::mem::replace(&mut core.completion, Completion::Detached);
    match completion {
        Completion::Join { group, index } => {
            if group.complete(index, result) {
                task.runtime().group_finished(&group);
            }
        }
        Completion::Detached => {
            match result {
                // Being cancelled is how a task is told to stop, not a failure to report.
                Err(err) if !err.is_instance_of::<CancelledError>(py) => {
                    // Nobody waits for this task: report the failure instead of losing it.
                    err.write_unraisable(py, Some(coroutine));
                }
                _ => {}
            }
        }
    }
    if let Some(slot) = core.slot.take() {
        task.runtime().task_finished(slot);
    }
}
