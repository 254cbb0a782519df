//! Stopping a blocking call whose waiter was cancelled.
//!
//! Each call on the pool has a `CallControl`: queued, running on a thread, done, or cancelled.
//! Cancelling a queued call means it never runs; cancelling a running one raises
//! `CancelledError` in its thread at the function's next Python bytecode (C code blocked in a
//! syscall finishes first), unless the call was made uninterruptible
//! (`spawn_blocking.uninterruptible`). The phase lives under a mutex that both the canceller
//! and the pool thread take, so the exception can only be raised while the function runs: the
//! thread marks the call done under that lock as soon as the function returns, then lets any
//! exception that arrived too late fire and swallows it, and so starts its next job clean.

use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;

use crate::errors::CancelledError;
use crate::py::{absorb_pending, raise_in};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Queued,
    /// On pool thread `thread`; `raised`: a CancelledError was sent there.
    Running {
        thread: u64,
        raised: bool,
    },
    Done,
    Cancelled,
}

pub(crate) struct CallControl {
    phase: Mutex<Phase>,
    interruptible: bool,
}

impl CallControl {
    pub(crate) fn new(interruptible: bool) -> Self {
        Self {
            phase: Mutex::new(Phase::Queued),
            interruptible,
        }
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The pool thread `thread` is about to run the call; false if it was cancelled first.
    pub(crate) fn start(&self, thread: u64) -> bool {
        let mut phase = self.phase();
        if *phase == Phase::Cancelled {
            return false;
        }
        *phase = Phase::Running {
            thread,
            raised: false,
        };
        true
    }

    /// The call returned (or raised) on this thread.
    pub(crate) fn finish(&self, py: Python<'_>) {
        let previous = std::mem::replace(&mut *self.phase(), Phase::Done);
        if let Phase::Running { raised: true, .. } = previous {
            // It may have come too late to reach the function (it was returning): it must not
            // hit the thread's next job.
            absorb_pending(py, &py.get_type::<CancelledError>());
        }
    }

    /// The waiter gave up: the call must not run, or stop running.
    pub(crate) fn cancel(&self, py: Python<'_>) {
        let mut phase = self.phase();
        match *phase {
            Phase::Queued => *phase = Phase::Cancelled,
            Phase::Running {
                thread,
                raised: false,
            } if self.interruptible => {
                let exception = py.get_type::<CancelledError>();
                let _ = raise_in(py, thread, exception.as_any());
                *phase = Phase::Running {
                    thread,
                    raised: true,
                };
            }
            Phase::Running { .. } | Phase::Done | Phase::Cancelled => {}
        }
    }
}
