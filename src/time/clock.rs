//! The runtime clock: monotonic seconds since the first time tonio read it in this process.

use std::sync::OnceLock;
use std::time::Instant;

use pyo3::prelude::*;

static ORIGIN: OnceLock<Instant> = OnceLock::new();

fn origin() -> Instant {
    *ORIGIN.get_or_init(Instant::now)
}

/// Seconds on the runtime clock (monotonic, microsecond resolution or better).
#[pyfunction]
pub(crate) fn time() -> f64 {
    origin().elapsed().as_secs_f64()
}
