//! Runtime options and their defaults, checked once when a runtime is created.

use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// Default cap on blocking-pool threads.
const DEFAULT_BLOCKING_THREADS: i64 = 128;
/// Default seconds an idle blocking thread waits for work before exiting.
const DEFAULT_BLOCKING_IDLE_TTL: f64 = 30.0;

#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Worker threads running coroutine steps.
    pub(crate) threads: usize,
    /// Run each task in a copy of its spawner's `contextvars` context.
    pub(crate) context: bool,
    /// Cap on blocking-pool threads (`blocking_threadpool_size`).
    pub(crate) blocking_threads: usize,
    /// How long an idle blocking thread lingers (`blocking_threadpool_idle_ttl`).
    pub(crate) blocking_idle_ttl: Duration,
    /// Time advances only when every task waits, straight to the next timer (`virtual_clock`).
    pub(crate) virtual_clock: bool,
    /// Signals the runtime receives for `signal_receiver` instead of their Python handlers.
    pub(crate) signals: Vec<i32>,
}

/// The options as Python passed them.
pub(crate) struct Options<'py> {
    pub(crate) threads: Option<i64>,
    pub(crate) context: bool,
    pub(crate) blocking_threadpool_size: Option<i64>,
    pub(crate) blocking_threadpool_idle_ttl: Option<Bound<'py, PyAny>>,
    pub(crate) virtual_clock: bool,
    pub(crate) signals: Option<Bound<'py, PyAny>>,
}

fn in_range(name: &str, value: i64, max: i64) -> PyResult<usize> {
    if value < 1 {
        return Err(PyValueError::new_err(format!(
            "{name} must be at least 1, got {value}"
        )));
    }
    if value > max {
        return Err(PyValueError::new_err(format!(
            "{name} must be at most {max}, got {value}"
        )));
    }
    Ok(value as usize)
}

impl Config {
    pub(crate) fn new(py: Python<'_>, options: Options<'_>) -> PyResult<Self> {
        let threads = match options.threads {
            Some(threads) => in_range("threads", threads, 1024)?,
            None if gil_enabled(py)? => 1,
            None => std::thread::available_parallelism().map_or(1, usize::from),
        };
        let blocking_threads = in_range(
            "blocking_threadpool_size",
            options
                .blocking_threadpool_size
                .unwrap_or(DEFAULT_BLOCKING_THREADS),
            65_536,
        )?;
        let blocking_idle_ttl = match options.blocking_threadpool_idle_ttl {
            None => Duration::from_secs_f64(DEFAULT_BLOCKING_IDLE_TTL),
            Some(ttl) => idle_ttl(&ttl)?,
        };
        let signals = match options.signals {
            None => Vec::new(),
            Some(signals) if signals.is_none() => Vec::new(),
            Some(signals) => signal_numbers(py, &signals)?,
        };
        Ok(Self {
            threads,
            context: options.context,
            blocking_threads,
            blocking_idle_ttl,
            virtual_clock: options.virtual_clock,
            signals,
        })
    }
}

/// The `signals` option: distinct, valid signal numbers (`signal.Signals` members or ints).
fn signal_numbers(py: Python<'_>, signals: &Bound<'_, PyAny>) -> PyResult<Vec<i32>> {
    let module = py.import("signal")?;
    let valid = module.call_method0("valid_signals")?;
    let uncatchable: [i32; 2] = [
        module.getattr("SIGKILL")?.extract()?,
        module.getattr("SIGSTOP")?.extract()?,
    ];
    let mut numbers = Vec::new();
    for signal in signals.try_iter().map_err(|_| {
        PyTypeError::new_err("signals must be a list of signal numbers (e.g. [signal.SIGHUP])")
    })? {
        let signal = signal?;
        if signal.is_instance_of::<pyo3::types::PyBool>() {
            return Err(PyTypeError::new_err(
                "signals must be signal numbers, not bools",
            ));
        }
        let number: i32 = signal.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "signals must be signal numbers, not {}",
                signal
                    .get_type()
                    .name()
                    .map_or_else(|_| "?".to_owned(), |name| name.to_string())
            ))
        })?;
        if !valid.contains(number)? || !(1..64).contains(&number) {
            return Err(PyValueError::new_err(format!(
                "{number} is not a signal this platform can deliver"
            )));
        }
        if uncatchable.contains(&number) {
            return Err(PyValueError::new_err(format!(
                "signal {number} (SIGKILL or SIGSTOP) cannot be caught, so no runtime can \
                 listen to it"
            )));
        }
        if !numbers.contains(&number) {
            numbers.push(number);
        }
    }
    Ok(numbers)
}

fn idle_ttl(ttl: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let seconds: f64 = ttl.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "blocking_threadpool_idle_ttl must be a number of seconds, not {}",
            ttl.get_type()
                .name()
                .map_or_else(|_| "?".to_owned(), |name| name.to_string())
        ))
    })?;
    match Duration::try_from_secs_f64(seconds) {
        Ok(ttl) if !ttl.is_zero() => Ok(ttl),
        _ => Err(PyValueError::new_err(format!(
            "blocking_threadpool_idle_ttl must be a positive, finite number of seconds, got \
             {seconds}"
        ))),
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
