//! `Guard`: what an acquisition resumes with, the context manager whose exit releases it; and
//! `Done`, the already-finished awaitable `__aexit__` returns.
//!
//! Generator syntax: `with (yield lock()):` receives a Guard and leaves the block through its
//! `__exit__`. `async def` syntax: `async with lock:` acquires in `__aenter__` (a Waiter) and
//! releases in `__aexit__`, which returns `Done` so that leaving the block is not a suspension
//! point (a pending cancel is not delivered there, and nothing can interrupt the release).
//!
//! A Guard releases at most once: exiting it twice, or releasing it after `__exit__`, raises.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use super::permits::PermitCore;
use super::rwlock::{Access, RwCore};

/// What a guard gives back.
pub(crate) enum Held {
    /// A permit of a Lock or Semaphore.
    Permit(Arc<PermitCore>),
    /// A read or write hold of an RWLock.
    ReadWrite(Arc<RwCore>, Access),
}

impl Held {
    fn release(&self) -> PyResult<()> {
        match self {
            Held::Permit(core) => core.release(),
            Held::ReadWrite(core, access) => core.release(*access),
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Held::Permit(core) => core.describe(),
            Held::ReadWrite(_, Access::Read) => "RWLock read",
            Held::ReadWrite(_, Access::Write) => "RWLock write",
        }
    }
}

/// A held lock, permit or read/write hold; `with guard:` releases it on exit.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct Guard {
    held: Held,
    released: AtomicBool,
}

impl Guard {
    pub(crate) fn new(held: Held) -> Self {
        Self {
            held,
            released: AtomicBool::new(false),
        }
    }
}

#[pymethods]
impl Guard {
    fn __enter__(&self) -> PyResult<()> {
        if self.released.load(Ordering::Acquire) {
            return Err(PyRuntimeError::new_err(format!(
                "this {} guard was already released; acquire again for a new one",
                self.held.describe()
            )));
        }
        Ok(())
    }

    fn __exit__(
        &self,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        self.release()?;
        Ok(false)
    }

    /// Releases what the guard holds (once).
    fn release(&self) -> PyResult<()> {
        if self.released.swap(true, Ordering::AcqRel) {
            return Err(PyRuntimeError::new_err(format!(
                "this {} guard was already released",
                self.held.describe()
            )));
        }
        self.held.release()
    }

    /// Whether the guard still holds what it acquired.
    #[getter]
    fn held(&self) -> bool {
        !self.released.load(Ordering::Acquire)
    }

    fn __repr__(&self) -> String {
        let state = if self.released.load(Ordering::Acquire) {
            "released"
        } else {
            "held"
        };
        format!("<tonio guard of a {} ({state})>", self.held.describe())
    }
}

/// An awaitable that is already finished (with None): awaiting it never suspends.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct Done;

static DONE: PyOnceLock<Py<Done>> = PyOnceLock::new();

impl Done {
    /// The one shared instance (it has no state).
    pub(crate) fn get(py: Python<'_>) -> PyResult<Py<Done>> {
        if let Some(done) = DONE.get(py) {
            return Ok(done.clone_ref(py));
        }
        let done = Py::new(py, Done)?;
        Ok(DONE.get_or_init(py, || done).clone_ref(py))
    }
}

#[pymethods]
impl Done {
    fn __await__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Finishes at once: StopIteration(None).
    fn __next__(&self) -> Option<Py<PyAny>> {
        None
    }

    fn __repr__(&self) -> &'static str {
        "<tonio.Done>"
    }
}
