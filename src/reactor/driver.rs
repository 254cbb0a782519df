//! Turning the driver poll: firing due timers, sleeping until the next deadline or I/O event, and
//! turning each event into runnable tasks. One worker at a time holds it (`Reactor::try_drive`);
//! nobody ever waits for it.
//!
//! Nothing here runs Python: the turn is marked `Polling`, so a last reference dropped while
//! recording an event goes to a worker's graveyard (`Shared::release`), and waking a task only
//! queues it.

use std::io;
use std::sync::{MutexGuard, TryLockError};
use std::time::Duration;

use mio::event::Event;

use super::reactor::{PollState, Reactor, SIGNAL, WAKER};
use super::readiness::{ERROR, READABLE, READ_CLOSED, WRITABLE, WRITE_CLOSED};
use crate::runtime::{Polling, Shared};

/// The driver poll, held by the thread turning it.
pub(crate) struct Driver<'a> {
    reactor: &'a Reactor,
    state: MutexGuard<'a, Option<PollState>>,
}

/// How long a turn may wait for something to happen.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Not at all: collect what is ready (a busy worker's periodic look).
    Never,
    /// Until the next timer deadline, I/O event or wake (an idle worker).
    UntilEvent,
}

impl Reactor {
    /// The driver poll, unless another thread holds it (then it is being turned already).
    pub(crate) fn try_drive(&self) -> Option<Driver<'_>> {
        let state = match self.driver.try_lock() {
            Ok(state) => state,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        Some(Driver {
            reactor: self,
            state,
        })
    }
}

impl Driver<'_> {
    /// One turn: fires due timers, polls (waiting as `wait` says), calls `woke` as soon as the
    /// poll returns, records every event's readiness (which queues the tasks it made ready), lets
    /// go of the poll, and fires the timers that came due meanwhile.
    pub(crate) fn turn(mut self, shared: &Shared, wait: Wait, woke: impl FnOnce()) {
        let _polling = Polling::enter();
        let (clock, timers) = (shared.clock(), shared.timers());
        let next = timers.fire_due(clock.now(), shared);
        let timeout = match next {
            _ if wait == Wait::Never => Some(Duration::ZERO),
            Some(_) if clock.is_virtual() && shared.is_quiescent() => {
                // Everyone waits: jump straight to the next deadline (read again: a worker may
                // have inserted an earlier one before it parked).
                if let Some(at) = timers.next_deadline() {
                    clock.advance_to(at);
                }
                timers.fire_due(clock.now(), shared);
                Some(Duration::ZERO)
            }
            // Virtual time does not pass while we sleep: wait for a worker to park.
            _ if clock.is_virtual() => None,
            Some(at) => Some(at.saturating_duration_since(clock.now())),
            None => None,
        };
        let Some(PollState { poll, events }) = self.state.as_mut() else {
            woke();
            return;
        };
        match poll.poll(events, timeout) {
            // Interrupted: a signal's C handler ran on this thread; Python runs its handlers on
            // the main thread, which the wakeup fd woke.
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => panic_free_report(&err),
        }
        woke();
        for event in events.iter() {
            match event.token() {
                WAKER | SIGNAL => {}
                token => {
                    if let Some(io) = self.reactor.io.lookup(token) {
                        io.record(event_bits(event));
                        shared.release(io);
                    }
                }
            }
        }
        drop(self.state);
        timers.fire_due(clock.now(), shared);
    }
}

/// The readiness bits an event reports.
fn event_bits(event: &Event) -> u64 {
    let mut bits = 0;
    if event.is_readable() {
        bits |= READABLE;
    }
    if event.is_writable() {
        bits |= WRITABLE;
    }
    if event.is_read_closed() {
        bits |= READ_CLOSED;
    }
    if event.is_write_closed() {
        bits |= WRITE_CLOSED;
    }
    if event.is_error() {
        bits |= ERROR;
    }
    bits
}

fn panic_free_report(err: &io::Error) {
    // epoll_wait only fails on programming errors (EBADF, EINVAL): say so, rather than spin
    // silently.
    eprintln!("tonio: reactor poll failed: {err}");
    std::thread::sleep(Duration::from_millis(10));
}
