//! The sending faces of a channel: `ChannelSender` (bounded: `send` is a Waiter, suspending while
//! the buffer is full) and `UnboundedChannelSender` (`send` never waits), and the constructors
//! `channel(size)` and `unbounded_channel()`.
//!
//! Dropping a sender closes the channel (as in TonIO), so receivers never wait forever for a
//! producer that is gone: they drain what is buffered, then see the channel closed.

use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyType;

use super::core::{ChannelCore, Offer};
use super::receiver::ChannelReceiver;
use super::sentinels::{self, ChannelClosed, ChannelFull};
use super::wait::{send_closed_error, SendWait};
use crate::errors::WouldBlock;
use crate::sync::statistics::ChannelStatistics;
use crate::wait::{WaitKind, WaitSource, Waiter};

/// `send_nowait`: None, or the `Full`/`Closed` sentinel.
fn send_nowait(py: Python<'_>, channel: &ChannelCore, message: Py<PyAny>) -> Py<PyAny> {
    match channel.offer(message) {
        Offer::Sent => py.None(),
        Offer::Full(_) => sentinels::full(py),
        Offer::Closed(_) => sentinels::closed(py),
    }
}

/// `try_send`: sends, or raises WouldBlock (full) / ChannelClosedError (closed).
fn try_send(channel: &ChannelCore, message: Py<PyAny>) -> PyResult<()> {
    match channel.offer(message) {
        Offer::Sent => Ok(()),
        Offer::Full(_) => Err(WouldBlock::new_err(
            "the channel is full: sending would block",
        )),
        Offer::Closed(_) => Err(send_closed_error()),
    }
}

/// The sending side of a bounded channel.
/// `generic`: `ChannelSender[int]` is valid at runtime too, as the stub makes it generic.
#[pyclass(frozen, generic, module = "tonio._tonio")]
pub(crate) struct ChannelSender {
    channel: Arc<ChannelCore>,
    /// The wait of `send(message)`, shared by all its Waiters.
    send: Arc<dyn WaitSource>,
}

#[pymethods]
impl ChannelSender {
    /// A Waiter that resumes with None once `message` is handed to a receiver or buffered
    /// (suspending while the buffer is full). Raises ChannelClosedError on a closed channel.
    /// Cancel-safe: cancelled, the message was not sent.
    fn send(&self, message: Py<PyAny>) -> Waiter {
        Waiter::with_payload(WaitKind::Source(Arc::clone(&self.send)), message)
    }

    /// Sends without waiting: None, or `Full` / `Closed` when it cannot.
    fn send_nowait(&self, py: Python<'_>, message: Py<PyAny>) -> Py<PyAny> {
        send_nowait(py, &self.channel, message)
    }

    /// Sends without waiting, or raises WouldBlock (full) / ChannelClosedError (closed).
    fn try_send(&self, message: Py<PyAny>) -> PyResult<()> {
        try_send(&self.channel, message)
    }

    /// Closes the channel: receivers drain what is buffered, then see it closed; sending
    /// raises. Returns whether it was open.
    fn close(&self) -> bool {
        self.channel.close()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.channel.is_closed()
    }

    fn statistics(&self) -> ChannelStatistics {
        self.channel.statistics()
    }

    #[classattr]
    #[pyo3(name = "Full")]
    fn full_sentinel(py: Python<'_>) -> Py<PyType> {
        sentinels::class::<ChannelFull>(py)
    }

    #[classattr]
    #[pyo3(name = "Closed")]
    fn closed_sentinel(py: Python<'_>) -> Py<PyType> {
        sentinels::class::<ChannelClosed>(py)
    }

    fn __repr__(&self) -> String {
        describe("ChannelSender", &self.channel)
    }
}

impl Drop for ChannelSender {
    fn drop(&mut self) {
        self.channel.close();
    }
}

/// The sending side of an unbounded channel: `send` never waits.
/// `generic`: `UnboundedChannelSender[int]` is valid at runtime too, as the stub makes it generic.
#[pyclass(frozen, generic, module = "tonio._tonio")]
pub(crate) struct UnboundedChannelSender {
    channel: Arc<ChannelCore>,
}

#[pymethods]
impl UnboundedChannelSender {
    /// Sends `message` now (to the longest-waiting receiver, else into the buffer). Raises
    /// ChannelClosedError on a closed channel.
    fn send(&self, message: Py<PyAny>) -> PyResult<()> {
        match self.channel.offer(message) {
            Offer::Closed(_) => Err(send_closed_error()),
            Offer::Sent | Offer::Full(_) => Ok(()),
        }
    }

    /// As `send`, returning the `Closed` sentinel instead of raising.
    fn send_nowait(&self, py: Python<'_>, message: Py<PyAny>) -> Py<PyAny> {
        send_nowait(py, &self.channel, message)
    }

    /// As `send`.
    fn try_send(&self, message: Py<PyAny>) -> PyResult<()> {
        try_send(&self.channel, message)
    }

    /// Closes the channel: receivers drain what is buffered, then see it closed; sending
    /// raises. Returns whether it was open.
    fn close(&self) -> bool {
        self.channel.close()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.channel.is_closed()
    }

    fn statistics(&self) -> ChannelStatistics {
        self.channel.statistics()
    }

    #[classattr]
    #[pyo3(name = "Full")]
    fn full_sentinel(py: Python<'_>) -> Py<PyType> {
        sentinels::class::<ChannelFull>(py)
    }

    #[classattr]
    #[pyo3(name = "Closed")]
    fn closed_sentinel(py: Python<'_>) -> Py<PyType> {
        sentinels::class::<ChannelClosed>(py)
    }

    fn __repr__(&self) -> String {
        describe("UnboundedChannelSender", &self.channel)
    }
}

impl Drop for UnboundedChannelSender {
    fn drop(&mut self) {
        self.channel.close();
    }
}

pub(super) fn describe(what: &str, channel: &ChannelCore) -> String {
    let stats = channel.statistics();
    let size = stats
        .max_buffer_size
        .map_or_else(|| "unbounded".to_owned(), |size| size.to_string());
    format!(
        "<tonio.sync.channel.{what} buffered={}/{size}{}>",
        stats.current_buffer_used,
        if stats.closed { " closed" } else { "" }
    )
}

/// `channel(size)`: a bounded channel buffering up to `size` messages (0: every send waits for
/// a receiver). Returns `(sender, receiver)`.
#[pyfunction]
pub(crate) fn channel(
    py: Python<'_>,
    size: &Bound<'_, PyAny>,
) -> PyResult<(Py<ChannelSender>, Py<ChannelReceiver>)> {
    let size: i64 = size.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "channel size must be an int, not {}",
            size.get_type()
                .name()
                .map_or_else(|_| "?".to_owned(), |name| name.to_string())
        ))
    })?;
    let size = usize::try_from(size).map_err(|_| {
        PyValueError::new_err(format!(
            "channel size must be >= 0, got {size} (use unbounded() for no limit)"
        ))
    })?;
    let core = ChannelCore::new(Some(size));
    Ok((
        Py::new(
            py,
            ChannelSender {
                channel: Arc::clone(&core),
                send: SendWait::source(&core),
            },
        )?,
        Py::new(py, ChannelReceiver::new(core))?,
    ))
}

/// `unbounded()`: a channel whose `send` never waits. Returns `(sender, receiver)`.
#[pyfunction]
pub(crate) fn unbounded_channel(
    py: Python<'_>,
) -> PyResult<(Py<UnboundedChannelSender>, Py<ChannelReceiver>)> {
    let core = ChannelCore::new(None);
    Ok((
        Py::new(
            py,
            UnboundedChannelSender {
                channel: Arc::clone(&core),
            },
        )?,
        Py::new(py, ChannelReceiver::new(core))?,
    ))
}
