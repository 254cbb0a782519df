//! The Python `Scope` object: `scope()`, `move_on_after()` and `fail_after()`.
//!
//! Generator syntax enters it with `with` (leaving does not wait: `yield s()` does, inside or after
//! the block); `async def` code uses `async with`, whose exit waits for the children (defined in
//! `python/tonio/_scope.py` on top of this class, since only an awaitable can wait).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::exceptions::{PyRuntimeError, PyTimeoutError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyBool;

use super::core::{CancelReason, ScopeCore};
use crate::runtime::{calling_runtime, running_task};
use crate::task::check_argument;
use crate::task::Task;
use crate::time::Timeout;
use crate::wait::Waiter;

/// A cancel scope with the tasks spawned into it.
#[pyclass(frozen, subclass, module = "tonio._tonio")]
pub(crate) struct Scope {
    core: Arc<ScopeCore>,
    /// `fail_after`: a timeout raises TimeoutError instead of passing silently.
    fail_on_timeout: bool,
    timeout_seconds: Option<f64>,
    /// The body ended with this scope's own CancelledError, which it absorbed.
    cancelled_caught: AtomicBool,
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
        let absorbed = self.core.exit(&task, raised)?.absorbed;
        if absorbed {
            self.cancelled_caught.store(true, Ordering::Release);
        }
        Ok(absorbed)
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
    #[pyo3(signature = (cancel_on_exc = None, *, timeout = None, fail_on_timeout = false))]
    fn new(
        cancel_on_exc: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        fail_on_timeout: bool,
    ) -> PyResult<Self> {
        let cancel_on_exc = match cancel_on_exc {
            None => true,
            Some(value) => match value.cast::<PyBool>() {
                Ok(flag) => flag.is_true(),
                Err(_) => {
                    return Err(PyTypeError::new_err(format!(
                        "scope() first argument is cancel_on_exc and must be a bool, not {} (to \
                         set a deadline, pass timeout=seconds)",
                        value.get_type().name()?
                    )))
                }
            },
        };
        let runtime = calling_runtime("scope()")?;
        let parsed = Timeout::after(timeout, "scope timeout")?;
        let timeout_seconds = match timeout {
            Some(value) if !value.is_none() => Some(value.extract::<f64>()?),
            _ => None,
        };
        Ok(Self {
            core: ScopeCore::new(runtime, parsed, cancel_on_exc),
            fail_on_timeout,
            timeout_seconds,
            cancelled_caught: AtomicBool::new(false),
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

    /// Starts `coroutine` as a task of this scope. In a cancelled scope it still starts and is
    /// cancelled at its first suspension point. Returns False, and closes the coroutine without
    /// running it, once the scope has been exited with nothing left in it.
    fn spawn(&self, py: Python<'_>, coroutine: Bound<'_, PyAny>) -> PyResult<bool> {
        let root = check_argument("scope.spawn() argument", &coroutine)?;
        self.core.spawn(py, root)
    }

    /// Cancels every pending task of the scope, and the scope's body if a task is inside it.
    /// Returns True if this call cancelled the scope, False if it already was cancelled.
    fn cancel(&self) -> bool {
        self.core.cancel(CancelReason::Requested)
    }

    /// A Waiter that resumes once every task of the scope finished; raises their failures.
    fn __call__(&self) -> Waiter {
        Waiter::new(self.core.wait_kind(), Timeout::Never)
    }

    /// True once the scope was cancelled (by `cancel()`, its deadline or a failure).
    #[getter]
    fn cancelled(&self) -> bool {
        self.core.cancel_called()
    }

    /// True if the body was cut short by this scope's own cancellation (its `cancel()`, its
    /// deadline, a failing child), which the scope then absorbed (trio's name).
    #[getter]
    fn cancelled_caught(&self) -> bool {
        self.cancelled_caught.load(Ordering::Acquire)
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
