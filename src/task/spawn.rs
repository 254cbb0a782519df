//! `spawn`: creating tasks from inside a running task (or from a blocking function it runs).
//!
//! Exposed to Python as the `spawn` object (of class `Spawn`), callable, with
//! `spawn.without_results(...)` and `spawn.without_tracking(...)` as methods, as TonIO users write
//! it. A call either starts every coroutine it was given or none: all are checked (a coroutine
//! object that never ran, each passed once) before any task is created.

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::spawned::{Collect, Spawned, SpawnedCore};
use super::task::{Completion, Task};
use crate::py::{already_owned, check_unstarted, expect_coroutine, is_coroutine, life, Life};
use crate::runtime::{calling_runtime, Shared};

/// Names argument `index` (0-based) of the call `what`, for error messages.
fn argument(what: &str, index: usize) -> String {
    format!("{what} argument {}", index + 1)
}

/// Checks every argument: a coroutine object that never ran, none passed twice.
fn check_arguments(what: &str, coros: &Bound<'_, PyTuple>) -> PyResult<()> {
    for (index, coro) in coros.iter().enumerate() {
        if !is_coroutine(&coro) {
            expect_coroutine(&argument(what, index), &coro)?;
        }
        if life(&coro)? != Life::Unstarted {
            check_unstarted(&argument(what, index), &coro)?;
        }
    }
    // Coroutines made in a loop sit at mostly ascending addresses: a stable sort (which merges
    // ascending runs) of the addresses finds a repeat in close to linear time.
    let mut addresses: Vec<usize> = coros.iter().map(|coro| coro.as_ptr() as usize).collect();
    addresses.sort();
    if let Some(repeated) = addresses
        .windows(2)
        .find(|pair| pair[0] == pair[1])
        .map(|pair| pair[0])
    {
        let mut positions = coros
            .iter()
            .enumerate()
            .filter(|(_, coro)| coro.as_ptr() as usize == repeated)
            .map(|(index, _)| index + 1);
        let first = positions.next().unwrap_or(0);
        let second = positions.next().unwrap_or(0);
        return Err(already_owned(&format!(
            "{what} arguments {first} and {second}"
        )));
    }
    Ok(())
}

/// Creates a task per coroutine; if one cannot be created (the runtime is closing), the ones
/// created are discarded (never queued) and the error raised.
fn create_tasks(
    py: Python<'_>,
    runtime: &Arc<Shared>,
    coros: &Bound<'_, PyTuple>,
    mut completion: impl FnMut(u32) -> Completion,
) -> PyResult<Vec<Arc<Task>>> {
    let mut tasks = Vec::with_capacity(coros.len());
    for (index, coro) in (0..u32::MAX).zip(coros.iter()) {
        let created = runtime.task_context(py).and_then(|context| {
            Task::new(
                Arc::clone(runtime),
                coro.unbind(),
                context,
                completion(index),
            )
        });
        match created {
            Ok(task) => tasks.push(task),
            Err(err) => {
                for task in &tasks {
                    task.discard();
                }
                return Err(err);
            }
        }
    }
    Ok(tasks)
}

fn spawn_group(
    py: Python<'_>,
    what: &str,
    coros: &Bound<'_, PyTuple>,
    collect: Collect,
) -> PyResult<Spawned> {
    let runtime = calling_runtime(what)?;
    check_arguments(what, coros)?;
    if u32::try_from(coros.len()).is_err() {
        return Err(PyValueError::new_err(format!(
            "{what} takes at most {} coroutines",
            u32::MAX
        )));
    }
    let group = SpawnedCore::tasks(coros.len(), collect);
    let tasks = create_tasks(py, &runtime, coros, |index| Completion::Spawned {
        group: Arc::clone(&group),
        index,
    })?;
    group.set_members(tasks.iter().map(Arc::downgrade).collect());
    runtime.schedule_all(tasks);
    Ok(Spawned::new(group))
}

/// `_check_coroutines(what, *coros)`: the checks `spawn` makes, for the combinators written in
/// Python (`select`, `as_completed`, `timeout`), which run coroutines inside tasks of their own.
#[pyfunction]
#[pyo3(signature = (what, *coros))]
pub(crate) fn _check_coroutines(what: &str, coros: &Bound<'_, PyTuple>) -> PyResult<()> {
    check_arguments(what, coros)
}

/// `_report_unraisable(error, obj)`: reports `error` through `sys.unraisablehook` as tonio reports
/// the failures of tasks nobody waits for (used by servers for their connection handlers).
#[pyfunction]
pub(crate) fn _report_unraisable(error: Bound<'_, PyAny>, obj: Option<Bound<'_, PyAny>>) {
    let py = error.py();
    PyErr::from_value(error).write_unraisable(py, obj.as_ref());
}

/// `spawn(*coros)`: start coroutines now; yield/await the result for their results.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct Spawn;

#[pymethods]
impl Spawn {
    /// Starts every coroutine at once. Yielding (or awaiting) the returned object gives the result
    /// of a single coroutine, or the list of results in argument order for several; failures are
    /// raised (several as an ExceptionGroup).
    #[pyo3(signature = (*coros))]
    fn __call__(&self, py: Python<'_>, coros: &Bound<'_, PyTuple>) -> PyResult<Spawned> {
        let collect = if coros.len() == 1 {
            Collect::Single
        } else {
            Collect::List
        };
        spawn_group(py, "spawn()", coros, collect)
    }

    /// Like `spawn`, but waiting gives None: results are dropped, failures still raise.
    #[pyo3(signature = (*coros))]
    fn without_results(&self, py: Python<'_>, coros: &Bound<'_, PyTuple>) -> PyResult<Spawned> {
        spawn_group(py, "spawn.without_results()", coros, Collect::Nothing)
    }

    /// Fire and forget: nothing waits for these tasks; a failure is reported on stderr (through
    /// `sys.unraisablehook`).
    #[pyo3(signature = (*coros))]
    fn without_tracking(&self, py: Python<'_>, coros: &Bound<'_, PyTuple>) -> PyResult<()> {
        let what = "spawn.without_tracking()";
        let runtime = calling_runtime(what)?;
        check_arguments(what, coros)?;
        let tasks = create_tasks(py, &runtime, coros, |_| Completion::Detached)?;
        runtime.schedule_all(tasks);
        Ok(())
    }

    fn __repr__(&self) -> &'static str {
        "<tonio.spawn>"
    }
}
