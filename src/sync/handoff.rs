//! The hand-off every primitive here is made of: a queue entry that carries a payload next to its
//! parked task, "pop waiters until one's claim wins", and the wake-ups done once the primitive's
//! lock is released.
//!
//! A primitive keeps its waiters in one `WaitList` (the shared `WaitQueue`) behind its own mutex.
//! Handing something over (a lock, a permit, a message, a barrier's release) is always the same
//! step, under that mutex: pop the longest waiter, `claim` its suspension; if the claim wins, the
//! thing is its (the task resumes with it even if a cancel comes a moment later: "handoff beats
//! cancel"); if it loses, a cancel got there first, the hand-off did not happen, and the next
//! waiter is tried. So a cancelled waiter never keeps what it did not get to use, and never
//! swallows a wake-up meant for the one behind it.
//!
//! Nothing here may run Python code under a primitive's lock: the tasks won are scheduled, and
//! the entries dropped (whose payload may hold the last reference to a message), only in
//! `Wakeups::run`, after the lock is released.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use smallvec::SmallVec;

use crate::task::{Outcome, Task};
use crate::wait::{Claim, ParkedTask, QueueKey, Registered, WaitQueue};

/// A parked task and what its hand-off needs (`()` for a lock, the per-wait slot of a channel).
pub(crate) struct Waiting<P> {
    pub(crate) task: ParkedTask,
    pub(crate) payload: P,
}

/// The one queue kind every primitive parks on.
pub(crate) type WaitList<P> = WaitQueue<Waiting<P>>;

/// What a primitive's lock holder decided, to carry out once the lock is released.
pub(crate) struct Wakeups<P = ()> {
    /// Entries whose claim won: their tasks are queued.
    won: SmallVec<[Waiting<P>; 1]>,
    /// Entries taken out without a wake (stale, or withdrawn): their task references go back.
    dropped: SmallVec<[Waiting<P>; 1]>,
}

impl<P> Default for Wakeups<P> {
    fn default() -> Self {
        Self {
            won: SmallVec::new(),
            dropped: SmallVec::new(),
        }
    }
}

impl<P> Wakeups<P> {
    /// Queues `entry`'s task (its claim won) once the lock is released.
    pub(crate) fn wake(&mut self, entry: Waiting<P>) {
        self.won.push(entry);
    }

    /// Lets go of `entry` (not woken) once the lock is released.
    pub(crate) fn discard(&mut self, entry: Waiting<P>) {
        self.dropped.push(entry);
    }

    /// Carries everything out. Call with no lock held.
    pub(crate) fn run(&mut self) {
        if self.won.is_empty() && self.dropped.is_empty() {
            return;
        }
        for entry in self.won.drain(..) {
            entry.task.schedule();
        }
        for entry in self.dropped.drain(..) {
            entry.task.release();
        }
    }
}

impl<P> Drop for Wakeups<P> {
    /// A backstop: every path calls `run` explicitly, after its lock guard is gone.
    fn drop(&mut self) {
        self.run();
    }
}

/// Pops waiters oldest first until one's claim wins and returns it: the caller makes the
/// hand-off (to the entry's payload, or by recording it as the holder) and passes it to
/// `Wakeups::wake`. Waiters whose wait already ended go to `wake` to be let go.
pub(crate) fn claim_front<P>(queue: &mut WaitList<P>, wake: &mut Wakeups<P>) -> Option<Waiting<P>> {
    while let Some(entry) = queue.pop_front() {
        if entry.task.claim(Outcome::Set) == Claim::Won {
            return Some(entry);
        }
        // `Counted` cannot happen (these waits are not combinable); `Stale`: a cancel won.
        wake.discard(entry);
    }
    None
}

/// For a `register` that finds the primitive free after all: claims the suspension for the task
/// itself, so that taking the primitive and waking the task are one step under the lock (a
/// cancel that won first takes nothing). Returns whether it won; either way the entry goes to
/// `wake` (queued if won).
pub(crate) fn claim_own<P>(task: ParkedTask, payload: P, wake: &mut Wakeups<P>) -> bool {
    let entry = Waiting { task, payload };
    if entry.task.claim(Outcome::Set) == Claim::Won {
        wake.wake(entry);
        true
    } else {
        wake.discard(entry);
        false
    }
}

/// Parks `task` at the back of `queue` and writes the entry's key into `key`, unless its
/// suspension has already ended (a cancel won): then nothing is parked. Call under the
/// primitive's lock; that is what makes "check, then park" atomic against a hand-off.
pub(crate) fn park<P>(
    queue: &mut WaitList<P>,
    task: ParkedTask,
    payload: P,
    key: &AtomicU64,
    wake: &mut Wakeups<P>,
) -> Registered {
    let entry = Waiting { task, payload };
    if !entry.task.is_current() {
        wake.discard(entry);
        return Registered::Stale;
    }
    key.store(queue.push_back(entry).pack(), Ordering::Release);
    Registered::Waiting
}

/// Takes back the task's entry that `key` (the task's own key slot, as `register` was given it)
/// names, in O(1); None if a hand-off (or close) took it already. Call under the primitive's lock
/// and give the entry to `Wakeups::discard`.
///
/// The slot may still hold the key of an earlier suspension (a wake that hands something over
/// takes the entry out without clearing it), and `deregister` may even run before `register`
/// (a cancel can wake the task the moment it is published). Such a key could name another
/// task's entry here, so an entry is only taken if it belongs to the task owning the slot.
pub(crate) fn unpark<P>(queue: &mut WaitList<P>, key: &AtomicU64) -> Option<Waiting<P>> {
    let key_slot = key;
    let key = QueueKey::unpack(key_slot.swap(QueueKey::NONE, Ordering::AcqRel))?;
    let owned = queue
        .get(key)
        .is_some_and(|entry| std::ptr::eq(entry.task.task().wait_key(), key_slot));
    if owned {
        queue.remove(key)
    } else {
        None
    }
}

/// `unpark` for a key slot that belongs to one wait object (a Condition wait's, which holds no
/// key but its own).
pub(crate) fn unpark_own<P>(queue: &mut WaitList<P>, key: &AtomicU64) -> Option<Waiting<P>> {
    QueueKey::unpack(key.swap(QueueKey::NONE, Ordering::AcqRel)).and_then(|key| queue.remove(key))
}

/// Identifies a task as the holder of a lock (0: no task, as for a plain thread's
/// `try_acquire`). Only compared, never turned back into a task.
pub(crate) fn task_id(task: &Arc<Task>) -> usize {
    Arc::as_ptr(task) as usize
}

/// The id of the task running on this thread (0 outside a task).
pub(crate) fn current_task_id() -> usize {
    crate::runtime::running_task().map_or(0, |task| task_id(&task))
}
