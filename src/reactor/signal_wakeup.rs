//! Waking the lobby on signals through Python's own `signal.set_wakeup_fd`.
//!
//! CPython's C-level signal handler writes the signal number to the wakeup fd and marks the signal
//! as tripped; Python-level handlers (KeyboardInterrupt for SIGINT) run later, on the main thread,
//! when `PyErr_CheckSignals` is called. We point the wakeup fd at one end of a socket pair whose
//! other end the lobby polls (`lobby.rs`), so Ctrl-C interrupts the caller's wait at once; the
//! caller then runs the handlers. The bytes it carries are the signal numbers, which `drain` hands
//! to the runtime's signal receivers (`signals/`). Dropping the `SignalWakeup` restores the
//! previous wakeup fd.

use std::io::Read;
use std::os::fd::AsRawFd;

use mio::net::UnixStream;
use mio::Interest;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::reactor::{Reactor, SIGNAL};

pub(crate) struct SignalWakeup {
    reader: UnixStream,
    _writer: UnixStream,
    previous_fd: i64,
}

impl SignalWakeup {
    /// Installs the wakeup fd. Returns None off the main thread, where Python delivers no signals.
    pub(crate) fn install(py: Python<'_>, reactor: &Reactor) -> PyResult<Option<Self>> {
        let signal = py.import("signal")?;
        let threading = py.import("threading")?;
        let on_main_thread = threading
            .call_method0("current_thread")?
            .is(&threading.call_method0("main_thread")?);
        if !on_main_thread {
            return Ok(None);
        }
        let (mut reader, writer) = UnixStream::pair()?;
        reactor.with_lobby_registry(|registry| {
            registry.register(&mut reader, SIGNAL, Interest::READABLE)
        })?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("warn_on_full_buffer", false)?;
        let previous_fd: i64 = signal
            .call_method("set_wakeup_fd", (writer.as_raw_fd(),), Some(&kwargs))?
            .extract()?;
        Ok(Some(Self {
            reader,
            _writer: writer,
            previous_fd,
        }))
    }

    /// Empties the socket so the next signal makes it readable again, and returns the signal
    /// numbers it carried (CPython writes one byte per signal it catches).
    pub(crate) fn drain(&mut self) -> Vec<u8> {
        let mut numbers = Vec::new();
        let mut buffer = [0u8; 64];
        while let Ok(count @ 1..) = self.reader.read(&mut buffer) {
            numbers.extend_from_slice(&buffer[..count]);
        }
        numbers
    }
}

impl Drop for SignalWakeup {
    fn drop(&mut self) {
        // Restore whoever listened before us. Closing `reader` also removes it from the lobby.
        Python::attach(|py| {
            let restored = py
                .import("signal")
                .and_then(|signal| signal.call_method1("set_wakeup_fd", (self.previous_fd,)));
            if let Err(err) = restored {
                err.write_unraisable(py, None);
            }
        });
    }
}
