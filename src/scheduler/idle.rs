//! Idle workers: where they sleep, and waking them when work arrives.
//!
//! An idle worker sleeps in the driver poll if no other worker holds it (`reactor/driver.rs`), so
//! the readiness it is woken by becomes runnable tasks on its own thread; otherwise it parks its
//! thread. Either way it is listed here as a sleeper, the one in the poll also as the driver.
//!
//! Protocol (no lost wakeups): a worker with nothing to do first lists itself (`announce`, which
//! also tries to take the driver poll), issues a SeqCst fence and checks the queues once more;
//! only then does it sleep. A producer
//! pushes its task, issues a SeqCst fence and reads the sleeper count. With both fences, either
//! the worker's re-check sees the task or the producer sees the sleeper and wakes it: with
//! `Thread::unpark` for a parked thread (not lost before `park`, which consumes the token), with
//! the reactor's waker for the driver (not lost before the poll: the eventfd stays readable). A
//! sleeper is removed from the list by whoever wakes it, so one push wakes at most one worker.

use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::Thread;

/// `driving` when no worker sleeps in the driver poll.
const NOBODY: usize = usize::MAX;

pub(crate) struct Idle {
    sleepers: Mutex<Vec<usize>>,
    count: AtomicUsize,
    /// The listed sleeper that sleeps in the driver poll (`NOBODY` if none): woken through the
    /// reactor's waker, not `unpark`.
    driving: AtomicUsize,
    /// Bumped by every worker coming out of its sleep (before it touches a queue), so an
    /// observer can tell whether `sleeping()` and a look at the queues were a consistent
    /// snapshot.
    wakeups: AtomicU64,
    threads: Box<[OnceLock<Thread>]>,
}

/// What `notify` woke.
#[must_use]
pub(crate) struct Woken {
    /// The driver was among the woken: the caller wakes the driver poll (`Reactor::wake`).
    pub(crate) driver: bool,
}

impl Idle {
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            count: AtomicUsize::new(0),
            driving: AtomicUsize::new(NOBODY),
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

    /// Wakes up to `count` sleeping workers (one per task pushed). Call after pushing work.
    pub(crate) fn notify(&self, count: usize) -> Woken {
        fence(Ordering::SeqCst);
        let mut woken = Woken { driver: false };
        if count == 0 || self.count.load(Ordering::Relaxed) == 0 {
            return woken;
        }
        let listed: Vec<usize> = {
            let mut sleepers = self.sleepers();
            let keep = sleepers.len().saturating_sub(count);
            let listed = sleepers.split_off(keep);
            self.count.fetch_sub(listed.len(), Ordering::Relaxed);
            listed
        };
        // A sleeper marked driving after this read sees our task in its last look (both sides
        // fence between their write and their read).
        let driving = self.driving.load(Ordering::SeqCst);
        for worker in listed {
            if worker == driving {
                woken.driver = true;
            } else if let Some(thread) = self.threads[worker].get() {
                thread.unpark();
            }
        }
        woken
    }

    /// How many workers are asleep (or about to sleep).
    pub(crate) fn sleeping(&self) -> usize {
        fence(Ordering::SeqCst);
        self.count.load(Ordering::Relaxed)
    }

    /// Whether a worker sleeps in the driver poll (or is about to).
    pub(crate) fn is_driven(&self) -> bool {
        self.driving.load(Ordering::SeqCst) != NOBODY
    }

    /// See `wakeups`.
    pub(crate) fn wakeups(&self) -> u64 {
        self.wakeups.load(Ordering::SeqCst)
    }

    /// Wakes every parked worker (shutdown; the caller wakes the driver poll too).
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

    /// Lists `worker` as a sleeper, then tries to take the driver poll (`take_driver`; marked
    /// driving if it does), then looks once more for a reason to stay awake (`should_stay_awake`:
    /// work queued, or a reason to stop). Returns whether the worker may sleep, and the driver
    /// poll if it took it; either way the worker calls `leave` once awake.
    ///
    /// Listing comes before the attempt on the driver poll: whoever holds it then, on letting it
    /// go, sees this sleeper and wakes it to try again (`Shared::hand_off_driver`), so an idle
    /// worker never stays parked while nobody turns the poll.
    pub(crate) fn announce<D>(
        &self,
        worker: usize,
        take_driver: impl FnOnce() -> Option<D>,
        should_stay_awake: impl Fn() -> bool,
    ) -> (bool, Option<D>) {
        {
            let mut sleepers = self.sleepers();
            sleepers.push(worker);
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        fence(Ordering::SeqCst);
        let driver = take_driver();
        if driver.is_some() {
            self.driving.store(worker, Ordering::SeqCst);
        }
        fence(Ordering::SeqCst);
        // A `notify` that took us off the list before we were marked driving woke us with
        // `unpark`, which the driver poll does not hear (a hand-off brings no task for
        // `should_stay_awake` to see): stay awake, and list ourselves again.
        let listed = self.sleepers().contains(&worker);
        (listed && !should_stay_awake(), driver)
    }

    /// Parks the thread of a worker listed by `announce` (not the driver) until `notify`.
    pub(crate) fn park(&self) {
        std::thread::park();
    }

    /// Takes `worker` off the list (if a `notify` has not already) once it is awake, and off
    /// the driver mark. Calling it again is harmless.
    pub(crate) fn leave(&self, worker: usize) {
        {
            let mut sleepers = self.sleepers();
            if let Some(position) = sleepers.iter().position(|&sleeper| sleeper == worker) {
                sleepers.swap_remove(position);
                self.count.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let _ = self
            .driving
            .compare_exchange(worker, NOBODY, Ordering::SeqCst, Ordering::Relaxed);
        // After leaving the list and before touching a queue (see `wakeups`).
        self.wakeups.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-off (`Shared::hand_off_driver`: a `notify` with no task behind it) that takes a
    /// worker off the list between its listing and its mark as driving wakes it with `unpark`,
    /// which the driver poll never hears: the worker must not go to sleep in the poll unlisted
    /// (the virtual clock would never see everyone asleep, and no later `notify` would find it).
    #[test]
    fn a_worker_taken_off_the_list_before_it_drives_does_not_sleep_in_the_poll() {
        let idle = Idle::new(1);
        idle.register_current(0);
        let mut woken = None;
        let (sleep, driver) = idle.announce(
            0,
            || {
                // The thread that held the driver poll lets go of it and hands it off now.
                woken = Some(idle.notify(1));
                Some(())
            },
            || false,
        );
        assert!(driver.is_some());
        assert!(woken.is_some_and(|woken| !woken.driver));
        assert!(
            !sleep,
            "popped by a hand-off, yet sleeping in the driver poll"
        );
        idle.leave(0);
    }

    /// The same hand-off once the worker is marked driving wakes the driver poll.
    #[test]
    fn a_hand_off_after_the_worker_drives_wakes_the_driver_poll() {
        let idle = Idle::new(1);
        idle.register_current(0);
        let (sleep, driver) = idle.announce(0, || Some(()), || false);
        assert!(sleep && driver.is_some());
        assert!(idle.is_driven());
        assert!(idle.notify(1).driver);
        idle.leave(0);
        assert!(!idle.is_driven());
    }
}
