//! Completing a task: where its result goes, and the wait for the children of scopes it left.
//!
//! A task whose coroutine is over does not finish while scopes it left (generator syntax cannot
//! wait in `__exit__`) still have children running: it waits for them first, so no child
//! outlives its owner and whoever waits for the task sees it complete after them. A task that
//! failed or was cancelled cancels those children before waiting, since nobody wants their work
//! any more.

use std::sync::Arc;

use pyo3::prelude::*;

use super::driver::{prepare_suspension, After};
use super::task::{Completion, Finishing, Task, TaskCore};
use crate::errors::CancelledError;
use crate::scope::{CancelReason, ScopeCore};
use crate::time::Deadline;

/// The first scope the task left whose children still run, if any (done ones are dropped).
/// With `cancel`, the children of every scope it left are cancelled first.
fn unfinished_exited_scope(task: &Arc<Task>, cancel: bool) -> Option<Arc<ScopeCore>> {
    let mut finished = Vec::new();
    let to_cancel = {
        // SAFETY: this worker runs the task, and no Python code runs while the list is borrowed.
        let scopes = unsafe { task.scopes_if_any() }?;
        if cancel {
            scopes.exited_to_cancel()
        } else {
            Vec::new()
        }
    };
    // Cancelled and dropped once the list is no longer borrowed: a cancel may drop the last
    // reference of a child, and a scope's Drop may run Python.
    for scope in &to_cancel {
        let _ = scope.cancel(CancelReason::Failure);
    }
    drop(to_cancel);
    let next = {
        // SAFETY: as above.
        let scopes = unsafe { task.scopes_if_any() }?;
        scopes.next_pending(&mut finished)
    };
    drop(finished);
    next
}

/// Finishes a task whose coroutine is over, or prepares it to wait for the children of the next
/// scope it left. `coroutine` is the outermost one (named in error reports), if it still exists.
pub(super) fn complete(
    py: Python<'_>,
    task: &Arc<Task>,
    core: &mut TaskCore,
    coroutine: Option<Bound<'_, PyAny>>,
    result: PyResult<Py<PyAny>>,
    cancelled: bool,
) -> After {
    // A task that failed or was cancelled (now, or from outside at any time: it is unwinding)
    // has nobody to hand its children's work to.
    let cancel = cancelled || result.is_err() || task.state().is_doomed();
    match unfinished_exited_scope(task, cancel) {
        Some(scope) => {
            let coroutine = coroutine.map(Bound::unbind);
            core.finishing = Some(Box::new(Finishing { coroutine, result }));
            prepare_suspension(task, core, scope.wait_kind(), Deadline::NEVER)
        }
        None => {
            finish(py, task, core, coroutine.as_ref(), result);
            After::Done
        }
    }
}

fn finish(
    py: Python<'_>,
    task: &Arc<Task>,
    core: &mut TaskCore,
    coroutine: Option<&Bound<'_, PyAny>>,
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
        Completion::Spawned { group, index } => {
            if group.complete(py, index, result) {
                task.runtime().group_finished(&group);
            }
        }
        Completion::Scope { scope, slot } => scope.child_finished(py, slot, result),
        Completion::Detached => match result {
            // Being cancelled is how a task is told to stop, not a failure to report.
            Err(err) if !err.is_instance_of::<CancelledError>(py) => {
                // Nobody waits for this task: report the failure instead of losing it.
                err.write_unraisable(py, coroutine);
            }
            _ => {}
        },
    }
    // Unregistered while the coroutine is still alive: its address is the registry's key.
    if let Some(slot) = task.take_slot() {
        task.runtime().task_finished(slot);
    }
}
