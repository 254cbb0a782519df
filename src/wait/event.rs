//! `Event`: an atomic flag plus the waiters parked until it is set. The primitive everything
//! else is built from.
//!
//! `EventCore` is the Rust side, shared by the Python `Event` and by everything that needs "wake
//! the waiters when this happens" (spawn results, scopes, and later sockets). It is also the
//! `WaitSource` of `event.wait()`.
//!
//! Invariant: the flag is written only under the queue's lock, and a waiter is parked only under
//! that lock after checking the flag. So a registration either sees the flag set (and resolves at
//! once) or lands in the queue before `set` takes it: no wake-up is lost. `set` takes the whole
//! queue under the lock and wakes the waiters after releasing it, so no waker holds the lock
//! while a woken task runs. `set` may be called from any thread, plain Python threads included.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::PyBool;

use super::parked::{Parked, ParkedTask};
use super::queue::{QueueKey, WaitQueue};
use super::source::{Registered, Resumed, WaitSource};
use super::waiter::{WaitKind, Waiter};
use crate::task::{Outcome, Tag, Task};
use crate::time::Timeout;

#[derive(Default)]
pub(crate) struct EventCore {
    flag: AtomicBool,
    waiters: Mutex<WaitQueue<Parked>>,
}

impl EventCore {
    fn waiters(&self) -> MutexGuard<'_, WaitQueue<Parked>> {
        // Poisoning cannot leave the queue inconsistent: no critical section can panic half-way.
        self.waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Sets the flag and wakes every parked waiter exactly once. Returns whether the flag changed.
    pub(crate) fn set(&self) -> bool {
        let woken = {
            let mut waiters = self.waiters();
            if self.flag.load(Ordering::Acquire) {
                return false;
            }
            self.flag.store(true, Ordering::Release);
            waiters.take_all()
        };
        for parked in woken {
            parked.wake();
        }
        true
    }

    /// Clears the flag. Returns whether it changed.
    pub(crate) fn clear(&self) -> bool {
        let _waiters = self.waiters();
        self.flag.swap(false, Ordering::AcqRel)
    }

    /// Parks a suspended task until the flag is set, keeping the entry's key in `key` (written
    /// under the lock `unpark` takes). See `WaitSource::register`.
    pub(crate) fn park(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        let mut waiters = self.waiters();
        if self.flag.load(Ordering::Acquire) {
            return Registered::Ready;
        }
        if !parked.is_current() {
            drop(waiters);
            parked.release();
            return Registered::Stale;
        }
        key.store(
            waiters.push_back(Parked::Task(parked)).pack(),
            Ordering::Release,
        );
        Registered::Waiting
    }

    /// Takes back the entry `key` names, if it is still parked. O(1).
    pub(crate) fn unpark(&self, key: &AtomicU64) {
        let removed = {
            let mut waiters = self.waiters();
            QueueKey::unpack(key.swap(QueueKey::NONE, Ordering::AcqRel))
                .and_then(|key| waiters.remove(key))
        };
        // Dropped after the lock: the entry holds a task reference.
        if let Some(Parked::Task(parked)) = removed {
            parked.release();
        }
    }

    /// Blocks the calling thread (which must not be a worker, nor attached to Python) until the
    /// flag is set.
    pub(crate) fn wait_blocking(&self) {
        {
            let mut waiters = self.waiters();
            if self.flag.load(Ordering::Acquire) {
                return;
            }
            let _ = waiters.push_back(Parked::Thread(std::thread::current()));
        }
        // `park` may wake spuriously; the flag is the truth.
        while !self.is_set() {
            std::thread::park();
        }
    }

    /// Waiters parked right now (for tests and statistics).
    pub(crate) fn parked(&self) -> usize {
        self.waiters().len()
    }
}

fn boolean(py: Python<'_>, value: bool) -> Py<PyAny> {
    PyBool::new(py, value).to_owned().into_any().unbind()
}

/// The wait of `event.wait()`: resumes with True once the event is set, False on timeout. The
/// event itself is the source, shared by all its waiters.
impl WaitSource for EventCore {
    fn try_now(&self, py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        self.is_set().then(|| Ok(boolean(py, true)))
    }

    fn register(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        self.park(parked, key)
    }

    fn deregister(&self, key: &AtomicU64) {
        self.unpark(key);
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, outcome: Outcome, _tag: Tag) -> Resumed {
        Resumed::Value(Ok(boolean(py, outcome == Outcome::Set)))
    }

    fn is_ready(&self) -> bool {
        self.is_set()
    }

    fn describe(&self) -> &'static str {
        "event"
    }
}

/// An event: a flag that tasks can wait for.
///
/// `set()` wakes every waiting task; waits started while the flag is set return at once.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct Event {
    pub(super) core: Arc<EventCore>,
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
        Ok(Waiter::new(WaitKind::Source(self.core.clone()), timeout))
    }

    /// TonIO's name for `wait`.
    #[pyo3(signature = (timeout = None))]
    fn waiter(&self, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Waiter> {
        self.wait(timeout)
    }

    /// Tasks waiting for the event right now.
    #[getter]
    fn waiting(&self) -> usize {
        self.core.parked()
    }

    fn __repr__(&self) -> String {
        format!(
            "<tonio.Event is_set={} waiting={}>",
            self.core.is_set(),
            self.core.parked()
        )
    }
}
