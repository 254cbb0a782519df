//! Reading and writing a registered descriptor from a task, in Rust: the waits behind
//! `receive_some` / `recv` and `send` / `send_all` of sockets, pipes and `FdStream`.
//!
//! Each call is a `WaitSource` that does its syscall itself: at once when the direction is known
//! ready (`try_now`), else after the reactor reports it ready (`resume`, on the worker that resumes
//! the task). A syscall that finds the descriptor exhausted (`EWOULDBLOCK`) clears the direction
//! with the readiness tick seen before it, so an event that arrived in between is not lost, and the
//! task waits again. Data moves only in `try_now`/`resume`, which run only if the wake was this
//! wait's own, so a cancel never loses bytes that were read: a read that happened is delivered,
//! and the cancel waits for the next suspension ("handoff beats cancel").
//!
//! One reader and one writer at a time: a second task that tries to read (or write) while another
//! waits to gets `BusyResourceError` at once, instead of two tasks racing for the same bytes. The
//! mark is taken in `try_now` and given back by whatever ends the wait: `resume`, `deregister`, or
//! `abandon` (a cancel that reached the task as it was about to suspend, before it was parked).
//!
//! A task that has spent its I/O budget (`scheduler/budget.rs`) waits even when it could do its
//! syscall at once, so one busy connection cannot keep its worker from the others.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

use crate::errors::BusyResourceError;
use crate::reactor::{closed_while_waiting, Direction, IoCore};
use crate::scheduler::budget;
use crate::task::{Outcome, Tag, Task};
use crate::wait::{ParkedTask, Registered, Resumed, WaitSource};

/// The most one `receive_some` reads when the caller gives no size.
pub(crate) const DEFAULT_RECEIVE: usize = 65_536;

thread_local! {
    /// Where reads land before they are copied into a `bytes` of the exact size: one buffer per
    /// thread, so idle connections hold no receive buffer at all.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A `File` over a descriptor someone else owns: never closed when dropped.
fn borrowed(fd: i32) -> ManuallyDrop<File> {
    // SAFETY: the descriptor is open for as long as its `IoCore` is registered (the owner closes
    // the registration before the descriptor, and checks `is_closed` before every syscall here),
    // and `ManuallyDrop` keeps this `File` from closing it.
    ManuallyDrop::new(unsafe { File::from_raw_fd(fd) })
}

/// An `io::Error` as the Python exception the stdlib raises for it (`OSError(errno, message)`,
/// which Python turns into `BrokenPipeError`, `ConnectionResetError`, ...).
pub(crate) fn os_error(err: io::Error) -> PyErr {
    match err.raw_os_error() {
        Some(code) => {
            let text = err.to_string();
            let message = text
                .split(" (os error")
                .next()
                .unwrap_or(text.as_str())
                .to_owned();
            PyOSError::new_err((code, message))
        }
        None => PyErr::from(err),
    }
}

/// Marks a direction of one descriptor as used by one task at a time.
pub(crate) struct Busy(AtomicBool);

impl Busy {
    pub(crate) fn new() -> Self {
        Self(AtomicBool::new(false))
    }

    pub(crate) fn enter(&self, what: &str) -> PyResult<()> {
        if self.0.swap(true, Ordering::AcqRel) {
            return Err(BusyResourceError::new_err(format!(
                "another task is already {what} on this stream (one reader and one writer at a \
                 time)"
            )));
        }
        Ok(())
    }

    pub(crate) fn leave(&self) {
        self.0.store(false, Ordering::Release);
    }
}

/// What one attempt at the syscall gave.
enum Attempt<T> {
    Done(PyResult<T>),
    /// The descriptor is exhausted: wait until the reactor says it is ready again.
    Again,
}

/// What differs between a receive and a send: their direction, their syscall and their names.
/// The wait itself, with its busy mark, is one `WaitSource` for both.
trait Transfer: Sync + std::marker::Send {
    const DIRECTION: Direction;
    /// What the other task is doing, in the busy error.
    const DOING: &'static str;
    const TIMED_OUT: &'static str;

    fn io(&self) -> &IoCore;
    fn busy(&self) -> &Busy;
    fn attempt(&self, py: Python<'_>) -> Attempt<Py<PyAny>>;
    fn describe(&self) -> &'static str;
}

/// `receive_some(max_bytes)`: the bytes available (at least one), or `b""` at end of file.
///
/// On a stream socket (`stream`) a read that returns fewer bytes than asked for emptied the
/// socket, so it clears the read readiness at once (as tokio does): the next receive then waits
/// for the reactor instead of paying a read that fails with `EWOULDBLOCK` first. That is safe
/// because every arrival of data is an edge the reactor records, bumping the tick the clear is
/// conditional on; a hang-up or error already seen is never cleared this way (its edge does not
/// come again). Not for datagram sockets, where a short datagram says nothing about the next
/// one already queued.
pub(crate) struct Receive {
    io: Arc<IoCore>,
    busy: Arc<Busy>,
    max_bytes: usize,
    stream: bool,
}

impl Receive {
    pub(crate) fn new(io: Arc<IoCore>, busy: Arc<Busy>, max_bytes: usize, stream: bool) -> Self {
        Self {
            io,
            busy,
            max_bytes,
            stream,
        }
    }
}

impl Transfer for Receive {
    const DIRECTION: Direction = Direction::Read;
    const DOING: &'static str = "receiving";
    const TIMED_OUT: &'static str = "timed out waiting to receive";

    fn io(&self) -> &IoCore {
        &self.io
    }

    fn busy(&self) -> &Busy {
        &self.busy
    }

    fn attempt(&self, py: Python<'_>) -> Attempt<Py<PyAny>> {
        if self.io.is_closed() {
            return Attempt::Done(Err(closed_while_waiting()));
        }
        let seen = self.io.readiness().observe();
        if !seen.is_ready(Direction::Read) {
            return Attempt::Again;
        }
        let read = SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            if scratch.len() < self.max_bytes {
                scratch.resize(self.max_bytes, 0);
            }
            let buffer = &mut scratch[..self.max_bytes];
            loop {
                match (&*borrowed(self.io.fd())).read(buffer) {
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    Ok(count) => {
                        let data = PyBytes::new(py, &buffer[..count]).into_any().unbind();
                        return Ok((data, count));
                    }
                    Err(err) => return Err(err),
                }
            }
        });
        match read {
            Ok((data, count)) => {
                // Not after a hang-up or error: its edge came once and must stay recorded for the
                // next read (which returns the end of file or the error).
                let drained = count > 0 && count < self.max_bytes;
                if self.stream && drained && !seen.has_hangup_or_error() {
                    let _ = self.io.readiness().clear(Direction::Read, seen);
                }
                Attempt::Done(Ok(data))
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                let _ = self.io.readiness().clear(Direction::Read, seen);
                Attempt::Again
            }
            Err(err) => Attempt::Done(Err(os_error(err))),
        }
    }

    fn describe(&self) -> &'static str {
        "receive"
    }
}

/// `send_all(data)` (every byte, waiting as often as needed) or `send(data)` (what can be
/// written once the descriptor is writable: the count).
pub(crate) struct Send {
    io: Arc<IoCore>,
    busy: Arc<Busy>,
    data: PyBackedBytes,
    sent: AtomicUsize,
    all: bool,
}

impl Send {
    pub(crate) fn new(io: Arc<IoCore>, busy: Arc<Busy>, data: PyBackedBytes, all: bool) -> Self {
        Self {
            io,
            busy,
            data,
            sent: AtomicUsize::new(0),
            all,
        }
    }

    fn result(&self, py: Python<'_>, sent: usize) -> Py<PyAny> {
        if self.all {
            py.None()
        } else {
            match sent.into_pyobject(py) {
                Ok(count) => count.into_any().unbind(),
                Err(never) => match never {},
            }
        }
    }
}

impl Transfer for Send {
    const DIRECTION: Direction = Direction::Write;
    const DOING: &'static str = "sending";
    const TIMED_OUT: &'static str = "timed out waiting to send";

    fn io(&self) -> &IoCore {
        &self.io
    }

    fn busy(&self) -> &Busy {
        &self.busy
    }

    fn attempt(&self, py: Python<'_>) -> Attempt<Py<PyAny>> {
        let file = borrowed(self.io.fd());
        loop {
            if self.io.is_closed() {
                return Attempt::Done(Err(closed_while_waiting()));
            }
            let sent = self.sent.load(Ordering::Acquire);
            if sent == self.data.len() && (self.all || sent > 0 || self.data.is_empty()) {
                return Attempt::Done(Ok(self.result(py, sent)));
            }
            let seen = self.io.readiness().observe();
            match (&*file).write(&self.data[sent..]) {
                Ok(count) => {
                    self.sent.store(sent + count, Ordering::Release);
                    if !self.all {
                        return Attempt::Done(Ok(self.result(py, sent + count)));
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    let _ = self.io.readiness().clear(Direction::Write, seen);
                    return Attempt::Again;
                }
                Err(err) => return Attempt::Done(Err(os_error(err))),
            }
        }
    }

    fn describe(&self) -> &'static str {
        if self.all {
            "send_all"
        } else {
            "send"
        }
    }
}

impl<T: Transfer> WaitSource for T {
    fn try_now(&self, py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        if let Err(err) = self.busy().enter(T::DOING) {
            return Some(Err(err));
        }
        if !budget::spend() {
            // Let the worker's other tasks go first: the wait ends at once if the descriptor is
            // ready, and `resume` does the syscall when this task runs again.
            return None;
        }
        match self.attempt(py) {
            Attempt::Done(result) => {
                self.busy().leave();
                Some(result)
            }
            Attempt::Again => None,
        }
    }

    fn register(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        self.io().park(T::DIRECTION, parked, key)
    }

    fn deregister(&self, key: &AtomicU64) {
        self.io().unpark(T::DIRECTION, key);
        self.busy().leave();
    }

    fn abandon(&self) {
        self.busy().leave();
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, outcome: Outcome, _tag: Tag) -> Resumed {
        if outcome != Outcome::Set {
            self.busy().leave();
            return Resumed::Value(Err(pyo3::exceptions::PyTimeoutError::new_err(T::TIMED_OUT)));
        }
        match self.attempt(py) {
            Attempt::Done(result) => {
                self.busy().leave();
                Resumed::Value(result)
            }
            Attempt::Again => Resumed::KeepWaiting,
        }
    }

    fn combinable(&self) -> bool {
        false
    }

    fn describe(&self) -> &'static str {
        Transfer::describe(self)
    }
}
