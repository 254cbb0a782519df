//! What `statistics()` returns for each primitive (trio's names): one reading, taken under the
//! primitive's lock, as plain read-only attributes.

use pyo3::prelude::*;

/// `Lock.statistics()`.
#[pyclass(frozen, get_all, module = "tonio._tonio")]
pub(crate) struct LockStatistics {
    /// Whether the lock is held.
    pub(crate) locked: bool,
    /// Tasks waiting to acquire it.
    pub(crate) tasks_waiting: usize,
}

#[pymethods]
impl LockStatistics {
    fn __repr__(&self) -> String {
        format!(
            "LockStatistics(locked={}, tasks_waiting={})",
            if self.locked { "True" } else { "False" },
            self.tasks_waiting
        )
    }
}

/// `Semaphore.statistics()`, shaped like trio's CapacityLimiter statistics.
#[pyclass(frozen, get_all, module = "tonio._tonio")]
pub(crate) struct SemaphoreStatistics {
    /// Tokens held right now.
    pub(crate) borrowed_tokens: usize,
    /// The semaphore's size.
    pub(crate) total_tokens: usize,
    /// Tasks waiting for a token.
    pub(crate) tasks_waiting: usize,
}

#[pymethods]
impl SemaphoreStatistics {
    fn __repr__(&self) -> String {
        format!(
            "SemaphoreStatistics(borrowed_tokens={}, total_tokens={}, tasks_waiting={})",
            self.borrowed_tokens, self.total_tokens, self.tasks_waiting
        )
    }
}

/// `RWLock.statistics()`.
#[pyclass(frozen, get_all, module = "tonio._tonio")]
pub(crate) struct RWLockStatistics {
    /// Tasks holding it for reading.
    pub(crate) readers: usize,
    /// Whether a task holds it for writing.
    pub(crate) writer: bool,
    /// Tasks waiting, readers and writers.
    pub(crate) tasks_waiting: usize,
}

#[pymethods]
impl RWLockStatistics {
    fn __repr__(&self) -> String {
        format!(
            "RWLockStatistics(readers={}, writer={}, tasks_waiting={})",
            self.readers,
            if self.writer { "True" } else { "False" },
            self.tasks_waiting
        )
    }
}

/// `statistics()` of a channel's sender or receiver.
#[pyclass(frozen, get_all, module = "tonio._tonio")]
pub(crate) struct ChannelStatistics {
    /// Messages buffered right now.
    pub(crate) current_buffer_used: usize,
    /// The buffer's capacity (None: unbounded).
    pub(crate) max_buffer_size: Option<usize>,
    /// Tasks waiting in `send` (the buffer is full).
    pub(crate) tasks_waiting_send: usize,
    /// Tasks waiting in `receive` (the buffer is empty).
    pub(crate) tasks_waiting_receive: usize,
    /// Whether the channel was closed.
    pub(crate) closed: bool,
}

#[pymethods]
impl ChannelStatistics {
    fn __repr__(&self) -> String {
        let size = self
            .max_buffer_size
            .map_or_else(|| "None".to_owned(), |size| size.to_string());
        format!(
            "ChannelStatistics(current_buffer_used={}, max_buffer_size={size}, \
             tasks_waiting_send={}, tasks_waiting_receive={}, closed={})",
            self.current_buffer_used,
            self.tasks_waiting_send,
            self.tasks_waiting_receive,
            if self.closed { "True" } else { "False" }
        )
    }
}
