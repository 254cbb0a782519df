//! The children of a scope: tasks spawned into it, their failures, and the wait for all of them
//! (the scope is the `WaitSource` of `yield scope()` and of leaving `async with`).
//!
//! A child spawned into a cancelled scope still starts, and receives its CancelledError at its
//! first suspension point (as trio's nursery does); once the scope is closed (exited with no child
//! left) spawning is refused. Failures are collected in completion order; with `cancel_on_exc` the
//! first one cancels the rest. Cancellations of children are how they were told to stop, never
//! failures.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use super::core::{CancelReason, ChildSlot, ScopeCore};
use crate::errors::{exception_group, CancelledError};
use crate::task::{Completion, Outcome, Tag, Task};
use crate::wait::{OnCancel, ParkedTask, Registered, Resumed, WaitSource};

impl ScopeCore {
    /// Spawns `coroutine` (checked by the caller) as a child. Returns false, and closes the
    /// coroutine, which never runs, if the scope is closed.
    pub(crate) fn spawn(
        self: &Arc<Self>,
        py: Python<'_>,
        coroutine: Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let slot = {
            let mut synced = self.synced();
            if synced.is_closed() {
                None
            } else {
                let slot = match synced.free.pop() {
                    Some(slot) => slot,
                    None => {
                        let slot = ChildSlot::try_from(synced.children.len()).map_err(|_| {
                            PyRuntimeError::new_err("too many tasks running in one scope")
                        })?;
                        synced.children.push(None);
                        slot
                    }
                };
                synced.pending += 1;
                if synced.pending == 1 {
                    let _ = self.done.clear();
                }
                Some(slot)
            }
        };
        let Some(slot) = slot else {
            if crate::py::is_coroutine(&coroutine) {
                coroutine.call_method0("close")?;
            }
            return Ok(false);
        };
        let created = self.runtime.task_context(py).and_then(|context| {
            let completion = Completion::Scope {
                scope: Arc::clone(self),
                slot,
            };
            Task::new(
                Arc::clone(&self.runtime),
                coroutine.unbind(),
                context,
                completion,
            )
        });
        let task = match created {
            Ok(task) => task,
            Err(err) => {
                self.release_slot(slot);
                return Err(err);
            }
        };
        let cancelled = {
            let mut synced = self.synced();
            synced.children[slot as usize] = Some(Arc::downgrade(&task));
            synced.cancel_called
        };
        if cancelled {
            // Spawned into a cancelled scope (or `cancel` ran between our two critical sections
            // and could not see this child): it starts, and is cancelled at its first suspension.
            task.cancel();
        }
        self.runtime.schedule(task);
        Ok(true)
    }

    fn release_slot(&self, slot: ChildSlot) {
        let mut synced = self.synced();
        synced.free.push(slot);
        synced.pending -= 1;
        if synced.pending == 0 {
            let _ = self.done.set();
        }
    }

    /// Records that the child in `slot` finished with `result`.
    pub(crate) fn child_finished(
        &self,
        py: Python<'_>,
        slot: ChildSlot,
        result: PyResult<Py<PyAny>>,
    ) {
        // A child's return value is dropped before locking: dropping it may run Python code.
        let failure = match result {
            Err(err) if !err.is_instance_of::<CancelledError>(py) => Some(err),
            _ => None,
        };
        let failed = failure.is_some();
        let stale = {
            let mut synced = self.synced();
            if let Some(child) = synced.children.get_mut(slot as usize) {
                *child = None;
            }
            synced.free.push(slot);
            if let Some(err) = failure {
                synced.failures.push(err);
                synced.observed = false;
            }
            synced.pending -= 1;
            if synced.pending == 0 {
                let _ = self.done.set();
            }
            Self::disarm_if_finished(&mut synced)
        };
        if stale {
            self.runtime.timer_went_stale();
        }
        if failed && self.cancel_on_exc {
            self.cancel(CancelReason::Failure);
        }
    }

    /// What waiting for the scope gives once no child is pending: None, or the failures (one as
    /// itself, several as an ExceptionGroup).
    pub(crate) fn outcome(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let failures: Vec<PyErr> = {
            let mut synced = self.synced();
            synced.observed = true;
            synced
                .failures
                .iter()
                .map(|err| err.clone_ref(py))
                .collect()
        };
        match exception_group(py, "tasks of a tonio scope failed", failures) {
            Some(err) => Err(err),
            None => Ok(py.None()),
        }
    }
}

/// The wait for every child of a scope (`yield scope()`, leaving `async with`). The scope
/// itself is the source.
impl WaitSource for ScopeCore {
    fn try_now(&self, py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        self.is_done().then(|| self.outcome(py))
    }

    fn register(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        self.done.park(parked, key)
    }

    fn deregister(&self, key: &AtomicU64) {
        self.done.unpark(key);
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, _outcome: Outcome, _tag: Tag) -> Resumed {
        if !self.is_done() {
            // Spawned into again after the done event was set: wait on.
            return Resumed::KeepWaiting;
        }
        Resumed::Value(self.outcome(py))
    }

    fn on_cancel(&self, task: &Arc<Task>) -> OnCancel {
        if self.is_done() || !self.is_owner(task) {
            return OnCancel::GiveUp;
        }
        // The owner is cancelled: the children go too, and it waits for them to unwind.
        let _ = self.cancel(CancelReason::Failure);
        OnCancel::KeepWaiting
    }

    fn resume_cancelled(&self, py: Python<'_>, task: &Arc<Task>) -> Option<PyErr> {
        // The children have unwound. If some failed and the cancel was the scope's own (not the
        // task's: a cancelled task must keep unwinding), the owner sees the failures; else its
        // CancelledError (and unobserved failures are reported when the scope goes).
        if task.state().is_doomed() {
            return None;
        }
        self.outcome(py).err()
    }

    fn is_ready(&self) -> bool {
        self.is_done()
    }

    fn describe(&self) -> &'static str {
        "scope"
    }
}
