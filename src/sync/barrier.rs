//! `Barrier(n)`: tasks wait until n have arrived, then all go on; reusable round after round.
//!
//! The tasks of the current round are the entries of one wait queue. The n-th arrival completes
//! the round under the barrier's mutex: it claims the parked tasks in arrival order, handing
//! each its index (0 for the first to arrive), takes n - 1 itself, and leaves the queue empty
//! for the next round.
//!
//! Cancel safety: a task cancelled while it waits withdraws its arrival, so the round then waits
//! for another task. Its entry leaves the queue when it deregisters, and the completing arrival
//! first drops every entry whose wait already ended (its deregister may not have run yet), so a
//! cancel that came before the completion never makes up the round. A cancel that lands between
//! that check and the claims is decided by the claim, as every hand-off here: if the completion
//! claimed the task first, it passes with its index (the cancel waits for its next suspension
//! point); if the cancel won, the task counts as arrived (the others were claimed already) and
//! raises CancelledError, its index unused.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use pyo3::IntoPyObjectExt;

use super::handoff::{park, unpark, WaitList, Waiting, Wakeups};
use crate::task::{Outcome, Tag, Task};
use crate::time::Timeout;
use crate::wait::{Claim, ParkedTask, Registered, Resumed, WaitKind, WaitSource, Waiter};

const NO_INDEX: usize = usize::MAX;

pub(crate) struct BarrierCore {
    parties: usize,
    waiters: Mutex<WaitList<Arc<BarrierWait>>>,
}

impl BarrierCore {
    fn waiters(&self) -> MutexGuard<'_, WaitList<Arc<BarrierWait>>> {
        // Poisoning cannot leave the queue inconsistent: no critical section panics half-way.
        self.waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether one more arrival completes the round. Arrivals cancelled before this moment are
/// withdrawn here (their deregister may not have run yet): they must not make up the round.
/// O(waiting) only when the count says the round may be complete.
fn round_complete(
    parties: usize,
    waiters: &mut WaitList<Arc<BarrierWait>>,
    wake: &mut Wakeups<Arc<BarrierWait>>,
) -> bool {
    if waiters.len() + 1 < parties {
        return false;
    }
    for entry in waiters.remove_where(|entry| !entry.task.is_current()) {
        wake.discard(entry);
    }
    waiters.len() + 1 >= parties
}

/// Completes the round if one more arrival makes it: the parked tasks are claimed in arrival
/// order with their indices, and the arriving task's index is returned.
fn complete(
    parties: usize,
    waiters: &mut WaitList<Arc<BarrierWait>>,
    wake: &mut Wakeups<Arc<BarrierWait>>,
) -> Option<usize> {
    if !round_complete(parties, waiters, wake) {
        return None;
    }
    let mut index = 0;
    while let Some(entry) = waiters.pop_front() {
        if entry.task.claim(Outcome::Set) == Claim::Won {
            entry.payload.index.store(index, Ordering::Release);
            wake.wake(entry);
        } else {
            // Cancelled at this very moment, after the check above: it counts as arrived (the
            // others were claimed already) and raises CancelledError, its index unused.
            wake.discard(entry);
        }
        index += 1;
    }
    Some(index)
}

/// One `barrier.wait()`: the index it passes with.
pub(crate) struct BarrierWait {
    barrier: Arc<BarrierCore>,
    me: Weak<BarrierWait>,
    index: AtomicUsize,
}

impl BarrierWait {
    /// Arrives: completes the round now if this is the last arrival, with this task's index.
    fn arrive(&self, py: Python<'_>) -> Option<PyResult<Py<PyAny>>> {
        let mut wake = Wakeups::default();
        let index = complete(self.barrier.parties, &mut self.barrier.waiters(), &mut wake);
        wake.run();
        index.map(|index| index.into_py_any(py))
    }
}

impl WaitSource for BarrierWait {
    fn try_now(&self, py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        self.arrive(py)
    }

    fn register(&self, parked: ParkedTask, key: &AtomicU64) -> Registered {
        let mut wake = Wakeups::default();
        let mut own = Wakeups::default();
        let registered = {
            let mut waiters = self.barrier.waiters();
            match self.me.upgrade() {
                Some(me) if !round_complete(self.barrier.parties, &mut waiters, &mut wake) => {
                    park(&mut waiters, parked, me, key, &mut wake)
                }
                // Others arrived since `try_now` looked: this arrival completes the round, which
                // the task does itself once it runs (`resume`), so a cancel that wins the wake
                // first leaves the round untouched.
                Some(_) => {
                    own.discard(Waiting {
                        task: parked,
                        payload: (),
                    });
                    Registered::Ready
                }
                None => {
                    own.discard(Waiting {
                        task: parked,
                        payload: (),
                    });
                    Registered::Stale
                }
            }
        };
        wake.run();
        own.run();
        registered
    }

    fn deregister(&self, key: &AtomicU64) {
        let mut wake = Wakeups::default();
        if let Some(entry) = unpark(&mut self.barrier.waiters(), key) {
            wake.discard(entry);
        }
        wake.run();
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, _outcome: Outcome, _tag: Tag) -> Resumed {
        let index = self.index.load(Ordering::Acquire);
        if index != NO_INDEX {
            return Resumed::Value(index.into_py_any(py));
        }
        // Woken by `register` finding the round complete: complete it now, or (if an arrival
        // withdrew meanwhile) wait again.
        match self.arrive(py) {
            Some(index) => Resumed::Value(index),
            None => Resumed::KeepWaiting,
        }
    }

    fn combinable(&self) -> bool {
        false
    }

    fn describe(&self) -> &'static str {
        "barrier wait"
    }
}

/// A barrier for `parties` tasks, reusable: each round releases its tasks together.
#[pyclass(frozen, module = "tonio._tonio")]
pub(crate) struct Barrier {
    core: Arc<BarrierCore>,
}

#[pymethods]
impl Barrier {
    #[new]
    fn new(value: &Bound<'_, PyAny>) -> PyResult<Self> {
        let parties: i64 = value.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "Barrier takes the number of tasks (an int), not {}",
                value
                    .get_type()
                    .name()
                    .map_or_else(|_| "?".to_owned(), |name| name.to_string())
            ))
        })?;
        let parties = usize::try_from(parties)
            .ok()
            .filter(|&parties| parties > 0)
            .ok_or_else(|| {
                PyValueError::new_err(format!("Barrier needs at least one task, got {parties}"))
            })?;
        Ok(Self {
            core: Arc::new(BarrierCore {
                parties,
                waiters: Mutex::new(WaitList::default()),
            }),
        })
    }

    /// A Waiter resuming, once the round's last task arrives, with this task's arrival index in
    /// the round (0 for the first).
    fn wait(&self) -> Waiter {
        let wait = Arc::new_cyclic(|me| BarrierWait {
            barrier: Arc::clone(&self.core),
            me: me.clone(),
            index: AtomicUsize::new(NO_INDEX),
        });
        Waiter::new(WaitKind::Source(wait), Timeout::Never)
    }

    /// Tasks waiting in the current round.
    fn value(&self) -> usize {
        self.core.waiters().len()
    }

    /// How many tasks make a round.
    #[getter]
    fn parties(&self) -> usize {
        self.core.parties
    }

    fn __repr__(&self) -> String {
        format!(
            "<tonio.sync.Barrier waiting={}/{}>",
            self.value(),
            self.core.parties
        )
    }
}
