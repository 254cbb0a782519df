//! `SignalHub`: who receives which signal, and the queue each receiver reads from.
//!
//! The runtime that listens to signals (`signals=[...]`) gets their numbers from the signal
//! wakeup fd (`reactor/signal_wakeup.rs`) on the thread that runs it, and `deliver`s each to every
//! receiver open for it: several receivers of one signal each get it. A receiver's
//! `SignalQueue` keeps what arrived until its task takes it (once per signal however often it
//! arrived meanwhile), and is the `WaitSource` of
//! `receiver.receive()`; a number is taken only when the task resumes with it, so a cancelled
//! receive never loses one.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use pyo3::prelude::*;

use crate::task::{Outcome, Tag, Task};
use crate::wait::{Parked, ParkedTask, QueueKey, Registered, Resumed, WaitQueue, WaitSource};

#[derive(Default)]
struct Pending {
    signals: VecDeque<i32>,
    waiters: WaitQueue<Parked>,
}

/// One receiver's signals: the numbers it listens to, what arrived, who waits.
pub(crate) struct SignalQueue {
    /// The signals it listens to, as a bit set (signal numbers are below 64).
    listens: u64,
    pending: Mutex<Pending>,
}

impl SignalQueue {
    pub(crate) fn new(signals: &[i32]) -> Self {
        Self {
            listens: signals.iter().fold(0, |set, &signal| set | (1 << signal)),
            pending: Mutex::default(),
        }
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn listens_to(&self, signal: i32) -> bool {
        (0..64).contains(&signal) && self.listens & (1 << signal) != 0
    }

    fn push(&self, signal: i32) {
        let woken = {
            let mut pending = self.pending();
            // A signal already waiting to be taken is not queued twice (as in trio): signals
            // do not count reliably anyway, and this bounds the queue to one entry per signal.
            if pending.signals.contains(&signal) {
                return;
            }
            pending.signals.push_back(signal);
            pending.waiters.take_all()
        };
        for parked in woken {
            parked.wake();
        }
    }

    fn pop(&self) -> Option<i32> {
        self.pending().signals.pop_front()
    }

    /// Signals received and not taken yet.
    pub(crate) fn queued(&self) -> usize {
        self.pending().signals.len()
    }
}

fn number(py: Python<'_>, signal: i32) -> Py<PyAny> {
    match signal.into_pyobject(py) {
        Ok(number) => number.into_any().unbind(),
        Err(never) => match never {},
    }
}

/// `receiver.receive()`: the next signal number.
impl WaitSource for SignalQueue {
    fn try_now(&self, py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        self.pop().map(|signal| Ok(number(py, signal)))
    }

    fn register(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        let mut pending = self.pending();
        if !pending.signals.is_empty() {
            return Registered::Ready;
        }
        if !parked.is_current() {
            drop(pending);
            parked.release();
            return Registered::Stale;
        }
        key.store(
            pending.waiters.push_back(Parked::Task(parked)).pack(),
            Ordering::Release,
        );
        Registered::Waiting
    }

    fn deregister(&self, key: &AtomicU64) {
        let removed = {
            let mut pending = self.pending();
            QueueKey::unpack(key.swap(QueueKey::NONE, Ordering::AcqRel))
                .and_then(|key| pending.waiters.remove(key))
        };
        if let Some(Parked::Task(parked)) = removed {
            parked.release();
        }
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, _outcome: Outcome, _tag: Tag) -> Resumed {
        match self.pop() {
            Some(signal) => Resumed::Value(Ok(number(py, signal))),
            // Another task reading the same receiver took it first: wait for the next.
            None => Resumed::KeepWaiting,
        }
    }

    fn is_ready(&self) -> bool {
        !self.pending().signals.is_empty()
    }

    fn describe(&self) -> &'static str {
        "signal"
    }
}

/// The receivers of one runtime.
#[derive(Default)]
pub(crate) struct SignalHub {
    receivers: Mutex<Vec<Weak<SignalQueue>>>,
}

impl SignalHub {
    fn receivers(&self) -> MutexGuard<'_, Vec<Weak<SignalQueue>>> {
        self.receivers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn open(&self, queue: &Arc<SignalQueue>) {
        let mut receivers = self.receivers();
        receivers.retain(|receiver| receiver.strong_count() > 0);
        receivers.push(Arc::downgrade(queue));
    }

    pub(crate) fn close(&self, queue: &Arc<SignalQueue>) {
        self.receivers().retain(|receiver| {
            receiver.strong_count() > 0 && !receiver.ptr_eq(&Arc::downgrade(queue))
        });
    }

    /// Hands each signal number to every receiver open for it.
    pub(crate) fn deliver(&self, signals: &[u8]) {
        if signals.is_empty() {
            return;
        }
        let receivers: Vec<Arc<SignalQueue>> =
            self.receivers().iter().filter_map(Weak::upgrade).collect();
        for &signal in signals {
            for receiver in &receivers {
                if receiver.listens_to(i32::from(signal)) {
                    receiver.push(i32::from(signal));
                }
            }
        }
    }
}
