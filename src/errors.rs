//! Python exception types defined by tonio (re-exported by `tonio.exceptions`).

use pyo3::create_exception;
use pyo3::exceptions::PyBaseException;

create_exception!(
    tonio.exceptions,
    CancelledError,
    PyBaseException,
    "Raised inside a task at its suspension point when the task is cancelled. Like asyncio's, it \
     derives from BaseException so that `except Exception` does not swallow it."
);
