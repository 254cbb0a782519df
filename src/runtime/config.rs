//! Runtime options (`threads=`, `context=`) and their defaults.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Worker threads running coroutine steps.
    pub(crate) threads: usize,
    /// Run each task in a copy of its spawner's `contextvars` context.
    pub(crate) context: bool,
}

impl Config {
    pub(crate) fn new(py: Python<'_>, threads: Option<i64>, context: bool) -> PyResult<Self> {
        let threads = match threads {
            Some(threads) if threads < 1 => {
                return Err(PyValueError::new_err(format!(
                    "threads must be at least 1, got {threads}"
                )))
            }
            Some(threads) if threads > 1024 => {
                return Err(PyValueError::new_err(format!(
                    "threads must be at most 1024, got {threads}"
                )))
            }
            Some(threads) => threads as usize,
            None if gil_enabled(py)? => 1,
            None => std::thread::available_parallelism().map_or(1, usize::from),
        };
        Ok(Self { threads, context })
    }
}

/// Whether this interpreter runs with a GIL (always, before 3.13).
fn gil_enabled(py: Python<'_>) -> PyResult<bool> {
    let sys = py.import("sys")?;
    match sys.getattr("_is_gil_enabled") {
        Ok(is_gil_enabled) => is_gil_enabled.call0()?.extract(),
        Err(_) => Ok(true),
    }
}
