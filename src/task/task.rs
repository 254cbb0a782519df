//! `Task`: one spawned coroutine, its stack of sub-coroutines, and what it resumes with next.
//!
//! Ownership: an `Arc<Task>` is held by the runtime's registry for the task's whole life, plus by
//! whichever single place currently "has" the task: a run queue, the worker running it, or the wait
//! registrations of its current suspension (event lists hold strong references; timers hold weak
//! ones). `TaskState` decides which of these may touch it.
//!
//! `TaskCore` (the mutable part) is touched only by the worker that moved the task to RUNNING, or,
//! before the task is first queued, by the thread creating it. `scopes` (the scopes the task's
//! code is inside, and those it left while their children still ran) follows the same rule but
//! sits in its own cell, because it is changed by Python code the task runs (`with scope():`)
//! while the step function holds the core. Every hand-off between threads goes
//! through the state word or a queue, both of which order memory (release on hand-off, acquire on
//! take-over), so the core is never accessed concurrently.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use smallvec::SmallVec;

use super::registry::Slot;
use super::spawned::SpawnedCore;
use super::state::{Cancel, Epoch, Outcome, TaskState, Wake};
use crate::runtime::Shared;
use crate::scope::{ChildSlot, ScopeCore};
use crate::time::{instant_at_nanos, nanos_at, Deadline};
use crate::wait::{HandoffSlot, QueueKey, WaitKind};

/// Where a task's result goes when it finishes.
pub(crate) enum Completion {
    /// Into slot `index` of the results of a `spawn(...)`.
    Spawned { group: Arc<SpawnedCore>, index: u32 },
    /// Into the scope it was spawned in (`scope.spawn`).
    Scope {
        scope: Arc<ScopeCore>,
        slot: ChildSlot,
    },
    /// Nowhere (`spawn.without_tracking`): a failure is reported, since nobody will see it.
    Detached,
}

/// What the task receives when it next runs.
pub(crate) enum Resume {
    /// Throw this exception into the innermost coroutine. (Boxed: rare, and a PyErr would make
    /// every task 48 bytes larger.)
    Throw(Box<PyErr>),
    /// The task is suspended on this; the value follows from the outcome that woke it.
    Wait(WaitKind),
}

/// The scopes a task owns.
#[derive(Default)]
pub(crate) struct TaskScopes {
    /// Entered and not yet exited, innermost last.
    pub(crate) active: Vec<Arc<ScopeCore>>,
    /// Exited while children were still pending (generator syntax: leaving a `with` block cannot
    /// wait). The task does not finish before they are done, so no child outlives its owner.
    exited: VecDeque<Arc<ScopeCore>>,
    /// How long `exited` was after its last pruning (it is pruned when it doubles: O(1)
    /// amortized per exit, where pruning at every exit was O(n)).
    pruned_len: usize,
    /// The exited scopes were cancelled (the task failed or was cancelled): done once.
    exited_cancelled: bool,
}

impl TaskScopes {
    /// Records a scope left while its children run. Returns the exited scopes found done, for
    /// the caller to drop once it no longer borrows the list (a scope's Drop may run Python).
    pub(crate) fn push_exited(&mut self, scope: Arc<ScopeCore>) -> Vec<Arc<ScopeCore>> {
        self.exited.push_back(scope);
        if self.exited.len() < 2 * self.pruned_len.max(4) {
            return Vec::new();
        }
        let (finished, pending): (Vec<_>, Vec<_>) = std::mem::take(&mut self.exited)
            .into_iter()
            .partition(|scope| scope.is_done());
        self.exited = pending.into();
        self.pruned_len = self.exited.len();
        finished
    }

    /// The exited scopes to cancel because the task failed or was cancelled: all of them the
    /// first time, none after.
    pub(crate) fn exited_to_cancel(&mut self) -> Vec<Arc<ScopeCore>> {
        if std::mem::replace(&mut self.exited_cancelled, true) {
            return Vec::new();
        }
        self.exited.iter().cloned().collect()
    }

    /// The first exited scope whose children still run, dropping the done ones ahead of it into
    /// `finished` (each scope is looked at once: O(1) amortized).
    pub(crate) fn next_pending(
        &mut self,
        finished: &mut Vec<Arc<ScopeCore>>,
    ) -> Option<Arc<ScopeCore>> {
        while let Some(scope) = self.exited.front() {
            if !scope.is_done() {
                return Some(Arc::clone(scope));
            }
            finished.extend(self.exited.pop_front());
        }
        None
    }
}

pub(crate) struct TaskCore {
    /// The coroutine and the sub-coroutines it yielded, innermost last.
    pub(crate) stack: SmallVec<[Py<PyAny>; 2]>,
    pub(crate) resume: Resume,
    /// A copied `contextvars.Context` the task runs in (runtime option `context=True`).
    pub(crate) context: Option<Py<PyAny>>,
    pub(crate) completion: Completion,
    /// The current suspension has a timer in the heap (which goes stale if something else wakes it).
    pub(crate) timer_armed: bool,
    /// A cancellation arrived while the task waited for children it owns; it is delivered once they
    /// have all finished (see `step::resume_value`).
    pub(crate) deferred_cancel: bool,
    /// The task's coroutine finished, but scopes it left still have children running; it
    /// completes once they are done. (Boxed: rare, and tasks are many.)
    pub(crate) finishing: Option<Box<Finishing>>,
}

/// A finished coroutine's outcome, kept until the task may complete.
pub(crate) struct Finishing {
    /// The outermost coroutine (named in error reports), unless an internal error dropped it.
    pub(crate) coroutine: Option<Py<PyAny>>,
    pub(crate) result: PyResult<Py<PyAny>>,
}

pub(crate) struct Task {
    state: TaskState,
    runtime: Arc<Shared>,
    core: UnsafeCell<TaskCore>,
    /// Where the task sits in the registry (`Slot::pack`); atomic because it is written after
    /// the task became visible in the registry, and taken once when it finishes.
    slot: AtomicU64,
    /// Where the source of the current suspension keeps the key of the task's entry (see
    /// `WaitSource::register`).
    wait_key: AtomicU64,
    /// The deadline of the current suspension, in `time::nanos_at` form (0: none). Written
    /// before the task is published as suspended, so whoever cancels it can tell a wait that had
    /// already timed out (see `TaskState::cancel`).
    deadline: AtomicU64,
    /// Allocated when the task first enters a scope (most tasks never do).
    scopes: UnsafeCell<Option<Box<TaskScopes>>>,
    /// What a hand-off source (a channel) gave the task as it woke it (`wait/handoff_slot.rs`).
    handoff: HandoffSlot,
}

// SAFETY: `core` is only accessed by the one thread that owns the task according to `state` (see
// the module documentation); everything else in `Task` is itself thread-safe.
unsafe impl Sync for Task {}
// SAFETY: the Python objects inside `core` are `Py<T>`, which may move between threads; nothing
// in a task is tied to the thread that created it.
unsafe impl Send for Task {}

impl Task {
    /// A task for `coroutine`, registered with its runtime (not queued yet). Fails once the
    /// runtime is closing: the task would never run nor be freed.
    pub(crate) fn new(
        runtime: Arc<Shared>,
        coroutine: Py<PyAny>,
        context: Option<Py<PyAny>>,
        completion: Completion,
    ) -> PyResult<Arc<Self>> {
        let mut stack = SmallVec::new();
        stack.push(coroutine);
        let task = Arc::new(Self {
            state: TaskState::new(),
            runtime,
            core: UnsafeCell::new(TaskCore {
                stack,
                resume: Resume::Wait(WaitKind::YieldNow),
                context,
                completion,
                timer_armed: false,
                deferred_cancel: false,
                finishing: None,
            }),
            slot: AtomicU64::new(Slot::NONE),
            wait_key: AtomicU64::new(QueueKey::NONE),
            deadline: AtomicU64::new(0),
            scopes: UnsafeCell::new(None),
            handoff: HandoffSlot::default(),
        });
        let Some(slot) = task.runtime.registry().insert(Arc::clone(&task)) else {
            return Err(PyRuntimeError::new_err(
                "the tonio runtime is closed: it runs no more tasks",
            ));
        };
        task.slot.store(slot.pack(), Ordering::Release);
        Ok(task)
    }

    /// Unregisters a task that was created but will never be queued (its spawn call failed).
    pub(crate) fn discard(&self) {
        if let Some(slot) = self.take_slot() {
            let (task, _) = self.runtime.registry().remove(slot);
            drop(task);
        }
    }

    /// Takes the task's registry slot (once, when it finishes).
    pub(crate) fn take_slot(&self) -> Option<Slot> {
        Slot::unpack(self.slot.swap(Slot::NONE, Ordering::AcqRel))
    }

    pub(crate) fn runtime(&self) -> &Arc<Shared> {
        &self.runtime
    }

    pub(crate) fn state(&self) -> &TaskState {
        &self.state
    }

    /// The key slot of the task's current registration (see `WaitSource::register`).
    pub(crate) fn wait_key(&self) -> &AtomicU64 {
        &self.wait_key
    }

    /// Where a hand-off source leaves what it gave the task (see `wait/handoff_slot.rs`).
    pub(crate) fn handoff(&self) -> &HandoffSlot {
        &self.handoff
    }

    /// The mutable core.
    ///
    /// # Safety
    /// The caller must own the task: it is the worker that moved it to RUNNING (or the creator
    /// before the first queueing), and it must not keep the reference past handing the task on.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn core(&self) -> &mut TaskCore {
        // SAFETY: exclusivity is the caller's contract (see above).
        unsafe { &mut *self.core.get() }
    }

    /// The scopes the task owns.
    ///
    /// # Safety
    /// Only the thread running the task may call this (its code is what enters and exits scopes),
    /// and it must not keep the reference across running Python code.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn scopes(&self) -> &mut TaskScopes {
        // SAFETY: exclusivity is the caller's contract (see above).
        unsafe { &mut *self.scopes.get() }.get_or_insert_with(Box::default)
    }

    /// The scopes the task owns, if it ever entered one.
    ///
    /// # Safety
    /// As for `scopes`.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn scopes_if_any(&self) -> Option<&mut TaskScopes> {
        // SAFETY: exclusivity is the caller's contract (see `scopes`).
        unsafe { &mut *self.scopes.get() }.as_deref_mut()
    }

    /// Whether the task's cancellation is terminal: it was cancelled from outside, or one of its
    /// active scopes is cancelled (`dispatch::recancel` decides whether that raises now).
    ///
    /// # Safety
    /// Only the thread running the task may call this (it reads the task's scopes).
    pub(crate) unsafe fn doomed_or_in_cancelled_scope(&self) -> bool {
        self.state().is_doomed()
            // SAFETY: the caller runs the task (nothing else changes its scopes meanwhile); only
            // atomics are read while they are borrowed.
            || unsafe { (*self.scopes.get()).as_deref() }
                .is_some_and(|scopes| scopes.active.iter().any(|scope| scope.is_cancelled()))
    }

    /// Whether the task's next suspension point may have a cancellation to deliver: one is
    /// pending, or it is terminal. (Whether it then raises is `dispatch`'s call; this only says
    /// "not for certain nothing".)
    ///
    /// # Safety
    /// As for `doomed_or_in_cancelled_scope`.
    pub(crate) unsafe fn may_be_cancelled(&self) -> bool {
        // SAFETY: the caller's contract is the same.
        self.state().cancel_pending() || unsafe { self.doomed_or_in_cancelled_scope() }
    }

    /// Wakes the task from suspension `epoch`; a no-op if something else woke it first.
    pub(crate) fn wake(self: &Arc<Self>, epoch: Epoch, outcome: Outcome) {
        if self.state.wake(epoch, outcome, 0) == Wake::Woken {
            self.runtime.schedule(Arc::clone(self));
        }
    }

    /// Records the deadline of the suspension the task is entering (before it is published).
    pub(crate) fn set_deadline(&self, deadline: Deadline) {
        let nanos = deadline.0.map_or(0, nanos_at);
        self.deadline.store(nanos, Ordering::Release);
    }

    /// Whether the current suspension's deadline has passed.
    fn deadline_passed(&self) -> bool {
        match self.deadline.load(Ordering::Acquire) {
            0 => false,
            nanos => instant_at_nanos(nanos) <= self.runtime.clock().now(),
        }
    }

    /// Cancels the task: a `CancelledError` is thrown at its current suspension point, or at its
    /// next one if it is running or queued, and no scope inside the task absorbs it.
    pub(crate) fn cancel(self: &Arc<Self>) {
        self.request_cancel(true);
    }

    /// Cancels the code inside one of the task's own scopes: the `CancelledError` is the same, but
    /// that scope absorbs it when it reaches the scope's exit.
    pub(crate) fn cancel_within_scope(self: &Arc<Self>) {
        let recorded = self.record_cancel_within_scope();
        self.queue_if_woken(recorded);
    }

    /// The first half of `cancel_within_scope`, safe under a lock: records the request; pass
    /// the result to `queue_if_woken` once the lock is released.
    pub(crate) fn record_cancel_within_scope(&self) -> Cancel {
        self.state.cancel(false, |_| self.deadline_passed())
    }

    /// Queues the task if recording a cancel woke it from a suspension.
    pub(crate) fn queue_if_woken(self: &Arc<Self>, recorded: Cancel) {
        if recorded == Cancel::Woken {
            self.runtime.schedule(Arc::clone(self));
        }
    }

    /// Completes a task that will never run again because its runtime closed: whoever waits for
    /// it (a join, a scope, a thread in `block_on`) gets a CancelledError instead of waiting
    /// forever.
    ///
    /// # Safety
    /// No worker may run the task any more (the runtime's workers have been joined).
    pub(crate) unsafe fn abandon(&self, py: Python<'_>) {
        // SAFETY: no worker can run the task (the caller's contract), so we are its only user.
        let core = unsafe { self.core() };
        let closed = || {
            Err(crate::errors::CancelledError::new_err(
                "the runtime closed before the task finished",
            ))
        };
        match std::mem::replace(&mut core.completion, Completion::Detached) {
            Completion::Spawned { group, index } => {
                let _ = group.complete(py, index, closed());
            }
            Completion::Scope { scope, slot } => scope.child_finished(py, slot, closed()),
            Completion::Detached => {}
        }
    }

    fn request_cancel(self: &Arc<Self>, doomed: bool) {
        let recorded = self.state.cancel(doomed, |_| self.deadline_passed());
        self.queue_if_woken(recorded);
    }
}
