//! `ScopeCore`: a cancel scope and the tasks spawned into it.
//!
//! One structure serves `scope()`, `move_on_after()` and `fail_after()`. It covers two things:
//! - the *body*: the code of the task that entered it, between enter and exit. Cancelling the
//!   scope cancels the body (a `CancelledError` at its next suspension point) and the scope's exit
//!   absorbs that error, unless the task itself, or an enclosing scope of the task, was cancelled
//!   too: then the error keeps unwinding to whoever cancelled it. So nested deadlines compose and
//!   the earliest one wins.
//! - the *children*: tasks spawned with `scope.spawn`, possibly by other children. Cancelling the
//!   scope cancels each of them (they are cancelled as tasks, so nothing inside them absorbs it).
//!   The scope is done when no child is pending; waiting for it (`yield scope()` / leaving
//!   `async with`) raises the children's failures: one as itself, several as an ExceptionGroup.
//!
//! A child's failure cancels the rest of the scope (as in trio): one broken task does not leave
//! its siblings running unsupervised. A deadline stays armed until the scope is cancelled, or is
//! exited with no child left, so `with scope(timeout=1) as s: ...` followed by `yield s()` still
//! bounds the children.
//!
//! Everything mutable sits behind one mutex, taken briefly; the owner and children are woken or
//! cancelled after it is released. Lock order: scope, then event waiters, then scheduler.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::errors::CancelledError;
use crate::runtime::Shared;
use crate::task::{Completion, Task};
use crate::time::{Timeout, TimerTarget};
use crate::wait::EventCore;

/// Where a child sits in its scope's list (u32 keeps `Completion`, in every task, at 16 bytes).
pub(crate) type ChildSlot = u32;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Fresh,
    Entered,
    Exited,
}

/// Why a scope was cancelled.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelReason {
    /// `scope.cancel()`.
    Requested,
    /// Its deadline passed.
    Deadline,
    /// A child failed, or the body raised.
    Failure,
}

struct ScopeSynced {
    phase: Phase,
    owner: Weak<Task>,
    children: Vec<Option<Weak<Task>>>,
    free: Vec<ChildSlot>,
    pending: usize,
    failures: Vec<PyErr>,
    observed: bool,
    cancel_called: bool,
    timed_out: bool,
    deadline: Option<Instant>,
    /// A timer for `deadline` is in the heap and still meant to fire.
    deadline_armed: bool,
}

impl ScopeSynced {
    /// Exited with no child left: nothing can be spawned into it, nothing is left to cancel.
    fn is_closed(&self) -> bool {
        self.phase == Phase::Exited && self.pending == 0
    }

    /// Disarms the deadline if the scope no longer needs it; true if its timer just went stale.
    fn disarm_if_finished(&mut self) -> bool {
        if self.deadline_armed && (self.cancel_called || self.is_closed()) {
            self.deadline_armed = false;
            return true;
        }
        false
    }
}

/// What leaving a scope decided.
pub(crate) struct Exit {
    /// The body's CancelledError was this scope's own: swallow it.
    pub(crate) absorbed: bool,
}

pub(crate) struct ScopeCore {
    runtime: Arc<Shared>,
    timeout: Timeout,
    synced: Mutex<ScopeSynced>,
    done: EventCore,
}

impl ScopeCore {
    pub(crate) fn new(runtime: Arc<Shared>, timeout: Timeout) -> Arc<Self> {
        let done = EventCore::default();
        let _ = done.set();
        Arc::new(Self {
            runtime,
            timeout,
            synced: Mutex::new(ScopeSynced {
                phase: Phase::Fresh,
                owner: Weak::new(),
                children: Vec::new(),
                free: Vec::new(),
                pending: 0,
                failures: Vec::new(),
                observed: false,
                cancel_called: false,
                timed_out: false,
                deadline: None,
                deadline_armed: false,
            }),
            done,
        })
    }

    fn synced(&self) -> MutexGuard<'_, ScopeSynced> {
        // Every critical section leaves the state consistent before anything can panic.
        self.synced
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn done_event(&self) -> &EventCore {
        &self.done
    }

    pub(crate) fn is_done(&self) -> bool {
        self.synced().pending == 0
    }

    pub(crate) fn is_owner(&self, task: &Arc<Task>) -> bool {
        std::ptr::eq(self.synced().owner.as_ptr(), Arc::as_ptr(task))
    }

    pub(crate) fn cancel_called(&self) -> bool {
        self.synced().cancel_called
    }

    pub(crate) fn timed_out(&self) -> bool {
        self.synced().timed_out
    }

    pub(crate) fn pending(&self) -> usize {
        self.synced().pending
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.synced().deadline
    }

    /// Whether the scope's timer should still cancel it.
    pub(crate) fn awaits_deadline(&self) -> bool {
        self.synced().deadline_armed
    }

    /// `task` enters the scope: its code from here to `exit` is the scope's body.
    pub(crate) fn enter(self: &Arc<Self>, task: &Arc<Task>) -> PyResult<()> {
        let (deadline, cancelled) = {
            let mut synced = self.synced();
            if synced.phase != Phase::Fresh {
                return Err(PyRuntimeError::new_err(
                    "this scope was already entered; a scope can be entered only once",
                ));
            }
            synced.phase = Phase::Entered;
            synced.owner = Arc::downgrade(task);
            let deadline = self.timeout.deadline(self.runtime.clock()).0;
            synced.deadline = deadline;
            synced.deadline_armed = deadline.is_some() && !synced.cancel_called;
            (
                deadline.filter(|_| synced.deadline_armed),
                synced.cancel_called,
            )
        };
        // SAFETY: `task` is the task running on this thread (the caller took it from
        // `running_task`), and no Python code runs while the list is borrowed.
        unsafe { task.scopes() }.active.push(Arc::clone(self));
        if let Some(at) = deadline {
            self.runtime
                .add_timer(at, TimerTarget::Cancel(Arc::downgrade(self)));
        }
        if cancelled {
            // Cancelled before it was entered: the body is cancelled at its first suspension.
            task.cancel_within_scope();
        }
        Ok(())
    }

    /// `task` leaves the scope's body, with `raised` the exception unwinding through it, if any.
    pub(crate) fn exit(
        self: &Arc<Self>,
        task: &Arc<Task>,
        raised: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Exit> {
        // SAFETY: as in `enter`, `task` is the task running on this thread.
        let scopes = unsafe { task.scopes() };
        let position = scopes
            .active
            .iter()
            .rposition(|scope| Arc::ptr_eq(scope, self));
        let Some(position) = position else {
            return Err(PyRuntimeError::new_err(
                "this scope is not active in the current task (it was never entered, already \
                 exited, or entered by another task)",
            ));
        };
        scopes.active.remove(position);
        let enclosing: Vec<Arc<ScopeCore>> = scopes.active.clone();
        let enclosing_cancelled = enclosing.iter().any(|scope| scope.cancel_called());

        let (was_cancelled, stale, has_children) = {
            let mut synced = self.synced();
            synced.phase = Phase::Exited;
            // Decided under the lock that ends the body: a child spawned (by another task) after
            // this point is still seen by the owner through `exited`.
            (
                synced.cancel_called,
                synced.disarm_if_finished(),
                synced.pending > 0,
            )
        };
        let mut finished_scopes = Vec::new();
        if has_children {
            // Pruned here so a long-lived task that joins its scopes after leaving them (`yield
            // s()` after the block) does not accumulate them.
            finished_scopes = scopes.take_finished();
            scopes.exited.push(Arc::clone(self));
        }
        if stale {
            self.runtime.timers().note_stale();
        }
        if raised.is_some() {
            // The body failed or was cancelled: the children are not needed any more.
            self.cancel(CancelReason::Failure);
        }
        let own_cancel = was_cancelled && !enclosing_cancelled && !task.state().is_doomed();
        if own_cancel && task.state().take_cancel() {
            // A cancel of ours that the body never reached a suspension point to receive is
            // dropped here: it must not hit the code after the scope. But an enclosing scope or
            // the task's canceller may have asked too since we looked: then it stays.
            let still_wanted =
                task.state().is_doomed() || enclosing.iter().any(|scope| scope.cancel_called());
            if still_wanted {
                let _ = task.state().cancel(false);
            }
        }
        let absorbed =
            own_cancel && raised.is_some_and(|error| error.is_instance_of::<CancelledError>());
        // Dropped last: a scope's Drop may run Python (reporting unobserved failures).
        drop(finished_scopes);
        Ok(Exit { absorbed })
    }

    /// Spawns `coroutine` as a child. Returns false (and closes the coroutine, which never runs)
    /// if the scope was cancelled or is closed.
    pub(crate) fn spawn(
        self: &Arc<Self>,
        py: Python<'_>,
        coroutine: Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let slot = {
            let mut synced = self.synced();
            if synced.cancel_called || synced.is_closed() {
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
            coroutine.call_method0("close")?;
            return Ok(false);
        };
        let context = match self.runtime.task_context(py) {
            Ok(context) => context,
            Err(err) => {
                self.release_slot(slot);
                return Err(err);
            }
        };
        let task = Task::new(
            Arc::clone(&self.runtime),
            coroutine.unbind(),
            context,
            Completion::Scope {
                scope: Arc::clone(self),
                slot,
            },
        );
        let task = match task {
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
            // `cancel` ran between our two critical sections and could not see this child.
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

    /// Cancels the body (if a task is inside it) and every pending child. Returns true for the
    /// call that cancelled the scope, false if it already was.
    pub(crate) fn cancel(&self, reason: CancelReason) -> bool {
        let (children, owner, stale) = {
            let mut synced = self.synced();
            if synced.cancel_called {
                return false;
            }
            synced.cancel_called = true;
            synced.timed_out = reason == CancelReason::Deadline;
            let children: Vec<Arc<Task>> = synced
                .children
                .iter()
                .flatten()
                .filter_map(Weak::upgrade)
                .collect();
            // The owner's cancel is recorded under the lock: `exit` (which takes it) then either
            // runs before (the body is still inside and gets it) or sees it and discards it.
            let owner = match synced.phase {
                Phase::Entered => synced
                    .owner
                    .upgrade()
                    .map(|owner| (owner.record_cancel_within_scope(), owner)),
                Phase::Fresh | Phase::Exited => None,
            };
            (
                children,
                owner,
                synced.disarm_if_finished() && reason != CancelReason::Deadline,
            )
        };
        if stale {
            self.runtime.timers().note_stale();
        }
        for child in children {
            child.cancel();
        }
        if let Some((recorded, owner)) = owner {
            owner.queue_if_woken(recorded);
        }
        true
    }

    /// Called by the timer heap when the deadline passes.
    pub(crate) fn deadline_passed(&self) {
        let armed = std::mem::replace(&mut self.synced().deadline_armed, false);
        if armed {
            self.cancel(CancelReason::Deadline);
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
            synced.disarm_if_finished()
        };
        if stale {
            self.runtime.timers().note_stale();
        }
        if failed {
            self.cancel(CancelReason::Failure);
        }
    }

    /// What waiting for the scope gives once no child is pending: None, or the failures.
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
        match failures.len() {
            0 => Ok(py.None()),
            1 => Err(failures
                .into_iter()
                .next()
                .unwrap_or_else(|| PyRuntimeError::new_err("scope failure vanished"))),
            count => {
                let errors = PyList::new(py, failures.iter().map(|err| err.value(py)))?;
                let group = py
                    .import("builtins")?
                    .getattr("BaseExceptionGroup")?
                    .call1((format!("{count} tasks of a tonio scope failed"), errors))?;
                Err(PyErr::from_value(group))
            }
        }
    }
}

impl Drop for ScopeCore {
    fn drop(&mut self) {
        let synced = self
            .synced
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if synced.observed || synced.failures.is_empty() {
            return;
        }
        let failures = std::mem::take(&mut synced.failures);
        // Nobody waited for this scope: report its children's failures rather than lose them.
        Python::try_attach(|py| {
            for err in failures {
                err.write_unraisable(py, None);
            }
        });
    }
}
