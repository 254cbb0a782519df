//! `SignalReceiver`: `signal_receiver(*signals)`, the signal numbers as they arrive.
//!
//! A context manager: entering it opens a receiver for those signals (which the runtime must
//! listen to: its `signals` option), leaving closes it. Generator syntax iterates it and yields
//! each item (`for waiter in receiver: signum = yield waiter`); `async for signum in receiver`
//! in `async def` code; `receive()` gives one wait either way.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::hub::SignalQueue;
use crate::runtime::{calling_runtime, Shared};
use crate::time::Timeout;
use crate::wait::{WaitKind, Waiter};

/// Receives the signals it was made for, in order of arrival.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct SignalReceiver {
    runtime: Arc<Shared>,
    queue: Arc<SignalQueue>,
    signals: Vec<i32>,
    open: AtomicBool,
}

impl SignalReceiver {
    fn check_open(&self) -> PyResult<()> {
        if !self.open.load(Ordering::Acquire) {
            return Err(PyRuntimeError::new_err(
                "this signal receiver is not open: use it inside its `with` block",
            ));
        }
        Ok(())
    }
}

#[pymethods]
impl SignalReceiver {
    /// A wait for the next signal: its number.
    fn receive(&self) -> PyResult<Waiter> {
        self.check_open()?;
        let source: Arc<SignalQueue> = Arc::clone(&self.queue);
        Ok(Waiter::new(WaitKind::Source(source), Timeout::Never))
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        let this = slf.get();
        if this.open.swap(true, Ordering::AcqRel) {
            return Err(PyRuntimeError::new_err(
                "this signal receiver is already open",
            ));
        }
        this.runtime.signal_hub().open(&this.queue);
        Ok(slf)
    }

    fn __exit__(
        &self,
        _exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        if self.open.swap(false, Ordering::AcqRel) {
            self.runtime.signal_hub().close(&self.queue);
        }
        false
    }

    /// Generator syntax: `for waiter in receiver: signum = yield waiter`.
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(&self) -> PyResult<Waiter> {
        self.receive()
    }

    /// `async for signum in receiver`.
    fn __aiter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __anext__(&self) -> PyResult<Waiter> {
        self.receive()
    }

    /// The signals this receiver gets.
    #[getter]
    fn signals(&self) -> Vec<i32> {
        self.signals.clone()
    }

    /// Signals received and not taken yet.
    #[getter]
    fn pending(&self) -> usize {
        self.queue.queued()
    }

    fn __repr__(&self) -> String {
        format!("<tonio.SignalReceiver signals={:?}>", self.signals)
    }
}

/// `signal_receiver(*signals)`: a receiver (a context manager) for signals the runtime
/// listens to (its `signals` option).
#[pyfunction]
#[pyo3(signature = (*signals))]
pub(crate) fn signal_receiver(signals: &Bound<'_, PyTuple>) -> PyResult<SignalReceiver> {
    let runtime = calling_runtime("signal_receiver()")?;
    if signals.is_empty() {
        return Err(PyValueError::new_err(
            "signal_receiver() needs at least one signal",
        ));
    }
    let mut numbers = Vec::new();
    for signal in signals.iter() {
        let number: i32 = signal.extract()?;
        if !runtime.config.signals.contains(&number) {
            return Err(PyValueError::new_err(format!(
                "signal {number} is not one this runtime listens to: give it in the runtime's \
                 signals option (run(..., signals=[...]), @main(signals=[...]), \
                 runtime(signals=[...]))"
            )));
        }
        if !numbers.contains(&number) {
            numbers.push(number);
        }
    }
    Ok(SignalReceiver {
        runtime,
        queue: Arc::new(SignalQueue::new(&numbers)),
        signals: numbers,
        open: AtomicBool::new(false),
    })
}
