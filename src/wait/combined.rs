//! Combined waits: `Waiter.any(...)` / `w1 | w2` and `Waiter.all(...)` / `w1 & w2`.
//!
//! A combined wait parks the task on every source at once, each registration of the same
//! suspension. For `any`, each source's entry carries its index as the wake tag: the first source
//! to fire wins the task's state CAS (so exactly one does) and the tag tells which it was; the
//! others' entries are taken back when the task resumes, in O(1) each. For `all`, the entries
//! share a countdown and only the wake that brings it to zero wakes the task.
//!
//! Only sources that hand nothing over can be combined (`WaitSource::combinable`): if a lock
//! acquisition were one branch of an `any`, the branch that lost could not give the lock back.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyBool;

use super::parked::{Claim, Countdown, ParkedTask};
use super::source::{Registered, Resumed, WaitSource};
use crate::task::{Outcome, Tag, Task};

/// Resumes with the index of the first source that fired, or None when the deadline passed.
pub(crate) struct AnyWait {
    sources: Vec<Arc<dyn WaitSource>>,
}

impl AnyWait {
    pub(crate) fn new(sources: Vec<Arc<dyn WaitSource>>) -> Self {
        Self { sources }
    }
}

impl WaitSource for AnyWait {
    fn branches(&self, any: bool) -> Option<Vec<Arc<dyn WaitSource>>> {
        any.then(|| self.sources.clone())
    }

    fn try_now(&self, py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        let index = self.sources.iter().position(|source| source.is_ready())?;
        Some(Ok(index.into_pyobject(py).map_or_else(
            |never| match never {},
            |index| index.into_any().unbind(),
        )))
    }

    fn is_ready(&self) -> bool {
        self.sources.iter().any(|source| source.is_ready())
    }

    fn register(&self, parked: ParkedTask) -> Registered {
        for (index, source) in (0..Tag::MAX).zip(&self.sources) {
            let branch = parked.tagged(index);
            match source.register(parked.tagged(index)) {
                Registered::Waiting => {}
                Registered::Ready => {
                    // This branch resolved while we registered: wake the task with its tag.
                    if branch.claim(Outcome::Set) == Claim::Won {
                        branch.schedule();
                    } else {
                        branch.release();
                    }
                    parked.release();
                    return Registered::Stale;
                }
                Registered::Stale => {
                    branch.release();
                    parked.release();
                    return Registered::Stale;
                }
            }
            branch.release();
        }
        parked.release();
        Registered::Waiting
    }

    fn deregister(&self) {
        for source in &self.sources {
            source.deregister();
        }
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, outcome: Outcome, tag: Tag) -> Resumed {
        if outcome != Outcome::Set {
            return Resumed::Value(Ok(py.None()));
        }
        // The branch that fired took its own entry; the others are still parked.
        for (index, source) in (0..Tag::MAX).zip(&self.sources) {
            if index != tag {
                source.deregister();
            }
        }
        Resumed::Value(Ok(usize::from(tag).into_pyobject(py).map_or_else(
            |never| match never {},
            |index| index.into_any().unbind(),
        )))
    }

    fn describe(&self) -> &'static str {
        "any"
    }
}

/// Resumes with True once every source fired, or False when the deadline passed.
pub(crate) struct AllWait {
    sources: Vec<Arc<dyn WaitSource>>,
    countdown: Arc<Countdown>,
}

impl AllWait {
    pub(crate) fn new(sources: Vec<Arc<dyn WaitSource>>) -> Self {
        let countdown = Countdown::new(sources.len());
        Self { sources, countdown }
    }
}

impl WaitSource for AllWait {
    fn branches(&self, any: bool) -> Option<Vec<Arc<dyn WaitSource>>> {
        (!any).then(|| self.sources.clone())
    }

    fn try_now(&self, py: Python<'_>, _task: &Arc<Task>) -> Option<PyResult<Py<PyAny>>> {
        self.is_ready()
            .then(|| Ok(PyBool::new(py, true).to_owned().into_any().unbind()))
    }

    fn is_ready(&self) -> bool {
        self.sources.iter().all(|source| source.is_ready())
    }

    fn register(&self, parked: ParkedTask) -> Registered {
        for source in &self.sources {
            let branch = parked.counted(&self.countdown);
            match source.register(parked.counted(&self.countdown)) {
                Registered::Waiting => branch.release(),
                // Fired already: it counts down now.
                Registered::Ready => match branch.claim(Outcome::Set) {
                    Claim::Won => {
                        branch.schedule();
                        parked.release();
                        return Registered::Stale;
                    }
                    Claim::Counted => branch.release(),
                    Claim::Stale => {
                        branch.release();
                        parked.release();
                        return Registered::Stale;
                    }
                },
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

    fn deregister(&self) {
        for source in &self.sources {
            source.deregister();
        }
    }

    fn resume(&self, py: Python<'_>, _task: &Arc<Task>, outcome: Outcome, _tag: Tag) -> Resumed {
        let value = PyBool::new(py, outcome == Outcome::Set).to_owned();
        Resumed::Value(Ok(value.into_any().unbind()))
    }

    fn describe(&self) -> &'static str {
        "all"
    }
}
