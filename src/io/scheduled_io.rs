//! `ScheduledIO`: a file descriptor registered with the runtime's reactor, as Python sees it
//! (`tonio.io.register(fd)`), and the handle sockets, pipes and subprocess streams are built on.
//!
//! TonIO's readiness protocol: `arm_r()` / `arm_w()` return None when the direction is known
//! ready, else a Waiter to suspend on (with an optional timeout in seconds); after a syscall that
//! would block, `clear_r()` / `clear_w()` drop the stale readiness, unless an event arrived since
//! `arm_*` saw it (see `reactor/readiness.rs`); `consume_r()` / `consume_w()` take a direction's
//! readiness and say whether it was there. `close()` deregisters the descriptor and wakes every
//! task waiting on it with an OSError; the descriptor itself is neither owned nor closed.
//!
//! For streams the syscalls themselves run in Rust (`_receive_some`, `_send_all`, `_send`, see
//! `transfer.rs`): one Waiter per call, no Python-level retry loop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyMemoryView;

use super::transfer::{Busy, Receive, Send, DEFAULT_RECEIVE};
use crate::reactor::{closed_while_waiting, Direction, IoCore, IoToken, ReadyWait};
use crate::runtime::{calling_runtime, is_current_runtime, Shared};
use crate::time::Timeout;
use crate::wait::{WaitKind, Waiter};

/// A file descriptor registered with the reactor.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct ScheduledIO {
    runtime: Arc<Shared>,
    token: IoToken,
    io: Arc<IoCore>,
    /// The waits of `arm_r` / `arm_w`, made once.
    ready: [Arc<ReadyWait>; 2],
    reading: Arc<Busy>,
    writing: Arc<Busy>,
    closed: AtomicBool,
}

impl ScheduledIO {
    fn arm(
        &self,
        direction: Direction,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Waiter>> {
        let timeout = Timeout::after(timeout, "timeout")?;
        if self.io.is_closed() {
            return Err(closed_while_waiting());
        }
        if self.io.check(direction) {
            return Ok(None);
        }
        let source = Arc::clone(&self.ready[direction.index()]);
        Ok(Some(Waiter::new(WaitKind::Source(source), timeout)))
    }

    fn shutdown(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.io.close();
        self.runtime
            .reactor()
            .deregister_fd(self.token, self.io.fd());
    }
}

#[pymethods]
impl ScheduledIO {
    /// A Waiter until the descriptor is readable, or None when it already is.
    #[pyo3(signature = (timeout = None))]
    fn arm_r(&self, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Waiter>> {
        self.arm(Direction::Read, timeout)
    }

    /// A Waiter until the descriptor is writable, or None when it already is.
    #[pyo3(signature = (timeout = None))]
    fn arm_w(&self, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Waiter>> {
        self.arm(Direction::Write, timeout)
    }

    /// A read would block: forget the readable state `arm_r` saw (unless newer events came).
    fn clear_r(&self) {
        self.io.clear(Direction::Read);
    }

    /// A write would block: forget the writable state `arm_w` saw (unless newer events came).
    fn clear_w(&self) {
        self.io.clear(Direction::Write);
    }

    /// Takes the readable state; returns whether it was set.
    fn consume_r(&self) -> bool {
        self.io.readiness().consume(Direction::Read)
    }

    /// Takes the writable state; returns whether it was set.
    fn consume_w(&self) -> bool {
        self.io.readiness().consume(Direction::Write)
    }

    /// Deregisters the descriptor and wakes every task waiting on it (with an OSError). The
    /// descriptor stays open: close it after this. Idempotent.
    fn close(&self) {
        self.shutdown();
    }

    fn fileno(&self) -> i32 {
        self.io.fd()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Receives up to `max_bytes` (at least one, or `b""` at end of file): a Waiter. `stream`:
    /// the descriptor is a stream socket, where a short read means it is drained (see
    /// `Receive`).
    #[pyo3(signature = (max_bytes = None, *, stream = false))]
    fn _receive_some(&self, max_bytes: Option<i64>, stream: bool) -> PyResult<Waiter> {
        let max_bytes = match max_bytes {
            None => DEFAULT_RECEIVE,
            Some(count) if count >= 1 => usize::try_from(count).unwrap_or(usize::MAX).min(1 << 30),
            Some(count) => {
                return Err(PyValueError::new_err(format!(
                    "max_bytes must be at least 1, got {count}"
                )))
            }
        };
        let receive = Receive::new(
            Arc::clone(&self.io),
            Arc::clone(&self.reading),
            max_bytes,
            stream,
        );
        Ok(Waiter::new(
            WaitKind::Source(Arc::new(receive)),
            Timeout::Never,
        ))
    }

    /// `SocketStream.receive_some` in one call: `_receive_some(max_bytes, stream=True)` if this
    /// registration belongs to the calling thread's runtime, else None (the stream registers
    /// its socket again first).
    #[pyo3(signature = (max_bytes = None))]
    fn _stream_receive(&self, max_bytes: Option<i64>) -> PyResult<Option<Waiter>> {
        if !is_current_runtime(&self.runtime) {
            return Ok(None);
        }
        self._receive_some(max_bytes, true).map(Some)
    }

    /// `SocketStream.send_all` in one call: `_send_all(data)` if this registration belongs to
    /// the calling thread's runtime, else None (as `_stream_receive`).
    fn _stream_send_all(&self, data: &Bound<'_, PyAny>) -> PyResult<Option<Waiter>> {
        if !is_current_runtime(&self.runtime) {
            return Ok(None);
        }
        self._send_all(data).map(Some)
    }

    /// Sends every byte of `data` (bytes-like), waiting for the descriptor as needed: a Waiter.
    fn _send_all(&self, data: &Bound<'_, PyAny>) -> PyResult<Waiter> {
        let data = bytes_like(data)?;
        let send = Send::new(Arc::clone(&self.io), Arc::clone(&self.writing), data, true);
        Ok(Waiter::new(
            WaitKind::Source(Arc::new(send)),
            Timeout::Never,
        ))
    }

    /// Sends what the descriptor takes once writable; the Waiter resumes with the count.
    fn _send(&self, data: &Bound<'_, PyAny>) -> PyResult<Waiter> {
        let data = bytes_like(data)?;
        let send = Send::new(Arc::clone(&self.io), Arc::clone(&self.writing), data, false);
        Ok(Waiter::new(
            WaitKind::Source(Arc::new(send)),
            Timeout::Never,
        ))
    }

    /// Marks the start of a read (`"r"`) or write (`"w"`) done in Python (accept, recvfrom, ...):
    /// raises BusyResourceError if another task is in the middle of one.
    fn _enter(&self, direction: &str) -> PyResult<()> {
        match direction {
            "r" => self.reading.enter("receiving"),
            _ => self.writing.enter("sending"),
        }
    }

    /// Marks the end of what `_enter` started.
    fn _leave(&self, direction: &str) {
        match direction {
            "r" => self.reading.leave(),
            _ => self.writing.leave(),
        }
    }

    /// Whether this registration belongs to the runtime the calling thread works for.
    fn _on_current_runtime(&self) -> bool {
        is_current_runtime(&self.runtime)
    }

    /// Tasks waiting on this descriptor right now.
    #[getter]
    fn waiting(&self) -> usize {
        self.io.parked()
    }

    fn __repr__(&self) -> String {
        format!(
            "<tonio.io.ScheduledIO fd={} closed={}>",
            self.io.fd(),
            self.closed.load(Ordering::Relaxed)
        )
    }
}

/// `data` to send, as the stdlib's `socket.sendall` takes it: `bytes` and `bytearray` as they
/// are, any other buffer (`memoryview`, `array`, ...) copied once into `bytes`; anything else is
/// a TypeError.
fn bytes_like(data: &Bound<'_, PyAny>) -> PyResult<PyBackedBytes> {
    if let Ok(bytes) = data.extract::<PyBackedBytes>() {
        return Ok(bytes);
    }
    let not_bytes_like = || {
        PyTypeError::new_err(format!(
            "a bytes-like object is required, not '{}'",
            data.get_type()
                .name()
                .map_or_else(|_| "?".to_owned(), |name| name.to_string())
        ))
    };
    // Only "not a buffer" becomes the stdlib's message; a released memoryview's ValueError
    // says more as it is.
    let view = PyMemoryView::from(data).map_err(|err| {
        if err.is_instance_of::<PyTypeError>(data.py()) {
            not_bytes_like()
        } else {
            err
        }
    })?;
    view.call_method0(intern!(data.py(), "tobytes"))?
        .extract::<PyBackedBytes>()
        .map_err(Into::into)
}

impl Drop for ScheduledIO {
    fn drop(&mut self) {
        // A registration never outlives its handle.
        self.shutdown();
    }
}

/// `register(fd)`: registers a file descriptor (an int, or an object with `fileno()`) with the
/// current runtime's reactor. The descriptor should be non-blocking; it is not owned.
#[pyfunction]
pub(crate) fn register(fd: &Bound<'_, PyAny>) -> PyResult<ScheduledIO> {
    let runtime = calling_runtime("tonio.io.register()")?;
    let fd: i32 = match fd.extract() {
        Ok(fd) => fd,
        Err(_) => fd.call_method0("fileno")?.extract()?,
    };
    if fd < 0 {
        return Err(PyValueError::new_err(format!(
            "invalid file descriptor {fd}"
        )));
    }
    if runtime.is_shutting_down() {
        return Err(PyRuntimeError::new_err(
            "tonio.io.register(): the runtime is closing",
        ));
    }
    let (token, io) = runtime.reactor().register_fd(fd).map_err(|err| {
        PyOSError::new_err(format!("cannot register file descriptor {fd}: {err}"))
    })?;
    let ready = [
        Arc::new(ReadyWait::new(Arc::clone(&io), Direction::Read)),
        Arc::new(ReadyWait::new(Arc::clone(&io), Direction::Write)),
    ];
    Ok(ScheduledIO {
        runtime,
        token,
        io,
        ready,
        reading: Arc::new(Busy::new()),
        writing: Arc::new(Busy::new()),
        closed: AtomicBool::new(false),
    })
}
