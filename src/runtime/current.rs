//! Which runtime (and which worker of it) the current thread belongs to.
//!
//! Set by each worker thread for its whole life. `spawn()` uses it to find its runtime and to
//! queue new tasks locally; `schedule` uses it to tell a worker (local queue) from any other thread
//! (injector); `run_until_complete` uses it to refuse nesting.

use std::cell::RefCell;
use std::sync::Arc;

use super::Shared;

struct Current {
    runtime: Option<Arc<Shared>>,
    worker: usize,
}

thread_local! {
    static CURRENT: RefCell<Current> = const {
        RefCell::new(Current { runtime: None, worker: 0 })
    };
}

pub(crate) fn enter_worker(runtime: Arc<Shared>, worker: usize) {
    CURRENT.with(|current| {
        *current.borrow_mut() = Current {
            runtime: Some(runtime),
            worker,
        }
    });
}

pub(crate) fn exit_worker() {
    CURRENT.with(|current| current.borrow_mut().runtime = None);
}

/// The runtime whose worker this thread is, with the worker's index.
pub(crate) fn current_runtime() -> Option<(Arc<Shared>, usize)> {
    CURRENT.with(|current| {
        let current = current.borrow();
        current
            .runtime
            .as_ref()
            .map(|runtime| (Arc::clone(runtime), current.worker))
    })
}

/// This thread's worker index if it is a worker of `runtime`.
pub(crate) fn worker_index_on(runtime: &Shared) -> Option<usize> {
    CURRENT.with(|current| {
        let current = current.borrow();
        match &current.runtime {
            Some(mine) if std::ptr::eq(Arc::as_ptr(mine), runtime) => Some(current.worker),
            _ => None,
        }
    })
}
