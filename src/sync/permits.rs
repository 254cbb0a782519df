//! `PermitCore`: a count of permits and the FIFO of tasks waiting for one. A `Lock` is one
//! permit, a `Semaphore` n, and a `Condition` releases and retakes its lock's permit.
//!
//! Invariants, all under `state`'s mutex:
//! - `available > 0` only while nobody waits: a release hands its permit straight to the
//!   longest waiter whose claim wins (see `handoff.rs`), so a newcomer never barges past the
//!   queue and a released lock goes to the task that waited longest.
//! - `available <= total`: a release beyond what was acquired is refused (RuntimeError for a
//!   Lock, ValueError for a Semaphore) and changes nothing.
//! - A waiter holds a permit exactly when a claim of its entry won: the permit and the wake move
//!   together under the mutex. A claim that loses (a cancel won first) moves on to the next
//!   waiter, so a cancelled waiter never keeps a permit it will not use.
//! - `holder` is the task that took the last permit (0 for none, or a plain thread): what a
//!   Condition checks, and what a Lock's statistics report. It is never turned back into a task.
//!
//! `PermitWait` is the wait of `acquire()`: one per Lock/Semaphore and per return shape (a
//! Guard for `with (yield lock()):`, None for `async with lock:`), so acquiring allocates no
//! wait object.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use super::guard::{Done, Guard, Held};
use super::handoff::{
    claim_front, claim_own, current_task_id, park, task_id, unpark, WaitList, Wakeups,
};
use crate::errors::WouldBlock;
use crate::task::{Outcome, Tag, Task};
use crate::time::Timeout;
use crate::wait::{ParkedTask, Registered, Resumed, WaitKind, WaitSource, Waiter};

/// Which primitive a permit pool is (for messages and the error of an extra release).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PermitKind {
    Lock,
    Semaphore,
}

pub(crate) struct PermitState {
    pub(super) available: usize,
    pub(super) holder: usize,
    pub(super) waiters: WaitList<()>,
}

impl PermitState {
    /// Takes a free permit for `holder`.
    pub(super) fn take(&mut self, holder: usize) {
        self.available -= 1;
        self.holder = holder;
    }

    /// Gives a permit back: to the longest waiter whose claim wins, else to the pool. False if
    /// every permit is already free.
    pub(super) fn release(&mut self, total: usize, wake: &mut Wakeups) -> bool {
        if self.available >= total {
            return false;
        }
        match claim_front(&mut self.waiters, wake) {
            Some(entry) => {
                self.holder = task_id(entry.task.task());
                wake.wake(entry);
            }
            None => {
                self.available += 1;
                self.holder = 0;
            }
        }
        true
    }

    /// Whether the task `holder` holds the (single) permit of a lock.
    pub(super) fn held_by(&self, holder: usize) -> bool {
        self.available == 0 && self.holder == holder
    }
}

pub(crate) struct PermitCore {
    kind: PermitKind,
    total: usize,
    state: Mutex<PermitState>,
}

impl PermitCore {
    pub(crate) fn new(kind: PermitKind, total: usize) -> Arc<Self> {
        Arc::new(Self {
            kind,
            total,
            state: Mutex::new(PermitState {
                available: total,
                holder: 0,
                waiters: WaitList::default(),
            }),
        })
    }

    pub(super) fn state(&self) -> MutexGuard<'_, PermitState> {
        // Poisoning cannot leave the state inconsistent: no critical section panics half-way.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// Takes a permit if one is free (never past a waiter: free permits mean nobody waits).
    pub(crate) fn try_take(&self, holder: usize) -> bool {
        let mut state = self.state();
        if state.available == 0 {
            return false;
        }
        state.take(holder);
        true
    }

    /// Gives a permit back (to the longest waiter, if any).
    pub(crate) fn release(&self) -> PyResult<()> {
        let mut wake = Wakeups::default();
        let released = self.state().release(self.total, &mut wake);
        wake.run();
        if released {
            return Ok(());
        }
        Err(match self.kind {
            PermitKind::Lock => PyRuntimeError::new_err("release() of a Lock that is not locked"),
            PermitKind::Semaphore => PyValueError::new_err(format!(
                "Semaphore released more times than it was acquired (all {} tokens are free)",
                self.total
            )),
        })
    }

    /// (free permits, waiting tasks, holder) in one reading.
    pub(crate) fn snapshot(&self) -> (usize, usize, usize) {
        let state = self.state();
        (state.available, state.waiters.len(), state.holder)
    }

    pub(crate) fn describe(&self) -> &'static str {
        match self.kind {
            PermitKind::Lock => "Lock",
            PermitKind::Semaphore => "Semaphore",
        }
    }

    fn register(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        let mut wake = Wakeups::default();
        let registered = {
            let mut state = self.state();
            if state.available > 0 {
                // Released since `try_now` looked: take it as this suspension's own wake.
                let holder = task_id(parked.task());
                if claim_own(parked, (), &mut wake) {
                    state.take(holder);
                    Registered::Waiting
                } else {
                    Registered::Stale
                }
            } else {
                park(&mut state.waiters, parked, (), key, &mut wake)
            }
        };
        wake.run();
        registered
    }

    fn deregister(&self, key: &AtomicU64) {
        let mut wake = Wakeups::default();
        if let Some(entry) = unpark(&mut self.state().waiters, key) {
            wake.discard(entry);
        }
        wake.run();
    }
}

/// What an acquisition resumes with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Returns {
    /// A `Guard` to leave with (`with (yield lock()):`).
    Guard,
    /// None (`async with lock:` releases in `__aexit__`).
    Nothing,
}

/// The wait of acquiring a permit.
pub(crate) struct PermitWait {
    core: Arc<PermitCore>,
    returns: Returns,
}

impl PermitWait {
    pub(crate) fn new(core: &Arc<PermitCore>, returns: Returns) -> Arc<Self> {
        Arc::new(Self {
            core: Arc::clone(core),
            returns,
        })
    }

    /// What a task that now holds a permit resumes with.
    fn acquired(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self.returns {
            Returns::Nothing => Ok(py.None()),
            Returns::Guard => guard(py, &self.core),
        }
    }
}

/// A Guard of one permit of `core`. If even that fails (out of memory), the permit is given
/// back rather than kept by nobody.
pub(crate) fn guard(py: Python<'_>, core: &Arc<PermitCore>) -> PyResult<Py<PyAny>> {
    match Py::new(py, Guard::new(Held::Permit(Arc::clone(core)))) {
        Ok(guard) => Ok(guard.into_any()),
        Err(err) => {
            let _ = core.release();
            Err(err)
        }
    }
}

impl WaitSource for PermitWait {
    fn try_now(&self, py: Python<'_>, task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        self.core.try_take(task_id(task)).then(|| self.acquired(py))
    }

    fn register(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        self.core.register(parked, key)
    }

    fn deregister(&self, key: &AtomicU64) {
        self.core.deregister(key);
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, outcome: Outcome, _tag: Tag) -> Resumed {
        match outcome {
            // The permit was handed over (a release, or `register` finding it free).
            Outcome::Set => Resumed::Value(self.acquired(py)),
            // Acquisitions have no deadline; bound them with a scope instead.
            _ => Resumed::Value(Err(PyRuntimeError::new_err(
                "tonio internal error: a lock acquisition ended without the lock",
            ))),
        }
    }

    fn combinable(&self) -> bool {
        false
    }

    fn describe(&self) -> &'static str {
        match self.core.kind {
            PermitKind::Lock => "lock acquire",
            PermitKind::Semaphore => "semaphore acquire",
        }
    }
}

/// The Python-facing operations a Lock, a Semaphore and a Condition share.
pub(crate) struct Permits {
    pub(crate) core: Arc<PermitCore>,
    guarded: Arc<PermitWait>,
    bare: Arc<PermitWait>,
}

impl Permits {
    pub(crate) fn new(core: Arc<PermitCore>) -> Self {
        Self {
            guarded: PermitWait::new(&core, Returns::Guard),
            bare: PermitWait::new(&core, Returns::Nothing),
            core,
        }
    }

    /// A Waiter resuming with a Guard once a permit is this task's.
    pub(crate) fn acquire(&self) -> Waiter {
        Waiter::new(WaitKind::Source(self.guarded.clone()), Timeout::Never)
    }

    /// A Waiter resuming with None once a permit is this task's (`__aenter__`).
    pub(crate) fn acquire_bare(&self) -> Waiter {
        Waiter::new(WaitKind::Source(self.bare.clone()), Timeout::Never)
    }

    /// Takes a permit now, or raises WouldBlock.
    pub(crate) fn try_acquire(&self) -> PyResult<()> {
        if self.core.try_take(current_task_id()) {
            return Ok(());
        }
        Err(WouldBlock::new_err(match self.core.kind {
            PermitKind::Lock => "the Lock is held: acquiring it would block",
            PermitKind::Semaphore => "the Semaphore has no free token: acquiring one would block",
        }))
    }

    /// Takes a permit now and returns its Guard, or raises WouldBlock.
    pub(crate) fn or_raise(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.try_acquire()?;
        guard(py, &self.core)
    }

    /// `__aexit__`: releases, and returns an awaitable that does not suspend.
    pub(crate) fn aexit(&self, py: Python<'_>) -> PyResult<Py<Done>> {
        self.core.release()?;
        Done::get(py)
    }
}
