//! The Python `Scope` object: `scope()`, `move_on_after()` and `fail_after()`.
//!
//! Generator syntax enters it with `with` (leaving does not wait: `yield s()` does, inside or after
//! the block); `async def` code uses `async with`, whose exit waits for the children (defined in
//! `python/tonio/_scope.py` on top of this class, since only an awaitable can wait).

use std::sync::Arc;

use pyo3::exceptions::{PyRuntimeError, PyTimeoutError};
use pyo3::prelude::*;

use super::core::{CancelReason, ScopeCore};
use crate::py::expect_coroutine;
use crate::runtime::{calling_runtime, running_task};
use crate::task::Task;
use crate::time::Timeout;
use crate::wait::{WaitKind, Waiter};

/// A cancel scope with the tasks spawned into it.
#[pyclass(frozen, subclass, module = "tonio._tonio")]
pub(crate) struct Scope {
    core: Arc<ScopeCore>,
    /// `fail_after`: a timeout raises TimeoutError instead of passing silently.
    fail_on_timeout: bool,
    timeout_seconds: Option<f64>,
}

fn entering_task(what: &str) -> PyResult<Arc<Task>> {
    running_task().ok_or_else(|| {
        PyRuntimeError::new_err(format!(
            "{what} can only be used inside a task running on a tonio runtime"
        ))
    })
}

impl Scope {
    /// Leaves the body; returns whether the exception unwinding through it is absorbed.
    fn leave(&self, raised: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        let task = entering_task("a scope")?;
        Ok(self.core.exit(&task, raised)?.absorbed)
    }

    fn timeout_error(&self) -> PyErr {
        PyTimeoutError::new_err(match self.timeout_seconds {
            Some(seconds) => format!("tonio.fail_after: the {seconds}s deadline passed"),
            None => "tonio.fail_after: the deadline passed".to_owned(),
        })
    }
}

#[pymethods]
impl Scope {
    #[new]
    #[pyo3(signature = (timeout = None, *, fail_on_timeout = false))]
    fn new(timeout: Option<&Bound<'_, PyAny>>, fail_on_timeout: bool) -> PyResult<Self> {
        let runtime = calling_runtime("scope()")?;
        let parsed = Timeout::after(timeout, "scope timeout")?;
        let timeout_seconds = match timeout {
            Some(value) if !value.is_none() => Some(value.extract::<f64>()?),
            _ => None,
        };
        Ok(Self {
            core: ScopeCore::new(runtime, parsed),
            fail_on_timeout,
            timeout_seconds,
        })
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        let task = entering_task("a scope")?;
        slf.get().core.enter(&task)?;
        Ok(slf)
    }

    /// Leaves the body. Does not wait for the children: yield `scope()` for that.
    fn __exit__(
        &self,
        _exc_type: Option<&Bound<'_, PyAny>>,
        exc: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let raised = exc.filter(|exc| !exc.is_none());
        let absorbed = self.leave(raised)?;
        if absorbed && self.fail_on_timeout && self.core.timed_out() {
            return Err(self.timeout_error());
        }
        Ok(absorbed)
    }

    /// The exit bookkeeping of `__exit__` without the TimeoutError (`async with` raises that only
    /// after waiting for the children).
    fn _leave(&self, exc: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        self.leave(exc.filter(|exc| !exc.is_none()))
    }

    /// Raises the TimeoutError of `fail_after` if its deadline passed.
    fn _raise_if_timed_out(&self) -> PyResult<()> {
        if self.fail_on_timeout && self.core.timed_out() {
            return Err(self.timeout_error());
        }
        Ok(())
    }

    /// Starts `coroutine` as a task of this scope. Returns False, and closes the coroutine without
    /// running it, if the scope was already cancelled or has been exited with nothing left in it.
    fn spawn(&self, py: Python<'_>, coroutine: Bound<'_, PyAny>) -> PyResult<bool> {
        expect_coroutine("scope.spawn() argument", &coroutine)?;
        self.core.spawn(py, coroutine)
    }

    /// Cancels every pending task of the scope, and the scope's body if a task is inside it.
    /// Returns True if this call cancelled the scope, False if it already was cancelled.
    fn cancel(&self) -> bool {
        self.core.cancel(CancelReason::Requested)
    }

    /// A Waiter that resumes once every task of the scope finished; raises their failures.
    fn __call__(&self) -> Waiter {
        Waiter::new(WaitKind::Scope(Arc::clone(&self.core)), Timeout::Never)
    }

    /// True once the scope was cancelled (by `cancel()`, its deadline or a failure).
    #[getter]
    fn cancelled(&self) -> bool {
        self.core.cancel_called()
    }

    /// True if the scope's deadline passed before it finished.
    #[getter]
    fn timed_out(&self) -> bool {
        self.core.timed_out()
    }

    /// Tasks of the scope still running.
    #[getter]
    fn pending(&self) -> usize {
        self.core.pending()
    }

    /// The deadline on the runtime clock (seconds, as `time()`), once entered; None without one.
    #[getter]
    fn deadline(&self) -> Option<f64> {
        self.core.deadline().map(crate::time::seconds_at)
    }

    fn __repr__(&self) -> String {
        format!(
            "<tonio.Scope pending={} cancelled={} timed_out={}>",
            self.core.pending(),
            self.core.cancel_called(),
            self.core.timed_out()
        )
    }
}
