//! `ChannelCore`: the buffer, the closed flag, and the parked senders and receivers.
//!
//! Invariants, all under `state`'s mutex:
//! - Receivers are parked only while the buffer is empty, and senders only while it is full
//!   (capacity 0: always), so a message either goes straight to the longest-waiting receiver or
//!   to the back of the buffer, and a receiver either takes the front of the buffer or the
//!   longest-waiting sender's message: the channel is one FIFO, and each producer's messages
//!   leave it in the order it sent them.
//! - A message is handed to a parked receiver only if the receiver's claim wins; it is then in
//!   the receiving task's `HandoffSlot`, which its `resume` reads even if a cancel arrived a
//!   moment later. A claim that loses (the receiver was cancelled first) leaves the message with
//!   the sender, which tries the next receiver or the buffer. Symmetrically a parked sender's
//!   message (in its queue entry) moves into the buffer only if the sender's claim wins (its
//!   `send` then returns); if it loses, the entry and its message are dropped, its send raises
//!   CancelledError and the message was not sent. So no message is ever lost or delivered twice,
//!   whatever the cancels.
//! - Once `closed`, nothing enters; receivers drain the buffer and then get "closed". Closing
//!   wakes every parked task: the receivers find the buffer empty and closed, the senders find
//!   their message given back to their `HandoffSlot` and the channel closed.
//!
//! Python objects are only moved under the mutex, never dropped there (a drop may run Python):
//! `Offer::Full`/`Offer::Closed` give the message back to the caller, and every entry taken out
//! is dropped by `Wakeups::run` after the mutex is released.

use std::collections::VecDeque;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::prelude::*;

use crate::sync::handoff::{claim_front, park, unpark, WaitList, Waiting, Wakeups};
use crate::sync::statistics::ChannelStatistics;
use crate::task::Task;
use crate::wait::{ParkedTask, Registered};

/// What offering a message achieved.
pub(crate) enum Offer {
    /// Handed to a receiver or buffered.
    Sent,
    /// The buffer is full: the message comes back.
    Full(Py<PyAny>),
    /// The channel is closed: the message comes back.
    Closed(Py<PyAny>),
}

/// What taking a message found.
pub(crate) enum Take {
    Message(Py<PyAny>),
    Empty,
    /// Closed and drained.
    Closed,
}

struct ChannelState {
    buffer: VecDeque<Py<PyAny>>,
    closed: bool,
    /// Parked receives: a sender hands its message to the task's `HandoffSlot`.
    receivers: WaitList<()>,
    /// Parked sends, each entry holding its message (taken out of the task's `HandoffSlot` at
    /// `register`): a receiver takes it from there.
    senders: WaitList<Option<Py<PyAny>>>,
}

/// Receivers woken (or let go).
type WakeReceivers = Wakeups<()>;
/// Senders woken (or let go).
type WakeSenders = Wakeups<Option<Py<PyAny>>>;

/// What a send from a task's hand-off slot achieved.
pub(crate) enum Sending {
    /// Handed to a receiver or buffered (now, or earlier from the queue entry).
    Delivered,
    /// The buffer is full: the message is back in the slot.
    Full,
    /// The channel is closed: the message comes back.
    Closed(Py<PyAny>),
}

pub(crate) struct ChannelCore {
    /// None: unbounded.
    capacity: Option<usize>,
    state: Mutex<ChannelState>,
}

impl ChannelState {
    fn has_room(&self, capacity: Option<usize>) -> bool {
        capacity.is_none_or(|capacity| self.buffer.len() < capacity)
    }

    fn offer(
        &mut self,
        message: Py<PyAny>,
        capacity: Option<usize>,
        wake: &mut WakeReceivers,
    ) -> Offer {
        if self.closed {
            return Offer::Closed(message);
        }
        if let Some(receiver) = claim_front(&mut self.receivers, wake) {
            // SAFETY: `claim_front` returns an entry whose claim won, and its task is scheduled
            // only by `wake.run()`, after this (a waker whose claim won, see `HandoffSlot`).
            unsafe { receiver.task.task().handoff().give(message) };
            wake.wake(receiver);
            return Offer::Sent;
        }
        if self.has_room(capacity) {
            self.buffer.push_back(message);
            return Offer::Sent;
        }
        Offer::Full(message)
    }

    fn take(&mut self, wake: &mut WakeSenders) -> Take {
        if let Some(message) = self.buffer.pop_front() {
            // Room again: the longest-waiting sender's message joins the back of the buffer.
            if let Some(mut sender) = claim_front(&mut self.senders, wake) {
                if let Some(pending) = sender.payload.take() {
                    self.buffer.push_back(pending);
                }
                wake.wake(sender);
            }
            return Take::Message(message);
        }
        // Nothing buffered: a parked sender (capacity 0) hands its message over directly.
        while let Some(mut sender) = claim_front(&mut self.senders, wake) {
            let pending = sender.payload.take();
            wake.wake(sender);
            if let Some(message) = pending {
                return Take::Message(message);
            }
        }
        if self.closed {
            Take::Closed
        } else {
            Take::Empty
        }
    }
}

impl ChannelCore {
    pub(crate) fn new(capacity: Option<usize>) -> Arc<Self> {
        Arc::new(Self {
            capacity,
            state: Mutex::new(ChannelState {
                buffer: VecDeque::new(),
                closed: false,
                receivers: WaitList::default(),
                senders: WaitList::default(),
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, ChannelState> {
        // Poisoning cannot leave the state inconsistent: no critical section panics half-way.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends `message` without waiting: to the longest-waiting receiver, else into the buffer.
    pub(crate) fn offer(&self, message: Py<PyAny>) -> Offer {
        let mut wake = WakeReceivers::default();
        let offered = self.state().offer(message, self.capacity, &mut wake);
        wake.run();
        offered
    }

    /// The send of the message in the running `task`'s hand-off slot, without waiting (see
    /// `Sending`).
    pub(super) fn send_from(&self, task: &Task) -> Sending {
        let mut wake = WakeReceivers::default();
        let sent = {
            let mut state = self.state();
            // SAFETY: the caller runs `task` (its `try_now` or `resume`): the slot is its own.
            match unsafe { task.handoff().take() } {
                None => Sending::Delivered,
                Some(message) => match state.offer(message, self.capacity, &mut wake) {
                    Offer::Sent => Sending::Delivered,
                    Offer::Full(message) => {
                        // SAFETY: as above.
                        unsafe { task.handoff().give(message) };
                        Sending::Full
                    }
                    Offer::Closed(message) => Sending::Closed(message),
                },
            }
        };
        wake.run();
        sent
    }

    /// Receives without waiting.
    pub(crate) fn take(&self) -> Take {
        let mut wake = WakeSenders::default();
        let taken = self.state().take(&mut wake);
        wake.run();
        taken
    }

    /// Closes the channel and wakes every parked task. Returns whether it was open.
    pub(crate) fn close(&self) -> bool {
        let mut receivers = WakeReceivers::default();
        let mut senders = WakeSenders::default();
        {
            let mut state = self.state();
            if std::mem::replace(&mut state.closed, true) {
                return false;
            }
            while let Some(receiver) = claim_front(&mut state.receivers, &mut receivers) {
                receivers.wake(receiver);
            }
            while let Some(mut sender) = claim_front(&mut state.senders, &mut senders) {
                // The message goes back to the sender, whose `send` then raises.
                if let Some(message) = sender.payload.take() {
                    // SAFETY: `claim_front` returns an entry whose claim won, and its task is
                    // scheduled only by `senders.run()`, after this (see `HandoffSlot`).
                    unsafe { sender.task.task().handoff().give(message) };
                }
                senders.wake(sender);
            }
        }
        receivers.run();
        senders.run();
        true
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state().closed
    }

    /// Parks a receive that found nothing to take, unless it can proceed now (then `Ready`: the
    /// task redoes the receive itself when it runs, see `ReceiveWait::resume`).
    pub(super) fn park_receiver(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        let mut wake = WakeReceivers::default();
        let registered = {
            let mut state = self.state();
            if state.closed || !state.buffer.is_empty() || !state.senders.is_empty() {
                wake.discard(Waiting {
                    task: parked,
                    payload: (),
                });
                Registered::Ready
            } else {
                park(&mut state.receivers, parked, (), key, &mut wake)
            }
        };
        wake.run();
        registered
    }

    /// Parks a send that found the buffer full, moving its message from the task's hand-off slot
    /// into the queue entry, unless it can proceed now (then `Ready`, as for a receive, the
    /// message left in the slot).
    pub(super) fn park_sender(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        let mut wake = WakeSenders::default();
        let registered = {
            let mut state = self.state();
            if state.closed || !state.receivers.is_empty() || state.has_room(self.capacity) {
                wake.discard(Waiting {
                    task: parked,
                    payload: None,
                });
                Registered::Ready
            } else if !parked.is_current() {
                // A cancel won: the task may be running again; its slot is not ours to touch.
                wake.discard(Waiting {
                    task: parked,
                    payload: None,
                });
                Registered::Stale
            } else {
                // SAFETY: we hold the channel's mutex and the task is suspended at the epoch
                // being registered (the source's rule of `HandoffSlot`). If a cancel wins from
                // here on, `park` drops the entry and its message: the send did not happen.
                let message = unsafe { parked.task().handoff().take() };
                park(&mut state.senders, parked, message, key, &mut wake)
            }
        };
        wake.run();
        registered
    }

    pub(super) fn unpark_receiver(&self, key: &AtomicU64) {
        let mut wake = WakeReceivers::default();
        {
            let mut state = self.state();
            if let Some(entry) = unpark(&mut state.receivers, key) {
                wake.discard(entry);
            }
        }
        wake.run();
    }

    pub(super) fn unpark_sender(&self, key: &AtomicU64) {
        let mut wake = WakeSenders::default();
        {
            let mut state = self.state();
            if let Some(entry) = unpark(&mut state.senders, key) {
                wake.discard(entry);
            }
        }
        wake.run();
    }

    pub(crate) fn statistics(&self) -> ChannelStatistics {
        let state = self.state();
        ChannelStatistics {
            current_buffer_used: state.buffer.len(),
            max_buffer_size: self.capacity,
            tasks_waiting_send: state.senders.len(),
            tasks_waiting_receive: state.receivers.len(),
            closed: state.closed,
        }
    }
}
