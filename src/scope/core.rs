//! `ScopeCore`: a cancel scope and the tasks spawned into it.
//!
//! One structure serves `scope()`, `move_on_after()` and `fail_after()`. It covers two things:
//! - the *body* (`body.rs`): the code of the task that entered it, between enter and exit.
//!   Cancelling the scope cancels the body (a `CancelledError` at its next suspension point) and
//!   the scope's exit absorbs that error, unless the task itself, or an enclosing scope of the
//!   task, was cancelled too: then the error keeps unwinding to whoever cancelled it. So nested
//!   deadlines compose and the earliest one wins.
//! - the *children* (`children.rs`): tasks spawned with `scope.spawn`, possibly by other
//!   children. Cancelling the scope cancels each of them (they are cancelled as tasks, so nothing
//!   inside them absorbs it). The scope is done when no child is pending; waiting for it (`yield
//!   scope()` / leaving `async with`) raises the children's failures: one as itself, several as an
//!   ExceptionGroup.
//!
//! With `cancel_on_exc` (the default), a child's failure or an exception leaving the body cancels
//! the rest of the scope (as in trio): one broken task does not leave its siblings running
//! unsupervised. The deadline (`deadline.rs`) stays armed until the scope is cancelled, or is
//! exited with no child left, so `with scope(timeout=1) as s: ...` followed by `yield s()` still
//! bounds the children.
//!
//! Everything mutable sits behind one mutex (`ScopeSynced`), taken briefly; the owner and children
//! are woken or cancelled after it is released. Lock order: scope, then event waiters, then
//! scheduler.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use pyo3::prelude::*;

use crate::runtime::Shared;
use crate::task::Task;
use crate::time::Timeout;
use crate::wait::{EventCore, WaitKind};

/// Where a child sits in its scope's list (u32 keeps `Completion`, in every task, at 16 bytes).
pub(crate) type ChildSlot = u32;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
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

pub(super) struct ScopeSynced {
    pub(super) phase: Phase,
    pub(super) owner: Weak<Task>,
    pub(super) children: Vec<Option<Weak<Task>>>,
    pub(super) free: Vec<ChildSlot>,
    pub(super) pending: usize,
    pub(super) failures: Vec<PyErr>,
    /// A waiter received the failures (so they were raised, not lost).
    pub(super) observed: bool,
    pub(super) cancel_called: bool,
    pub(super) timed_out: bool,
    pub(super) deadline: Option<Instant>,
    /// A timer for `deadline` is in the heap and still meant to fire.
    pub(super) deadline_armed: bool,
}

impl ScopeSynced {
    /// Exited with no child left: nothing can be spawned into it, nothing is left to cancel.
    pub(super) fn is_closed(&self) -> bool {
        self.phase == Phase::Exited && self.pending == 0
    }
}

pub(crate) struct ScopeCore {
    pub(super) runtime: Arc<Shared>,
    /// `cancel_called`, readable without the lock (a task checks its scopes at every
    /// suspension, see `task/dispatch.rs`).
    cancelled: AtomicBool,
    pub(super) timeout: Timeout,
    /// A failure (of a child, or of the body) cancels the scope.
    pub(super) cancel_on_exc: bool,
    synced: Mutex<ScopeSynced>,
    pub(super) done: EventCore,
}

impl ScopeCore {
    pub(crate) fn new(runtime: Arc<Shared>, timeout: Timeout, cancel_on_exc: bool) -> Arc<Self> {
        let done = EventCore::default();
        let _ = done.set();
        Arc::new(Self {
            runtime,
            cancelled: AtomicBool::new(false),
            timeout,
            cancel_on_exc,
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

    pub(super) fn synced(&self) -> MutexGuard<'_, ScopeSynced> {
        // Every critical section leaves the state consistent before anything can panic.
        self.synced
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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

    /// Whether the scope was cancelled, without taking its lock.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    pub(crate) fn timed_out(&self) -> bool {
        self.synced().timed_out
    }

    pub(crate) fn pending(&self) -> usize {
        self.synced().pending
    }

    /// The wait of joining the scope (`yield scope()`, the exit of `async with`).
    pub(crate) fn wait_kind(self: &Arc<Self>) -> WaitKind {
        WaitKind::Source(self.clone())
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
            self.cancelled.store(true, Ordering::Release);
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
                Self::disarm_if_finished(&mut synced) && reason != CancelReason::Deadline,
            )
        };
        if stale {
            self.runtime.timer_went_stale();
        }
        for child in children {
            child.cancel();
            self.runtime.release_task(child);
        }
        if let Some((recorded, owner)) = owner {
            owner.queue_if_woken(recorded);
            self.runtime.release_task(owner);
        }
        true
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
        // (Runs on a worker or a Python thread: the reactor hands its last references to a
        // worker.)
        Python::try_attach(|py| {
            for err in failures {
                err.write_unraisable(py, None);
            }
        });
    }
}
