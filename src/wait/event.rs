//! `Event`: an atomic flag plus the tasks waiting for it. The one primitive everything waits on.
//!
//! `EventCore` is the Rust side, shared by the Python `Event` and by everything else that needs
//! "wake the waiters when this happens" (join groups, and later locks, channels and sockets).
//!
//! Invariant: the flag is written only under the waiter-list lock, and a task is registered only
//! under that lock after checking the flag. So a registration either sees the flag set (and the
//! task resolves at once) or lands in the list before `set` takes it: no wakeup is lost. Waking
//! happens after the lock is released, so a woken task never contends with its waker for it.
//! `set` may be called from any thread, including plain Python threads outside the runtime.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::prelude::*;
use smallvec::SmallVec;

use super::waiter::{WaitKind, Waiter};
use crate::task::{Epoch, Outcome, Task};
use crate::time::Timeout;

enum Registration {
    /// A task suspended under `epoch`.
    Task { task: Arc<Task>, epoch: Epoch },
    /// A plain thread blocked in `wait_blocking` (`block_on`).
    Thread(std::thread::Thread),
}

impl Registration {
    fn wake(self) {
        match self {
            Registration::Task { task, epoch } => task.wake(epoch, Outcome::Set),
            Registration::Thread(thread) => thread.unpark(),
        }
    }
}

/// Result of registering a suspended task with an event.
#[must_use]
pub(crate) enum Registered {
    Waiting,
    /// The event was already set: the caller must wake the task itself.
    AlreadySet,
}

#[derive(Default)]
pub(crate) struct EventCore {
    flag: AtomicBool,
    waiters: Mutex<SmallVec<[Registration; 1]>>,
}

impl EventCore {
    fn waiters(&self) -> MutexGuard<'_, SmallVec<[Registration; 1]>> {
        // Poisoning cannot leave the list inconsistent: every critical section is a single push,
        // retain or take.
        self.waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Sets the flag and wakes every registered task exactly once. Returns whether the flag changed.
    pub(crate) fn set(&self) -> bool {
        let woken = {
            let mut waiters = self.waiters();
            if self.flag.load(Ordering::Acquire) {
                return false;
            }
            self.flag.store(true, Ordering::Release);
            std::mem::take(&mut *waiters)
        };
        for registration in woken {
            registration.wake();
        }
        true
    }

    /// Clears the flag. Returns whether it changed.
    pub(crate) fn clear(&self) -> bool {
        let _waiters = self.waiters();
        self.flag.swap(false, Ordering::AcqRel)
    }

    pub(crate) fn register(&self, task: &Arc<Task>, epoch: Epoch) -> Registered {
        let mut waiters = self.waiters();
        if self.flag.load(Ordering::Acquire) {
            return Registered::AlreadySet;
        }
        waiters.push(Registration::Task {
            task: Arc::clone(task),
            epoch,
        });
        Registered::Waiting
    }

    /// Blocks the calling thread (which must not be a worker, nor attached to Python) until the
    /// flag is set.
    pub(crate) fn wait_blocking(&self) {
        {
            let mut waiters = self.waiters();
            if self.flag.load(Ordering::Acquire) {
                return;
            }
            waiters.push(Registration::Thread(std::thread::current()));
        }
        // `park` may wake spuriously; the flag is the truth.
        while !self.is_set() {
            std::thread::park();
        }
    }

    /// Drops a registration that something else (a timeout, a cancel) has made stale, so events
    /// that are never set do not accumulate dead waiters.
    pub(crate) fn deregister(&self, task: &Arc<Task>) {
        self.waiters().retain(|registration| match registration {
            Registration::Task { task: waiting, .. } => !Arc::ptr_eq(waiting, task),
            Registration::Thread(_) => true,
        });
    }
}

/// An event: a flag that tasks can wait for.
///
/// `set()` wakes every waiting task; waits started while the flag is set return at once.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct Event {
    core: Arc<EventCore>,
}

#[pymethods]
impl Event {
    #[new]
    fn new() -> Self {
        Self {
            core: Arc::new(EventCore::default()),
        }
    }

    /// Sets the flag, waking every waiter. Returns True if the flag was not set before.
    fn set(&self) -> bool {
        self.core.set()
    }

    /// Clears the flag. Returns True if it was set before.
    fn clear(&self) -> bool {
        self.core.clear()
    }

    fn is_set(&self) -> bool {
        self.core.is_set()
    }

    /// A Waiter to yield (or await): resumes with True once the event is set, or False when
    /// `timeout` seconds pass first.
    #[pyo3(signature = (timeout = None))]
    fn wait(&self, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Waiter> {
        let timeout = Timeout::after(timeout, "timeout")?;
        Ok(Waiter::new(
            WaitKind::Event(Arc::clone(&self.core)),
            timeout,
        ))
    }

    /// TonIO's name for `wait`.
    #[pyo3(signature = (timeout = None))]
    fn waiter(&self, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Waiter> {
        self.wait(timeout)
    }

    fn __repr__(&self) -> String {
        format!("<tonio.Event is_set={}>", self.core.is_set())
    }
}
