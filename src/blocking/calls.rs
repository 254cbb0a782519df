//! `spawn_blocking`, `map_blocking` and `block_on`: crossing between tasks and plain threads.

use std::sync::Arc;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::pool::Job;
use crate::py::{check_unstarted, expect_coroutine};
use crate::runtime::{calling_runtime, on_worker, Shared};
use crate::task::{Collect, Completion, Spawned, SpawnedCore, Task};

fn expect_callable(what: &str, function: &Bound<'_, PyAny>) -> PyResult<()> {
    if function.is_callable() {
        return Ok(());
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be callable, not {}",
        function.get_type().name()?
    )))
}

fn submit(runtime: &Arc<Shared>, job: Job) -> PyResult<()> {
    runtime
        .blocking()
        .submit(runtime, job)
        .map_err(|err| PyOSError::new_err(format!("tonio: cannot start a blocking thread: {err}")))
}

/// `spawn_blocking(function, *args, **kwargs)`: runs `function` on the blocking pool now; yield
/// or await the result for its return value (or its exception).
#[pyfunction]
#[pyo3(signature = (function, *args, **kwargs))]
pub(crate) fn spawn_blocking(
    function: Bound<'_, PyAny>,
    args: Bound<'_, PyTuple>,
    kwargs: Option<Bound<'_, PyDict>>,
) -> PyResult<Spawned> {
    let runtime = calling_runtime("spawn_blocking()")?;
    expect_callable("spawn_blocking() first argument", &function)?;
    let group = SpawnedCore::blocking_calls(1, Collect::Single);
    let job = Job {
        function: function.unbind(),
        args: args.unbind(),
        kwargs: kwargs.map(Bound::unbind),
        group: Arc::clone(&group),
        index: 0,
    };
    submit(&runtime, job)?;
    Ok(Spawned::new(group))
}

/// `map_blocking(function, iterable)`: one blocking call per item, all queued now; yield or
/// await the result for the list of return values in order.
#[pyfunction]
pub(crate) fn map_blocking(
    py: Python<'_>,
    function: Bound<'_, PyAny>,
    iterable: Bound<'_, PyAny>,
) -> PyResult<Spawned> {
    let runtime = calling_runtime("map_blocking()")?;
    expect_callable("map_blocking() first argument", &function)?;
    let items: Vec<Bound<'_, PyAny>> = iterable.try_iter()?.collect::<PyResult<_>>()?;
    if u32::try_from(items.len()).is_err() {
        return Err(PyValueError::new_err(format!(
            "map_blocking() takes at most {} items",
            u32::MAX
        )));
    }
    let group = SpawnedCore::blocking_calls(items.len(), Collect::List);
    for (index, item) in (0..u32::MAX).zip(items) {
        let job = Job {
            function: function.clone().unbind(),
            args: PyTuple::new(py, [item])?.unbind(),
            kwargs: None,
            group: Arc::clone(&group),
            index,
        };
        submit(&runtime, job)?;
    }
    Ok(Spawned::new(group))
}

/// `block_on(coro)`: runs `coro` as a task of the runtime this thread belongs to (a blocking
/// call's thread) and blocks until it finishes; returns its result or raises its exception.
#[pyfunction]
pub(crate) fn block_on(py: Python<'_>, coroutine: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    if on_worker() {
        return Err(PyRuntimeError::new_err(
            "block_on() cannot be called from a task: it would block a worker thread (yield or \
             await the coroutine instead, or call block_on from a spawn_blocking function)",
        ));
    }
    let runtime = calling_runtime("block_on()")?;
    expect_coroutine("block_on() argument", &coroutine)?;
    check_unstarted("block_on()", &coroutine)?;
    if runtime.is_shutting_down() {
        return Err(PyRuntimeError::new_err(
            "block_on(): the runtime is closing and runs no more tasks",
        ));
    }
    let context = runtime.task_context(py)?;
    let group = SpawnedCore::tasks(1, Collect::Single);
    let completion = Completion::Spawned {
        group: Arc::clone(&group),
        index: 0,
    };
    let task = Task::new(
        Arc::clone(&runtime),
        coroutine.unbind(),
        context,
        completion,
    )?;
    group.set_members(Box::new([Arc::downgrade(&task)]));
    // While this pool thread waits for the task it is not "busy" for the virtual clock, which
    // must be free to jump for the task's timers. The order keeps the count honest: the group
    // counts the thread back in when it completes (before waking it), the task is queued before
    // the thread counts itself out, so at no moment do both look idle while work is pending.
    group.set_blocking_waiter(&runtime);
    runtime.schedule(task);
    runtime.blocking_job_finished();
    py.detach(|| group.done_event().wait_blocking());
    group.outcome(py)
}
