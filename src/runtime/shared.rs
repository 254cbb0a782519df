//! `Shared`: the state of one runtime that its workers, its reactor and its tasks all reach.
//!
//! Everything here is thread-safe on its own (lock-free queues, atomics, or short mutexes), so a
//! task can hold an `Arc<Shared>` and reschedule itself from any thread.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwapOption;
use crossbeam_queue::SegQueue;
use pyo3::prelude::*;

use super::config::Config;
use super::current::{polling, worker_index_on};
use crate::blocking::BlockingPool;
use crate::py::{attached, copy_current_context};
use crate::reactor::Reactor;
use crate::scheduler::{Idle, RunQueues};
use crate::signals::SignalHub;
use crate::task::{SpawnedCore, Task, TaskRegistry};
use crate::time::{Armed, Clock, TimerTarget, Timers};

pub(crate) struct Shared {
    pub(crate) config: Config,
    queues: RunQueues,
    idle: Idle,
    clock: Clock,
    timers: Timers,
    blocking: BlockingPool,
    registry: TaskRegistry,
    reactor: Reactor,
    signal_hub: SignalHub,
    /// The join group of the coroutine `run_until_complete` is waiting for.
    root: ArcSwapOption<SpawnedCore>,
    /// Last references handed over by threads where Python must not run (the reactor), for a
    /// worker to drop (see `release`).
    graveyard: SegQueue<Box<dyn Send>>,
    shutdown: AtomicBool,
}

impl Shared {
    pub(crate) fn new(config: Config) -> io::Result<Self> {
        Ok(Self {
            queues: RunQueues::new(config.threads),
            idle: Idle::new(config.threads),
            clock: Clock::new(config.virtual_clock),
            timers: Timers::default(),
            blocking: BlockingPool::new(config.blocking_threads, config.blocking_idle_ttl),
            registry: TaskRegistry::new(),
            reactor: Reactor::new()?,
            signal_hub: SignalHub::default(),
            root: ArcSwapOption::empty(),
            graveyard: SegQueue::new(),
            shutdown: AtomicBool::new(false),
            config,
        })
    }

    pub(crate) fn queues(&self) -> &RunQueues {
        &self.queues
    }

    pub(crate) fn idle(&self) -> &Idle {
        &self.idle
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    pub(crate) fn timers(&self) -> &Timers {
        &self.timers
    }

    pub(crate) fn blocking(&self) -> &BlockingPool {
        &self.blocking
    }

    pub(crate) fn registry(&self) -> &TaskRegistry {
        &self.registry
    }

    pub(crate) fn reactor(&self) -> &Reactor {
        &self.reactor
    }

    pub(crate) fn signal_hub(&self) -> &SignalHub {
        &self.signal_hub
    }

    /// Drops a reference that may be the last one of something whose drop runs Python code (a
    /// task's coroutines, a scope's unobserved failures). On a thread attached to Python that is
    /// fine and happens at once; on a thread turning the driver poll (marked by `Polling`, since
    /// `attached()` cannot be trusted once subinterpreters exist) or any detached thread the last
    /// reference goes to a worker. Callers hold no lock.
    pub(crate) fn release<T: Send + 'static>(&self, reference: Arc<T>) {
        if attached() && !polling() {
            drop(reference);
        } else if let Some(last) = Arc::into_inner(reference) {
            self.graveyard.push(Box::new(last));
            self.wake_idle(1);
        }
    }

    /// `release` for a task reference.
    pub(crate) fn release_task(&self, task: Arc<Task>) {
        self.release(task);
    }

    /// Drops what `release` handed over (on a worker, attached). Returns whether there was any.
    pub(crate) fn bury(&self) -> bool {
        let mut any = false;
        while let Some(last) = self.graveyard.pop() {
            drop(last);
            any = true;
        }
        any
    }

    /// Whether `release` left anything for a worker.
    pub(crate) fn has_graves(&self) -> bool {
        !self.graveyard.is_empty()
    }

    /// Queues a runnable task: on this thread's own queue when it is one of our workers, else on
    /// the injector; then wakes an idle worker if there is one.
    pub(crate) fn schedule(&self, task: Arc<Task>) {
        match worker_index_on(self) {
            Some(worker) => self.queues.push_local(worker, task),
            None => self.queues.push_injector(task),
        }
        self.wake_idle(1);
    }

    /// Wakes up to `count` idle workers (after queueing that many tasks): parked ones, or the one
    /// sleeping in the driver poll.
    pub(crate) fn wake_idle(&self, count: usize) {
        if self.idle.notify(count).driver {
            self.reactor.wake();
        }
    }

    /// Queues many runnable tasks at once (a spawn, a batch of timers): like `schedule`, but
    /// idle workers are woken once for the batch rather than checked for at every task.
    pub(crate) fn schedule_all(&self, tasks: impl IntoIterator<Item = Arc<Task>>) {
        let worker = worker_index_on(self);
        let mut queued = 0;
        for task in tasks {
            match worker {
                Some(worker) => self.queues.push_local(worker, task),
                None => self.queues.push_injector(task),
            }
            queued += 1;
        }
        self.wake_idle(queued);
    }

    /// Called by a thread that let go of the driver poll and will not sleep in it: if no worker
    /// sleeps there now, wakes a sleeping one to take it (a worker that found the poll taken
    /// parked instead, and nobody would turn it). See `Idle::announce`.
    pub(crate) fn hand_off_driver(&self) {
        if !self.idle.is_driven() {
            self.wake_idle(1);
        }
    }

    /// The `contextvars` context a new task runs in: a copy of the caller's with the runtime
    /// option `context=True`, else none.
    pub(crate) fn task_context(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        if self.config.context {
            copy_current_context(py).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Records that a timer entry will do nothing when it fires (see `Timers::note_stale`).
    pub(crate) fn timer_went_stale(&self) {
        self.timers.note_stale().release(self);
    }

    pub(crate) fn add_timer(&self, at: Instant, target: TimerTarget) {
        if self.timers.insert(at, target) == Armed::Unchanged {
            return;
        }
        // The earliest deadline moved earlier: the driver poll's wait (if a worker sleeps in it;
        // one that marks itself driving after this insert reads the timers after it too) and the
        // lobby's (the timers' backstop, `reactor/lobby.rs`) end too late now.
        if self.idle.is_driven() {
            self.reactor.wake();
        }
        self.reactor.wake_lobby();
    }

    /// Called when a blocking call finished (or paused in `block_on`). The virtual clock cannot
    /// jump while one runs; once the last one is done, the reactor must look again.
    pub(crate) fn blocking_job_finished(&self) {
        if self.blocking.job_done() && self.clock.is_virtual() {
            self.reactor.wake();
        }
    }

    /// Nothing can happen until a timer fires: every worker is parked, no task is queued and no
    /// blocking call is running. The virtual clock jumps only then.
    pub(crate) fn is_quiescent(&self) -> bool {
        // A worker listed as sleeping may be on its way out of `park` to pop a task: if any
        // worker left `park` while we looked, the look proves nothing.
        let wakeups = self.idle.wakeups();
        self.idle.sleeping() == self.config.threads
            && !self.queues.has_work()
            && !self.has_graves()
            && self.blocking.in_flight() == 0
            && self.idle.wakeups() == wakeups
    }

    pub(crate) fn set_root(&self, group: Option<Arc<SpawnedCore>>) {
        self.root.store(group);
    }

    /// Called by the task that completed `group`: wakes the lobby if the run waits for that group.
    pub(crate) fn group_finished(&self, group: &Arc<SpawnedCore>) {
        let root = self.root.load();
        if root.as_ref().is_some_and(|root| Arc::ptr_eq(root, group)) {
            self.reactor.wake_lobby();
        }
    }

    /// Called when a task finished: unregisters it, and wakes the lobby once none is left.
    pub(crate) fn task_finished(&self, slot: crate::task::Slot) {
        let (task, remaining) = self.registry.remove(slot);
        drop(task);
        if remaining == 0 {
            self.reactor.wake_lobby();
        }
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.store(true, Ordering::Release);
        self.idle.notify_all();
        self.reactor.wake();
    }
}
