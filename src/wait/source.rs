//! `WaitSource`: the one interface every way of waiting implements.
//!
//! The step function knows nothing about events, joins, locks or sockets: it asks the source of
//! a wait to resolve at once (`try_now`), parks the suspended task on it (`register`), takes the
//! registration back when something else ended the wait (`deregister`, O(1)), and lets the source
//! say what the task resumes with (`resume`) and what a cancellation means for it (`on_cancel`).
//! A new primitive is a new implementation of this trait, parking on a `WaitQueue`; the step
//! function does not change for it.
//!
//! The contract, which is what makes wake-ups exact:
//! - `register` runs after the task was published as suspended, possibly while another worker
//!   already resumes it (a cancel can win at any moment). Under the source's own lock it must
//!   check `parked.is_current()` and park nothing for a suspension that has ended; the entry's
//!   `QueueKey` goes into the `key` slot the caller gives (the task's own, or one per branch of a
//!   combined wait), written under that same lock, and `deregister` reads it under the lock. So
//!   no entry outlives its wait, and one source object (an event) serves any number of waiters
//!   without a per-wait allocation.
//! - A source that wakes a task with `Outcome::Set` has taken the task's entry out of its queue
//!   (the task does not deregister it). A hand-off source (a lock, a channel) makes the hand-off
//!   only if its `claim` of the entry wins; then the task resumes with it even if a cancel comes
//!   right after ("handoff beats cancel", see `task/state.rs`).
//! - Nothing here runs Python code under a lock.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use pyo3::prelude::*;

use super::parked::ParkedTask;
use crate::task::{Outcome, Tag, Task};

/// What `register` did.
#[must_use]
pub(crate) enum Registered {
    /// The task is parked; the source wakes it.
    Waiting,
    /// The wait resolved meanwhile: the caller wakes the task itself (with `Outcome::Set`).
    Ready,
    /// The suspension already ended (a cancel won): nothing was parked.
    Stale,
}

/// How a task comes out of a wake.
pub(crate) enum Resumed {
    /// Resume the coroutine with this value or exception.
    Value(PyResult<Py<PyAny>>),
    /// Go back to waiting on the same source (it woke the task before it was done).
    KeepWaiting,
}

/// What a waiter does when it is cancelled.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnCancel {
    /// Stop waiting: the task receives its CancelledError now.
    GiveUp,
    /// The source cancelled work the task is responsible for (its children): keep waiting until
    /// that has unwound, then deliver the CancelledError (`resume_cancelled`).
    KeepWaiting,
}

pub(crate) trait WaitSource: Send + Sync {
    /// Resolves the wait without suspending, if it can (the event is set, the group is done).
    /// `None`: the task suspends.
    fn try_now(&self, py: Python<'_>, task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>>;

    /// Parks the suspended task on the source, keeping the entry's key in `key` (see the module
    /// contract).
    fn register(&self, parked: ParkedTask, key: &AtomicU64) -> Registered;

    /// Takes back the registration `key` names, in O(1); a no-op if the source already took it.
    fn deregister(&self, key: &AtomicU64);

    /// The wait ended before the task was registered on it (a cancel reached the task just as it
    /// was about to suspend, after `try_now` said it must wait): give back what `try_now` took
    /// for this wait (a stream's one-reader mark). Nothing was parked, so nothing else is undone.
    fn abandon(&self) {}

    /// The value the task resumes with after the source woke it (`Outcome::Set`, source `tag` of
    /// a combined wait) or after the wait's deadline passed (`Outcome::TimedOut`).
    fn resume(&self, py: Python<'_>, task: &Arc<Task>, outcome: Outcome, tag: Tag) -> Resumed;

    /// The waiting task was cancelled.
    fn on_cancel(&self, _task: &Arc<Task>) -> OnCancel {
        OnCancel::GiveUp
    }

    /// What a task cancelled while waiting raises once the source let it go (`on_cancel` said
    /// `GiveUp`, at once or after the children unwound): its CancelledError unless the source has
    /// better news.
    fn resume_cancelled(&self, _py: Python<'_>, _task: &Arc<Task>) -> Option<PyErr> {
        None
    }

    /// Whether an `await` may run `try_now` inside the awaiting coroutine
    /// (`Waiter::complete_inline`) and skip the trip through the scheduler when the wait resolves
    /// at once: for a `try_now` that needs nothing of the task but its identity (it takes from
    /// the source alone, as a channel receive does). Such a source's `register` must check again
    /// under its lock (`Ready` when the wait could proceed after all): when the inline attempt
    /// fails, the scheduler parks the task without asking `try_now` a second time.
    fn completes_inline(&self) -> Inline {
        Inline::Never
    }

    /// Whether the wait can be one source of `Waiter.any`/`Waiter.all`. Sources whose wake hands
    /// something over (a lock, a message) cannot: the combined wait would lose it.
    fn combinable(&self) -> bool {
        true
    }

    /// Whether the wait would resolve now, without taking or observing anything (how a combined
    /// wait looks at its sources before parking). Only combinable sources need it.
    fn is_ready(&self) -> bool {
        false
    }

    /// This source as an any-wait, if it is one (combining waits flattens them).
    fn as_any_wait(&self) -> Option<&super::combined::AnyWait> {
        None
    }

    /// This source as an all-wait, if it is one.
    fn as_all_wait(&self) -> Option<&super::combined::AllWait> {
        None
    }

    /// A short name for reprs and error messages.
    fn describe(&self) -> &'static str;
}

/// Which steps of a Waiter may run its wait inline (`WaitSource::completes_inline`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inline {
    Never,
    /// A step through the `am_send` slot: an `await` on 3.11, `PyIter_Send`; never a plain
    /// iteration (`list()`, `next()`), which must not take anything.
    WhenAwaited,
    /// Any first step: the Waiter is made for the interpreter to await (`__anext__`, for `async
    /// for`), so a `__next__` is an await's (how 3.12+ steps every await) and may complete it.
    AnyStep,
}

/// What a suspended task waits for.
#[derive(Clone)]
pub(crate) enum WaitKind {
    /// Resumes with None after every other runnable task had a turn.
    YieldNow,
    /// Resumes with None when the deadline passes.
    Sleep,
    /// Resumes with what the source delivers.
    Source(Arc<dyn WaitSource>),
}

impl WaitKind {
    pub(crate) fn source(&self) -> Option<&Arc<dyn WaitSource>> {
        match self {
            WaitKind::Source(source) => Some(source),
            WaitKind::YieldNow | WaitKind::Sleep => None,
        }
    }

    pub(crate) fn describe(&self) -> &'static str {
        match self {
            WaitKind::YieldNow => "yield_now",
            WaitKind::Sleep => "sleep",
            WaitKind::Source(source) => source.describe(),
        }
    }
}
