//! `ChannelWait`: one `send` or `receive` on a channel, and the slot its message travels in.
//!
//! A send's slot holds its message until it is delivered (a receiver takes it straight from the
//! slot, or it moves into the buffer); a receive's slot is where a sender hands a message to it
//! while it is parked. The queue entry references the wait, so the hand-off writes the slot under
//! the channel's mutex, and `resume` reads it (under that mutex too), also when a cancel arrived
//! right after (the claim won: the message is the task's).
//!
//! Each wait is allocated by the call that creates its Waiter (`send(m)`, `receive()`); the
//! operation itself runs in `try_now` (no suspension when it can complete), and a task that had
//! to park but finds at registration that it could proceed (`Ready`) redoes it in `resume`, as
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Send,
    Receive(OnClosed),
}

/// Where a message waits for its hand-off: a send's until it is delivered, a receive's once a
/// sender handed it over. Guarded by the channel's mutex, not a lock of its own.
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

pub(crate) struct ChannelWait {
    channel: Arc<ChannelCore>,
    me: Weak<ChannelWait>,
    role: Role,
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

impl ChannelWait {
    /// A Waiter for sending `message` (resumes with None once it is delivered or buffered).
    pub(super) fn send(channel: &Arc<ChannelCore>, message: Py<PyAny>) -> Waiter {
        Self::waiter(channel, Role::Send, Some(message))
    }

    /// A Waiter for receiving (resumes with the next message).
    pub(super) fn receive(channel: &Arc<ChannelCore>, on_closed: OnClosed) -> Waiter {
        Self::waiter(channel, Role::Receive(on_closed), None)
    }

    fn waiter(channel: &Arc<ChannelCore>, role: Role, message: Option<Py<PyAny>>) -> Waiter {
        let wait = Arc::new_cyclic(|me| ChannelWait {
            channel: Arc::clone(channel),
            me: me.clone(),
            role,
            slot: Slot(UnsafeCell::new(message)),
        });
        Waiter::new(WaitKind::Source(wait), Timeout::Never)
    }

    /// Does the operation now, or says it would have to wait (`None`). A send whose message was
    /// already taken by a receiver is done; a receive whose slot holds a message gets it.
    fn attempt(&self, py: Python<'_>) -> Option<PyResult<Py<PyAny>>> {
        match self.role {
            Role::Send => match self.channel.send_from(self) {
                Ok(true) => Some(Ok(py.None())),
                Ok(false) => None,
                Err(message) => {
                    drop(message);
                    Some(Err(send_closed_error()))
                }
            },
            Role::Receive(on_closed) => match self.channel.receive_into(self) {
                Take::Message(message) => Some(Ok(message)),
                Take::Empty => None,
                Take::Closed => Some(closed_outcome(py, on_closed)),
            },
        }
    }
}

impl WaitSource for ChannelWait {
    fn try_now(&self, py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        self.attempt(py)
    }

    fn register(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        match self.me.upgrade() {
            Some(me) => self.channel.park(self.role, parked, me, key),
            None => {
                // Unreachable: the waiting task holds this wait. Park nothing.
                parked.release();
                Registered::Stale
            }
        }
    }

    fn deregister(&self, key: &AtomicU64) {
        self.channel.unpark(self.role, key);
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, outcome: Outcome, _tag: Tag) -> Resumed {
        if outcome != Outcome::Set {
            return Resumed::Value(Err(PyRuntimeError::new_err(
                "tonio internal error: a channel operation ended without its hand-off",
            )));
        }
        // Handed over (a receiver took the message, a sender put one in the slot), woken by
        // `close`, or by `register` finding that the operation could proceed: the slot says
        // which, and the operation is redone if need be; if another task got there first, the
        // task waits again.
        match self.attempt(py) {
            Some(value) => Resumed::Value(value),
            None => Resumed::KeepWaiting,
        }
    }

    fn combinable(&self) -> bool {
        false
    }

    fn describe(&self) -> &'static str {
        match self.role {
            Role::Send => "channel send",
            Role::Receive(_) => "channel receive",
        }
    }
}
