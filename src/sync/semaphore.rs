//! `Semaphore`: n permits of a `PermitCore`, handed over in FIFO order.
//!
//! Same shapes as `Lock` (`with (yield sem()):`, `async with sem:`, `or_raise()`), plus
//! `tokens()` and trio-style `statistics()`. Releasing more than was acquired raises
//! ValueError and changes nothing.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::guard::Done;
use super::permits::{PermitCore, PermitKind, Permits};
use super::statistics::SemaphoreStatistics;
use crate::wait::Waiter;

/// A semaphore for tasks: at most `value` of them hold a token at once.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct Semaphore {
    permits: Permits,
}

#[pymethods]
impl Semaphore {
    #[new]
    fn new(value: &Bound<'_, PyAny>) -> PyResult<Self> {
        let tokens: i64 = value.extract().map_err(|_| {
            PyValueError::new_err(format!(
                "Semaphore value must be a non-negative int, not {}",
                value
                    .get_type()
                    .name()
                    .map_or_else(|_| "?".to_owned(), |n| n.to_string())
            ))
        })?;
        let tokens = usize::try_from(tokens).map_err(|_| {
            PyValueError::new_err(format!(
                "Semaphore value must be non-negative, got {tokens}"
            ))
        })?;
        Ok(Self {
            permits: Permits::new(PermitCore::new(PermitKind::Semaphore, tokens)),
        })
    }

    /// `with (yield sem()):` — a Waiter resuming with a Guard once a token is this task's.
    fn __call__(&self) -> Waiter {
        self.permits.acquire()
    }

    /// The same as calling the semaphore: a Waiter resuming with a Guard.
    fn acquire(&self) -> Waiter {
        self.permits.acquire()
    }

    /// Takes a token if one is free, else raises WouldBlock.
    fn try_acquire(&self) -> PyResult<()> {
        self.permits.try_acquire()
    }

    /// `with sem.or_raise():` takes a token now or raises WouldBlock.
    fn or_raise(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.permits.or_raise(py)
    }

    /// Gives a token back (to the longest waiter, if any). ValueError beyond what was taken.
    fn release(&self) -> PyResult<()> {
        self.permits.core.release()
    }

    /// Tokens free right now.
    fn tokens(&self) -> usize {
        self.permits.core.snapshot().0
    }

    fn statistics(&self) -> SemaphoreStatistics {
        let (available, tasks_waiting, _) = self.permits.core.snapshot();
        let total_tokens = self.permits.core.total();
        SemaphoreStatistics {
            borrowed_tokens: total_tokens - available,
            total_tokens,
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
            "<tonio.sync.Semaphore tokens={available}/{} waiting={waiting}>",
            self.permits.core.total()
        )
    }
}
