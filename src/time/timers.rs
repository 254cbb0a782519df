//! The timer heap: deadlines of suspended tasks, fired by the reactor thread.
//!
//! Workers insert (O(log n) under one mutex); the reactor pops what is due and wakes those tasks
//! with `Outcome::TimedOut`. An entry holds a *weak* reference and the suspension epoch: if the
//! task was woken otherwise (its event was set, it was cancelled) the entry is stale and firing it
//! does nothing, and it never keeps a finished task's coroutine alive.
//!
//! `armed` is the deadline the reactor currently sleeps until. An insert that is earlier must wake
//! the reactor so it can re-arm; later inserts need no syscall. Both are read and written under
//! the heap's lock, so an insert never misses a reactor that is about to sleep.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use crate::task::{Epoch, Outcome, Task};

struct TimerEntry {
    at: Instant,
    /// Insertion order: equal deadlines fire first-in, first-out.
    seq: u64,
    task: Weak<Task>,
    epoch: Epoch,
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
    next_seq: u64,
    /// The deadline the reactor sleeps until; `None` while it sleeps without one.
    armed: Option<Instant>,
}

/// Whether an insert needs the reactor woken to re-arm.
#[must_use]
pub(crate) enum Armed {
    Unchanged,
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

    pub(crate) fn insert(&self, at: Instant, task: Weak<Task>, epoch: Epoch) -> Armed {
        let mut synced = self.synced();
        let seq = synced.next_seq;
        synced.next_seq += 1;
        synced.heap.push(Reverse(TimerEntry {
            at,
            seq,
            task,
            epoch,
        }));
        if synced.armed.is_some_and(|armed| armed <= at) {
            return Armed::Unchanged;
        }
        synced.armed = Some(at);
        Armed::Earlier
    }

    /// Wakes every task whose deadline is due and arms the next deadline, which it returns.
    pub(crate) fn fire_due(&self, now: Instant) -> Option<Instant> {
        let mut due: Vec<(Arc<Task>, Epoch)> = Vec::new();
        let next = {
            let mut synced = self.synced();
            while let Some(Reverse(entry)) = synced.heap.peek() {
                if entry.at > now {
                    break;
                }
                let Some(Reverse(entry)) = synced.heap.pop() else {
                    break;
                };
                if let Some(task) = entry.task.upgrade() {
                    due.push((task, entry.epoch));
                }
            }
            let next = synced.heap.peek().map(|Reverse(entry)| entry.at);
            synced.armed = next;
            next
        };
        for (task, epoch) in due {
            task.wake(epoch, Outcome::TimedOut);
        }
        next
    }

    pub(crate) fn clear(&self) {
        self.synced().heap.clear();
    }
}
