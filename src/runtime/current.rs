//! What the current thread is doing for tonio: which runtime it works for (as a worker or as a
//! blocking-pool thread), and which task it is running right now.
//!
//! Set by each worker and blocking thread for its whole life. `spawn()` uses it to find its
//! runtime and to queue new tasks locally; `schedule` uses it to tell a worker (local queue) from
//! any other thread (injector); `run_until_complete` and `block_on` use it to refuse calls that
//! would block a worker. The running task is what scopes and deadlines attach to.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use super::Shared;
use crate::task::Task;

struct Current {
    runtime: Option<Arc<Shared>>,
    /// `Some(index)` on a worker thread, `None` on a blocking-pool thread.
    worker: Option<usize>,
}

thread_local! {
    static CURRENT: RefCell<Current> = const {
        RefCell::new(Current { runtime: None, worker: None })
    };
    static RUNNING_TASK: Cell<*const Task> = const { Cell::new(std::ptr::null()) };
    static POLLING: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread as turning the driver poll (or waiting in the lobby) until the guard drops:
/// nothing that may run Python is dropped here (see `Shared::release`).
pub(crate) struct Polling {
    /// Whether the thread was marked already (the lobby's own turn of the driver poll).
    outer: bool,
}

impl Polling {
    pub(crate) fn enter() -> Self {
        let outer = POLLING.with(|polling| polling.replace(true));
        Self { outer }
    }
}

impl Drop for Polling {
    fn drop(&mut self) {
        POLLING.with(|polling| polling.set(self.outer));
    }
}

/// Whether this thread is turning the driver poll (or waiting in the lobby).
pub(crate) fn polling() -> bool {
    POLLING.with(Cell::get)
}

fn enter(runtime: Arc<Shared>, worker: Option<usize>) {
    CURRENT.with(|current| {
        *current.borrow_mut() = Current {
            runtime: Some(runtime),
            worker,
        }
    });
}

pub(crate) fn enter_worker(runtime: Arc<Shared>, worker: usize) {
    enter(runtime, Some(worker));
}

pub(crate) fn enter_blocking(runtime: Arc<Shared>) {
    enter(runtime, None);
}

pub(crate) fn exit() {
    CURRENT.with(|current| current.borrow_mut().runtime = None);
}

/// The runtime this thread works for (as a worker or a blocking-pool thread).
pub(crate) fn current_runtime() -> Option<Arc<Shared>> {
    CURRENT.with(|current| current.borrow().runtime.clone())
}

/// Calls `f` with the runtime this thread works for, without cloning its `Arc`: for hot checks
/// (every stream operation, `tonio.time()`), where every worker bumping the shared count would
/// bounce its cache line between them. `f` must not enter or leave a runtime.
pub(crate) fn with_current_runtime<R>(f: impl FnOnce(Option<&Arc<Shared>>) -> R) -> R {
    CURRENT.with(|current| f(current.borrow().runtime.as_ref()))
}

/// Whether the calling thread works for `runtime`.
pub(crate) fn is_current_runtime(runtime: &Arc<Shared>) -> bool {
    with_current_runtime(|current| current.is_some_and(|current| Arc::ptr_eq(current, runtime)))
}

/// The runtime of the calling thread, or the error for calling `what` from anywhere else.
pub(crate) fn calling_runtime(what: &str) -> PyResult<Arc<Shared>> {
    current_runtime().ok_or_else(|| {
        PyRuntimeError::new_err(format!(
            "{what} must be called from a task running on a tonio runtime, or from a blocking \
             function it runs (start one with tonio.run(), @tonio.main or tonio.runtime())"
        ))
    })
}

/// Whether this thread is a worker of some runtime (blocking it would stall that runtime).
pub(crate) fn on_worker() -> bool {
    CURRENT.with(|current| {
        let current = current.borrow();
        current.runtime.is_some() && current.worker.is_some()
    })
}

/// This thread's worker index if it is a worker of `runtime`.
pub(crate) fn worker_index_on(runtime: &Shared) -> Option<usize> {
    CURRENT.with(|current| {
        let current = current.borrow();
        match &current.runtime {
            Some(mine) if std::ptr::eq(Arc::as_ptr(mine), runtime) => current.worker,
            _ => None,
        }
    })
}

/// Marks `task` as the one this thread runs until the guard drops.
pub(crate) struct RunningTask<'a> {
    _task: &'a Arc<Task>,
    previous: *const Task,
}

impl<'a> RunningTask<'a> {
    pub(crate) fn enter(task: &'a Arc<Task>) -> Self {
        let previous = RUNNING_TASK.with(|running| running.replace(Arc::as_ptr(task)));
        Self {
            _task: task,
            previous,
        }
    }
}

impl Drop for RunningTask<'_> {
    fn drop(&mut self) {
        RUNNING_TASK.with(|running| running.set(self.previous));
    }
}

/// Calls `f` with the task whose code is running on this thread, if any, without touching its
/// reference count (`running_task` for the await fast path).
pub(crate) fn with_running_task<R>(f: impl FnOnce(&Arc<Task>) -> R) -> Option<R> {
    let task = RUNNING_TASK.with(Cell::get);
    if task.is_null() {
        return None;
    }
    // SAFETY: the pointer was set by a live `RunningTask` guard, which borrows an `Arc<Task>` for
    // as long as it is installed; it is installed further up this thread's stack, so it outlives
    // this call. `ManuallyDrop`: the `Arc` is borrowed, its count is never decremented here.
    let task = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(task) });
    Some(f(&task))
}

/// The task whose code is running on this thread, if any.
pub(crate) fn running_task() -> Option<Arc<Task>> {
    let task = RUNNING_TASK.with(Cell::get);
    if task.is_null() {
        return None;
    }
    // SAFETY: the pointer was set by a live `RunningTask` guard, which borrows an `Arc<Task>` for
    // as long as it is installed, so the task is alive and its strong count is at least one.
    unsafe {
        Arc::increment_strong_count(task);
        Some(Arc::from_raw(task))
    }
}
