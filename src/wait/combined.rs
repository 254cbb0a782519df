//! Combined waits: `Waiter.any(...)` / `w1 | w2` and `Waiter.all(...)` / `w1 & w2`.
//!
//! A combined wait parks the task on every source at once, each registration of the same
//! suspension, each keeping its own key. For `any`, each branch's entry carries its index as the
//! wake tag: the first branch to fire wins the task's state CAS (so exactly one does) and the tag
//! tells which it was; the other entries are taken back when the task resumes, in O(1) each. For
//! `all`, the entries share a countdown and only the wake that brings it to zero wakes the task;
//! an `any` nested in an `all` counts once (its branches share a latch).
//!
//! Operands: `a | b | c` is one any-wait of three operands (the chain `|` builds is spliced), as
//! is `Waiter.any(a, b, c)`; an any-wait made by `Waiter.any` and given to another `any` is one
//! operand there, and its branches report that operand's index. A sleep operand of an `any` is
//! its timeout (it takes an index but parks nothing). `all` flattens nested all-waits.
//!
//! Only sources that hand nothing over can be combined (`WaitSource::combinable`): if a lock
//! acquisition were one branch of an `any`, the branch that lost could not give the lock back.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyBool;

use super::parked::{Claim, Countdown, ParkedTask};
use super::queue::QueueKey;
use super::source::{Registered, Resumed, WaitSource};
use crate::task::{Outcome, Tag, Task};

fn keys_for(sources: &[Arc<dyn WaitSource>]) -> Vec<AtomicU64> {
    sources
        .iter()
        .map(|_| AtomicU64::new(QueueKey::NONE))
        .collect()
}

/// Resumes with the index of the operand that fired first, or None when the deadline passed.
pub(crate) struct AnyWait {
    sources: Vec<Arc<dyn WaitSource>>,
    /// Where each branch keeps its registration's key.
    keys: Vec<AtomicU64>,
    /// The operand index each branch reports.
    operand_of: Vec<usize>,
    operands: usize,
    /// Built by `|`: spliced into an enclosing any-wait operand by operand.
    chain: bool,
}

impl AnyWait {
    pub(crate) fn new(
        sources: Vec<Arc<dyn WaitSource>>,
        operand_of: Vec<usize>,
        operands: usize,
        chain: bool,
    ) -> Self {
        Self {
            keys: keys_for(&sources),
            sources,
            operand_of,
            operands,
            chain,
        }
    }

    pub(crate) fn sources(&self) -> &[Arc<dyn WaitSource>] {
        &self.sources
    }

    pub(crate) fn operand_of(&self) -> &[usize] {
        &self.operand_of
    }

    pub(crate) fn operands(&self) -> usize {
        self.operands
    }

    pub(crate) fn is_chain(&self) -> bool {
        self.chain
    }
}

impl WaitSource for AnyWait {
    fn try_now(&self, py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        let branch = self.sources.iter().position(|source| source.is_ready())?;
        Some(Ok(index(py, self.operand_of[branch])))
    }

    fn register(&self, parked: ParkedTask, _key: &AtomicU64) -> Registered {
        // Nested in an all-wait: the branches share a latch so the any counts down once.
        let latch = parked
            .is_counted()
            .then(|| Arc::new(AtomicBool::new(false)));
        let parked = match &latch {
            Some(latch) => parked.latched(Arc::clone(latch)),
            None => parked,
        };
        for ((tag, source), key) in (0..Tag::MAX).zip(&self.sources).zip(&self.keys) {
            let branch = parked.tagged(tag);
            match source.register(parked.tagged(tag), key) {
                Registered::Waiting => branch.release(),
                Registered::Ready => {
                    let outcome = match &latch {
                        // Fired already: the enclosing all-wait counts this any, once.
                        Some(latch) => {
                            let first = !latch.swap(true, std::sync::atomic::Ordering::AcqRel);
                            branch.release();
                            if first {
                                Registered::Ready
                            } else {
                                Registered::Waiting
                            }
                        }
                        // Fired while we registered: wake the task with this branch's tag.
                        None => {
                            if branch.claim(Outcome::Set) == Claim::Won {
                                branch.schedule();
                            } else {
                                branch.release();
                            }
                            Registered::Stale
                        }
                    };
                    parked.release();
                    return outcome;
                }
                Registered::Stale => {
                    branch.release();
                    parked.release();
                    return Registered::Stale;
                }
            }
        }
        parked.release();
        Registered::Waiting
    }

    fn deregister(&self, _key: &AtomicU64) {
        for (source, key) in self.sources.iter().zip(&self.keys) {
            source.deregister(key);
        }
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, outcome: Outcome, tag: Tag) -> Resumed {
        if outcome != Outcome::Set {
            return Resumed::Value(Ok(py.None()));
        }
        // The branch that fired took its own entry; the others are still parked.
        for ((branch, source), key) in (0..Tag::MAX).zip(&self.sources).zip(&self.keys) {
            if branch != tag {
                source.deregister(key);
            }
        }
        let operand = self.operand_of.get(usize::from(tag)).copied().unwrap_or(0);
        Resumed::Value(Ok(index(py, operand)))
    }

    fn is_ready(&self) -> bool {
        self.sources.iter().any(|source| source.is_ready())
    }

    fn as_any_wait(&self) -> Option<&AnyWait> {
        Some(self)
    }

    fn describe(&self) -> &'static str {
        "any"
    }
}

fn index(py: Python<'_>, value: usize) -> Py<PyAny> {
    match value.into_pyobject(py) {
        Ok(index) => index.into_any().unbind(),
        Err(never) => match never {},
    }
}

/// Resumes with True once every source fired, or False when the deadline passed.
pub(crate) struct AllWait {
    sources: Vec<Arc<dyn WaitSource>>,
    /// Where each branch keeps its registration's key.
    keys: Vec<AtomicU64>,
    countdown: Arc<Countdown>,
}

impl AllWait {
    pub(crate) fn new(sources: Vec<Arc<dyn WaitSource>>) -> Self {
        Self {
            keys: keys_for(&sources),
            countdown: Countdown::new(sources.len()),
            sources,
        }
    }

    pub(crate) fn sources(&self) -> &[Arc<dyn WaitSource>] {
        &self.sources
    }
}

impl WaitSource for AllWait {
    fn try_now(&self, py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        self.is_ready()
            .then(|| Ok(PyBool::new(py, true).to_owned().into_any().unbind()))
    }

    fn register(&self, parked: ParkedTask, _key: &AtomicU64) -> Registered {
        for (source, key) in self.sources.iter().zip(&self.keys) {
            let branch = parked.counted(&self.countdown);
            let registered = source.register(parked.counted(&self.countdown), key);
            let claim = match registered {
                Registered::Waiting => None,
                // Fired already: it counts down now.
                Registered::Ready => Some(branch.claim(Outcome::Set)),
                Registered::Stale => Some(Claim::Stale),
            };
            match claim {
                None | Some(Claim::Counted) => branch.release(),
                Some(Claim::Won) => {
                    branch.schedule();
                    parked.release();
                    return Registered::Stale;
                }
                Some(Claim::Stale) => {
                    branch.release();
                    parked.release();
                    return Registered::Stale;
                }
            }
        }
        parked.release();
        Registered::Waiting
    }

    fn deregister(&self, _key: &AtomicU64) {
        for (source, key) in self.sources.iter().zip(&self.keys) {
            source.deregister(key);
        }
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, outcome: Outcome, _tag: Tag) -> Resumed {
        // Every direct branch took its entry when it fired, but a nested any-wait still has the
        // branches that did not fire parked: take everything back (stale keys do nothing).
        self.deregister(&AtomicU64::new(QueueKey::NONE));
        let value = PyBool::new(py, outcome == Outcome::Set).to_owned();
        Resumed::Value(Ok(value.into_any().unbind()))
    }

    fn is_ready(&self) -> bool {
        self.sources.iter().all(|source| source.is_ready())
    }

    fn as_all_wait(&self) -> Option<&AllWait> {
        Some(self)
    }

    fn describe(&self) -> &'static str {
        "all"
    }
}
