//! `Waiter.checkpoint()`: a point a task passes, which gives another party a handle to cancel it.
//!
//! Yielding the checkpoint resolves at once (it is a suspension point for a pending cancel, like
//! any wait) and binds it to the task that passed it. `abort()` (or TonIO's `unwind()`) then
//! cancels that task: at its current suspension point, or at its next one if it is running. An
//! abort before the checkpoint is reached cancels the task as it passes. TonIO's time and signal
//! helpers are built this way; here it is public for the same kind of glue.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, Weak};

use pyo3::prelude::*;

use super::parked::ParkedTask;
use super::source::{Registered, Resumed, WaitSource};
use crate::task::{Outcome, Tag, Task};

#[derive(Default)]
struct Binding {
    task: Weak<Task>,
    aborted: bool,
}

/// The shared state of a checkpoint: who passed it, and whether it was aborted.
#[derive(Default)]
pub(crate) struct Checkpoint {
    binding: Mutex<Binding>,
}

impl Checkpoint {
    fn binding(&self) -> std::sync::MutexGuard<'_, Binding> {
        self.binding
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Cancels the task bound to the checkpoint (now or when it passes). Returns whether a task
    /// was bound and still running.
    pub(crate) fn abort(&self) -> bool {
        let task = {
            let mut binding = self.binding();
            binding.aborted = true;
            binding.task.upgrade()
        };
        match task {
            Some(task) => {
                task.cancel();
                let runtime = Arc::clone(task.runtime());
                runtime.release_task(task);
                true
            }
            None => false,
        }
    }
}

/// The wait of yielding a checkpoint.
pub(crate) struct CheckpointWait {
    checkpoint: Arc<Checkpoint>,
}

impl CheckpointWait {
    pub(crate) fn new(checkpoint: Arc<Checkpoint>) -> Self {
        Self { checkpoint }
    }
}

impl WaitSource for CheckpointWait {
    fn try_now(&self, py: Python<'_>, task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        let aborted = {
            let mut binding = self.checkpoint.binding();
            binding.task = Arc::downgrade(task);
            binding.aborted
        };
        if aborted {
            // Cancelled as it passes: the task is doomed and the checkpoint raises at once.
            task.cancel();
            let _ = task.state().take_cancel();
            return Some(Err(crate::errors::CancelledError::new_err(
                "task was cancelled (its checkpoint was aborted)",
            )));
        }
        Some(Ok(py.None()))
    }

    fn register(&self, _parked: ParkedTask, _key: &AtomicU64) -> Registered {
        // `try_now` always resolves: the task never parks here.
        Registered::Ready
    }

    fn deregister(&self, _key: &AtomicU64) {}

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, _outcome: Outcome, _tag: Tag) -> Resumed {
        Resumed::Value(Ok(py.None()))
    }

    fn combinable(&self) -> bool {
        false
    }

    fn describe(&self) -> &'static str {
        "checkpoint"
    }
}
