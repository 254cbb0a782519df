//! The poll loop run by the thread that called `run_until_complete` (normally the main thread).
//!
//! It never runs Python code on its own: it sleeps in `mio::Poll` until the next timer deadline,
//! an I/O readiness event, a signal, or a nudge through its `Waker` (from a worker that inserted an
//! earlier timer or finished the task the loop waits for), fires due timers by moving their tasks
//! onto the injector, and reports whether a signal arrived so the caller can run Python's
//! handlers.
//!
//! Registration never waits for the reactor: `registry` is mio's registry cloned out of the poll
//! (epoll_ctl is thread-safe), so a worker registers a file descriptor while the reactor sleeps.
//! The poll itself is used only by the thread that runs the loop; its lock is never wanted by
//! anyone else.

use std::io;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use mio::event::Event;
use mio::{Events, Poll, Registry, Token, Waker};

use super::io_registry::{IoRegistry, IoToken};
use super::readiness::{ERROR, READABLE, READ_CLOSED, WRITABLE, WRITE_CLOSED};
use super::scheduled_io::IoCore;
use crate::runtime::Shared;

pub(crate) const WAKER: Token = Token(0);
pub(crate) const SIGNAL: Token = Token(1);

/// What one turn of the loop saw.
#[derive(Debug, Default)]
pub(crate) struct Turn {
    /// A signal arrived: run Python's signal handlers.
    pub(crate) signal: bool,
}

/// What only the loop's thread touches.
struct Polling {
    poll: Poll,
    events: Events,
}

/// What other threads use to reach the reactor: mio's registry (cloned out of the poll) and the
/// waker. Dropped, with the poll, when the runtime closes, so its file descriptors go then and
/// not whenever the last reference to the runtime's state goes.
struct Handles {
    registry: Registry,
    waker: Waker,
}

pub(crate) struct Reactor {
    polling: Mutex<Option<Polling>>,
    handles: ArcSwapOption<Handles>,
    io: IoRegistry,
}

fn closed() -> io::Error {
    io::Error::other("the tonio runtime is closed")
}

impl Reactor {
    pub(crate) fn new() -> io::Result<Self> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        Ok(Self {
            polling: Mutex::new(Some(Polling {
                poll,
                events: Events::with_capacity(1024),
            })),
            handles: ArcSwapOption::from_pointee(Handles { registry, waker }),
            io: IoRegistry::default(),
        })
    }

    /// Registers a file descriptor for readiness events, from any thread.
    pub(crate) fn register_fd(&self, fd: i32) -> io::Result<(IoToken, Arc<IoCore>)> {
        let handles = self.handles.load();
        let handles = handles.as_ref().ok_or_else(closed)?;
        self.io.register(&handles.registry, fd)
    }

    /// Deregisters a file descriptor (which must still be open).
    pub(crate) fn deregister_fd(&self, token: IoToken, fd: i32) {
        match self.handles.load().as_ref() {
            Some(handles) => self.io.deregister(&handles.registry, token, fd),
            // Closed: the poll and its registrations are gone already.
            None => self.io.forget(token),
        }
    }

    /// File descriptors registered right now.
    pub(crate) fn registered_fds(&self) -> usize {
        self.io.live()
    }

    /// Runs `register` with the registry (fails once the runtime is closed).
    pub(crate) fn with_registry<T>(
        &self,
        register: impl FnOnce(&Registry) -> io::Result<T>,
    ) -> io::Result<T> {
        let handles = self.handles.load();
        register(&handles.as_ref().ok_or_else(closed)?.registry)
    }

    fn polling(&self) -> MutexGuard<'_, Option<Polling>> {
        self.polling
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Interrupts a `turn` in progress (or makes the next one return at once).
    pub(crate) fn wake(&self) {
        if let Some(handles) = self.handles.load().as_ref() {
            // A failed eventfd write means the counter is saturated: a wakeup is already pending.
            let _ = handles.waker.wake();
        }
    }

    /// Closes the poll, the registry and the waker (the runtime is closing; its workers are
    /// gone).
    pub(crate) fn close(&self) {
        self.handles.store(None);
        drop(self.polling().take());
    }

    /// Fires due timers, then sleeps until the next deadline or event.
    pub(crate) fn turn(&self, shared: &Shared) -> Turn {
        let (clock, timers) = (shared.clock(), shared.timers());
        let next = timers.fire_due(clock.now(), shared);
        let timeout = match next {
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
        let mut polling = self.polling();
        let Some(Polling { poll, events }) = polling.as_mut() else {
            return Turn::default();
        };
        let mut turn = Turn::default();
        match poll.poll(events, timeout) {
            Ok(()) => {}
            // A signal handler ran on this thread: Python may have a handler to run.
            Err(err) if err.kind() == io::ErrorKind::Interrupted => turn.signal = true,
            Err(err) => panic_free_report(&err),
        }
        for event in events.iter() {
            match event.token() {
                SIGNAL => turn.signal = true,
                WAKER => {}
                token => {
                    if let Some(io) = self.io.lookup(token) {
                        io.record(event_bits(event));
                        shared.release(io);
                    }
                }
            }
        }
        drop(polling);
        timers.fire_due(clock.now(), shared);
        turn
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
    // epoll_wait only fails on programming errors (EBADF, EINVAL); say so rather than spin silently.
    eprintln!("tonio: reactor poll failed: {err}");
    std::thread::sleep(std::time::Duration::from_millis(10));
}
