//! Every live task of a runtime, so that it can be cancelled and awaited at shutdown.
//!
//! (It is not keyed by coroutine: a hash map of a million coroutine addresses costs a cache miss
//! per insert and per removal, which doubled the million-task benchmark. Which task owns a
//! coroutine is settled where it is cheap instead: see `py/coroutine.rs`.)
//!
//! A suspended task is otherwise reachable only from whatever it waits on; the registry is what lets
//! `run_until_complete` cancel everything still pending when its main coroutine returns (or on
//! Ctrl-C) and wait for those tasks to unwind. It also keeps a waiting task alive even when nothing
//! else refers to the event it waits on, so a task is never silently collected half-way.
//!
//! The registry is sharded to keep worker threads off each other's locks: a task lives in the shard
//! picked by a round-robin counter and remembers its slot, so removal is O(1).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::Task;

const SHARDS: usize = 16;

/// Where a task sits in the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    shard: usize,
    index: usize,
}

impl Slot {
    /// No slot (in `Slot::pack` form).
    pub(crate) const NONE: u64 = u64::MAX;

    /// The slot as one word, so a task can keep it in an atomic.
    pub(crate) fn pack(self) -> u64 {
        ((self.index as u64) << 8) | self.shard as u64
    }

    pub(crate) fn unpack(packed: u64) -> Option<Self> {
        (packed != Self::NONE).then_some(Self {
            shard: (packed & 0xff) as usize,
            index: (packed >> 8) as usize,
        })
    }
}

#[derive(Default)]
struct Shard {
    entries: Vec<Option<Arc<Task>>>,
    free: Vec<usize>,
}

pub(crate) struct TaskRegistry {
    shards: [Mutex<Shard>; SHARDS],
    next_shard: AtomicUsize,
    live: AtomicUsize,
    /// Set when the runtime closes: no task may be registered (it would never run nor be freed).
    closed: AtomicBool,
}

impl TaskRegistry {
    pub(crate) fn new() -> Self {
        Self {
            shards: std::array::from_fn(|_| Mutex::new(Shard::default())),
            next_shard: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
        }
    }

    fn shard(&self, index: usize) -> MutexGuard<'_, Shard> {
        // A poisoned shard only means a panic elsewhere while it was held; its data is still a
        // consistent list of tasks.
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a task; None once the registry was drained (the runtime is closing).
    pub(crate) fn insert(&self, task: Arc<Task>) -> Option<Slot> {
        let shard_index = self.next_shard.fetch_add(1, Ordering::Relaxed) % SHARDS;
        let mut shard = self.shard(shard_index);
        // Checked under the shard lock that `drain` takes after setting the flag: an insert
        // either lands before the drain reaches this shard, or sees the flag.
        if self.closed.load(Ordering::SeqCst) {
            return None;
        }
        self.live.fetch_add(1, Ordering::AcqRel);
        let index = match shard.free.pop() {
            Some(index) => {
                shard.entries[index] = Some(task);
                index
            }
            None => {
                shard.entries.push(Some(task));
                shard.entries.len() - 1
            }
        };
        Some(Slot {
            shard: shard_index,
            index,
        })
    }

    /// Removes a finished task and returns how many tasks are still live.
    pub(crate) fn remove(&self, slot: Slot) -> (Option<Arc<Task>>, usize) {
        let task = {
            let mut shard = self.shard(slot.shard);
            let task = shard.entries[slot.index].take();
            shard.free.push(slot.index);
            task
        };
        let remaining = self.live.fetch_sub(1, Ordering::AcqRel) - 1;
        (task, remaining)
    }

    /// Whether the registry was drained (the runtime closed): no task can be created any more.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// A snapshot of every live task.
    pub(crate) fn snapshot(&self) -> Vec<Arc<Task>> {
        let mut tasks = Vec::with_capacity(self.live());
        for index in 0..SHARDS {
            let shard = self.shard(index);
            tasks.extend(shard.entries.iter().flatten().cloned());
        }
        tasks
    }

    /// Closes the registry and returns every task still registered (runtime teardown).
    pub(crate) fn drain(&self) -> Vec<Arc<Task>> {
        self.closed.store(true, Ordering::SeqCst);
        let mut tasks = Vec::new();
        for index in 0..SHARDS {
            let mut shard = self.shard(index);
            tasks.extend(shard.entries.drain(..).flatten());
            shard.free.clear();
        }
        self.live.store(0, Ordering::Release);
        tasks
    }
}
