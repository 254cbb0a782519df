//! `_runtime_stats()`: counters of the calling thread's runtime, for tests and debugging.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::current_runtime;

/// Live tasks, timer-heap entries and blocking-pool counts of the current runtime.
#[pyfunction]
pub(crate) fn _runtime_stats(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let runtime = current_runtime().ok_or_else(|| {
        PyRuntimeError::new_err("_runtime_stats() must be called on a tonio runtime")
    })?;
    let pool = runtime.blocking().stats();
    let stats = PyDict::new(py);
    stats.set_item("tasks", runtime.registry().live())?;
    stats.set_item("timers", runtime.timers().len())?;
    stats.set_item("registered_fds", runtime.reactor().registered_fds())?;
    stats.set_item("blocking_threads", pool.threads)?;
    stats.set_item("blocking_idle", pool.idle)?;
    stats.set_item("blocking_queued", pool.queued)?;
    stats.set_item("blocking_in_flight", pool.in_flight)?;
    stats.set_item("virtual_clock", runtime.clock().is_virtual())?;
    stats.set_item("closing", runtime.is_shutting_down())?;
    stats.set_item("closed", runtime.registry().is_closed())?;
    Ok(stats)
}
