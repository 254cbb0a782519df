//! The waits of channel operations: `ReceiveWait` (one per receiver and way of reporting
//! "closed", shared by all its receives) and `SendWait` (one per `send`, carrying its message).
//!
//! A receive needs nothing of its own: a sender hands a message to a parked receiver through the
//! task's `HandoffSlot` (under the channel's mutex, once its claim of the receiver won), and the
//! receiver's `resume` takes it from there, also when a cancel arrived right after (the claim won:
//! the message is the task's). So `receiver.next()` costs a Waiter and a reference count, as an
//! Event's wait does.
//!
//! A send's slot holds its message until it is delivered (a receiver takes it straight from the
//! slot, or it moves into the buffer). The queue entry references the wait, so the hand-off takes
//! the slot's message under the channel's mutex, and `resume` reads the slot (under that mutex
//! too) to tell a delivered message from one a `close` left behind.
//!
//! The operation itself runs in `try_now` (no suspension when it can complete), and a task that
//! had to park but finds at registration that it could proceed (`Ready`) redoes it in `resume`, as
//! the running task, so a cancel winning that wake leaves the channel untouched.

use std::cell::UnsafeCell;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Weak};

use pyo3::exceptions::{PyRuntimeError, PyStopAsyncIteration};
use pyo3::prelude::*;

use super::core::{ChannelCore, Take};
use super::sentinels;
use crate::errors::ChannelClosedError;
use crate::task::{Outcome, Tag, Task};
use crate::time::Timeout;
use crate::wait::{ParkedTask, Registered, Resumed, WaitKind, WaitSource, Waiter};

/// What a receive gives once the channel is closed and drained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnClosed {
    /// `receive()`: raises ChannelClosedError.
    Raise,
    /// `next()`: returns the `Closed` sentinel (the generator-syntax loop).
    Sentinel,
    /// `__anext__`: raises StopAsyncIteration (ends `async for`).
    StopIteration,
}

/// Where a send's message waits until it is delivered. Guarded by the channel's mutex, not a
/// lock of its own.
pub(super) struct Slot(UnsafeCell<Option<Py<PyAny>>>);

// SAFETY: the cell is only read or written through `Slot::get`, whose callers hold the channel's
// mutex (or own the wait exclusively, in Drop); `Py` values may move between threads.
unsafe impl Sync for Slot {}

impl Slot {
    /// The message in the slot.
    ///
    /// # Safety
    /// The caller holds the mutex of the channel this slot's wait belongs to, for as long as it
    /// uses the reference.
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn get(&self) -> &mut Option<Py<PyAny>> {
        // SAFETY: exclusive access is the caller's contract (see above).
        unsafe { &mut *self.0.get() }
    }
}

/// A receive: what a receiver's `receive()`, `next()` and `__anext__` Waiters wait on (one each,
/// made with the receiver).
pub(crate) struct ReceiveWait {
    channel: Arc<ChannelCore>,
    on_closed: OnClosed,
}

/// A send of one message.
pub(crate) struct SendWait {
    channel: Arc<ChannelCore>,
    me: Weak<SendWait>,
    pub(super) slot: Slot,
}

pub(super) fn send_closed_error() -> PyErr {
    ChannelClosedError::new_err("send on a closed channel")
}

pub(super) fn receive_closed_error() -> PyErr {
    ChannelClosedError::new_err(
        "receive on a closed channel: it was closed and every buffered message was received",
    )
}

/// What a receive that found the channel closed and drained resumes with.
pub(super) fn closed_outcome(py: Python<'_>, on_closed: OnClosed) -> PyResult<Py<PyAny>> {
    match on_closed {
        OnClosed::Raise => Err(receive_closed_error()),
        OnClosed::Sentinel => Ok(sentinels::closed(py)),
        OnClosed::StopIteration => Err(PyStopAsyncIteration::new_err(())),
    }
}

fn lost_handoff() -> Resumed {
    Resumed::Value(Err(PyRuntimeError::new_err(
        "tonio internal error: a channel operation ended without its hand-off",
    )))
}

impl ReceiveWait {
    pub(super) fn source(channel: &Arc<ChannelCore>, on_closed: OnClosed) -> Arc<dyn WaitSource> {
        Arc::new(Self {
            channel: Arc::clone(channel),
            on_closed,
        })
    }

    /// Receives now, or says it would have to wait (`None`).
    fn attempt(&self, py: Python<'_>) -> Option<PyResult<Py<PyAny>>> {
        match self.channel.take() {
            Take::Message(message) => Some(Ok(message)),
            Take::Empty => None,
            Take::Closed => Some(closed_outcome(py, self.on_closed)),
        }
    }
}

impl WaitSource for ReceiveWait {
    fn try_now(&self, py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        self.attempt(py)
    }

    fn register(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        self.channel.park_receiver(parked, key)
    }

    fn deregister(&self, key: &AtomicU64) {
        self.channel.unpark_receiver(key);
    }

    fn resume(&self, py: Python<'_>, task: &Arc<Task>, outcome: Outcome, _tag: Tag) -> Resumed {
        if outcome != Outcome::Set {
            return lost_handoff();
        }
        // Handed a message by a sender, woken by `close`, or by `register` finding that the
        // receive could proceed: redone if nothing was handed over; if another task got there
        // first, the task waits again.
        // SAFETY: `resume` runs on the worker running `task`.
        if let Some(message) = unsafe { task.handoff().take() } {
            return Resumed::Value(Ok(message));
        }
        match self.attempt(py) {
            Some(value) => Resumed::Value(value),
            None => Resumed::KeepWaiting,
        }
    }

    fn combinable(&self) -> bool {
        false
    }

    fn describe(&self) -> &'static str {
        "channel receive"
    }
}

impl SendWait {
    /// A Waiter for sending `message` (resumes with None once it is delivered or buffered).
    pub(super) fn waiter(channel: &Arc<ChannelCore>, message: Py<PyAny>) -> Waiter {
        let wait = Arc::new_cyclic(|me| SendWait {
            channel: Arc::clone(channel),
            me: me.clone(),
            slot: Slot(UnsafeCell::new(Some(message))),
        });
        Waiter::new(WaitKind::Source(wait), Timeout::Never)
    }

    /// Sends now, or says it would have to wait (`None`). A send whose message was already taken
    /// by a receiver is done.
    fn attempt(&self, py: Python<'_>) -> Option<PyResult<Py<PyAny>>> {
        match self.channel.send_from(self) {
            Ok(true) => Some(Ok(py.None())),
            Ok(false) => None,
            Err(message) => {
                drop(message);
                Some(Err(send_closed_error()))
            }
        }
    }
}

impl WaitSource for SendWait {
    fn try_now(&self, py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        self.attempt(py)
    }

    fn register(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        match self.me.upgrade() {
            Some(me) => self.channel.park_sender(parked, me, key),
            None => {
                // Unreachable: the waiting task holds this wait. Park nothing.
                parked.release();
                Registered::Stale
            }
        }
    }

    fn deregister(&self, key: &AtomicU64) {
        self.channel.unpark_sender(key);
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, outcome: Outcome, _tag: Tag) -> Resumed {
        if outcome != Outcome::Set {
            return lost_handoff();
        }
        // A receiver took the message, `close` woke the task, or `register` found room: the
        // slot says which, and the send is redone if need be; if another task took the room
        // first, the task waits again.
        match self.attempt(py) {
            Some(value) => Resumed::Value(value),
            None => Resumed::KeepWaiting,
        }
    }

    fn combinable(&self) -> bool {
        false
    }

    fn describe(&self) -> &'static str {
        "channel send"
    }
}
