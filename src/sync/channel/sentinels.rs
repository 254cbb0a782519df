//! The markers `send_nowait`/`receive_nowait` return instead of raising (TonIO's shapes):
//! `sender.Full`, `receiver.Empty`, and `Closed` on both. They are the classes themselves,
//! compared with `is`; they cannot be instantiated.

use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::PyTypeInfo;

/// Returned by `send_nowait` when the channel is closed, and by `receive_nowait` when it is
/// closed and drained.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct ChannelClosed;

/// Returned by `receive_nowait` when no message is buffered.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct ChannelEmpty;

/// Returned by `send_nowait` when the buffer is full.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct ChannelFull;

pub(super) fn closed(py: Python<'_>) -> Py<PyAny> {
    sentinel::<ChannelClosed>(py)
}

pub(super) fn empty(py: Python<'_>) -> Py<PyAny> {
    sentinel::<ChannelEmpty>(py)
}

pub(super) fn full(py: Python<'_>) -> Py<PyAny> {
    sentinel::<ChannelFull>(py)
}

pub(super) fn class<T: PyTypeInfo>(py: Python<'_>) -> Py<PyType> {
    py.get_type::<T>().unbind()
}

fn sentinel<T: PyTypeInfo>(py: Python<'_>) -> Py<PyAny> {
    py.get_type::<T>().into_any().unbind()
}
