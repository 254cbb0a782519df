//! The timer heap: deadlines of suspended tasks and of scopes, fired by the reactor thread.
//!
//! Workers insert (O(log n) under one mutex); the reactor pops what is due. Entries that arrive in
//! deadline order (the common case: many waits with the same timeout) bypass the heap and go to
//! a sorted run, a queue where insert and pop are O(1) and due entries are read in sequence
//! instead of sifted out of a large heap one cache miss at a time; pops take the earlier of the
//! two fronts. A task's entry holds a
//! *weak* reference and the suspension epoch: if the task was woken otherwise (its event was set,
//! it was cancelled) the entry is stale and firing it does nothing, and it never keeps a finished
//! task's coroutine alive. A scope's entry cancels the scope, unless it was exited first.
//!
//! Stale entries would otherwise stay until their deadline (a million cancelled hour-long sleeps
//! would pin a million task allocations for an hour). Whoever makes an entry stale says so with
//! `note_stale`; once more than half the heap is stale it is rebuilt without the dead entries, in
//! O(n), which amortizes to O(1) per stale entry.
//!
//! Timers due at the same reactor turn fire as one batch: every task whose deadline passed is woken
//! (its state CAS won, outcome `TimedOut`) before any of them is queued, so none can run and react
//! (fail, cancel its scope) before a sibling whose deadline had also passed got its timeout. A
//! cancel that reaches such a sibling afterwards waits for its next suspension point
//! ("handoff beats cancel"). Due scopes are cancelled after the batch is queued.
//!
//! Nothing here drops the last reference of a task or scope under the heap's lock, nor on the
//! reactor thread: references are handed to `Shared::release`, which gives last ones to a worker.
//!
//! `armed` is the deadline the reactor currently sleeps until. An insert that is earlier must wake
//! the reactor so it can re-arm; later inserts need no syscall. Both are read and written under
//! the heap's lock, so an insert never misses a reactor that is about to sleep.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use crate::runtime::Shared;
use crate::scope::ScopeCore;
use crate::task::{Epoch, Outcome, Task, Wake};

/// Below this many stale entries the heap is never rebuilt (it would not pay off).
const MIN_STALE_FOR_COMPACTION: usize = 1024;

/// What a timer does when its deadline passes.
pub(crate) enum TimerTarget {
    /// Wake the task from suspension `epoch` with `Outcome::TimedOut`.
    Wake { task: Weak<Task>, epoch: Epoch },
    /// Cancel everything in the scope (its deadline passed).
    Cancel(Weak<ScopeCore>),
}

/// Strong references taken while checking entries under the heap's lock, released after it: the
/// last reference to a task or scope may run Python code when dropped.
#[derive(Default)]
pub(crate) struct Graveyard {
    tasks: Vec<Arc<Task>>,
    scopes: Vec<Arc<ScopeCore>>,
}

impl Graveyard {
    /// Hands every reference to `runtime.release` (call with no lock held).
    pub(crate) fn release(self, runtime: &Shared) {
        for task in self.tasks {
            runtime.release(task);
        }
        for scope in self.scopes {
            runtime.release(scope);
        }
    }
}

impl TimerTarget {
    fn is_live(&self, graveyard: &mut Graveyard) -> bool {
        match self {
            TimerTarget::Wake { task, epoch } => task.upgrade().is_some_and(|task| {
                let live = task.state().is_suspended_at(*epoch);
                graveyard.tasks.push(task);
                live
            }),
            TimerTarget::Cancel(scope) => scope.upgrade().is_some_and(|scope| {
                let live = scope.awaits_deadline();
                graveyard.scopes.push(scope);
                live
            }),
        }
    }
}

struct TimerEntry {
    at: Instant,
    /// Insertion order: equal deadlines fire first-in, first-out.
    seq: u64,
    target: TimerTarget,
}

impl PartialEq for TimerEntry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for TimerEntry {}
impl PartialOrd for TimerEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TimerEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

#[derive(Default)]
struct TimersSynced {
    heap: BinaryHeap<Reverse<TimerEntry>>,
    /// Entries inserted in deadline order, oldest first (see the module documentation).
    run: VecDeque<TimerEntry>,
    next_seq: u64,
    /// Entries known to have become useless since the last compaction (an upper bound).
    stale: usize,
    /// The deadline the reactor sleeps until; `None` while it sleeps without one.
    armed: Option<Instant>,
}

impl TimersSynced {
    fn len(&self) -> usize {
        self.heap.len() + self.run.len()
    }

    /// The earliest entry of the heap and the run, if it is due at `now`.
    fn pop_due(&mut self, now: Instant) -> Option<TimerEntry> {
        let from_heap = match (self.heap.peek(), self.run.front()) {
            (Some(Reverse(heap)), Some(run)) => heap < run,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        if from_heap {
            if self.heap.peek()?.0.at > now {
                return None;
            }
            self.heap.pop().map(|Reverse(entry)| entry)
        } else {
            if self.run.front()?.at > now {
                return None;
            }
            self.run.pop_front()
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let heap = self.heap.peek().map(|Reverse(entry)| entry.at);
        let run = self.run.front().map(|entry| entry.at);
        match (heap, run) {
            (Some(heap), Some(run)) => Some(heap.min(run)),
            (heap, run) => heap.or(run),
        }
    }
}

/// Whether an insert needs whoever waits for the next deadline woken to re-arm.
#[must_use]
#[derive(PartialEq, Eq)]
pub(crate) enum Armed {
    Unchanged,
    /// Earlier than the deadline armed so far, or the only one.
    Earlier,
}

#[derive(Default)]
pub(crate) struct Timers {
    synced: Mutex<TimersSynced>,
}

impl Timers {
    fn synced(&self) -> MutexGuard<'_, TimersSynced> {
        self.synced
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn insert(&self, at: Instant, target: TimerTarget) -> Armed {
        let mut synced = self.synced();
        let seq = synced.next_seq;
        synced.next_seq += 1;
        let entry = TimerEntry { at, seq, target };
        if synced.run.back().is_none_or(|last| last.at <= at) {
            // `seq` only grows, so the run stays sorted by (at, seq).
            synced.run.push_back(entry);
        } else {
            synced.heap.push(Reverse(entry));
        }
        if synced.armed.is_some_and(|armed| armed <= at) {
            return Armed::Unchanged;
        }
        synced.armed = Some(at);
        Armed::Earlier
    }

    /// Records that one entry will do nothing when it fires; rebuilds the heap when most are so.
    /// Returns the references the check took, for the caller to release outside any lock.
    #[must_use]
    pub(crate) fn note_stale(&self) -> Graveyard {
        let mut graveyard = Graveyard::default();
        let mut synced = self.synced();
        synced.stale += 1;
        if synced.stale >= MIN_STALE_FOR_COMPACTION && synced.stale * 2 > synced.len() {
            synced
                .heap
                .retain(|Reverse(entry)| entry.target.is_live(&mut graveyard));
            synced
                .run
                .retain(|entry| entry.target.is_live(&mut graveyard));
            synced.stale = 0;
            // The armed deadline may be gone: with it kept, a new timer at or after it would
            // wake nobody (an empty heap leaves a waiter that waits for no timer at all).
            synced.armed = synced.next_deadline();
        }
        graveyard
    }

    /// Fires every timer due at `now`, as one batch (see the module documentation); returns the
    /// next deadline, which the reactor arms.
    pub(crate) fn fire_due(&self, now: Instant, runtime: &Shared) -> Option<Instant> {
        let mut due: Vec<TimerTarget> = Vec::new();
        let next = {
            let mut synced = self.synced();
            while let Some(entry) = synced.pop_due(now) {
                due.push(entry.target);
            }
            let next = synced.next_deadline();
            synced.armed = next;
            next
        };
        if due.is_empty() {
            return next;
        }
        // Every due task wins its suspension first...
        let mut woken = Vec::new();
        let mut scopes = Vec::new();
        for target in due {
            match target {
                TimerTarget::Wake { task, epoch } => {
                    let Some(task) = task.upgrade() else { continue };
                    if task.state().wake(epoch, Outcome::TimedOut, 0) == Wake::Woken {
                        woken.push(task);
                    } else {
                        runtime.release(task);
                    }
                }
                TimerTarget::Cancel(scope) => scopes.extend(scope.upgrade()),
            }
        }
        // ...then they are queued, ahead of anything the due scopes' cancels wake; a due task
        // those cancels reach keeps its timeout and receives the cancel at its next suspension.
        runtime.schedule_all(woken);
        for scope in scopes {
            scope.deadline_passed();
            runtime.release(scope);
        }
        next
    }

    /// The earliest deadline in the heap, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.synced().next_deadline()
    }

    /// Entries in the heap, stale ones included.
    pub(crate) fn len(&self) -> usize {
        self.synced().len()
    }

    pub(crate) fn clear(&self) {
        let mut synced = self.synced();
        synced.heap.clear();
        synced.run.clear();
        synced.stale = 0;
    }
}
