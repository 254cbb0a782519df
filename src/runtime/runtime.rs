//! `Runtime`: the Python-facing runtime object, owning its worker threads.
//!
//! `run_until_complete(coro)` queues `coro` as the root task, then waits in the reactor's lobby
//! (the workers run the tasks and turn the driver poll) until the root task finishes. Then it
//! cancels every task still alive and waits until they have all unwound (their `finally` blocks may
//! still sleep or wait), so a run never leaves tasks behind. Ctrl-C (any Python signal handler that
//! raises) cancels everything the same way and re-raises to the caller; a second Ctrl-C stops the
//! wait for unwinding tasks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use super::config::{Config, Options};
use super::current::{on_worker, Polling};
use super::memory::release_free_memory;
use super::shared::Shared;
use crate::py::{check_unstarted, expect_coroutine};
use crate::reactor::SignalWakeup;
use crate::scheduler::spawn_workers;
use crate::signals::SignalHandlers;
use crate::task::{Collect, Completion, SpawnedCore, Task};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the root task.
    Main,
    /// The root task is over (or the run was interrupted): waiting for cancelled tasks to unwind.
    Drain,
}

/// A tonio runtime: worker threads that run tasks and turn the reactor's poll, and the calling
/// thread waiting for the run (and handling signals).
#[pyclass(frozen, weakref, module = "tonio._tonio")]
pub(crate) struct Runtime {
    shared: Arc<Shared>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    running: AtomicBool,
    closed: AtomicBool,
}

/// Clears the `running` flag however `run_until_complete` exits.
struct RunningGuard<'a>(&'a AtomicBool);

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Runtime {
    fn drive(&self, py: Python<'_>, coroutine: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let shared = &self.shared;
        // Before the root task can run: a signal it raises must already find our wakeup fd.
        let mut signals = SignalWakeup::install(py, shared.reactor())?;
        if signals.is_none() && !shared.config.signals.is_empty() {
            return Err(PyValueError::new_err(
                "a runtime that listens to signals (its signals option) must run on the main \
                 thread: Python delivers signals there only",
            ));
        }
        let handlers = SignalHandlers::install(py, &shared.config.signals)?;
        // A signal that arrived before the wakeup fd was ours left no byte to wake the reactor.
        py.check_signals()?;
        let root = SpawnedCore::tasks(1, Collect::Single);
        let context = shared.task_context(py)?;
        let completion = Completion::Spawned {
            group: Arc::clone(&root),
            index: 0,
        };
        let task = Task::new(Arc::clone(shared), coroutine.unbind(), context, completion)?;
        shared.set_root(Some(Arc::clone(&root)));
        shared.schedule(task);

        let mut interrupt: Option<PyErr> = None;
        let mut phase = Phase::Main;
        loop {
            let signalled = py.detach(|| {
                let _polling = Polling::enter();
                loop {
                    let finished = match phase {
                        Phase::Main => root.is_done(),
                        Phase::Drain => shared.registry().live() == 0,
                    };
                    if finished {
                        return false;
                    }
                    if shared.reactor().wait_in_lobby(shared) {
                        return true;
                    }
                }
            });
            if !signalled {
                if phase == Phase::Drain {
                    break;
                }
                phase = Phase::Drain;
                self.cancel_all();
                continue;
            }
            if let Some(signals) = signals.as_mut() {
                shared.signal_hub().deliver(&signals.drain());
            }
            if let Err(err) = py.check_signals() {
                if interrupt.is_some() {
                    // Interrupted again while tasks unwind: stop waiting for them.
                    break;
                }
                interrupt = Some(err);
                phase = Phase::Drain;
                self.cancel_all();
            }
        }
        shared.set_root(None);
        drop(handlers);
        drop(signals);
        release_free_memory();
        if let Some(err) = interrupt {
            if root.is_done() {
                // The root's own CancelledError is part of the interruption, not a lost error.
                let _ = root.outcome(py);
            }
            return Err(err);
        }
        root.outcome(py)
    }

    fn cancel_all(&self) {
        for task in self.shared.registry().snapshot() {
            task.cancel();
        }
    }

    /// Closes the runtime: stops its workers and blocking threads and finalizes what is left.
    /// Once the interpreter is finalizing, it only marks the runtime closed: a parked worker woken
    /// to exit would re-attach, and CPython ends a thread that attaches then mid-Rust-frame (or
    /// aborts the process); the workers stay parked and end with the process.
    fn shutdown(&self, py: Python<'_>) {
        if self.closed.swap(true, Ordering::AcqRel) || crate::py::finalizing() {
            return;
        }
        self.shared.begin_shutdown();
        let workers = std::mem::take(
            &mut *self
                .workers
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        py.detach(|| {
            for worker in workers {
                let _ = worker.join();
            }
        });
        // Whatever is left (only after an interrupted run, or tasks a blocking thread queued
        // with block_on after the run) will never run: complete it, so threads parked in
        // block_on wake, then join the blocking pool. The tasks are dropped while attached, so
        // the coroutines are finalized by Python; this also breaks the task <-> runtime cycle.
        let leftovers = self.shared.registry().drain();
        for task in &leftovers {
            // SAFETY: every worker has been joined above; nothing else runs tasks.
            unsafe { task.abandon(py) };
        }
        self.shared.blocking().shutdown(py);
        drop(leftovers);
        self.shared.bury();
        self.shared.reactor().close();
        drop(self.shared.queues().drain());
        self.shared.timers().clear();
    }
}

#[pymethods]
impl Runtime {
    #[new]
    #[pyo3(signature = (
        *,
        threads = None,
        context = false,
        blocking_threadpool_size = None,
        blocking_threadpool_idle_ttl = None,
        virtual_clock = false,
        signals = None,
    ))]
    fn new(
        py: Python<'_>,
        threads: Option<i64>,
        context: bool,
        blocking_threadpool_size: Option<i64>,
        blocking_threadpool_idle_ttl: Option<Bound<'_, PyAny>>,
        virtual_clock: bool,
        signals: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        if on_worker() {
            // Closing it from here would have a worker thread join itself.
            return Err(PyRuntimeError::new_err(
                "cannot create a tonio runtime inside a running tonio task (yield or await the \
                 coroutine instead, or spawn() it)",
            ));
        }
        if crate::py::finalizing() {
            // Its workers could not attach to the interpreter to run anything.
            return Err(PyRuntimeError::new_err(
                "cannot create a tonio runtime while the interpreter is shutting down",
            ));
        }
        let options = Options {
            threads,
            context,
            blocking_threadpool_size,
            blocking_threadpool_idle_ttl,
            virtual_clock,
            signals,
        };
        let config = Config::new(py, options)?;
        let shared = Arc::new(Shared::new(config).map_err(|err| {
            PyOSError::new_err(format!("tonio: cannot create the reactor: {err}"))
        })?);
        let workers = spawn_workers(&shared).map_err(|err| {
            shared.begin_shutdown();
            PyOSError::new_err(format!("tonio: cannot start worker threads: {err}"))
        })?;
        Ok(Self {
            shared,
            workers: Mutex::new(workers),
            running: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        })
    }

    /// Runs `coroutine` (a generator or an `async def` coroutine) to completion and returns its
    /// result, or raises its exception.
    fn run_until_complete(
        &self,
        py: Python<'_>,
        coroutine: Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        if on_worker() {
            return Err(PyRuntimeError::new_err(
                "cannot start a runtime from inside a running tonio task (yield or await the \
                 coroutine instead)",
            ));
        }
        expect_coroutine("run_until_complete() argument", &coroutine)?;
        check_unstarted("run_until_complete()", &coroutine)?;
        if self.closed.load(Ordering::Acquire) {
            return Err(PyRuntimeError::new_err("this tonio runtime is closed"));
        }
        if self.running.swap(true, Ordering::AcqRel) {
            return Err(PyRuntimeError::new_err(
                "this tonio runtime is already running",
            ));
        }
        let _running = RunningGuard(&self.running);
        self.drive(py, coroutine)
    }

    /// Stops the worker threads. Idempotent; the runtime cannot be used afterwards.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if self.running.load(Ordering::Acquire) {
            return Err(PyRuntimeError::new_err(
                "cannot close a running tonio runtime",
            ));
        }
        self.shutdown(py);
        Ok(())
    }

    #[getter]
    fn threads(&self) -> usize {
        self.shared.config.threads
    }

    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.close(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "<tonio.Runtime threads={} running={} closed={}>",
            self.shared.config.threads,
            self.running.load(Ordering::Relaxed),
            self.closed.load(Ordering::Relaxed)
        )
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        // `shutdown` leaves parked workers parked once the interpreter is finalizing.
        Python::try_attach(|py| self.shutdown(py));
    }
}
