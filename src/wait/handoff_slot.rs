//! `HandoffSlot`: where a hand-off source puts the value it hands to a parked task.
//!
//! A source whose wake hands something over (a channel giving a message to a parked receiver)
//! must leave it where the task finds it when it resumes, even if a cancel arrives in between
//! ("handoff beats cancel"). Every task has one such slot, so a wait that may receive a hand-off
//! needs no object of its own to carry it.
//!
//! Who may touch it, which is what makes the unsynchronized cell sound:
//! - `put`: only a waker whose `ParkedTask::claim` of the task's current suspension won, before it
//!   schedules the task. The task is then neither running nor runnable, and no other waker can
//!   win that suspension, so the waker has the slot to itself.
//! - `take`: only the task itself, while it runs (its source's `resume`). The waker's `schedule`
//!   (a release) and the worker's start of the run (an acquire) order the `put` before it.
//!
//! Between those two the slot is empty: a task waits on at most one hand-off source at a time
//! (hand-off waits are not combinable), and every wake that won with a value resumes the source
//! that takes it out.

use std::cell::UnsafeCell;

use pyo3::prelude::*;

#[derive(Default)]
pub(crate) struct HandoffSlot(UnsafeCell<Option<Py<PyAny>>>);

// SAFETY: the cell is accessed only under the protocol in the module documentation, which gives
// each access exclusive use of it; `Py` values may move between threads.
unsafe impl Sync for HandoffSlot {}

impl HandoffSlot {
    /// Hands `value` to the task.
    ///
    /// # Safety
    /// The caller won the claim of the task's current suspension (`Claim::Won`) and has not
    /// scheduled the task yet.
    pub(crate) unsafe fn put(&self, value: Py<PyAny>) {
        // SAFETY: the caller has the slot to itself (see above and the module documentation).
        let slot = unsafe { &mut *self.0.get() };
        debug_assert!(slot.is_none(), "a hand-off slot was filled twice");
        *slot = Some(value);
    }

    /// The value handed to the task in the suspension it resumes from, if any.
    ///
    /// # Safety
    /// The caller runs the task (it is RUNNING on this thread).
    pub(crate) unsafe fn take(&self) -> Option<Py<PyAny>> {
        // SAFETY: a running task's slot is touched by nobody else (see the module documentation).
        unsafe { &mut *self.0.get() }.take()
    }
}
