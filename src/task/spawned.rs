//! `Spawned`: the results of the tasks one `spawn(...)` call started (or of the calls one
//! `spawn_blocking`/`map_blocking` queued), and the handle that awaits them.
//!
//! `SpawnedCore` is the Rust side. Each member writes its result into its own slot, then
//! decrements `remaining`; the member that brings it to zero sets the `done` event, which wakes
//! whoever waits (the group is the `WaitSource` of yielding or awaiting the handle). Slots are
//! written once each, by distinct members, and read only after `remaining` reached zero
//! (acquire), so no lock guards them.
//!
//! A waiter cancelled while it waits for tasks cancels them and keeps waiting until they have
//! unwound (structured, like trio's nurseries); a waiter cancelled while it waits for blocking
//! calls gives up at once, stops them (`blocking/interrupt.rs`) and drops their results.
//!
//! Errors are never lost and never reported twice: waiting raises the failure (several as an
//! `ExceptionGroup`, in completion order); a group nobody waited for reports its failures through
//! `sys.unraisablehook` when it is dropped.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use super::state::{Outcome, Tag};
use super::Task;
use crate::blocking::CallControl;
use crate::errors::{exception_group, CancelledError};
use crate::runtime::Shared;
use crate::time::Timeout;
use crate::wait::{
    EventCore, OnCancel, ParkedTask, Registered, Resumed, WaitKind, WaitSource, Waiter,
};

/// What the waiter of a group gets back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Collect {
    /// One member: its result.
    Single,
    /// Several members: a list of results in argument order.
    List,
    /// Nothing (`spawn.without_results`); errors still propagate.
    Nothing,
}

/// Who produces the group's results.
enum Members {
    /// Tasks, known once they are all created.
    Tasks(OnceLock<Box<[Weak<Task>]>>),
    /// Calls on the blocking pool, each with what stops it.
    BlockingCalls(OnceLock<Box<[Arc<CallControl>]>>),
}

struct ResultSlot(UnsafeCell<Option<Py<PyAny>>>);

// SAFETY: each slot is written by exactly one member (the one created for that index) and read
// only after `remaining` dropped to zero with AcqRel ordering, which orders every write before
// the read.
unsafe impl Sync for ResultSlot {}

pub(crate) struct SpawnedCore {
    slots: Box<[ResultSlot]>,
    remaining: AtomicUsize,
    failures: Mutex<Vec<PyErr>>,
    /// A waiter received the outcome (so the failures were raised, not lost).
    observed: AtomicBool,
    collect: Collect,
    members: Members,
    /// Set by `block_on`: the blocking thread parked on this group counts as running again from
    /// the moment the group completes (before it is woken), so the virtual clock cannot jump
    /// in between.
    blocking_waiter: OnceLock<Arc<Shared>>,
    done: EventCore,
}

impl SpawnedCore {
    /// A group for `size` tasks; call `set_members` once they exist.
    pub(crate) fn tasks(size: usize, collect: Collect) -> Arc<Self> {
        Self::with_members(size, collect, Members::Tasks(OnceLock::new()))
    }

    /// A group for `size` calls on the blocking pool; call `set_calls` before queueing them.
    pub(crate) fn blocking_calls(size: usize, collect: Collect) -> Arc<Self> {
        Self::with_members(size, collect, Members::BlockingCalls(OnceLock::new()))
    }

    /// Records the controls of the group's blocking calls (so a cancelled waiter stops them).
    pub(crate) fn set_calls(&self, calls: Box<[Arc<CallControl>]>) {
        if let Members::BlockingCalls(members) = &self.members {
            let _ = members.set(calls);
        }
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
    fn cancel_members(&self) -> OnCancel {
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
            Members::BlockingCalls(calls) => {
                // The waiter gives up at once: the calls are stopped (at their next bytecode,
                // unless uninterruptible) and their results (and errors) dropped.
                self.observed.store(true, Ordering::Release);
                Python::attach(|py| {
                    for call in calls.get().into_iter().flatten() {
                        call.cancel(py);
                    }
                });
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

    pub(crate) fn pending(&self) -> usize {
        self.remaining.load(Ordering::Relaxed)
    }

    /// Records the result of the member at `index`. Returns true when it was the last one.
    pub(crate) fn complete(&self, py: Python<'_>, index: u32, result: PyResult<Py<PyAny>>) -> bool {
        if let Err(err) = &result {
            // Normalized now, outside the lock: making the exception object runs Python.
            let _ = err.value(py);
        }
        match result {
            Ok(value) => {
                if let Some(slot) = self.slots.get(index as usize) {
                    // SAFETY: only the member created for `index` completes it, exactly once,
                    // and nobody reads before `remaining` reaches zero below (see `ResultSlot`).
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

    /// The group's outcome, once every member finished: the results, or the failure (several
    /// as one ExceptionGroup).
    pub(crate) fn outcome(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if !self.is_done() {
            return Err(PyRuntimeError::new_err(
                "spawned tasks are still running (internal error: woken before completion)",
            ));
        }
        self.observed.store(true, Ordering::Release);
        // Copied out so that no lock is held while Python code runs.
        let failures: Vec<PyErr> = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|err| err.clone_ref(py))
            .collect();
        if let Some(err) = exception_group(py, "spawned tasks failed", failures) {
            return Err(err);
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

impl Drop for SpawnedCore {
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
        // Nobody waited for these tasks: report their errors rather than lose them. (Runs on a
        // worker or a Python thread: the reactor hands its last references to a worker.)
        Python::try_attach(|py| {
            for err in failures {
                if !err.is_instance_of::<CancelledError>(py) {
                    err.write_unraisable(py, None);
                }
            }
        });
    }
}

/// The wait of yielding or awaiting a `Spawned`: resumes with the results. The group itself is
/// the source.
impl WaitSource for SpawnedCore {
    fn try_now(&self, py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        self.is_done().then(|| self.outcome(py))
    }

    fn register(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        self.done.park(parked, key)
    }

    fn deregister(&self, key: &AtomicU64) {
        self.done.unpark(key);
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, _outcome: Outcome, _tag: Tag) -> Resumed {
        Resumed::Value(self.outcome(py))
    }

    fn on_cancel(&self, _task: &Arc<Task>) -> OnCancel {
        if self.is_done() {
            return OnCancel::GiveUp;
        }
        self.cancel_members()
    }

    fn is_ready(&self) -> bool {
        self.is_done()
    }

    fn describe(&self) -> &'static str {
        "spawned tasks"
    }
}

/// What `spawn(...)` and `spawn_blocking(...)` return: yield or await it for the results.
/// `generic`: `Waiter[bool]`/`Spawned[int]` are valid at runtime too, as the stub makes them
/// generic for type checkers.
#[pyclass(frozen, generic, module = "tonio._tonio")]
pub(crate) struct Spawned {
    group: Arc<SpawnedCore>,
}

impl Spawned {
    pub(crate) fn new(group: Arc<SpawnedCore>) -> Self {
        Self { group }
    }

    /// The wait of yielding this handle.
    pub(crate) fn wait_kind(&self) -> WaitKind {
        WaitKind::Source(self.group.clone())
    }
}

#[pymethods]
impl Spawned {
    fn __await__(&self) -> Waiter {
        Waiter::new(self.wait_kind(), Timeout::Never)
    }

    /// As `__await__`, for `yield from` in generator syntax (like `Waiter.__iter__`): lets type
    /// checkers see the result type, which a plain `yield` cannot give them.
    fn __iter__(&self) -> Waiter {
        self.__await__()
    }

    /// True once every task of this spawn has finished.
    fn done(&self) -> bool {
        self.group.is_done()
    }

    fn __repr__(&self) -> String {
        format!("<tonio.Spawned pending={}>", self.group.pending())
    }
}
