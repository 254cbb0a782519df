//! Run queues: one bounded queue per worker plus a global injector.
//!
//! A worker pushes the tasks it spawns or wakes onto its own queue and pops from it first, so a
//! task usually stays on the thread (and in the caches) that last ran it. Threads outside the
//! runtime (the reactor, plain Python threads setting events) push onto the injector. A worker
//! whose own queue is empty takes from the injector, then steals half of another worker's queue,
//! so one long queue never leaves another thread idle. Both queue types are lock-free MPMC queues
//! from crossbeam-queue; a full local queue spills onto the injector.

use std::sync::Arc;

use crossbeam_queue::{ArrayQueue, SegQueue};

use crate::task::Task;

/// Capacity of each worker's local queue; overflow goes to the injector.
const LOCAL_CAPACITY: usize = 512;
/// A worker looks at the injector first once every this many pops, so tasks woken from outside
/// the runtime are not starved by a worker that keeps feeding its own queue.
const INJECTOR_INTERVAL: u32 = 61;

pub(crate) struct RunQueues {
    injector: SegQueue<Arc<Task>>,
    locals: Box<[ArrayQueue<Arc<Task>>]>,
}

impl RunQueues {
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            injector: SegQueue::new(),
            locals: (0..workers)
                .map(|_| ArrayQueue::new(LOCAL_CAPACITY))
                .collect(),
        }
    }

    pub(crate) fn push_local(&self, worker: usize, task: Arc<Task>) {
        if let Err(task) = self.locals[worker].push(task) {
            self.injector.push(task);
        }
    }

    pub(crate) fn push_injector(&self, task: Arc<Task>) {
        self.injector.push(task);
    }

    /// The next task for `worker`; `tick` counts the worker's pops for injector fairness.
    pub(crate) fn pop(&self, worker: usize, tick: u32) -> Option<Arc<Task>> {
        let local = &self.locals[worker];
        if tick % INJECTOR_INTERVAL == 0 {
            if let Some(task) = self.injector.pop() {
                return Some(task);
            }
        }
        local
            .pop()
            .or_else(|| self.injector.pop())
            .or_else(|| self.steal(worker))
    }

    /// Moves half of the longest-looking other queue onto `worker`'s queue; returns one task.
    fn steal(&self, worker: usize) -> Option<Arc<Task>> {
        let count = self.locals.len();
        for offset in 1..count {
            let victim = &self.locals[(worker + offset) % count];
            let Some(first) = victim.pop() else {
                continue;
            };
            let mine = &self.locals[worker];
            for _ in 0..victim.len() / 2 {
                let Some(task) = victim.pop() else { break };
                if let Err(task) = mine.push(task) {
                    self.injector.push(task);
                    break;
                }
            }
            return Some(first);
        }
        None
    }

    /// True if any queue holds a task (used before parking, to avoid sleeping on work).
    pub(crate) fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.locals.iter().any(|local| !local.is_empty())
    }

    /// Empties every queue (runtime teardown).
    pub(crate) fn drain(&self) -> Vec<Arc<Task>> {
        let mut tasks = Vec::new();
        while let Some(task) = self.injector.pop() {
            tasks.push(task);
        }
        for local in self.locals.iter() {
            while let Some(task) = local.pop() {
                tasks.push(task);
            }
        }
        tasks
    }
}
