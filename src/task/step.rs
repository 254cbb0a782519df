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
//!
//! Cancellation is delivered as a `CancelledError` thrown at the suspension point, with one
//! exception: a task waiting for children it is responsible for (the tasks of a `spawn(...)` it
//! awaits, or of a scope it owns) first cancels them and keeps waiting until they have unwound,
//! then receives its `CancelledError` (`deferred_cancel`). So no child outlives the task that
//! waits for it.

use std::sync::Arc;

use pyo3::exceptions::{PyRecursionError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyBool;

use super::join::{JoinGroup, JoinHandle, OnCancel};
use super::state::{Outcome, RunStart, Suspend};
use super::task::{Completion, Finishing, Resume, Task, TaskCore};
use crate::errors::CancelledError;
use crate::py::{self, ContextGuard, Step};
use crate::runtime::RunningTask;
use crate::scope::{CancelReason, ScopeCore};
use crate::time::{Deadline, Timeout, TimerTarget};
use crate::wait::{Registered, WaitKind, Waiter};

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

/// How a task comes out of a suspension.
enum Resumed<'py> {
    /// Resume the coroutine with this value or exception.
    Value(PyResult<Bound<'py, PyAny>>),
    /// Go back to waiting on this (its children are still unwinding, or the wake was early).
    KeepWaiting(WaitKind),
}

/// Runs `task` until it suspends, yields to the scheduler, or finishes.
pub(crate) fn run_task(py: Python<'_>, task: Arc<Task>) {
    let start = task.state().begin_run();
    // SAFETY: `begin_run` moved the task to RUNNING on this worker: we own its core until we
    // publish it as suspended, rescheduled or done below.
    let core = unsafe { task.core() };
    if let Some(finishing) = core.finishing.take() {
        // Woken while waiting for the children of scopes it left: finish, or wait for the next.
        let _ = leave_wait(&task, core, start);
        let Finishing { coroutine, result } = *finishing;
        return complete(
            py,
            &task,
            core,
            coroutine.into_bound(py),
            result,
            start.cancelled,
        );
    }
    let mut value = match resume_value(py, &task, core, start) {
        Resumed::Value(value) => value,
        Resumed::KeepWaiting(kind) => return suspend(&task, core, kind, Deadline::NEVER),
    };
    let next = {
        let _running = RunningTask::enter(&task);
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
        Next::Finished(coroutine, result) => complete(py, &task, core, coroutine, result, false),
        Next::Reschedule => {
            core.resume = Resume::Wait(WaitKind::YieldNow);
            task.state().reschedule();
            let runtime = Arc::clone(task.runtime());
            runtime.schedule(task);
        }
        Next::Suspend(kind, deadline) => suspend(&task, core, kind, deadline),
    }
}

fn cancelled_error() -> PyErr {
    CancelledError::new_err("task was cancelled")
}

/// Takes what the task waited for out of its core and undoes the registrations that the way it
/// woke left behind: its entry in the event's list (woken by a timeout or a cancel) and its timer
/// (woken by anything but the timer).
fn leave_wait(task: &Arc<Task>, core: &mut TaskCore, start: RunStart) -> Resume {
    let resume = std::mem::replace(&mut core.resume, Resume::Wait(WaitKind::YieldNow));
    if let Resume::Wait(kind) = &resume {
        if start.outcome != Outcome::Set {
            if let Some(event) = kind.event() {
                event.deregister(task);
            }
        }
        if std::mem::take(&mut core.timer_armed) && start.outcome != Outcome::TimedOut {
            task.runtime().timers().note_stale();
        }
    }
    resume
}

/// The value (or exception) the task resumes with, from what it was waiting for and why it woke.
fn resume_value<'py>(
    py: Python<'py>,
    task: &Arc<Task>,
    core: &mut TaskCore,
    start: RunStart,
) -> Resumed<'py> {
    let resume = leave_wait(task, core, start);
    if start.cancelled || core.deferred_cancel {
        if let Resume::Wait(kind) = &resume {
            if waits_through_cancel(task, kind) {
                core.deferred_cancel = true;
                return Resumed::KeepWaiting(kind.clone());
            }
        }
        core.deferred_cancel = false;
        if let (Resume::Wait(WaitKind::Scope(scope)), false) = (&resume, task.state().is_doomed()) {
            // The children have unwound. If some failed and the cancel was the scope's own (not
            // the task's: a cancelled task must keep unwinding), the owner sees the failures;
            // else its CancelledError (and unobserved failures are reported when the scope goes).
            if let Err(failures) = scope.outcome(py) {
                return Resumed::Value(Err(failures));
            }
        }
        return Resumed::Value(Err(cancelled_error()));
    }
    Resumed::Value(match resume {
        Resume::Throw(err) => Err(*err),
        Resume::Wait(WaitKind::Event(_)) => Ok(PyBool::new(py, start.outcome == Outcome::Set)
            .to_owned()
            .into_any()),
        Resume::Wait(kind @ WaitKind::Join(_)) | Resume::Wait(kind @ WaitKind::Scope(_))
            if !joined(&kind) =>
        {
            // Woken before the group finished (a scope that was spawned into again): wait on.
            return Resumed::KeepWaiting(kind);
        }
        Resume::Wait(WaitKind::Join(group)) => group.outcome(py).map(|value| value.into_bound(py)),
        Resume::Wait(WaitKind::Scope(scope)) => scope.outcome(py).map(|value| value.into_bound(py)),
        Resume::Wait(WaitKind::Sleep | WaitKind::YieldNow) => Ok(py.None().into_bound(py)),
    })
}

/// Whether a join-like wait has finished.
fn joined(kind: &WaitKind) -> bool {
    match kind {
        WaitKind::Join(group) => group.is_done(),
        WaitKind::Scope(scope) => scope.is_done(),
        _ => true,
    }
}

/// Called when `task`, waiting on `kind`, is cancelled: cancels the children it waits for, and
/// says whether it must keep waiting for them to unwind before it receives its CancelledError.
fn waits_through_cancel(task: &Arc<Task>, kind: &WaitKind) -> bool {
    match kind {
        WaitKind::Join(group) if !group.is_done() => {
            matches!(group.cancel_members(), OnCancel::KeepWaiting)
        }
        WaitKind::Scope(scope) if !scope.is_done() && scope.is_owner(task) => {
            let _ = scope.cancel(CancelReason::Failure);
            true
        }
        _ => false,
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
            Ok((kind, timeout)) => wait_on(py, task, kind, timeout),
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
    timeout: Timeout,
) -> Dispatch<'py> {
    let clock = task.runtime().clock();
    let deadline = timeout.deadline(clock);
    match kind {
        WaitKind::YieldNow => Dispatch::Reschedule,
        WaitKind::Sleep if deadline.has_passed(clock) => Dispatch::Reschedule,
        WaitKind::Sleep => Dispatch::Suspend(kind, deadline),
        WaitKind::Event(ref event) => {
            if event.is_set() {
                resolved(task, Ok(PyBool::new(py, true).to_owned().into_any()))
            } else if deadline.has_passed(clock) {
                resolved(task, Ok(PyBool::new(py, false).to_owned().into_any()))
            } else {
                Dispatch::Suspend(kind, deadline)
            }
        }
        WaitKind::Join(group) => join(py, task, &group),
        WaitKind::Scope(scope) => join_scope(py, task, scope),
    }
}

fn join_scope<'py>(py: Python<'py>, task: &Arc<Task>, scope: Arc<ScopeCore>) -> Dispatch<'py> {
    if scope.is_done() {
        resolved(task, scope.outcome(py).map(|value| value.into_bound(py)))
    } else {
        Dispatch::Suspend(WaitKind::Scope(scope), Deadline::NEVER)
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
        return Dispatch::Continue(Err(cancelled_error()));
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
    core.timer_armed = deadline.0.is_some();
    let epoch = loop {
        match task.state().suspend() {
            Suspend::Suspended(epoch) => break epoch,
            // A cancel arrived while the task ran, and it waits for children: cancel them, then
            // wait for them (the request is consumed, so the next attempt suspends).
            Suspend::Cancelled if waits_through_cancel(task, &kind) => core.deferred_cancel = true,
            Suspend::Cancelled => {
                // Deliver it at this suspension point.
                core.timer_armed = false;
                core.resume = Resume::Throw(Box::new(cancelled_error()));
                task.state().reschedule();
                task.runtime().schedule(Arc::clone(task));
                return;
            }
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
        let target = TimerTarget::Wake {
            task: Arc::downgrade(task),
            epoch,
        };
        task.runtime().add_timer(at, target);
    }
}

/// The first scope the task left whose children still run, if any (done ones are dropped).
/// A task whose coroutine is over waits for these before it finishes.
fn unfinished_exited_scope(task: &Arc<Task>, cancel: bool) -> Option<Arc<ScopeCore>> {
    let finished: Vec<Arc<ScopeCore>>;
    let next = {
        // SAFETY: this worker runs the task, and no Python code runs while the list is borrowed.
        let scopes = unsafe { task.scopes_if_any() }?;
        finished = scopes.take_finished();
        if cancel {
            for scope in &scopes.exited {
                let _ = scope.cancel(CancelReason::Failure);
            }
        }
        scopes.exited.first().cloned()
    };
    // Dropped once the list is no longer borrowed: a scope's Drop may run Python.
    drop(finished);
    next
}

/// Finishes a task whose coroutine is over, or waits for the children of the next scope it left.
/// A task that failed or was cancelled (now, or from outside at any time: it is unwinding)
/// cancels those children first, so it never waits on work nobody wants any more.
fn complete(
    py: Python<'_>,
    task: &Arc<Task>,
    core: &mut TaskCore,
    coroutine: Bound<'_, PyAny>,
    result: PyResult<Py<PyAny>>,
    cancelled: bool,
) {
    // A task that failed or was cancelled has nobody to hand its children's work to.
    let cancel = cancelled || result.is_err() || task.state().is_doomed();
    match unfinished_exited_scope(task, cancel) {
        Some(scope) => {
            let coroutine = coroutine.unbind();
            core.finishing = Some(Box::new(Finishing { coroutine, result }));
            suspend(task, core, WaitKind::Scope(scope), Deadline::NEVER);
        }
        None => finish(py, task, core, &coroutine, result),
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
    // SAFETY: this worker runs the task; its code has finished, so no scope can be entered again.
    if let Some(scopes) = unsafe { task.scopes_if_any() } {
        scopes.active.clear();
    }
    let completion = std::mem::replace(&mut core.completion, Completion::Detached);
    match completion {
        Completion::Join { group, index } => {
            if group.complete(index, result) {
                task.runtime().group_finished(&group);
            }
        }
        Completion::Scope { scope, slot } => scope.child_finished(py, slot, result),
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
    if let Some(slot) = task.take_slot() {
        task.runtime().task_finished(slot);
    }
}
