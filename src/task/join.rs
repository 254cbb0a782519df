//! Join groups: the results of the tasks one `spawn(...)` call created (or of the blocking calls
//! one `spawn_blocking`/`map_blocking` queued), and the handle to await them.
//!
//! Each task of a group writes its result into its own slot, then decrements `remaining`; the task
//! that brings it to zero sets the group's `done` event, which wakes whoever waits for the group.
//! Slots are written once each, by distinct tasks, and read only after `remaining` reached zero
//! (acquire), so no lock guards them.
//!
//! A waiter cancelled while it waits for a group of tasks cancels them and keeps waiting until they
//! have unwound (structured, like trio's nurseries); a blocking call cannot be interrupted, so a
//! waiter cancelled while it waits for one gives up at once and the call's result is dropped.
//!
//! Errors are never lost: the first failure (in completion order) is raised to the waiter; other
//! failures, and any failure of a group nobody waited for, are reported through
//! `sys.unraisablehook` when the group is observed or dropped.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use super::Task;
use crate::errors::CancelledError;
use crate::runtime::Shared;
use crate::time::Timeout;
use crate::wait::{EventCore, WaitKind, Waiter};

/// What the waiter of a group gets back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Collect {
    /// One task: its result.
    Single,
    /// Several tasks: a list of results in argument order.
    List,
    /// Nothing (`spawn.without_results`); errors still propagate.
    Nothing,
}

/// What the group's results come from.
enum Members {
    /// Tasks, known once they are all created.
    Tasks(OnceLock<Box<[Weak<Task>]>>),
    /// Calls on the blocking pool.
    Blocking,
}

/// What a waiter of the group does when it is cancelled.
#[must_use]
pub(crate) enum OnCancel {
    /// The members were cancelled: keep waiting until they have unwound.
    KeepWaiting,
    /// Nothing to wait for: raise the CancelledError now.
    GiveUp,
}

struct ResultSlot(UnsafeCell<Option<Py<PyAny>>>);

// SAFETY: each slot is written by exactly one task (the one created for that index) and read only
// after `remaining` dropped to zero with AcqRel ordering, which orders every write before the read.
unsafe impl Sync for ResultSlot {}

pub(crate) struct JoinGroup {
    slots: Box<[ResultSlot]>,
    remaining: AtomicUsize,
    failures: Mutex<Vec<PyErr>>,
    observed: AtomicBool,
    collect: Collect,
    members: Members,
    /// Set by `block_on`: the blocking thread parked on this group counts as running again from
    /// the moment the group completes (before it is woken), so the virtual clock cannot jump
    /// in between.
    blocking_waiter: OnceLock<Arc<Shared>>,
    done: EventCore,
}

impl JoinGroup {
    /// A group for `size` tasks; call `set_members` once they exist.
    pub(crate) fn new(size: usize, collect: Collect) -> Arc<Self> {
        Self::with_members(size, collect, Members::Tasks(OnceLock::new()))
    }

    /// A group for `size` calls on the blocking pool.
    pub(crate) fn blocking(size: usize, collect: Collect) -> Arc<Self> {
        Self::with_members(size, collect, Members::Blocking)
    }

    fn with_members(size: usize, collect: Collect, members: Members) -> Arc<Self> {
        let slots = if collect == Collect::Nothing { 0 } else { size };
        Arc::new(Self {
            slots: (0..slots)
                .map(|_| ResultSlot(UnsafeCell::new(None)))
                .collect(),
            remaining: AtomicUsize::new(size),
            failures: Mutex::new(Vec::new()),
            observed: AtomicBool::new(false),
            collect,
            members,
            blocking_waiter: OnceLock::new(),
            done: EventCore::default(),
        })
    }

    /// Marks a blocking thread of `runtime` as the group's waiter (see `blocking_waiter`).
    pub(crate) fn set_blocking_waiter(&self, runtime: &Arc<Shared>) {
        let _ = self.blocking_waiter.set(Arc::clone(runtime));
    }

    /// Records the group's tasks (so a cancelled waiter can cancel them).
    pub(crate) fn set_members(&self, tasks: Box<[Weak<Task>]>) {
        if let Members::Tasks(members) = &self.members {
            let _ = members.set(tasks);
        }
    }

    /// Called when a waiter of the unfinished group is cancelled.
    pub(crate) fn cancel_members(&self) -> OnCancel {
        match &self.members {
            Members::Tasks(members) => {
                for task in members
                    .get()
                    .into_iter()
                    .flatten()
                    .filter_map(Weak::upgrade)
                {
                    task.cancel();
                }
                OnCancel::KeepWaiting
            }
            Members::Blocking => {
                // The waiter gave up on these calls: their results (and errors) are dropped.
                self.observed.store(true, Ordering::Release);
                OnCancel::GiveUp
            }
        }
    }

    pub(crate) fn done_event(&self) -> &EventCore {
        &self.done
    }

    pub(crate) fn is_done(&self) -> bool {
        self.remaining.load(Ordering::Acquire) == 0
    }

    /// Records the result of the task at `index`. Returns true when it was the last one.
    pub(crate) fn complete(&self, index: u32, result: PyResult<Py<PyAny>>) -> bool {
        match result {
            Ok(value) => {
                if let Some(slot) = self.slots.get(index as usize) {
                    // SAFETY: only the task created for `index` completes it, exactly once, and
                    // nobody reads before `remaining` reaches zero below (see `ResultSlot`).
                    unsafe { *slot.0.get() = Some(value) };
                }
            }
            Err(err) => self
                .failures
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(err),
        }
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            if let Some(runtime) = self.blocking_waiter.get() {
                runtime.blocking().job_resumed();
            }
            self.done.set();
            true
        } else {
            false
        }
    }

    /// The group's outcome, once every task finished: results, or the first error.
    pub(crate) fn outcome(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if !self.is_done() {
            return Err(PyRuntimeError::new_err(
                "spawned tasks are still running (internal error: woken before completion)",
            ));
        }
        let first_observation = !self.observed.swap(true, Ordering::AcqRel);
        // Copied out so that no lock is held while Python code (the unraisable hook) runs.
        let failures: Vec<PyErr> = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|err| err.clone_ref(py))
            .collect();
        if let Some((first, others)) = failures.split_first() {
            if first_observation {
                for other in others {
                    other.clone_ref(py).write_unraisable(py, None);
                }
            }
            return Err(first.clone_ref(py));
        }
        let value = |slot: &ResultSlot| {
            // SAFETY: `is_done` observed `remaining == 0` with acquire ordering, so every slot
            // write happened before this read and none can follow.
            let stored = unsafe { &*slot.0.get() };
            match stored {
                Some(value) => value.clone_ref(py),
                None => py.None(),
            }
        };
        match self.collect {
            Collect::Nothing => Ok(py.None()),
            Collect::Single => Ok(self.slots.first().map_or_else(|| py.None(), value)),
            Collect::List => Ok(PyList::new(py, self.slots.iter().map(value))?
                .into_any()
                .unbind()),
        }
    }
}

impl Drop for JoinGroup {
    fn drop(&mut self) {
        if self.observed.load(Ordering::Acquire) {
            return;
        }
        let failures = std::mem::take(
            self.failures
                .get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        if failures.is_empty() {
            return;
        }
        // Nobody waited for these tasks: report their errors rather than lose them.
        Python::try_attach(|py| {
            for err in failures {
                if !err.is_instance_of::<CancelledError>(py) {
                    err.write_unraisable(py, None);
                }
            }
        });
    }
}

/// What `spawn(...)` returns: yield or await it for the tasks' results.
#[pyclass(frozen, module = "tonio._tonio", name = "Spawned")]
pub(crate) struct JoinHandle {
    group: Arc<JoinGroup>,
}

impl JoinHandle {
    pub(crate) fn new(group: Arc<JoinGroup>) -> Self {
        Self { group }
    }

    pub(crate) fn group(&self) -> &Arc<JoinGroup> {
        &self.group
    }
}

#[pymethods]
impl JoinHandle {
    fn __await__(&self) -> Waiter {
        Waiter::new(WaitKind::Join(Arc::clone(&self.group)), Timeout::Never)
    }

    /// True once every task of this spawn has finished.
    fn done(&self) -> bool {
        self.group.is_done()
    }

    fn __repr__(&self) -> String {
        format!(
            "<tonio.Spawned pending={}>",
            self.group.remaining.load(Ordering::Relaxed)
        )
    }
}
