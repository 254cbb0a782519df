//! The waits of channel operations, made once per channel end and shared by all its Waiters:
//! `ReceiveWait` (one per way of reporting "closed") and `SendWait`.
//!
//! Neither carries a message: a message in transit lives in the task's `HandoffSlot` (see
//! `wait/handoff_slot.rs` for who may touch it when). A sender hands its message to a parked
//! receiver there (under the channel's mutex, once its claim of the receiver won), and the
//! receiver's `resume` takes it, also when a cancel arrived right after (the claim won: the
//! message is the task's). A send's message rides on its Waiter (`Waiter::with_payload`) into the
//! sending task's slot when the task yields it; `try_now` offers it from there, and a send that
//! must wait moves it into its queue entry at `register`, from where a receiver takes it (or
//! `close` gives it back to the slot, or a cancel drops it: not sent). So `receiver.next()` and
//! `sender.send(m)` cost a Waiter and a reference count, as an Event's wait does (on GIL builds a
//! receive reuses its Waiter: `wait/reusable.rs`). An `await` of a receive that can complete at
//! once completes inside the awaiting coroutine (`completes_inline`).
//!
//! The operation itself runs in `try_now` (no suspension when it can complete), and a task that
//! had to park but finds at registration that it could proceed (`Ready`) redoes it in `resume`, as
//! the running task, so a cancel winning that wake leaves the channel untouched.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use pyo3::exceptions::{PyRuntimeError, PyStopAsyncIteration};
use pyo3::prelude::*;

use super::core::{ChannelCore, Sending, Take};
use super::sentinels;
use crate::errors::ChannelClosedError;
use crate::task::{Outcome, Tag, Task};
use crate::wait::{Inline, OnCancel, ParkedTask, Registered, Resumed, WaitSource};

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

/// A receive: what a receiver's `receive()`, `next()` and `__anext__` Waiters wait on (one each,
/// made with the receiver).
pub(crate) struct ReceiveWait {
    channel: Arc<ChannelCore>,
    on_closed: OnClosed,
}

/// A send: what a sender's `send(message)` Waiters wait on (the message rides on the Waiter).
pub(crate) struct SendWait {
    channel: Arc<ChannelCore>,
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

    fn completes_inline(&self) -> Inline {
        // `__anext__`'s Waiters exist for `async for` to await them.
        match self.on_closed {
            OnClosed::StopIteration => Inline::AnyStep,
            OnClosed::Raise | OnClosed::Sentinel => Inline::WhenAwaited,
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
    pub(super) fn source(channel: &Arc<ChannelCore>) -> Arc<dyn WaitSource> {
        Arc::new(Self {
            channel: Arc::clone(channel),
        })
    }

    /// Sends the message in the running task's slot now, or says it would have to wait (`None`,
    /// the message back in the slot). An empty slot: a receiver already took the message.
    fn attempt(&self, py: Python<'_>, task: &Task) -> Option<PyResult<Py<PyAny>>> {
        match self.channel.send_from(task) {
            Sending::Delivered => Some(Ok(py.None())),
            Sending::Full => None,
            Sending::Closed(message) => {
                drop(message);
                Some(Err(send_closed_error()))
            }
        }
    }
}

impl WaitSource for SendWait {
    fn try_now(&self, py: Python<'_>, task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        self.attempt(py, task)
    }

    fn register(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        self.channel.park_sender(parked, key)
    }

    fn deregister(&self, key: &AtomicU64) {
        self.channel.unpark_sender(key);
    }

    fn resume(&self, py: Python<'_>, task: &Arc<Task>, outcome: Outcome, _tag: Tag) -> Resumed {
        if outcome != Outcome::Set {
            return lost_handoff();
        }
        // A receiver took the message (the slot is empty), `close` gave it back, or `register`
        // found room (it is still in the slot): redone if need be; if another task took the room
        // first, the task waits again.
        match self.attempt(py, task) {
            Some(value) => Resumed::Value(value),
            None => Resumed::KeepWaiting,
        }
    }

    fn on_cancel(&self, task: &Arc<Task>) -> OnCancel {
        // A message still in the slot (the send had to wait, and was cancelled before it was
        // parked, or after `register` found room) was not sent: dropped here.
        // SAFETY: `on_cancel` runs on the worker running `task`, after `leave_wait` deregistered
        // it from the channel.
        drop(unsafe { task.handoff().take() });
        OnCancel::GiveUp
    }

    fn combinable(&self) -> bool {
        false
    }

    fn describe(&self) -> &'static str {
        "channel send"
    }
}
