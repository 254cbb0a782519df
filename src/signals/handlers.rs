//! `SignalHandlers`: while a runtime that listens to signals runs, each of them has a Python
//! handler that does nothing, so CPython's C-level handler catches it and writes its number to
//! the wakeup fd (which the reactor reads and hands to the receivers) instead of the default
//! action (SIGTERM killing the process, SIGINT raising KeyboardInterrupt). Dropping it puts the
//! previous handlers back.

use pyo3::prelude::*;
use pyo3::types::PyCFunction;

/// The Python-level handler: the signal was already counted from the wakeup fd.
#[pyfunction]
fn received_signal(_signum: i32, _frame: Option<&Bound<'_, PyAny>>) {}

pub(crate) struct SignalHandlers {
    /// Each signal and the handler it had before (None: one not set from Python).
    previous: Vec<(i32, Option<Py<PyAny>>)>,
}

impl SignalHandlers {
    pub(crate) fn install(py: Python<'_>, signals: &[i32]) -> PyResult<Self> {
        let mut handlers = Self {
            previous: Vec::with_capacity(signals.len()),
        };
        if signals.is_empty() {
            return Ok(handlers);
        }
        let module = py.import("signal")?;
        let handler: Bound<'_, PyCFunction> = wrap_pyfunction!(received_signal, py)?;
        for &signal in signals {
            let before = module.call_method1("getsignal", (signal,))?;
            module.call_method1("signal", (signal, &handler))?;
            let before = (!before.is_none()).then(|| before.unbind());
            handlers.previous.push((signal, before));
        }
        Ok(handlers)
    }
}

impl Drop for SignalHandlers {
    fn drop(&mut self) {
        if self.previous.is_empty() {
            return;
        }
        Python::attach(|py| {
            let restored = py.import("signal").and_then(|module| {
                for (signal, before) in self.previous.drain(..).rev() {
                    let Some(before) = before else { continue };
                    module.call_method1("signal", (signal, before))?;
                }
                Ok(())
            });
            if let Err(err) = restored {
                err.write_unraisable(py, None);
            }
        });
    }
}
