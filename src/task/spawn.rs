//! `spawn(*coros)`: creating tasks from inside a running task.
//!
//! Exposed to Python as the `spawn` object, callable, with `spawn.without_results(...)` and
//! `spawn.without_tracking(...)` as methods, as TonIO users write it.

use std::sync::{Arc, Weak};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::join::{Collect, JoinGroup, JoinHandle};
use super::task::{Completion, Task};
use crate::py::expect_coroutine;
use crate::runtime::{calling_runtime, Shared};

/// Creates one task for `coroutine` and queues it.
pub(crate) fn spawn_task(
    py: Python<'_>,
    runtime: &Arc<Shared>,
    coroutine: Bound<'_, PyAny>,
    completion: Completion,
) -> PyResult<Weak<Task>> {
    let context = runtime.task_context(py)?;
    let task = Task::new(Arc::clone(runtime), coroutine.unbind(), context, completion)?;
    let weak = Arc::downgrade(&task);
    runtime.schedule(task);
    Ok(weak)
}

/// Checks every argument before any task is created, so a bad call spawns nothing.
fn check_coroutines(what: &str, coros: &Bound<'_, PyTuple>) -> PyResult<()> {
    for (position, coro) in coros.iter().enumerate() {
        expect_coroutine(&format!("{what} argument {}", position + 1), &coro)?;
    }
    Ok(())
}

fn spawn_group(
    py: Python<'_>,
    what: &str,
    coros: &Bound<'_, PyTuple>,
    collect: Collect,
) -> PyResult<JoinHandle> {
    let runtime = calling_runtime(what)?;
    check_coroutines(what, coros)?;
    if u32::try_from(coros.len()).is_err() {
        return Err(PyValueError::new_err(format!(
            "{what} takes at most {} coroutines",
            u32::MAX
        )));
    }
    let group = JoinGroup::new(coros.len(), collect);
    let mut members = Vec::with_capacity(coros.len());
    for (index, coro) in (0..u32::MAX).zip(coros.iter()) {
        let completion = Completion::Join {
            group: Arc::clone(&group),
            index,
        };
        match spawn_task(py, &runtime, coro, completion) {
            Ok(task) => members.push(task),
            Err(err) => {
                // The tasks already started run on (into a group nobody will wait for, so
                // their failures are reported); the slots of the ones never created are filled
                // so the group still completes.
                for missing in index..coros.len() as u32 {
                    let _ = group.complete(missing, Ok(py.None()));
                }
                return Err(err);
            }
        }
    }
    group.set_members(members.into_boxed_slice());
    Ok(JoinHandle::new(group))
}

/// `spawn(*coros)`: start coroutines now; yield/await the result for their results.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct Spawner;

#[pymethods]
impl Spawner {
    /// Starts every coroutine at once. Yielding (or awaiting) the returned object gives the result
    /// of a single coroutine, or the list of results in argument order for several; if any failed,
    /// it raises the first failure.
    #[pyo3(signature = (*coros))]
    fn __call__(&self, py: Python<'_>, coros: &Bound<'_, PyTuple>) -> PyResult<JoinHandle> {
        let collect = if coros.len() == 1 {
            Collect::Single
        } else {
            Collect::List
        };
        spawn_group(py, "spawn()", coros, collect)
    }

    /// Like `spawn`, but waiting gives None: results are dropped, failures still raise.
    #[pyo3(signature = (*coros))]
    fn without_results(&self, py: Python<'_>, coros: &Bound<'_, PyTuple>) -> PyResult<JoinHandle> {
        spawn_group(py, "spawn.without_results()", coros, Collect::Nothing)
    }

    /// Fire and forget: nothing waits for these tasks; a failure is reported on stderr (through
    /// `sys.unraisablehook`).
    #[pyo3(signature = (*coros))]
    fn without_tracking(&self, py: Python<'_>, coros: &Bound<'_, PyTuple>) -> PyResult<()> {
        let what = "spawn.without_tracking()";
        let runtime = calling_runtime(what)?;
        check_coroutines(what, coros)?;
        for coro in coros.iter() {
            spawn_task(py, &runtime, coro, Completion::Detached)?;
        }
        Ok(())
    }

    fn __repr__(&self) -> &'static str {
        "<tonio.spawn>"
    }
}
