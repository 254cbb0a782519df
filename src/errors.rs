//! Python exception types defined by tonio (re-exported by `tonio.exceptions`), and how several
//! failures become one exception.

use pyo3::create_exception;
use pyo3::exceptions::{PyBaseException, PyBrokenPipeError};
use pyo3::prelude::*;
use pyo3::types::PyList;

create_exception!(
    tonio.exceptions,
    CancelledError,
    PyBaseException,
    "Raised inside a task at its suspension point when the task is cancelled. Like asyncio's, it \
     derives from BaseException so that `except Exception` does not swallow it."
);

/// The one exception to raise for `failures` (in the order they happened): None for none, a
/// lone failure as itself, several as a `BaseExceptionGroup` (an `ExceptionGroup` when they are
/// all `Exception`s). Cancellations count only when nothing else failed: a task cancelled
/// because a sibling failed is not news.
pub(crate) fn exception_group(
    py: Python<'_>,
    message: &str,
    mut failures: Vec<PyErr>,
) -> Option<PyErr> {
    if failures
        .iter()
        .any(|err| !err.is_instance_of::<CancelledError>(py))
    {
        failures.retain(|err| !err.is_instance_of::<CancelledError>(py));
    } else {
        failures.truncate(1);
    }
    if failures.len() <= 1 {
        return failures.pop();
    }
    let group = PyList::new(py, failures.iter().map(|err| err.value(py)))
        .and_then(|errors| {
            py.import("builtins")?
                .getattr("BaseExceptionGroup")?
                .call1((format!("{message} ({} failures)", failures.len()), errors))
        })
        .map(PyErr::from_value);
    Some(group.unwrap_or_else(|err| err))
}

create_exception!(
    tonio.exceptions,
    WouldBlock,
    pyo3::exceptions::PyException,
    "Raised by the non-waiting variants (`try_*`, `or_raise`) when the operation cannot complete \
     at once."
);

create_exception!(
    tonio.exceptions,
    BusyResourceError,
    WouldBlock,
    "Raised when a task tries to read (or write) a stream that another task is already reading \
     (or writing): one reader and one writer at a time. A `WouldBlock`, as in TonIO."
);

create_exception!(
    tonio.exceptions,
    ResourceBroken,
    pyo3::exceptions::PyException,
    "Raised by streams whose underlying transport is unusable (a broken pipe, a reset, a failed \
     TLS session)."
);

create_exception!(
    tonio.exceptions,
    ChannelClosedError,
    PyBrokenPipeError,
    "Raised by a send on a closed channel, and by a receive once the channel is closed and every \
     buffered message was received. A BrokenPipeError, as TonIO raises, so code catching that \
     still catches it."
);
