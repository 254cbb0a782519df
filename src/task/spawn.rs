//! `spawn`: creating tasks from inside a running task (or from a blocking function it runs).
//!
//! Exposed to Python as the `spawn` object (of class `Spawn`), callable, with
//! `spawn.without_results(...)` and `spawn.without_tracking(...)` as methods, as TonIO users write
//! it. A call either starts every coroutine it was given or none: all are checked (a coroutine
//! object that never ran, each passed once) before any task is created (only a runtime closing
//! meanwhile can stop a spawn half-way, and then cancels what it started).

use std::sync::{Arc, Weak};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::spawned::{Collect, Spawned, SpawnedCore};
use super::task::{Completion, Task};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};

use crate::py::{already_owned, check_unstarted, is_coroutine, life, Life};
use crate::runtime::{calling_runtime, Shared};
use crate::time::Timeout;
use crate::wait::Waiter;

/// Names argument `index` (0-based) of the call `what`, for error messages.
fn argument(what: &str, index: usize) -> String {
    format!("{what} argument {}", index + 1)
}

/// What a task can run: a coroutine or generator object, or a Waiter (a task that only waits
/// for it; a spawn result waits through its Waiter). None for anything else.
fn task_root<'py>(item: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    if is_coroutine(item) {
        return Ok(Some(item.clone()));
    }
    if let Ok(waiter) = item.cast::<Waiter>() {
        if !waiter.get().is_fresh() {
            return Err(PyRuntimeError::new_err(
                "this Waiter was already yielded or awaited; a Waiter can be waited on only once",
            ));
        }
        return Ok(Some(item.clone()));
    }
    if let Ok(spawned) = item.cast::<Spawned>() {
        let waiter = Waiter::new(spawned.get().wait_kind(), Timeout::Never);
        return Ok(Some(Bound::new(item.py(), waiter)?.into_any()));
    }
    Ok(None)
}

/// Checks every argument (a coroutine object that never ran, or a Waiter or spawn result; none
/// passed twice) and gives what the tasks will run: None when that is the arguments themselves
/// (the common case: all coroutines, no copy made).
pub(crate) fn check_arguments<'py>(
    what: &str,
    coros: &Bound<'py, PyTuple>,
) -> PyResult<Option<Vec<Bound<'py, PyAny>>>> {
    let mut converted: Option<Vec<Bound<'py, PyAny>>> = None;
    for (index, coro) in coros.iter().enumerate() {
        if is_coroutine(&coro) {
            if life(&coro)? != Life::Unstarted {
                check_unstarted(&argument(what, index), &coro)?;
            }
            if let Some(converted) = converted.as_mut() {
                converted.push(coro);
            }
            continue;
        }
        let Some(root) = task_root(&coro)? else {
            return Err(not_runnable(&argument(what, index), &coro));
        };
        converted
            .get_or_insert_with(|| coros.iter().take(index).collect())
            .push(root);
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
    Ok(converted)
}

/// The TypeError for an argument a task cannot run.
pub(crate) fn not_runnable(what: &str, item: &Bound<'_, PyAny>) -> PyErr {
    let hint = if item.is_callable() {
        " (did you forget to call it?)"
    } else {
        ""
    };
    let name = item
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |name| name.to_string());
    PyTypeError::new_err(format!(
        "{what} must be a generator or coroutine object, a Waiter or a spawn() result, not \
         {name}{hint}"
    ))
}

/// `check_arguments` for one argument: what its task runs.
pub(crate) fn check_argument<'py>(
    what: &str,
    item: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let tuple = PyTuple::new(item.py(), [item])?;
    Ok(match check_arguments(what, &tuple)? {
        Some(mut roots) => roots.remove(0),
        None => item.clone(),
    })
}

/// Tasks are queued in batches of this many as they are created, so that on several workers the
/// others start running a large spawn while the caller is still creating the rest of it.
const START_BATCH: usize = 256;

/// Creates and queues a task per coroutine; returns them (weakly, for cancelling them later).
/// If one cannot be created (the runtime is closing), those of its batch are discarded (never
/// queued), those already queued are cancelled (the closing runtime would cancel them anyway),
/// and the error is raised.
fn start_tasks<'py>(
    py: Python<'py>,
    runtime: &Arc<Shared>,
    coros: impl ExactSizeIterator<Item = Bound<'py, PyAny>>,
    mut completion: impl FnMut(u32) -> Completion,
) -> PyResult<Box<[Weak<Task>]>> {
    let mut started: Vec<Weak<Task>> = Vec::with_capacity(coros.len());
    let mut batch: Vec<Arc<Task>> = Vec::with_capacity(START_BATCH.min(coros.len()));
    for (index, coro) in (0..u32::MAX).zip(coros) {
        let created = runtime.task_context(py).and_then(|context| {
            Task::new(
                Arc::clone(runtime),
                coro.unbind(),
                context,
                completion(index),
            )
        });
        match created {
            Ok(task) => {
                started.push(Arc::downgrade(&task));
                batch.push(task);
                if batch.len() == START_BATCH {
                    runtime.schedule_all(batch.drain(..));
                }
            }
            Err(err) => {
                for task in &batch {
                    task.discard();
                }
                let queued = started.len() - batch.len();
                for task in started[..queued].iter().filter_map(Weak::upgrade) {
                    task.cancel();
                }
                return Err(err);
            }
        }
    }
    runtime.schedule_all(batch);
    Ok(started.into_boxed_slice())
}

fn spawn_group(
    py: Python<'_>,
    what: &str,
    coros: &Bound<'_, PyTuple>,
    collect: Collect,
) -> PyResult<Spawned> {
    let runtime = calling_runtime(what)?;
    let roots = check_arguments(what, coros)?;
    if u32::try_from(coros.len()).is_err() {
        return Err(PyValueError::new_err(format!(
            "{what} takes at most {} coroutines",
            u32::MAX
        )));
    }
    let group = SpawnedCore::tasks(coros.len(), collect);
    let completion = |index| Completion::Spawned {
        group: Arc::clone(&group),
        index,
    };
    let members = match roots {
        Some(roots) => start_tasks(py, &runtime, roots.into_iter(), completion)?,
        None => start_tasks(py, &runtime, coros.iter(), completion)?,
    };
    // Only a waiter cancelled while it waits reads them, and it can wait only once this returns.
    group.set_members(members);
    Ok(Spawned::new(group))
}

/// `_check_coroutines(what, *coros)`: the checks `spawn` makes, for the combinators written in
/// Python (`select`, `as_completed`, `timeout`), which run coroutines inside tasks of their own.
#[pyfunction]
#[pyo3(signature = (what, *coros))]
pub(crate) fn _check_coroutines(what: &str, coros: &Bound<'_, PyTuple>) -> PyResult<()> {
    check_arguments(what, coros).map(|_| ())
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
        match check_arguments(what, coros)? {
            Some(roots) => start_tasks(py, &runtime, roots.into_iter(), |_| Completion::Detached)?,
            None => start_tasks(py, &runtime, coros.iter(), |_| Completion::Detached)?,
        };
        Ok(())
    }

    fn __repr__(&self) -> &'static str {
        "<tonio.spawn>"
    }
}
