//! `_internal_panic_waiter()`: a Waiter whose source panics, so the test suite can check that a
//! bug in tonio fails the task that hit it (with a RuntimeError its waiter receives) instead of
//! killing a worker or hanging the runtime. Private; nothing else uses it.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use pyo3::prelude::*;

use super::parked::ParkedTask;
use super::source::{Registered, Resumed, WaitKind, WaitSource};
use super::waiter::Waiter;
use crate::task::{Outcome, Tag, Task};
use crate::time::Timeout;

struct PanickingWait;

impl WaitSource for PanickingWait {
    fn try_now(&self, _py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        panic!("tonio: deliberate panic from _internal_panic_waiter() (a test of the failure path)")
    }

    fn register(&self, _parked: ParkedTask, _key: &AtomicU64) -> Registered {
        Registered::Stale
    }

    fn deregister(&self, _key: &AtomicU64) {}

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, _outcome: Outcome, _tag: Tag) -> Resumed {
        Resumed::Value(Ok(py.None()))
    }

    fn combinable(&self) -> bool {
        false
    }

    fn describe(&self) -> &'static str {
        "internal panic"
    }
}

#[pyfunction]
pub(crate) fn _internal_panic_waiter() -> Waiter {
    Waiter::new(WaitKind::Source(Arc::new(PanickingWait)), Timeout::Never)
}
