//! Driving a task: the one function that resumes Python code, from the wake that ended a
//! suspension to the next suspension, reschedule or completion.
//!
//! ```text
//!  worker pops task ──► begin_run ──► value = what the wait it resumes from delivered
//!        ┌──────────────────────────────────────────────────────────────────┐
//!        ▼                                                                  │
//!  send/throw value into the innermost coroutine of the task's stack        │
//!        │ yielded something ──► dispatch.rs decides:                       │
//!        │     resolved at once (event set, group done) ────────────────────┤
//!        │     a sub-coroutine: push it, value = None ──────────────────────┤
//!        │     suspend on a wait / reschedule ──► suspend() below           │
//!        │ returned v / raised e ─► pop; stack empty? completion.rs ────────┘
//! ```
//!
//! A sub-coroutine runs inline on the same worker, exactly like `yield from`: its return value is
//! sent to its parent, its exception thrown into the parent.
//!
//! Order matters when suspending: the wait is stored in the task's core, the task's context is
//! exited, and only then is the task published as SUSPENDED and registered where it can be woken
//! (`WaitSource::register`); from that moment another worker may run it, so this one must not
//! touch the core again.
//!
//! Cancellation is delivered as a `CancelledError` thrown at the suspension point, unless the
//! wait's source says to keep waiting first (`OnCancel::KeepWaiting`: a task waiting for children
//! it is responsible for cancels them and waits until they have unwound, `deferred_cancel`). A
//! cancel that arrives after a wake delivered something waits for the next suspension point
//! ("handoff beats cancel", `state.rs`).
//!
//! Nothing here panics on user input: every misuse becomes a Python exception thrown into the
//! coroutine that caused it. A panic anyway (a bug in tonio) fails the task with a RuntimeError
//! that reaches whoever waits for it; the worker and the runtime go on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use super::completion::complete;
use super::dispatch::{dispatch, Dispatch};
use super::state::{Outcome, RunStart, Suspend};
use super::task::{Finishing, Resume, Task, TaskCore};
use crate::errors::CancelledError;
use crate::py::{self, ContextGuard, Step};
use crate::runtime::RunningTask;
use crate::time::{Deadline, TimerTarget};
use crate::wait::{OnCancel, ParkedTask, Registered, Resumed, WaitKind};

/// Where a task goes after this run.
pub(super) enum Next<'py> {
    /// The outermost coroutine (named in error reports) finished with this result.
    Finished(Option<Bound<'py, PyAny>>, PyResult<Py<PyAny>>),
    Suspend(WaitKind, Deadline),
    Reschedule,
}

/// How a task comes out of a suspension.
enum Woken<'py> {
    /// Resume the coroutine with this value or exception.
    Value(PyResult<Bound<'py, PyAny>>),
    /// Go back to waiting on this (children still unwinding, or the wake was early).
    KeepWaiting(WaitKind),
}

pub(crate) fn cancelled_error() -> PyErr {
    CancelledError::new_err("task was cancelled")
}

/// What happens to a task once this run no longer borrows its core.
pub(super) enum After {
    /// Publish it as suspended on this wait (its core was prepared by `prepare_suspension`).
    Suspend(WaitKind, Deadline),
    /// Back of a run queue: it yielded to the scheduler, or receives a cancel at once.
    Reschedule,
    /// It finished: DONE is published and nothing is left to do.
    Done,
}

/// Runs `task` until it suspends, yields to the scheduler, or finishes.
pub(crate) fn run_task(py: Python<'_>, task: Arc<Task>) {
    crate::scheduler::budget::refill();
    let start = task.state().begin_run();
    let mut after = {
        // SAFETY: `begin_run` moved the task to RUNNING on this worker: we own its core until we
        // publish it as suspended, rescheduled or done, which happens only after this borrow
        // ends (a `&mut` must not be live while another worker may take the task over).
        let core = unsafe { task.core() };
        advance(py, &task, core, start)
    };
    loop {
        match after {
            After::Done => return,
            After::Reschedule => {
                task.state().reschedule();
                let runtime = Arc::clone(task.runtime());
                return runtime.schedule(task);
            }
            After::Suspend(kind, deadline) => match publish(&task, &kind, deadline) {
                Published::Suspended => return,
                Published::Cancelled => {
                    // SAFETY: publishing failed, so the task is still RUNNING on this worker
                    // and its core is ours again; the borrow ends within this arm.
                    let core = unsafe { task.core() };
                    after = cancelled_at_suspension(&task, core, kind, deadline);
                }
            },
        }
    }
}

/// Everything this run does with the task's core: the wake it resumes from, its coroutines, and
/// where it goes next.
fn advance(py: Python<'_>, task: &Arc<Task>, core: &mut TaskCore, start: RunStart) -> After {
    if let Some(finishing) = core.finishing.take() {
        // Woken while waiting for the children of scopes it left: finish, or wait for the next.
        let _ = leave_wait(task, core, start);
        let Finishing { coroutine, result } = *finishing;
        let coroutine = coroutine.map(|coroutine| coroutine.into_bound(py));
        return complete(py, task, core, coroutine, result, start.cancelled);
    }
    let stepped = catch_unwind(AssertUnwindSafe(|| step(py, task, core, start)));
    match stepped.unwrap_or_else(|_| internal_failure(py, core)) {
        Next::Finished(coroutine, result) => complete(py, task, core, coroutine, result, false),
        Next::Reschedule => {
            core.resume = Resume::Wait(WaitKind::YieldNow);
            After::Reschedule
        }
        Next::Suspend(kind, deadline) => prepare_suspension(task, core, kind, deadline),
    }
}

/// Resumes the task's coroutines with what woke it, until they suspend or finish.
fn step<'py>(py: Python<'py>, task: &Arc<Task>, core: &mut TaskCore, start: RunStart) -> Next<'py> {
    let mut value = match woken(py, task, core, start) {
        Woken::Value(value) => value,
        Woken::KeepWaiting(kind) => return Next::Suspend(kind, Deadline::NEVER),
    };
    let _running = RunningTask::enter(task);
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
    drive(py, task, core, value, start.first)
}

/// A panic escaped while the task ran (a bug in tonio): the task fails with a RuntimeError,
/// and its coroutines are dropped (Python finalizes them).
fn internal_failure<'py>(py: Python<'py>, core: &mut TaskCore) -> Next<'py> {
    let outermost = core
        .stack
        .first()
        .map(|coroutine| coroutine.bind(py).clone());
    core.stack.clear();
    core.deferred_cancel = false;
    core.resume = Resume::Wait(WaitKind::YieldNow);
    let error = PyRuntimeError::new_err(
        "tonio internal error while running this task (see the panic message above); the task \
         was stopped",
    );
    Next::Finished(outermost, Err(error))
}

/// Takes what the task waited for out of its core and undoes the registrations that the way it
/// woke left behind: its entry in the source (woken by anything but the source) and its timer
/// (woken by anything but the timer).
pub(super) fn leave_wait(task: &Arc<Task>, core: &mut TaskCore, start: RunStart) -> Resume {
    let resume = std::mem::replace(&mut core.resume, Resume::Wait(WaitKind::YieldNow));
    if let Resume::Wait(kind) = &resume {
        if start.outcome != Outcome::Set {
            if let Some(source) = kind.source() {
                source.deregister(task.wait_key());
            }
        }
        if std::mem::take(&mut core.timer_armed) && start.outcome != Outcome::TimedOut {
            task.runtime().timer_went_stale();
        }
    }
    resume
}

/// The value (or exception) the task resumes with, from what it was waiting for and why it woke.
fn woken<'py>(
    py: Python<'py>,
    task: &Arc<Task>,
    core: &mut TaskCore,
    start: RunStart,
) -> Woken<'py> {
    let resume = leave_wait(task, core, start);
    let kind = match resume {
        Resume::Throw(err) => {
            core.deferred_cancel = false;
            return Woken::Value(Err(*err));
        }
        Resume::Wait(kind) => kind,
    };
    if start.cancelled || core.deferred_cancel {
        if let Some(source) = kind.source() {
            if source.on_cancel(task) == OnCancel::KeepWaiting {
                core.deferred_cancel = true;
                return Woken::KeepWaiting(kind);
            }
            core.deferred_cancel = false;
            // The source may have something better to report than the CancelledError (the
            // failures of the children the task waited for).
            if let Some(err) = source.resume_cancelled(py, task) {
                return Woken::Value(Err(err));
            }
        }
        core.deferred_cancel = false;
        return Woken::Value(Err(cancelled_error()));
    }
    match &kind {
        WaitKind::YieldNow | WaitKind::Sleep => Woken::Value(Ok(py.None().into_bound(py))),
        WaitKind::Source(source) => match source.resume(py, task, start.outcome, start.tag) {
            Resumed::Value(value) => Woken::Value(value.map(|value| value.into_bound(py))),
            Resumed::KeepWaiting => Woken::KeepWaiting(kind),
        },
    }
}

fn drive<'py>(
    py: Python<'py>,
    task: &Arc<Task>,
    core: &mut TaskCore,
    mut value: PyResult<Bound<'py, PyAny>>,
    mut first: bool,
) -> Next<'py> {
    loop {
        let Some(top) = core.stack.last() else {
            // Unreachable: a task with an empty stack has finished and is never run again.
            return Next::Reschedule;
        };
        let top = top.bind(py).clone();
        let step = if std::mem::take(&mut first) {
            py::start(py, &top, value)
        } else {
            py::resume(py, &top, value)
        };
        match step {
            Step::Yielded(yielded) => match dispatch(py, task, core, yielded) {
                Dispatch::Continue(next) => value = next,
                Dispatch::Suspend(kind, deadline) => return Next::Suspend(kind, deadline),
                Dispatch::Reschedule => return Next::Reschedule,
            },
            Step::Returned(returned) => {
                core.stack.pop();
                if core.stack.is_empty() {
                    return Next::Finished(Some(top), Ok(returned.unbind()));
                }
                value = Ok(returned);
            }
            Step::Raised(err) => {
                core.stack.pop();
                if core.stack.is_empty() {
                    return Next::Finished(Some(top), Err(err));
                }
                value = Err(err);
            }
        }
    }
}

/// Stores the wait in the task's core, ready for `publish`.
pub(super) fn prepare_suspension(
    task: &Arc<Task>,
    core: &mut TaskCore,
    kind: WaitKind,
    deadline: Deadline,
) -> After {
    core.resume = Resume::Wait(kind.clone());
    core.timer_armed = deadline.0.is_some();
    task.set_deadline(deadline);
    After::Suspend(kind, deadline)
}

/// What `publish` achieved.
enum Published {
    /// The task is suspended and registered; another worker may own it already.
    Suspended,
    /// A cancel was pending: the task is still RUNNING here and must take it now.
    Cancelled,
}

/// Publishes the task as suspended on `kind` and registers it where it can be woken. Takes no
/// core: once the state says SUSPENDED, another worker may be running the task.
fn publish(task: &Arc<Task>, kind: &WaitKind, deadline: Deadline) -> Published {
    let epoch = match task.state().suspend() {
        Suspend::Suspended(epoch) => epoch,
        Suspend::Cancelled => return Published::Cancelled,
    };
    // The timer first: a wake that wins before it exists could otherwise find nothing to count
    // as stale, and the entry, inserted late, would hold the task's memory until its deadline.
    if let Some(at) = deadline.0 {
        let target = TimerTarget::Wake {
            task: Arc::downgrade(task),
            epoch,
        };
        task.runtime().add_timer(at, target);
    }
    if let Some(source) = kind.source() {
        match source.register(ParkedTask::new(Arc::clone(task), epoch), task.wait_key()) {
            Registered::Waiting | Registered::Stale => {}
            Registered::Ready => task.wake(epoch, Outcome::Set),
        }
    }
    Published::Suspended
}

/// A cancel arrived while the task ran and reached it as it was about to suspend on `kind`.
fn cancelled_at_suspension(
    task: &Arc<Task>,
    core: &mut TaskCore,
    kind: WaitKind,
    deadline: Deadline,
) -> After {
    let keeps_waiting = kind
        .source()
        .is_some_and(|source| source.on_cancel(task) == OnCancel::KeepWaiting);
    if keeps_waiting {
        // It waits for children: they were cancelled, and it waits for them to unwind (the
        // request is consumed, so the next attempt suspends).
        core.deferred_cancel = true;
        return prepare_suspension(task, core, kind, deadline);
    }
    // Deliver it at this suspension point; the source never saw the task parked. A deferred
    // cancel an earlier KeepWaiting recorded is delivered now too: left set, it would disable the
    // task's next terminal cancel and turn its next wake-up (a hand-off included) into a
    // CancelledError.
    if let Some(source) = kind.source() {
        source.abandon();
    }
    core.deferred_cancel = false;
    core.timer_armed = false;
    core.resume = Resume::Throw(Box::new(cancelled_error()));
    After::Reschedule
}
