//! The runtime clock: real monotonic time, or a virtual clock for tests.
//!
//! Every deadline in tonio is an `Instant` on one process-wide time line that starts at `ORIGIN`
//! (the first time tonio read the clock); `tonio.time.time()` is the number of seconds since then.
//! A real clock reads `Instant::now()`. A virtual clock (`virtual_clock=True`) stands still at the
//! moment its runtime was created and only moves when the reactor sees that every worker is idle
//! and jumps it straight to the next timer, as trio's `MockClock(autojump_threshold=0)` does; so a
//! test that sleeps for an hour finishes at once and still observes the hour on the clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pyo3::prelude::*;

use crate::runtime::with_current_runtime;

static ORIGIN: OnceLock<Instant> = OnceLock::new();

fn origin() -> Instant {
    *ORIGIN.get_or_init(Instant::now)
}

/// A point on the runtime clock given in seconds (as `time()` reports them).
pub(crate) fn instant_at(seconds: f64) -> Instant {
    let offset = Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX);
    origin()
        .checked_add(offset)
        .unwrap_or_else(|| origin() + Duration::from_secs(86_400 * 365 * 100))
}

/// A point on the runtime clock as nanoseconds after `ORIGIN`, never 0 (callers use 0 for none).
pub(crate) fn nanos_at(at: Instant) -> u64 {
    let nanos = at.saturating_duration_since(origin()).as_nanos();
    u64::try_from(nanos).unwrap_or(u64::MAX).max(1)
}

/// The inverse of `nanos_at`.
pub(crate) fn instant_at_nanos(nanos: u64) -> Instant {
    origin() + Duration::from_nanos(nanos)
}

pub(crate) fn seconds_at(at: Instant) -> f64 {
    at.saturating_duration_since(origin()).as_secs_f64()
}

pub(crate) struct Clock {
    /// `Some`: virtual, standing at this many nanoseconds after `ORIGIN`.
    virtual_nanos: Option<AtomicU64>,
}

impl Clock {
    pub(crate) fn new(virtual_clock: bool) -> Self {
        let virtual_nanos = virtual_clock.then(|| {
            let now = Instant::now().saturating_duration_since(origin());
            AtomicU64::new(u64::try_from(now.as_nanos()).unwrap_or(u64::MAX))
        });
        Self { virtual_nanos }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        self.virtual_nanos.is_some()
    }

    pub(crate) fn now(&self) -> Instant {
        match &self.virtual_nanos {
            Some(nanos) => origin() + Duration::from_nanos(nanos.load(Ordering::Acquire)),
            None => Instant::now(),
        }
    }

    pub(crate) fn seconds(&self) -> f64 {
        seconds_at(self.now())
    }

    /// Moves a virtual clock forward to `at` (never backwards). No-op on a real clock.
    pub(crate) fn advance_to(&self, at: Instant) {
        if let Some(nanos) = &self.virtual_nanos {
            let target = at.saturating_duration_since(origin()).as_nanos();
            nanos.fetch_max(u64::try_from(target).unwrap_or(u64::MAX), Ordering::AcqRel);
        }
    }
}

/// Seconds on the runtime clock: the clock of the runtime this thread works for (a worker or a
/// blocking-pool thread), else real monotonic time. Microsecond resolution or better.
#[pyfunction]
pub(crate) fn time() -> f64 {
    with_current_runtime(|runtime| match runtime {
        Some(runtime) => runtime.clock().seconds(),
        None => seconds_at(Instant::now()),
    })
}
