//! Parking idle workers and waking them when work arrives.
//!
//! Protocol (no lost wakeups): a worker with nothing to do first records itself as sleeping, then
//! issues a SeqCst fence and checks the queues once more, and only then parks. A producer pushes
//! its task, issues a SeqCst fence and reads the sleeper count. With both fences, either the
//! worker's re-check sees the task or the producer sees the sleeper and unparks it; and
//! `Thread::unpark` before `park` is not lost (park consumes the token). A sleeper is removed from
//! the list by whoever wakes it, so one push wakes at most one worker.

use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::Thread;

pub(crate) struct Idle {
    sleepers: Mutex<Vec<usize>>,
    count: AtomicUsize,
    /// Bumped by every worker coming out of `park` (before it touches a queue), so an observer
    /// can tell whether `sleeping()` and a look at the queues were a consistent snapshot.
    wakeups: AtomicU64,
    threads: Box<[OnceLock<Thread>]>,
}

impl Idle {
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            count: AtomicUsize::new(0),
            wakeups: AtomicU64::new(0),
            threads: (0..workers).map(|_| OnceLock::new()).collect(),
        }
    }

    fn sleepers(&self) -> MutexGuard<'_, Vec<usize>> {
        self.sleepers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Called by each worker thread once, at start.
    pub(crate) fn register_current(&self, worker: usize) {
        let _ = self.threads[worker].set(std::thread::current());
    }

    /// Wakes one sleeping worker, if any. Call after pushing work.
    pub(crate) fn notify_one(&self) {
        self.notify(1);
    }

    /// Wakes up to `count` sleeping workers (one per task pushed). Call after pushing work.
    pub(crate) fn notify(&self, count: usize) {
        fence(Ordering::SeqCst);
        if count == 0 || self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let woken: Vec<usize> = {
            let mut sleepers = self.sleepers();
            let keep = sleepers.len().saturating_sub(count);
            let woken = sleepers.split_off(keep);
            self.count.fetch_sub(woken.len(), Ordering::Relaxed);
            woken
        };
        for thread in woken
            .iter()
            .filter_map(|&worker| self.threads[worker].get())
        {
            thread.unpark();
        }
    }

    /// How many workers are parked (or about to park).
    pub(crate) fn sleeping(&self) -> usize {
        fence(Ordering::SeqCst);
        self.count.load(Ordering::Relaxed)
    }

    /// See `wakeups`.
    pub(crate) fn wakeups(&self) -> u64 {
        self.wakeups.load(Ordering::SeqCst)
    }

    /// Wakes every worker (shutdown).
    pub(crate) fn notify_all(&self) {
        {
            let mut sleepers = self.sleepers();
            sleepers.clear();
            self.count.store(0, Ordering::Relaxed);
        }
        for thread in self.threads.iter().filter_map(OnceLock::get) {
            thread.unpark();
        }
    }

    /// Parks `worker` unless `should_stay_awake` (checked after announcing the sleep) says there
    /// is work or a reason to stop.
    pub(crate) fn park(&self, worker: usize, should_stay_awake: impl Fn() -> bool) {
        {
            let mut sleepers = self.sleepers();
            sleepers.push(worker);
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        fence(Ordering::SeqCst);
        if !should_stay_awake() {
            std::thread::park();
        }
        // Woken by notify (already removed), by a spurious unpark, or never parked: make sure we
        // are off the list either way.
        {
            let mut sleepers = self.sleepers();
            if let Some(position) = sleepers.iter().position(|&sleeper| sleeper == worker) {
                sleepers.swap_remove(position);
                self.count.fetch_sub(1, Ordering::Relaxed);
            }
        }
        // After leaving the list and before touching a queue (see `wakeups`).
        self.wakeups.fetch_add(1, Ordering::SeqCst);
    }
}
