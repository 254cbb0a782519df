//! `HandoffSlot`: the one value a task has in transit with a hand-off source.
//!
//! A channel moves messages between tasks, and the message must live somewhere while a task is
//! parked: a parked receiver's message, handed over by a sender, until the receiver resumes (even
//! if a cancel arrives in between: "handoff beats cancel"); a sender's message from the moment
//! its Waiter is yielded until it is buffered or handed over. Every task has one such slot, so
//! these waits need no object of their own to carry it: a receive Waiter costs what an Event's
//! wait costs.
//!
//! A task waits on at most one hand-off source at a time (hand-off waits are not combinable), and
//! whoever touches the slot has it to itself, which is what makes the unsynchronized cell sound:
//! - the task itself, while it runs (it puts a send's message in before the source's `try_now`,
//!   and takes what was handed over in the source's `resume`);
//! - a waker whose `ParkedTask::claim` of the task's current suspension won, until it schedules
//!   the task (the task is then neither running nor runnable, and nobody else can win that
//!   suspension): a sender putting a message in for a receiver, a `close` giving a parked
//!   sender's message back;
//! - the source the task is parked on, holding its own lock, while the task is suspended at the
//!   epoch being registered (`ParkedTask::is_current`, checked under that lock): `register` moving
//!   a send's message into the queue entry. A task resumed by anything but that source first
//!   calls the source's `deregister` (`leave_wait`), which takes the same lock, before it touches
//!   the slot again.
//!
//! Hand-offs between these are ordered by the locks and by the task state's release/acquire (a
//! waker's `schedule`, the worker's start of the run). Between two channel operations the slot is
//! empty: every path that ends one (the value resumed with, the message sent, buffered or parked,
//! a cancel, see `SendWait::on_cancel`) takes what it put in.

use std::cell::UnsafeCell;

use pyo3::prelude::*;

#[derive(Default)]
pub(crate) struct HandoffSlot(UnsafeCell<Option<Py<PyAny>>>);

// SAFETY: the cell is accessed only under the protocol in the module documentation, which gives
// each access exclusive use of it; `Py` values may move between threads.
unsafe impl Sync for HandoffSlot {}

impl HandoffSlot {
    /// Puts `value` in the slot for the task to find. (Empty before: see the module
    /// documentation.)
    ///
    /// # Safety
    /// The caller has the slot to itself by one of the rules of the module documentation.
    pub(crate) unsafe fn give(&self, value: Py<PyAny>) {
        // SAFETY: the caller has the slot to itself (see above).
        let slot = unsafe { &mut *self.0.get() };
        debug_assert!(slot.is_none(), "a hand-off slot was filled twice");
        *slot = Some(value);
    }

    /// Takes what is in the slot.
    ///
    /// # Safety
    /// The caller has the slot to itself by one of the rules of the module documentation.
    pub(crate) unsafe fn take(&self) -> Option<Py<PyAny>> {
        // SAFETY: the caller has the slot to itself (see above).
        unsafe { &mut *self.0.get() }.take()
    }
}
