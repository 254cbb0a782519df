//! `RWLock`: many readers or one writer, on one FIFO of both kinds of waiters.
//!
//! Fairness: a task is admitted at once only if nobody waits and the lock is compatible, so a
//! reader arriving while a writer waits queues behind it: writers are not starved by a stream of
//! readers, and readers not by writers. When the lock frees up, `grant` admits from the front:
//! one writer, or every reader up to the next waiting writer (they share the lock).
//!
//! Invariants, under `state`'s mutex: `writer` excludes `readers > 0`; each waiter admitted was
//! claimed (its claim won) as it was counted in, and a claim that loses (a cancel won first) just
//! moves on, so a cancelled waiter never holds the lock.
//!
//! Python: `rw.reader` and `rw.writer` are lock-like objects (`with (yield rw.reader()):`,
//! `async with rw.writer:`, `try_acquire()`, `or_raise()`, `release()`).

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use super::guard::{Done, Guard, Held};
use super::handoff::{claim_own, park, unpark, WaitList, Wakeups};
use super::statistics::RWLockStatistics;
use crate::errors::WouldBlock;
use crate::task::{Outcome, Tag, Task};
use crate::time::Timeout;
use crate::wait::{Claim, ParkedTask, Registered, Resumed, WaitKind, WaitSource, Waiter};

/// Which way a task holds (or waits for) the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

impl Access {
    fn name(self) -> &'static str {
        match self {
            Access::Read => "reader",
            Access::Write => "writer",
        }
    }
}

struct RwState {
    readers: usize,
    writer: bool,
    waiters: WaitList<Access>,
}

impl RwState {
    /// Whether the current holders are compatible with `access` (ignoring the queue).
    fn compatible(&self, access: Access) -> bool {
        match access {
            Access::Read => !self.writer,
            Access::Write => !self.writer && self.readers == 0,
        }
    }

    fn take(&mut self, access: Access) {
        match access {
            Access::Read => self.readers += 1,
            Access::Write => self.writer = true,
        }
    }

    /// Admits waiters from the front while they fit: one writer, or a run of readers.
    fn grant(&mut self, wake: &mut Wakeups<Access>) {
        while let Some(front) = self.waiters.front() {
            let access = front.payload;
            if !self.compatible(access) {
                break;
            }
            let Some(entry) = self.waiters.pop_front() else {
                break;
            };
            if entry.task.claim(Outcome::Set) == Claim::Won {
                self.take(access);
                wake.wake(entry);
            } else {
                wake.discard(entry);
            }
        }
    }
}

pub(crate) struct RwCore {
    state: Mutex<RwState>,
}

impl RwCore {
    fn state(&self) -> MutexGuard<'_, RwState> {
        // Poisoning cannot leave the state inconsistent: no critical section panics half-way.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn try_take(&self, access: Access) -> bool {
        let mut state = self.state();
        if !state.waiters.is_empty() || !state.compatible(access) {
            return false;
        }
        state.take(access);
        true
    }

    /// Lets go of one hold of kind `access` and admits whoever fits now.
    pub(crate) fn release(&self, access: Access) -> PyResult<()> {
        let mut wake = Wakeups::default();
        let released = {
            let mut state = self.state();
            let held = match access {
                Access::Read if state.readers > 0 => {
                    state.readers -= 1;
                    true
                }
                Access::Read => false,
                Access::Write => std::mem::replace(&mut state.writer, false),
            };
            if held {
                state.grant(&mut wake);
            }
            held
        };
        wake.run();
        if released {
            Ok(())
        } else {
            Err(PyRuntimeError::new_err(format!(
                "release() of an RWLock {} that is not held",
                access.name()
            )))
        }
    }
}

/// The wait of acquiring an RWLock one way; one per lock, way and return shape.
pub(crate) struct RwWait {
    core: Arc<RwCore>,
    access: Access,
    guard: bool,
}

impl RwWait {
    fn acquired(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if !self.guard {
            return Ok(py.None());
        }
        let held = Held::ReadWrite(Arc::clone(&self.core), self.access);
        match Py::new(py, Guard::new(held)) {
            Ok(guard) => Ok(guard.into_any()),
            Err(err) => {
                let _ = self.core.release(self.access);
                Err(err)
            }
        }
    }
}

impl WaitSource for RwWait {
    fn try_now(&self, py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        self.core.try_take(self.access).then(|| self.acquired(py))
    }

    fn register(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        let mut wake = Wakeups::default();
        let registered = {
            let mut state = self.core.state();
            if state.waiters.is_empty() && state.compatible(self.access) {
                // Freed since `try_now` looked: take it as this suspension's own wake.
                if claim_own(parked, self.access, &mut wake) {
                    state.take(self.access);
                    Registered::Waiting
                } else {
                    Registered::Stale
                }
            } else {
                park(&mut state.waiters, parked, self.access, key, &mut wake)
            }
        };
        wake.run();
        registered
    }

    fn deregister(&self, key: &AtomicU64) {
        let mut wake = Wakeups::default();
        {
            let mut state = self.core.state();
            if let Some(entry) = unpark(&mut state.waiters, key) {
                wake.discard(entry);
                // A writer leaving the front may unblock the readers queued behind it.
                state.grant(&mut wake);
            }
        }
        wake.run();
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, outcome: Outcome, _tag: Tag) -> Resumed {
        match outcome {
            Outcome::Set => Resumed::Value(self.acquired(py)),
            _ => Resumed::Value(Err(PyRuntimeError::new_err(
                "tonio internal error: an RWLock acquisition ended without the lock",
            ))),
        }
    }

    fn combinable(&self) -> bool {
        false
    }

    fn describe(&self) -> &'static str {
        match self.access {
            Access::Read => "rwlock read",
            Access::Write => "rwlock write",
        }
    }
}

/// One side of an RWLock (`rw.reader` or `rw.writer`), used like a Lock.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct RWLockAccess {
    core: Arc<RwCore>,
    access: Access,
    guarded: Arc<RwWait>,
    bare: Arc<RwWait>,
}

impl RWLockAccess {
    fn new(core: &Arc<RwCore>, access: Access) -> Self {
        let wait = |guard| {
            Arc::new(RwWait {
                core: Arc::clone(core),
                access,
                guard,
            })
        };
        Self {
            core: Arc::clone(core),
            access,
            guarded: wait(true),
            bare: wait(false),
        }
    }
}

#[pymethods]
impl RWLockAccess {
    /// `with (yield rw.reader()):` — a Waiter resuming with a Guard once this side is held.
    fn __call__(&self) -> Waiter {
        self.acquire()
    }

    fn acquire(&self) -> Waiter {
        Waiter::new(WaitKind::Source(self.guarded.clone()), Timeout::Never)
    }

    /// Takes this side now if nobody waits and it is compatible, else raises WouldBlock.
    fn try_acquire(&self) -> PyResult<()> {
        if self.core.try_take(self.access) {
            return Ok(());
        }
        Err(WouldBlock::new_err(format!(
            "the RWLock {} would block",
            self.access.name()
        )))
    }

    /// `with rw.writer.or_raise():` takes this side now or raises WouldBlock.
    fn or_raise(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.try_acquire()?;
        RwWait {
            core: Arc::clone(&self.core),
            access: self.access,
            guard: true,
        }
        .acquired(py)
    }

    fn release(&self) -> PyResult<()> {
        self.core.release(self.access)
    }

    fn __aenter__(&self) -> Waiter {
        Waiter::new(WaitKind::Source(self.bare.clone()), Timeout::Never)
    }

    fn __aexit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> PyResult<Py<Done>> {
        self.core.release(self.access)?;
        Done::get(py)
    }

    fn __repr__(&self) -> String {
        format!("<tonio.sync.RWLock {}>", self.access.name())
    }
}

/// A read-write lock for tasks: many readers or one writer, in FIFO order.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct RWLock {
    core: Arc<RwCore>,
    reader: Py<RWLockAccess>,
    writer: Py<RWLockAccess>,
}

#[pymethods]
impl RWLock {
    #[new]
    fn new(py: Python<'_>) -> PyResult<Self> {
        let core = Arc::new(RwCore {
            state: Mutex::new(RwState {
                readers: 0,
                writer: false,
                waiters: WaitList::default(),
            }),
        });
        Ok(Self {
            reader: Py::new(py, RWLockAccess::new(&core, Access::Read))?,
            writer: Py::new(py, RWLockAccess::new(&core, Access::Write))?,
            core,
        })
    }

    /// The shared side: `with (yield rw.reader()):` / `async with rw.reader:`.
    #[getter]
    fn reader(&self, py: Python<'_>) -> Py<RWLockAccess> {
        self.reader.clone_ref(py)
    }

    /// The exclusive side: `with (yield rw.writer()):` / `async with rw.writer:`.
    #[getter]
    fn writer(&self, py: Python<'_>) -> Py<RWLockAccess> {
        self.writer.clone_ref(py)
    }

    fn statistics(&self) -> RWLockStatistics {
        let state = self.core.state();
        RWLockStatistics {
            readers: state.readers,
            writer: state.writer,
            tasks_waiting: state.waiters.len(),
        }
    }

    fn __repr__(&self) -> String {
        let state = self.core.state();
        format!(
            "<tonio.sync.RWLock readers={} writer={} waiting={}>",
            state.readers,
            if state.writer { "held" } else { "free" },
            state.waiters.len()
        )
    }
}
