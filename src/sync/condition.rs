//! `Condition`: wait/notify bound to a `Lock`, on the same two queues as everything else.
//!
//! `wait()` (with the lock held) parks the task on the condition's queue and releases the lock
//! in the same step, under the condition's mutex, so a `notify` can never slip in between.
//! `notify(n)` does not wake anyone: it moves the n longest waiters from the condition's queue to
//! the back of the lock's queue (trio's "repark"), where the lock's own FIFO hand-off wakes each
//! with the lock held. So a woken waiter always resumes holding the lock, and notified waiters
//! queue behind tasks that were already waiting for the lock.
//!
//! A waiter's phase (written under the condition's mutex) says where its one entry is:
//!
//! ```text
//!  FRESH ──register──► WAITING (condition queue) ──notify──► NOTIFIED (lock queue) ──► holds lock
//!                          │ cancel                              │ cancel
//!                          └──────────► REACQUIRING (lock queue) ◄┘ ──► holds lock, then raises
//! ```
//!
//! Cancel safety: a waiter cancelled before it got the lock back keeps waiting for the lock
//! (`OnCancel::KeepWaiting`) and raises its CancelledError only once it holds the lock again, so
//! the `with` block around it always exits holding it (as in trio). A cancelled waiter does not
//! use up a notification: `notify` skips entries whose wait already ended, and a waiter cancelled
//! after `notify` picked it (NOTIFIED, or the very moment of the move) owes that notification:
//! once it holds the lock again it moves the next waiter to the lock's queue in its place (as
//! asyncio does; a waiter rechecks its predicate anyway, so an extra wake-up is harmless, while
//! a lost one could leave a task waiting for good). It does so holding the lock, so the moved
//! waiter queues behind it as any notified waiter does.
//!
//! Lock order: the condition's mutex, then the lock's (`PermitCore::state`); the lock's release
//! path takes only its own.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;

use super::guard::Done;
use super::handoff::{
    claim_own, current_task_id, park, task_id, unpark_own, WaitList, Waiting, Wakeups,
};
use super::lock::Lock;
use super::permits::{PermitCore, PermitKind, PermitState, Permits};
use crate::task::{Outcome, Tag, Task};
use crate::time::Timeout;
use crate::wait::{OnCancel, ParkedTask, Registered, Resumed, WaitKind, WaitSource, Waiter};

const FRESH: u8 = 0;
const WAITING: u8 = 1;
const NOTIFIED: u8 = 2;
const REACQUIRING: u8 = 3;

pub(crate) struct ConditionCore {
    lock: Arc<PermitCore>,
    waiters: Mutex<WaitList<Arc<ConditionWait>>>,
}

impl ConditionCore {
    fn waiters(&self) -> MutexGuard<'_, WaitList<Arc<ConditionWait>>> {
        // Poisoning cannot leave the queue inconsistent: no critical section panics half-way.
        self.waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves up to `n` live waiters to the lock's queue. The caller must hold the lock.
    fn notify(&self, n: usize) -> PyResult<usize> {
        let mut dropped = Wakeups::default();
        let notified = {
            let mut waiters = self.waiters();
            let mut lock = self.lock.state();
            if !lock.held_by(current_task_id()) {
                return Err(PyRuntimeError::new_err(
                    "Condition.notify() needs the condition's lock held by the calling task",
                ));
            }
            move_to_lock(&mut waiters, &mut lock, n, &mut dropped)
        };
        dropped.run();
        Ok(notified)
    }
}

/// Moves up to `n` live waiters, oldest first, from the condition's queue to the back of the
/// lock's (NOTIFIED), and returns how many it moved. Entries whose wait already ended (a cancel
/// won) go to `dropped`: they retake the lock by themselves. Call holding both mutexes, and with
/// the lock held by a task, so that the moved waiters are woken by its release.
fn move_to_lock(
    waiters: &mut WaitList<Arc<ConditionWait>>,
    lock: &mut PermitState,
    n: usize,
    dropped: &mut Wakeups<Arc<ConditionWait>>,
) -> usize {
    let mut notified = 0;
    while notified < n {
        let Some(entry) = waiters.pop_front() else {
            break;
        };
        if !entry.task.is_current() {
            dropped.discard(entry);
            continue;
        }
        let Waiting {
            task,
            payload: wait,
        } = entry;
        let key = lock.waiters.push_back(Waiting { task, payload: () });
        wait.key.store(key.pack(), Ordering::Release);
        wait.phase.store(NOTIFIED, Ordering::Release);
        notified += 1;
    }
    notified
}

/// One `cond.wait()`: where its task's entry is, and the way back to the lock.
pub(crate) struct ConditionWait {
    condition: Arc<ConditionCore>,
    me: Weak<ConditionWait>,
    /// See the module diagram; written under the condition's mutex.
    phase: AtomicU8,
    /// The key of the entry, in the condition's queue or the lock's as `phase` says.
    key: AtomicU64,
    /// Cancelled after a notification picked it: it passes the notification on once it holds
    /// the lock again. Written under the condition's mutex.
    owes_notification: AtomicBool,
}

impl WaitSource for ConditionWait {
    fn try_now(&self, _py: Python<'_>, task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        if !self.condition.lock.state().held_by(task_id(task)) {
            return Some(Err(PyRuntimeError::new_err(
                "Condition.wait() needs the condition's lock held by the waiting task (wait \
                 inside `with (yield cond()):` or `async with cond:`)",
            )));
        }
        // Waiting always suspends.
        None
    }

    fn register(&self, parked: ParkedTask, _key: &AtomicU64) -> Registered {
        let mut lock_wake = Wakeups::default();
        let registered = {
            let mut waiters = self.condition.waiters();
            match self.phase.load(Ordering::Acquire) {
                FRESH => match self.me.upgrade() {
                    Some(me) if parked.is_current() => {
                        let key = waiters.push_back(Waiting {
                            task: parked,
                            payload: me,
                        });
                        self.key.store(key.pack(), Ordering::Release);
                        self.phase.store(WAITING, Ordering::Release);
                        // Parked: now let go of the lock (to its longest waiter, maybe a task
                        // notified earlier). `try_now` checked that this task holds it.
                        let mut lock = self.condition.lock.state();
                        let _ = lock.release(1, &mut lock_wake);
                        Registered::Waiting
                    }
                    _ => {
                        lock_wake.discard(Waiting {
                            task: parked,
                            payload: (),
                        });
                        Registered::Stale
                    }
                },
                // Cancelled before it had the lock back: wait for the lock alone.
                _ => {
                    let mut lock = self.condition.lock.state();
                    if lock.available > 0 {
                        let holder = task_id(parked.task());
                        if claim_own(parked, (), &mut lock_wake) {
                            lock.take(holder);
                            Registered::Waiting
                        } else {
                            Registered::Stale
                        }
                    } else {
                        park(&mut lock.waiters, parked, (), &self.key, &mut lock_wake)
                    }
                }
            }
        };
        lock_wake.run();
        registered
    }

    fn deregister(&self, _key: &AtomicU64) {
        let mut cond_wake = Wakeups::default();
        let mut lock_wake = Wakeups::default();
        {
            let mut waiters = self.condition.waiters();
            match self.phase.load(Ordering::Acquire) {
                WAITING => {
                    if let Some(entry) = unpark_own(&mut waiters, &self.key) {
                        cond_wake.discard(entry);
                    }
                }
                NOTIFIED | REACQUIRING => {
                    let mut lock = self.condition.lock.state();
                    if let Some(entry) = unpark_own(&mut lock.waiters, &self.key) {
                        lock_wake.discard(entry);
                    }
                }
                _ => {}
            }
        }
        lock_wake.run();
        cond_wake.run();
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, _outcome: Outcome, _tag: Tag) -> Resumed {
        // Only the lock's hand-off wakes a waiter (`Set`; waits have no deadline): it holds the
        // lock again.
        self.phase.store(FRESH, Ordering::Release);
        Resumed::Value(Ok(py.None()))
    }

    fn on_cancel(&self, task: &Arc<Task>) -> OnCancel {
        let mut dropped = Wakeups::default();
        let on_cancel = {
            let mut waiters = self.condition.waiters();
            match self.phase.load(Ordering::Acquire) {
                // Never let go of the lock: it is still held.
                FRESH => OnCancel::GiveUp,
                phase @ (WAITING | NOTIFIED) => {
                    if phase == NOTIFIED {
                        self.owes_notification.store(true, Ordering::Relaxed);
                    }
                    self.phase.store(REACQUIRING, Ordering::Release);
                    OnCancel::KeepWaiting
                }
                _ => {
                    let mut lock = self.condition.lock.state();
                    if lock.held_by(task_id(task)) {
                        if self.owes_notification.swap(false, Ordering::Relaxed) {
                            let _ = move_to_lock(&mut waiters, &mut lock, 1, &mut dropped);
                        }
                        self.phase.store(FRESH, Ordering::Release);
                        OnCancel::GiveUp
                    } else {
                        OnCancel::KeepWaiting
                    }
                }
            }
        };
        dropped.run();
        on_cancel
    }

    fn combinable(&self) -> bool {
        false
    }

    fn describe(&self) -> &'static str {
        "condition wait"
    }
}

/// A condition variable: tasks wait (with its lock held) until another notifies them.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct Condition {
    core: Arc<ConditionCore>,
    permits: Permits,
}

#[pymethods]
impl Condition {
    /// A condition on `lock` (a `tonio.sync.Lock`), or on a new lock of its own.
    #[new]
    #[pyo3(signature = (lock = None))]
    fn new(lock: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let core = match lock.filter(|lock| !lock.is_none()) {
            None => PermitCore::new(PermitKind::Lock, 1),
            Some(lock) => match lock.cast::<Lock>() {
                Ok(lock) => Arc::clone(lock.get().core()),
                Err(_) => {
                    return Err(PyTypeError::new_err(format!(
                        "Condition takes a tonio.sync.Lock, not {}",
                        lock.get_type().name()?
                    )))
                }
            },
        };
        Ok(Self {
            core: Arc::new(ConditionCore {
                lock: Arc::clone(&core),
                waiters: Mutex::new(WaitList::default()),
            }),
            permits: Permits::new(core),
        })
    }

    /// `with (yield cond()):` — acquires the condition's lock (a Waiter resuming with a Guard).
    fn __call__(&self) -> Waiter {
        self.permits.acquire()
    }

    /// The same as calling the condition.
    fn acquire(&self) -> Waiter {
        self.permits.acquire()
    }

    /// Takes the lock if it is free, else raises WouldBlock.
    fn try_acquire(&self) -> PyResult<()> {
        self.permits.try_acquire()
    }

    /// Releases the condition's lock.
    fn release(&self) -> PyResult<()> {
        self.permits.core.release()
    }

    fn locked(&self) -> bool {
        self.permits.core.snapshot().0 == 0
    }

    /// A Waiter (yield or await it with the lock held) that releases the lock, waits for a
    /// notification, and resumes holding the lock again. Cancelled, it still retakes the lock
    /// before raising.
    fn wait(&self) -> Waiter {
        let wait = Arc::new_cyclic(|me| ConditionWait {
            condition: Arc::clone(&self.core),
            me: me.clone(),
            phase: AtomicU8::new(FRESH),
            key: AtomicU64::new(crate::wait::QueueKey::NONE),
            owes_notification: AtomicBool::new(false),
        });
        Waiter::new(WaitKind::Source(wait), Timeout::Never)
    }

    /// Wakes up to `n` waiting tasks (in the order they waited); each resumes once it holds the
    /// lock. Needs the lock held. Returns how many were notified.
    #[pyo3(signature = (n = 1))]
    fn notify(&self, n: i64) -> PyResult<usize> {
        let n = usize::try_from(n)
            .map_err(|_| PyValueError::new_err(format!("notify(n) needs n >= 0, got {n}")))?;
        self.core.notify(n)
    }

    /// Wakes every waiting task. Needs the lock held. Returns how many were notified.
    fn notify_all(&self) -> PyResult<usize> {
        self.core.notify(usize::MAX)
    }

    /// Tasks waiting for a notification.
    #[getter]
    fn waiting(&self) -> usize {
        self.core.waiters().len()
    }

    fn __aenter__(&self) -> Waiter {
        self.permits.acquire_bare()
    }

    fn __aexit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> PyResult<Py<Done>> {
        self.permits.aexit(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "<tonio.sync.Condition {} waiting={}>",
            if self.locked() { "locked" } else { "unlocked" },
            self.waiting()
        )
    }
}
