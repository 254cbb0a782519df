//! `spawn_blocking`, `map_blocking` and `block_on`: crossing between tasks and plain threads.

use std::sync::Arc;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::interrupt::CallControl;
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

/// Queues one call of `function(*args, **kwargs)` for the pool.
fn spawn_call(
    py: Python<'_>,
    what: &str,
    function: Bound<'_, PyAny>,
    args: Bound<'_, PyTuple>,
    kwargs: Option<Bound<'_, PyDict>>,
    interruptible: bool,
) -> PyResult<Spawned> {
    let runtime = calling_runtime(what)?;
    expect_callable(&format!("{what} first argument"), &function)?;
    let group = SpawnedCore::blocking_calls(1, Collect::Single);
    let control = Arc::new(CallControl::new(interruptible));
    group.set_calls(Box::new([Arc::clone(&control)]));
    let job = Job {
        function: function.unbind(),
        args: args.unbind(),
        kwargs: kwargs.map(Bound::unbind),
        context: runtime.task_context(py)?,
        control,
        group: Arc::clone(&group),
        index: 0,
    };
    submit(&runtime, job)?;
    Ok(Spawned::new(group))
}

/// `spawn_blocking(function, *args, **kwargs)`: runs `function` on the blocking pool now; yield
/// or await the result for its return value (or its exception).
///
/// A cancelled waiter stops waiting at once and the function is stopped too: `CancelledError`
/// is raised inside it at its next Python bytecode (C code blocked in a syscall finishes first).
/// `spawn_blocking.uninterruptible(...)` runs a function that must not be stopped half-way
/// (it completes; only its result is dropped). With the runtime option `context=True` the
/// function runs in a copy of the calling task's `contextvars` context, as `asyncio.to_thread`
/// does.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct SpawnBlocking;

#[pymethods]
impl SpawnBlocking {
    #[pyo3(signature = (function, /, *args, **kwargs))]
    fn __call__(
        &self,
        py: Python<'_>,
        function: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
        kwargs: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Spawned> {
        spawn_call(py, "spawn_blocking()", function, args, kwargs, true)
    }

    /// Like `spawn_blocking`, for a function that must not be stopped half-way: a cancelled
    /// waiter still stops waiting at once, but the function runs to its end.
    #[pyo3(signature = (function, /, *args, **kwargs))]
    fn uninterruptible(
        &self,
        py: Python<'_>,
        function: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
        kwargs: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Spawned> {
        spawn_call(
            py,
            "spawn_blocking.uninterruptible()",
            function,
            args,
            kwargs,
            false,
        )
    }

    fn __repr__(&self) -> &'static str {
        "<tonio.spawn_blocking>"
    }
}

/// `map_blocking(function, iterable)`: one blocking call per item, all queued now; yield or
/// await the result for the list of return values in order. A cancelled waiter stops the calls
/// as `spawn_blocking` does.
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
    let controls: Vec<Arc<CallControl>> = items
        .iter()
        .map(|_| Arc::new(CallControl::new(true)))
        .collect();
    group.set_calls(controls.clone().into_boxed_slice());
    for ((index, item), control) in (0..u32::MAX).zip(items).zip(controls) {
        let job = Job {
            function: function.clone().unbind(),
            args: PyTuple::new(py, [item])?.unbind(),
            kwargs: None,
            // A copy each: calls running at once cannot share one entered context.
            context: runtime.task_context(py)?,
            control,
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
