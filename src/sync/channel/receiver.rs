//! The receiving face of a channel (bounded or unbounded): `receive()` (a Waiter), the
//! non-blocking `receive_nowait`/`try_receive`, and iteration: `async for message in receiver`,
//! or in generator syntax `while (message := (yield receiver.next())) is not receiver.Closed:`.
//!
//! Dropping the receiver closes the channel (as in TonIO): senders then fail at once instead of
//! filling a buffer nobody reads.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyType;

use super::core::{ChannelCore, Take};
use super::sender::describe;
use super::sentinels::{self, ChannelClosed, ChannelEmpty};
use super::wait::{receive_closed_error, OnClosed, ReceiveWait};
use crate::errors::WouldBlock;
use crate::sync::statistics::ChannelStatistics;
use crate::wait::{ReusableWaiter, Waiter};

/// The receiving side of a channel.
/// `generic`: `ChannelReceiver[int]` is valid at runtime too, as the stub makes it generic.
#[pyclass(frozen, generic, module = "tonio._tonio")]
pub(crate) struct ChannelReceiver {
    channel: Arc<ChannelCore>,
    /// The Waiters of `receive()`, `next()` and `__anext__` (reused on GIL builds: a receive
    /// loop allocates no Waiter per message).
    receive: ReusableWaiter,
    next: ReusableWaiter,
    anext: ReusableWaiter,
}

impl ChannelReceiver {
    pub(super) fn new(channel: Arc<ChannelCore>) -> Self {
        Self {
            receive: ReusableWaiter::new(ReceiveWait::source(&channel, OnClosed::Raise)),
            next: ReusableWaiter::new(ReceiveWait::source(&channel, OnClosed::Sentinel)),
            anext: ReusableWaiter::new(ReceiveWait::source(&channel, OnClosed::StopIteration)),
            channel,
        }
    }
}

#[pymethods]
impl ChannelReceiver {
    /// A Waiter resuming with the next message (suspending while none is buffered). Once the
    /// channel is closed and drained it raises ChannelClosedError. Cancel-safe: cancelled, no
    /// message was taken.
    fn receive(&self, py: Python<'_>) -> PyResult<Py<Waiter>> {
        self.receive.waiter(py)
    }

    /// As `receive`, but resuming with the `Closed` sentinel once the channel is closed and
    /// drained, for a generator-syntax loop:
    /// `while (message := (yield receiver.next())) is not receiver.Closed:`.
    fn next(&self, py: Python<'_>) -> PyResult<Py<Waiter>> {
        self.next.waiter(py)
    }

    /// Receives without waiting: the message, or `Empty` / `Closed` (closed and drained).
    fn receive_nowait(&self, py: Python<'_>) -> Py<PyAny> {
        match self.channel.take() {
            Take::Message(message) => message,
            Take::Empty => sentinels::empty(py),
            Take::Closed => sentinels::closed(py),
        }
    }

    /// Receives without waiting, or raises WouldBlock (empty) / ChannelClosedError (closed and
    /// drained).
    fn try_receive(&self) -> PyResult<Py<PyAny>> {
        match self.channel.take() {
            Take::Message(message) => Ok(message),
            Take::Empty => Err(WouldBlock::new_err(
                "the channel is empty: receiving would block",
            )),
            Take::Closed => Err(receive_closed_error()),
        }
    }

    /// Closes the channel from the receiving side (senders fail from now on; what is buffered
    /// can still be received). Returns whether it was open.
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

    fn __aiter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// `async for`: the next message; the loop ends once the channel is closed and drained.
    fn __anext__(&self, py: Python<'_>) -> PyResult<Py<Waiter>> {
        self.anext.waiter(py)
    }

    #[classattr]
    #[pyo3(name = "Empty")]
    fn empty_sentinel(py: Python<'_>) -> Py<PyType> {
        sentinels::class::<ChannelEmpty>(py)
    }

    #[classattr]
    #[pyo3(name = "Closed")]
    fn closed_sentinel(py: Python<'_>) -> Py<PyType> {
        sentinels::class::<ChannelClosed>(py)
    }

    fn __repr__(&self) -> String {
        describe("ChannelReceiver", &self.channel)
    }
}

impl Drop for ChannelReceiver {
    fn drop(&mut self) {
        self.channel.close();
    }
}
