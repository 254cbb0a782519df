//! `IoCore`: one registered file descriptor as the reactor and the tasks see it.
//!
//! It holds the readiness word (`readiness.rs`) and, per direction, the tasks parked until that
//! direction is ready. The reactor records events and wakes the parked tasks of the directions
//! that became ready; a task waits through `ReadyWait`, the `WaitSource` of one direction.
//!
//! No lost wake-up: the reactor records readiness *before* it takes a direction's waiters under
//! that direction's lock, and a task parks only under that lock after seeing the direction not
//! ready. Closing (`close`) marks the core closed and wakes every parked task; they resume with an
//! error instead of waiting on a descriptor that will never report again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::PyBool;

use super::readiness::{Direction, Observed, Readiness};
use crate::task::{Outcome, Tag, Task};
use crate::wait::{Parked, ParkedTask, QueueKey, Registered, Resumed, WaitQueue, WaitSource};

pub(crate) struct IoCore {
    fd: i32,
    readiness: Readiness,
    /// Per direction (`Direction::index`): the tasks waiting for it.
    waiters: [Mutex<WaitQueue<Parked>>; 2],
    /// Per direction: the word as it was when the direction was last seen ready (`arm`), for a
    /// `clear` that must not erase a newer event.
    seen: [AtomicU64; 2],
    closed: AtomicBool,
}

impl IoCore {
    pub(crate) fn new(fd: i32) -> Self {
        Self {
            fd,
            readiness: Readiness::default(),
            waiters: Default::default(),
            seen: Default::default(),
            closed: AtomicBool::new(false),
        }
    }

    pub(crate) fn fd(&self) -> i32 {
        self.fd
    }

    fn waiters(&self, direction: Direction) -> MutexGuard<'_, WaitQueue<Parked>> {
        self.waiters[direction.index()]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// Whether `direction` is ready now; remembers what was seen for `clear`.
    pub(crate) fn check(&self, direction: Direction) -> bool {
        let observed = self.readiness.observe();
        self.seen[direction.index()].store(observed.word(), Ordering::Release);
        self.is_closed() || observed.is_ready(direction)
    }

    /// Clears `direction` unless the reactor recorded an event since it was last seen ready
    /// (the task's syscall found the descriptor exhausted).
    pub(crate) fn clear(&self, direction: Direction) {
        let seen = self.seen[direction.index()].load(Ordering::Acquire);
        let _ = self.readiness.clear(direction, Observed::from_word(seen));
    }

    /// Records an event (reactor) and wakes the tasks of the directions it made ready.
    pub(crate) fn record(&self, bits: u64) {
        self.readiness.record(bits);
        for direction in [Direction::Read, Direction::Write] {
            if bits & direction.mask() != 0 {
                self.wake(direction);
            }
        }
    }

    fn wake(&self, direction: Direction) {
        let woken = self.waiters(direction).take_all();
        for parked in woken {
            parked.wake();
        }
    }

    /// Marks the descriptor closed and wakes everyone waiting on it (they resume with an error).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake(Direction::Read);
        self.wake(Direction::Write);
    }

    /// Parks a task until `direction` is ready (see `WaitSource::register`).
    pub(crate) fn park(
        &self,
        direction: Direction,
        parked: ParkedTask,
        key: &AtomicU64,
    ) -> Registered {
        let mut waiters = self.waiters(direction);
        if self.is_closed() || self.readiness.observe().is_ready(direction) {
            return Registered::Ready;
        }
        if !parked.is_current() {
            drop(waiters);
            parked.release();
            return Registered::Stale;
        }
        key.store(
            waiters.push_back(Parked::Task(parked)).pack(),
            Ordering::Release,
        );
        Registered::Waiting
    }

    pub(crate) fn unpark(&self, direction: Direction, key: &AtomicU64) {
        let removed = {
            let mut waiters = self.waiters(direction);
            QueueKey::unpack(key.swap(QueueKey::NONE, Ordering::AcqRel))
                .and_then(|key| waiters.remove(key))
        };
        if let Some(Parked::Task(parked)) = removed {
            parked.release();
        }
    }

    /// Tasks waiting on this descriptor right now.
    pub(crate) fn parked(&self) -> usize {
        self.waiters(Direction::Read).len() + self.waiters(Direction::Write).len()
    }
}

/// The wait for one direction of a descriptor: resumes with True once it is ready, False on
/// timeout; raises if the descriptor was closed meanwhile.
pub(crate) struct ReadyWait {
    io: Arc<IoCore>,
    direction: Direction,
}

impl ReadyWait {
    pub(crate) fn new(io: Arc<IoCore>, direction: Direction) -> Self {
        Self { io, direction }
    }
}

impl WaitSource for ReadyWait {
    fn try_now(&self, py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        if self.io.is_closed() {
            return Some(Err(closed_while_waiting()));
        }
        self.io
            .check(self.direction)
            .then(|| Ok(PyBool::new(py, true).to_owned().into_any().unbind()))
    }

    fn register(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        self.io.park(self.direction, parked, key)
    }

    fn deregister(&self, key: &AtomicU64) {
        self.io.unpark(self.direction, key);
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, outcome: Outcome, _tag: Tag) -> Resumed {
        if self.io.is_closed() {
            return Resumed::Value(Err(closed_while_waiting()));
        }
        let ready = outcome == Outcome::Set && self.io.check(self.direction);
        Resumed::Value(Ok(PyBool::new(py, ready).to_owned().into_any().unbind()))
    }

    fn is_ready(&self) -> bool {
        self.io.is_closed() || self.io.readiness().observe().is_ready(self.direction)
    }

    fn describe(&self) -> &'static str {
        match self.direction {
            Direction::Read => "readable",
            Direction::Write => "writable",
        }
    }
}

/// The error of a task whose descriptor was closed while it waited on it.
pub(crate) fn closed_while_waiting() -> PyErr {
    pyo3::exceptions::PyOSError::new_err((
        9, // EBADF
        "the file descriptor was closed while a task waited on it",
    ))
}
