//! `Lock`: a mutex for tasks, one permit of a `PermitCore` handed over in FIFO order.
//!
//! Generator syntax: `with (yield lock()):`; `async def` syntax: `async with lock:`. A released
//! lock goes to the task that waited longest (no barging), and a task cancelled while it waits
//! never ends up holding it (see `permits.rs`).

use std::sync::Arc;

use pyo3::prelude::*;

use super::guard::Done;
use super::permits::{PermitCore, PermitKind, Permits};
use super::statistics::LockStatistics;
use crate::wait::Waiter;

/// A lock for tasks (not reentrant).
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct Lock {
    pub(super) permits: Permits,
}

impl Lock {
    pub(super) fn core(&self) -> &Arc<PermitCore> {
        &self.permits.core
    }
}

#[pymethods]
impl Lock {
    #[new]
    fn new() -> Self {
        Self {
            permits: Permits::new(PermitCore::new(PermitKind::Lock, 1)),
        }
    }

    /// `with (yield lock()):` — a Waiter resuming with a Guard once the lock is this task's.
    fn __call__(&self) -> Waiter {
        self.permits.acquire()
    }

    /// The same as calling the lock: a Waiter resuming with a Guard (or call `release()`).
    fn acquire(&self) -> Waiter {
        self.permits.acquire()
    }

    /// Takes the lock if it is free, else raises WouldBlock.
    fn try_acquire(&self) -> PyResult<()> {
        self.permits.try_acquire()
    }

    /// `with lock.or_raise():` takes the lock now or raises WouldBlock.
    fn or_raise(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.permits.or_raise(py)
    }

    /// Releases the lock (to the longest waiter, if any). RuntimeError if it is not locked.
    fn release(&self) -> PyResult<()> {
        self.permits.core.release()
    }

    fn locked(&self) -> bool {
        self.permits.core.snapshot().0 == 0
    }

    fn statistics(&self) -> LockStatistics {
        let (available, tasks_waiting, _) = self.permits.core.snapshot();
        LockStatistics {
            locked: available == 0,
            tasks_waiting,
        }
    }

    fn __aenter__(&self) -> Waiter {
        self.permits.acquire_bare()
    }

    fn __aexit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> PyResult<Py<Done>> {
        self.permits.aexit(py)
    }

    fn __repr__(&self) -> String {
        let (available, waiting, _) = self.permits.core.snapshot();
        format!(
            "<tonio.sync.Lock {} waiting={waiting}>",
            if available == 0 { "locked" } else { "unlocked" }
        )
    }
}
