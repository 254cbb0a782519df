//! `Reactor`: the runtime's two polls and what other threads use to reach them.
//!
//! - The **driver** poll (`driver.rs`) carries I/O readiness and the timers. No thread owns it: a
//!   worker that runs out of tasks takes it (if nobody holds it) and sleeps in it instead of
//!   parking, so readiness is turned into runnable tasks on the thread that will run them, with
//!   no hop between threads (tokio's "driver on the worker"). A worker that keeps finding tasks
//!   also polls it without waiting every few dozen tasks, so I/O and timers are never starved.
//! - The **lobby** poll (`lobby.rs`) is where the thread that called `run_until_complete`
//!   (normally the main thread) waits: for the root task, for cancelled tasks to unwind, and for
//!   signals, which Python delivers on the main thread only.
//!
//! Registration never waits for a poll: `registry` is mio's registry cloned out of the driver
//! poll (epoll_ctl is thread-safe), so a worker registers a file descriptor while another sleeps
//! in the poll.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwapOption;
use mio::{Events, Poll, Registry, Token, Waker};

use super::io_registry::{IoRegistry, IoToken};
use super::scheduled_io::IoCore;

pub(crate) const WAKER: Token = Token(0);
pub(crate) const SIGNAL: Token = Token(1);

/// A mio poll and its event buffer: used by one thread at a time, under its mutex.
pub(super) struct PollState {
    pub(super) poll: Poll,
    pub(super) events: Events,
}

impl PollState {
    fn new(capacity: usize) -> io::Result<(Self, Registry, Waker)> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let events = Events::with_capacity(capacity);
        Ok((Self { poll, events }, registry, waker))
    }
}

/// What other threads use to reach the polls: the registries (cloned out of the polls) and the
/// wakers. Dropped, with the polls, when the runtime closes, so their file descriptors go then
/// and not whenever the last reference to the runtime's state goes.
struct Handles {
    registry: Registry,
    waker: Waker,
    lobby_registry: Registry,
    lobby_waker: Waker,
}

pub(crate) struct Reactor {
    pub(super) driver: Mutex<Option<PollState>>,
    pub(super) lobby: Mutex<Option<PollState>>,
    handles: ArcSwapOption<Handles>,
    pub(super) io: IoRegistry,
}

fn closed() -> io::Error {
    io::Error::other("the tonio runtime is closed")
}

pub(super) fn lock(polling: &Mutex<Option<PollState>>) -> MutexGuard<'_, Option<PollState>> {
    polling
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Reactor {
    pub(crate) fn new() -> io::Result<Self> {
        let (driver, registry, waker) = PollState::new(1024)?;
        let (lobby, lobby_registry, lobby_waker) = PollState::new(8)?;
        Ok(Self {
            driver: Mutex::new(Some(driver)),
            lobby: Mutex::new(Some(lobby)),
            handles: ArcSwapOption::from_pointee(Handles {
                registry,
                waker,
                lobby_registry,
                lobby_waker,
            }),
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

    /// Runs `register` with the lobby poll's registry (the signal wakeup fd).
    pub(crate) fn with_lobby_registry<T>(
        &self,
        register: impl FnOnce(&Registry) -> io::Result<T>,
    ) -> io::Result<T> {
        let handles = self.handles.load();
        register(&handles.as_ref().ok_or_else(closed)?.lobby_registry)
    }

    /// Interrupts the driver poll's wait in progress (or makes the next one return at once): new
    /// work for the worker sleeping there, an earlier timer, a reason to look at the virtual
    /// clock again.
    pub(crate) fn wake(&self) {
        if let Some(handles) = self.handles.load().as_ref() {
            // A failed eventfd write means the counter is saturated: a wakeup is already pending.
            let _ = handles.waker.wake();
        }
    }

    /// Interrupts the lobby's wait: the run may be over.
    pub(crate) fn wake_lobby(&self) {
        if let Some(handles) = self.handles.load().as_ref() {
            let _ = handles.lobby_waker.wake();
        }
    }

    /// Closes the polls, the registries and the wakers (the runtime is closing; its workers are
    /// gone).
    pub(crate) fn close(&self) {
        self.handles.store(None);
        drop(lock(&self.driver).take());
        drop(lock(&self.lobby).take());
    }
}
