//! `Parked`: who a wait source wakes, and how.
//!
//! Every source (an event, a join, a lock, a socket's readiness) keeps its waiters as `Parked`
//! entries in a `WaitQueue`. An entry names a suspended task and the suspension it belongs to (the
//! epoch): waking it is the task-state CAS that only the first waker of that suspension wins, so
//! an entry outliving its wait can never wake the task's *next* suspension. A plain thread blocked
//! in `block_on` parks the same way.
//!
//! Waking has two halves so that hand-offs can be made under a source's lock: `claim` is the CAS
//! alone (no allocation, no Python, no queue: safe under any lock) and tells whether this wake won;
//! `schedule` then queues the task, after the lock is released. `wake` does both.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::task::{Epoch, Outcome, Tag, Task};

/// The countdown of an `all` wait: the task wakes when every source has fired once.
#[derive(Debug)]
pub(crate) struct Countdown(AtomicUsize);

impl Countdown {
    pub(crate) fn new(count: usize) -> Arc<Self> {
        Arc::new(Self(AtomicUsize::new(count)))
    }
}

/// A suspended task as a source sees it.
pub(crate) struct ParkedTask {
    task: Arc<Task>,
    epoch: Epoch,
    /// Which source of an `any` wait this entry belongs to.
    tag: Tag,
    /// Set for the sources of an `all` wait.
    countdown: Option<Arc<Countdown>>,
    /// Set for the branches of an `any` wait nested in an `all` wait: only the first branch to
    /// fire counts the `all` down.
    latch: Option<Arc<AtomicBool>>,
}

/// A waiter parked on a source.
pub(crate) enum Parked {
    Task(ParkedTask),
    /// A plain thread blocked in `EventCore::wait_blocking` (`block_on`).
    Thread(std::thread::Thread),
}

/// What claiming a parked waiter achieved.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// This wake won the suspension: call `schedule` (outside any lock).
    Won,
    /// One source of an `all` wait fired; others have yet to.
    Counted,
    /// The wait already ended (another source, a timeout or a cancel won): nothing to do.
    Stale,
}

impl ParkedTask {
    pub(crate) fn new(task: Arc<Task>, epoch: Epoch) -> Self {
        Self {
            task,
            epoch,
            tag: 0,
            countdown: None,
            latch: None,
        }
    }

    /// The same suspension, as source `tag` of an `any` wait.
    pub(crate) fn tagged(&self, tag: Tag) -> Self {
        Self {
            task: Arc::clone(&self.task),
            epoch: self.epoch,
            tag,
            countdown: self.countdown.clone(),
            latch: self.latch.clone(),
        }
    }

    /// The same suspension, as one source of an `all` wait counted down by `countdown`.
    pub(crate) fn counted(&self, countdown: &Arc<Countdown>) -> Self {
        Self {
            task: Arc::clone(&self.task),
            epoch: self.epoch,
            tag: self.tag,
            countdown: Some(Arc::clone(countdown)),
            latch: None,
        }
    }

    /// Whether this entry counts down an `all` wait.
    pub(crate) fn is_counted(&self) -> bool {
        self.countdown.is_some()
    }

    /// The same suspension, its branches sharing `latch` (see the field).
    pub(crate) fn latched(self, latch: Arc<AtomicBool>) -> Self {
        Self {
            latch: Some(latch),
            ..self
        }
    }

    /// The suspended task (a primitive records who holds it).
    pub(crate) fn task(&self) -> &Arc<Task> {
        &self.task
    }

    /// Whether the task still waits in this suspension (a registration must not outlive it).
    pub(crate) fn is_current(&self) -> bool {
        self.task.state().is_suspended_at(self.epoch)
    }

    /// The CAS half of a wake, with `outcome`.
    pub(crate) fn claim(&self, outcome: Outcome) -> Claim {
        if let Some(latch) = &self.latch {
            if outcome == Outcome::Set && latch.swap(true, Ordering::AcqRel) {
                // A sibling branch of the same `any` already counted.
                return if self.is_current() {
                    Claim::Counted
                } else {
                    Claim::Stale
                };
            }
        }
        if let Some(countdown) = &self.countdown {
            if outcome == Outcome::Set && countdown.0.fetch_sub(1, Ordering::AcqRel) != 1 {
                return if self.is_current() {
                    Claim::Counted
                } else {
                    Claim::Stale
                };
            }
        }
        match self.task.state().wake(self.epoch, outcome, self.tag) {
            crate::task::Wake::Woken => Claim::Won,
            crate::task::Wake::Stale => Claim::Stale,
        }
    }

    /// Queues a task whose suspension this entry won (`claim` returned `Won`).
    pub(crate) fn schedule(self) {
        let runtime = Arc::clone(self.task.runtime());
        runtime.schedule(self.task);
    }

    /// Hands back the task reference of an entry that will not be scheduled, so its last
    /// reference is never dropped somewhere Python must not run.
    pub(crate) fn release(self) {
        let runtime = Arc::clone(self.task.runtime());
        runtime.release_task(self.task);
    }
}

impl Parked {
    /// Wakes the waiter with `Outcome::Set`. Call with no lock held.
    pub(crate) fn wake(self) {
        match self {
            Parked::Task(parked) => match parked.claim(Outcome::Set) {
                Claim::Won => parked.schedule(),
                Claim::Counted | Claim::Stale => parked.release(),
            },
            Parked::Thread(thread) => thread.unpark(),
        }
    }
}
