//! The blocking pool: threads that run plain (blocking) Python functions off the workers.
//!
//! Threads start on demand, up to `blocking_threadpool_size`; a job that finds every thread busy
//! at the cap waits in the queue (never fails). A thread idle for `blocking_threadpool_idle_ttl`
//! exits. A thread attaches to the interpreter once and detaches while it waits for a job, so an
//! idle pool holds no GIL. A job's result goes into its join group, which wakes whoever
//! yielded/awaited it; if that waiter was cancelled meanwhile, the result is dropped there and
//! the thread simply takes the next job.
//!
//! `PoolSynced` (queue, thread and idle counts) lives under one mutex with a condvar; jobs are
//! handed over through the queue, never directly, so a thread that times out while a job is
//! being queued cannot lose it: it re-checks the queue under the lock before exiting.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::interrupt::CallControl;
use crate::py::{new_context, thread_ident, ContextGuard};
use crate::runtime::{current, Shared};
use crate::task::SpawnedCore;

/// One call to run: `function(*args, **kwargs)`, its result stored at `index` of `group`.
pub(crate) struct Job {
    pub(crate) function: Py<PyAny>,
    pub(crate) args: Py<PyTuple>,
    pub(crate) kwargs: Option<Py<PyDict>>,
    /// The caller's `contextvars` context, copied (runtime option `context=True`): the call runs
    /// in it, and what it changes there does not leak back. Without it, the call runs in a new,
    /// empty context, so nothing a job sets is seen by the next job on its thread.
    pub(crate) context: Option<Py<PyAny>>,
    pub(crate) control: Arc<CallControl>,
    pub(crate) group: Arc<SpawnedCore>,
    pub(crate) index: u32,
}

impl Job {
    fn call(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let kwargs = self.kwargs.as_ref().map(|kwargs| kwargs.bind(py));
        match &self.context {
            None => {
                let _fresh = ContextGuard::enter(new_context(py)?.into_bound(py))?;
                self.function.bind(py).call(self.args.bind(py), kwargs)
            }
            Some(context) => {
                let mut args = vec![self.function.bind(py).clone()];
                args.extend(self.args.bind(py).iter());
                let args = PyTuple::new(py, args)?;
                context
                    .bind(py)
                    .call_method(pyo3::intern!(py, "run"), args, kwargs)
            }
        }
        .map(Bound::unbind)
    }

    fn run(self, py: Python<'_>, pool: &BlockingPool, thread: u64) {
        if !self.control.start(thread) {
            // Its waiter gave up before it ran: it never runs.
            pool.synced().returning += 1;
            let skipped = crate::errors::CancelledError::new_err("the blocking call was cancelled");
            let _ = self.group.complete(py, self.index, Err(skipped));
            return;
        }
        let call = || self.call(py);
        // A Rust panic surfacing through the call (PyO3 re-raises PanicException as one) must not
        // kill the pool thread and leave the waiter hanging: it becomes the call's error.
        let result = catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|_| {
            Err(PyRuntimeError::new_err(
                "the blocking function panicked (see the message above)",
            ))
        });
        self.control.finish(py);
        // Counted as available before the waiter is woken: the waiter may submit its next job
        // at once, and should find this thread rather than start another.
        pool.synced().returning += 1;
        // The group wakes the waiter; the job (and its Python objects) is dropped right after,
        // still attached.
        let _ = self.group.complete(py, self.index, result);
    }
}

#[derive(Default)]
struct PoolSynced {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    /// Threads that finished a job and are on their way back to the queue.
    returning: usize,
    shutdown: bool,
    handles: Vec<JoinHandle<()>>,
}

/// Counts of the pool's threads and jobs (for `tonio._tonio._runtime_stats` and tests).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolStats {
    pub(crate) threads: usize,
    pub(crate) idle: usize,
    pub(crate) queued: usize,
    pub(crate) in_flight: usize,
}

pub(crate) struct BlockingPool {
    synced: Mutex<PoolSynced>,
    work: Condvar,
    max_threads: usize,
    idle_ttl: Duration,
    /// Jobs submitted and not finished yet (queued or running).
    in_flight: AtomicUsize,
}

impl BlockingPool {
    pub(crate) fn new(max_threads: usize, idle_ttl: Duration) -> Self {
        Self {
            synced: Mutex::new(PoolSynced::default()),
            work: Condvar::new(),
            max_threads,
            idle_ttl,
            in_flight: AtomicUsize::new(0),
        }
    }

    fn synced(&self) -> MutexGuard<'_, PoolSynced> {
        self.synced
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let synced = self.synced();
        PoolStats {
            threads: synced.threads,
            idle: synced.idle,
            queued: synced.queue.len(),
            in_flight: self.in_flight(),
        }
    }

    /// Queues `job`, starting a thread for it if every thread is busy and the cap allows.
    pub(crate) fn submit(&self, runtime: &Arc<Shared>, job: Job) -> std::io::Result<()> {
        let mut synced = self.synced();
        if synced.shutdown {
            drop(synced);
            Python::attach(|_| drop(job));
            return Err(std::io::Error::other("the runtime is closed"));
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        synced.queue.push_back(job);
        if synced.idle + synced.returning >= synced.queue.len() {
            self.work.notify_one();
            return Ok(());
        }
        if synced.threads >= self.max_threads {
            // At the cap: the job waits for the next free thread.
            return Ok(());
        }
        synced.threads += 1;
        synced.handles.retain(|handle| !handle.is_finished());
        let runtime = Arc::clone(runtime);
        let spawned = std::thread::Builder::new()
            .name("tonio-blocking".to_owned())
            .spawn(move || thread_main(runtime));
        match spawned {
            Ok(handle) => {
                synced.handles.push(handle);
                Ok(())
            }
            Err(err) => {
                synced.threads -= 1;
                if synced.threads > 0 {
                    // Another thread will get to the job.
                    return Ok(());
                }
                if let Some(job) = synced.queue.pop_back() {
                    self.in_flight.fetch_sub(1, Ordering::AcqRel);
                    drop(synced);
                    Python::attach(|_| drop(job));
                }
                Err(err)
            }
        }
    }

    /// The next job for a pool thread, or None when the thread should exit (idle past the TTL,
    /// or shutdown).
    fn next_job(&self, returning: bool) -> Option<Job> {
        let mut synced = self.synced();
        if returning {
            synced.returning -= 1;
        }
        loop {
            if let Some(job) = synced.queue.pop_front() {
                return Some(job);
            }
            if synced.shutdown {
                synced.threads -= 1;
                return None;
            }
            synced.idle += 1;
            let (guard, waited) = self
                .work
                .wait_timeout(synced, self.idle_ttl)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            synced = guard;
            synced.idle -= 1;
            if waited.timed_out() && synced.queue.is_empty() {
                synced.threads -= 1;
                return None;
            }
        }
    }

    /// Returns true when this was the last job in flight.
    pub(crate) fn job_done(&self) -> bool {
        self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Undoes `job_done` for a job that paused (in `block_on`) and runs again.
    pub(crate) fn job_resumed(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    /// Stops the pool: queued jobs never run (their results become CancelledErrors, so nothing
    /// waits for them forever), running ones finish, and every thread is joined.
    pub(crate) fn shutdown(&self, py: Python<'_>) {
        let (queued, handles) = {
            let mut synced = self.synced();
            synced.shutdown = true;
            let queued: Vec<Job> = synced.queue.drain(..).collect();
            (queued, std::mem::take(&mut synced.handles))
        };
        self.in_flight.fetch_sub(queued.len(), Ordering::AcqRel);
        for job in queued {
            let closed = crate::errors::CancelledError::new_err(
                "the runtime closed before the blocking call ran",
            );
            let _ = job.group.complete(py, job.index, Err(closed));
        }
        self.work.notify_all();
        py.detach(|| {
            for handle in handles {
                let _ = handle.join();
            }
        });
    }
}

/// A pool thread. It holds its runtime until it exits; `shutdown` (run when the runtime closes)
/// stops and joins every thread, which breaks that cycle.
///
/// Attached once for the thread's life, detached while it waits for a job: attaching per job
/// made and tore down a thread state each time, which on a free-threaded build also abandons the
/// thread's allocator heaps for every later allocation to scan (most of the pool's CPU in
/// `benches/processes.py` on 3.13t).
fn thread_main(runtime: Arc<Shared>) {
    current::enter_blocking(Arc::clone(&runtime));
    let pool = runtime.blocking();
    Python::attach(|py| {
        // Known once: where a cancelled waiter's CancelledError is sent (see `interrupt.rs`).
        let thread = thread_ident(py).unwrap_or(0);
        let mut returning = false;
        while let Some(job) = py.detach(|| wait_for_job(pool, returning)) {
            job.run(py, pool, thread);
            runtime.blocking_job_finished();
            returning = true;
        }
    });
    current::exit();
}

/// The next job (detached), or None when the thread is to exit.
fn wait_for_job(pool: &BlockingPool, returning: bool) -> Option<Job> {
    let job = pool.next_job(returning);
    if crate::py::finalizing() {
        // The process is ending (a runtime left running on a daemon thread): re-attaching, to
        // run a job or to exit, would have CPython end this thread mid-Rust-frame. Stay out, as
        // its parked workers do (the job, if any, is kept: its waiter is ending too).
        let _kept = job;
        loop {
            std::thread::park();
        }
    }
    job
}
