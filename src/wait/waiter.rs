//! `Waiter`: the one object a task suspends on.
//!
//! Every suspension in tonio is a task handing a `Waiter` to the scheduler: `event.wait()`,
//! `sleep()`, `yield_now()` and awaiting a `spawn()` result all produce one. In generator style the
//! task yields it (`value = yield event.wait()`); in `async def` style `await` drives the Waiter's
//! own iterator protocol, which yields the Waiter itself up through the coroutine chain to the
//! scheduler and, once resumed, returns the value the scheduler sent. So both syntaxes reach the
//! same scheduler with the same object; there is no second code path.
//!
//! What the task waits *for* is the Waiter's `WaitKind`: a `WaitSource` (an event, spawned tasks,
//! a scope, ...) or one of the two waits that need no source (`sleep`, `yield_now`).
//!
//! A Waiter is single use. Its state goes FRESH -> TAKEN (the scheduler took it: yielding it again
//! is an error) -> DONE (an `await` received its value: awaiting it again is an error). An
//! `await` (or `yield from`) passes through OFFERED: its first step yielded the Waiter up to
//! whoever drives the coroutine, and the scheduler takes it from there. A second step while
//! OFFERED means nobody took it: the Waiter is being iterated (`list(w)`, `a, b = spawned`), not
//! waited on, which raises instead of yielding itself forever. A combined wait consumes its
//! operands straight to DONE. The first step of an `await` through the `am_send` slot (any first
//! step, for a Waiter made only to be awaited: `__anext__`'s) may run a wait that can complete
//! inline (a channel receive with a message ready, in a task with no cancellation due):
//! FRESH -> INLINE -> DONE, never leaving the coroutine, as an `await` of a ready result does in
//! asyncio; if the wait cannot complete, INLINE -> ASKED, which is OFFERED plus "the source was
//! just asked" (the scheduler then parks the task without asking again).
//!
//! One function, `step`, is that state machine for `__next__`, `send` and the type's `am_send`
//! slot (`py/send_slot.rs`), through which an `await` that resumes with a value returns it
//! without raising `StopIteration` on interpreters whose `await` uses the slot (3.11).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::checkpoint::{Checkpoint, CheckpointWait};
use super::combined::{AllWait, AnyWait};
use super::event::Event;
pub(crate) use super::source::WaitKind;
use super::source::{Inline, WaitSource};
use crate::py::{SendSlot, Sent};
use crate::task::Spawned;
use crate::time::Timeout;

const FRESH: u8 = 0;
const TAKEN: u8 = 1;
const DONE: u8 = 2;
const OFFERED: u8 = 3;
/// An `await`'s first step is running the wait itself (`complete_inline`).
const INLINE: u8 = 4;
/// OFFERED after `complete_inline` found that the wait must suspend.
const ASKED: u8 = 5;

/// A single-use suspension point: yield it (generator style) or await it (`async def` style).
/// `generic`: `Waiter[bool]`/`Spawned[int]` are valid at runtime too, as the stub makes them
/// generic for type checkers. No `weakref` or `dict`: `ReusableWaiter` reads "nobody else holds
/// it" off the reference count, which a weak reference or an attribute would not show.
#[pyclass(frozen, generic, module = "tonio._tonio")]
pub(crate) struct Waiter {
    kind: WaitKind,
    timeout: Timeout,
    state: AtomicU8,
    /// Set for `Waiter.checkpoint()`: the handle `abort()` acts on.
    checkpoint: Option<Arc<Checkpoint>>,
    /// What the wait hands to its source (a channel send's message), given to the scheduler
    /// with the wait.
    payload: Payload,
}

/// A Waiter's payload: taken by the one `take` that wins the state CAS, else dropped with the
/// Waiter.
struct Payload(UnsafeCell<Option<Py<PyAny>>>);

// SAFETY: the cell is read only by the `take` whose state CAS won (which happens once per Waiter)
// and by Drop (which has the Waiter to itself); `Py` values may move between threads.
unsafe impl Sync for Payload {}

/// What `Waiter::take` hands the scheduler.
pub(crate) struct Taken<'a> {
    pub(crate) kind: &'a WaitKind,
    pub(crate) timeout: Timeout,
    /// The message of a channel send.
    pub(crate) payload: Option<Py<PyAny>>,
    /// The await's first step just asked the source, which could not resolve the wait at once.
    pub(crate) asked: bool,
}

/// How a combined wait merges its operands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Combine {
    Any,
    All,
}

impl Combine {
    fn name(self) -> &'static str {
        match self {
            Combine::Any => "Waiter.any()",
            Combine::All => "Waiter.all()",
        }
    }
}

impl Waiter {
    pub(crate) fn new(kind: WaitKind, timeout: Timeout) -> Self {
        Self {
            kind,
            timeout,
            state: AtomicU8::new(FRESH),
            checkpoint: None,
            payload: Payload(UnsafeCell::new(None)),
        }
    }

    /// A Waiter that hands `payload` to its source when the scheduler takes it (see
    /// `HandoffSlot`): the message of a channel send.
    pub(crate) fn with_payload(kind: WaitKind, payload: Py<PyAny>) -> Self {
        Self {
            payload: Payload(UnsafeCell::new(Some(payload))),
            ..Self::new(kind, Timeout::Never)
        }
    }

    /// Makes a used Waiter (one without payload, timeout or checkpoint) FRESH again. For
    /// `ReusableWaiter` only.
    ///
    /// # Safety
    /// Nobody else holds the Waiter (the caller owns the only reference, under the GIL): nothing
    /// can observe the reset.
    #[cfg(not(Py_GIL_DISABLED))]
    pub(crate) unsafe fn reset(&self) {
        debug_assert!(self.checkpoint.is_none() && matches!(self.timeout, Timeout::Never));
        // SAFETY: the caller has the Waiter to itself (see above).
        debug_assert!(unsafe { &*self.payload.0.get() }.is_none());
        self.state.store(FRESH, Ordering::Release);
    }

    /// The wait and timeout one operand of a combined wait brings (taking a Waiter operand):
    /// `None` for a sleep, which only bounds an any-wait.
    fn operand(
        item: &Bound<'_, PyAny>,
        how: Combine,
    ) -> PyResult<(Option<Arc<dyn WaitSource>>, Timeout)> {
        if let Ok(event) = item.cast::<Event>() {
            let source: Arc<dyn WaitSource> = event.get().core.clone();
            return Ok((Some(source), Timeout::Never));
        }
        if let Ok(spawned) = item.cast::<Spawned>() {
            return Ok((spawned.get().wait_kind().source().cloned(), Timeout::Never));
        }
        let Ok(waiter) = item.cast::<Waiter>() else {
            return Err(PyTypeError::new_err(format!(
                "{} takes Events and Waiters, not {}",
                how.name(),
                item.get_type().name()?
            )));
        };
        let (kind, timeout) = waiter.get().consume()?;
        let source = match kind {
            WaitKind::Source(source) => source,
            // A sleep ends an `any` wait at its deadline: it is that wait's timeout.
            WaitKind::Sleep if how == Combine::Any => return Ok((None, timeout)),
            other => {
                return Err(PyTypeError::new_err(format!(
                    "{} cannot combine a {} wait (give the combined wait a timeout= instead of \
                     a sleep)",
                    how.name(),
                    other.describe()
                )))
            }
        };
        if !source.combinable() {
            return Err(PyTypeError::new_err(format!(
                "a {} wait cannot be combined: its wake hands something over that the other \
                 branches could not give back (bound it with a scope or move_on_after instead)",
                source.describe()
            )));
        }
        Ok((Some(source), timeout))
    }

    /// Builds an any- or all-wait of `items` (see `wait/combined.rs` for how operands nest);
    /// `chain` marks the result of `|` and `&`.
    fn combine(
        items: &Bound<'_, PyTuple>,
        timeout: Option<&Bound<'_, PyAny>>,
        how: Combine,
        chain: bool,
    ) -> PyResult<Self> {
        if items.is_empty() {
            return Err(PyTypeError::new_err(format!(
                "{} needs at least one Event or Waiter",
                how.name()
            )));
        }
        let explicit = Timeout::after(timeout, "timeout")?;
        let mut sources: Vec<Arc<dyn WaitSource>> = Vec::new();
        let mut operand_of: Vec<usize> = Vec::new();
        let mut operands = 0;
        let mut combined: Option<Timeout> = None;
        for item in items.iter() {
            let (source, operand_timeout) = Self::operand(&item, how)?;
            combined = Some(match combined {
                None => operand_timeout,
                Some(so_far) => so_far.combine(operand_timeout, how == Combine::Any),
            });
            let Some(source) = source else {
                operands += 1;
                continue;
            };
            match (how, source.as_any_wait(), source.as_all_wait()) {
                (Combine::Any, Some(any), _) if any.is_chain() => {
                    sources.extend(any.sources().iter().cloned());
                    operand_of.extend(any.operand_of().iter().map(|operand| operands + operand));
                    operands += any.operands();
                }
                (Combine::Any, Some(any), _) => {
                    sources.extend(any.sources().iter().cloned());
                    operand_of.extend(std::iter::repeat_n(operands, any.sources().len()));
                    operands += 1;
                }
                (Combine::All, _, Some(all)) => sources.extend(all.sources().iter().cloned()),
                _ => {
                    sources.push(source);
                    operand_of.push(operands);
                    operands += 1;
                }
            }
        }
        if sources.len() > usize::from(crate::task::Tag::MAX) {
            return Err(PyTypeError::new_err(format!(
                "{} takes at most {} waits",
                how.name(),
                crate::task::Tag::MAX
            )));
        }
        let timeout = match explicit {
            Timeout::Never => combined.unwrap_or(Timeout::Never),
            explicit => explicit,
        };
        let source: Arc<dyn WaitSource> = match how {
            Combine::Any => Arc::new(AnyWait::new(sources, operand_of, operands, chain)),
            Combine::All => Arc::new(AllWait::new(sources)),
        };
        Ok(Self::new(WaitKind::Source(source), timeout))
    }

    /// Whether the Waiter was never yielded or awaited.
    pub(crate) fn is_fresh(&self) -> bool {
        self.state.load(Ordering::Acquire) == FRESH
    }

    /// Hands the wait (and its payload) to the scheduler. Fails if this Waiter was already
    /// yielded once. (A reference: most waits resolve at once, and the scheduler clones the kind
    /// only to suspend.) `asked`: the await's first step just found that the source cannot
    /// resolve it at once (`complete_inline`).
    pub(crate) fn take(&self) -> PyResult<Taken<'_>> {
        let previous = self.claim(TAKEN)?;
        // SAFETY: the claim above won the state CAS, which happens once per Waiter: nobody else
        // reads the payload (see `Payload`).
        let payload = unsafe { &mut *self.payload.0.get() }.take();
        Ok(Taken {
            kind: &self.kind,
            timeout: self.timeout,
            payload,
            asked: previous == ASKED,
        })
    }

    /// Hands the wait to a combined wait, for good. DONE, not TAKEN: an `await` of a TAKEN
    /// Waiter's `__next__` means "the scheduler resumed us", so awaiting a consumed operand
    /// later would silently give None instead of raising.
    fn consume(&self) -> PyResult<(WaitKind, Timeout)> {
        self.claim(DONE)?;
        Ok((self.kind.clone(), self.timeout))
    }

    /// Moves a Waiter nobody took yet to `to`; returns the state it left.
    fn claim(&self, to: u8) -> PyResult<u8> {
        match transition(
            &self.state,
            |state| matches!(state, FRESH | OFFERED | ASKED),
            to,
        ) {
            Ok(previous) => Ok(previous),
            Err(_) => Err(PyRuntimeError::new_err(
                "this Waiter was already yielded or awaited; a Waiter can be waited on only once \
                 (call wait() again for a new one)",
            )),
        }
    }

    /// The first step of an `await` of a wait that can resolve inside the awaiting coroutine
    /// (`WaitSource::completes_inline`): its result if it resolves now, without yielding up to
    /// the scheduler only to be sent straight back (`dispatch::wait_on` would resolve it at once
    /// too). Only in a running task with no cancellation to deliver: a task that may have one
    /// goes to the scheduler, which checks it before the source is asked, as for every wait.
    /// `None`: the await suspends as usual (ASKED when the source was asked).
    fn complete_inline<'py>(&self, py: Python<'py>, from_slot: bool) -> Option<Sent<'py>> {
        let WaitKind::Source(source) = &self.kind else {
            return None;
        };
        match source.completes_inline() {
            Inline::Never => return None,
            Inline::WhenAwaited if !from_slot => return None,
            Inline::WhenAwaited | Inline::AnyStep => {}
        }
        crate::runtime::with_running_task(|task| {
            // SAFETY: `with_running_task` gives the task this thread runs.
            if unsafe { task.may_be_cancelled() } {
                return None;
            }
            // Claimed, so no other thread stepping or yielding this Waiter too can run the wait
            // as well meanwhile (it gets the "already awaited" error).
            transition(&self.state, |state| state == FRESH, INLINE).ok()?;
            match source.try_now(py, task) {
                Some(result) => {
                    self.state.store(DONE, Ordering::Release);
                    Some(match result {
                        Ok(value) => Sent::Return(value.into_bound(py)),
                        Err(err) => Sent::Raise(err),
                    })
                }
                None => {
                    // Not over a `throw` that ended the Waiter meanwhile (from another thread).
                    let _ = transition(&self.state, |state| state == INLINE, ASKED);
                    None
                }
            }
        })
        .flatten()
    }

    /// One step of an `await` (or `yield from`) of this Waiter: `send(value)`, where `__next__` is
    /// `send(None)`. The one state machine behind `__next__`, `send` and the `am_send` slot;
    /// `from_slot`: called by the slot, where any wait that can may complete inline.
    fn step<'py>(slf: &Bound<'py, Self>, value: &Bound<'py, PyAny>, from_slot: bool) -> Sent<'py> {
        let this = slf.get();
        match this.state.load(Ordering::Acquire) {
            // First step of an `await`: suspend by yielding ourselves to the scheduler, unless
            // the wait resolves right here.
            FRESH if value.is_none() => {
                if let Some(done) = this.complete_inline(slf.py(), from_slot) {
                    return done;
                }
                // Lost only to a take (another thread yielding it too): its error comes there;
                // or left ASKED by `complete_inline`.
                let _ = transition(&this.state, |state| state == FRESH, OFFERED);
                Sent::Yield(slf.clone().into_any())
            }
            OFFERED | ASKED if value.is_none() => Sent::Raise(iterated()),
            FRESH | OFFERED | ASKED => Sent::Raise(PyTypeError::new_err(
                "can't send a non-None value to a Waiter that has not been yielded yet",
            )),
            // The scheduler took us and resumed the coroutine with `value`: the await is over.
            TAKEN => {
                this.state.store(DONE, Ordering::Release);
                Sent::Return(value.clone())
            }
            _ => Sent::Raise(already_awaited()),
        }
    }
}

impl SendSlot for Waiter {
    fn send_step<'py>(slf: &Bound<'py, Self>, value: &Bound<'py, PyAny>) -> Sent<'py> {
        Self::step(slf, value, false)
    }

    fn await_step<'py>(slf: &Bound<'py, Self>, value: &Bound<'py, PyAny>) -> Sent<'py> {
        Self::step(slf, value, true)
    }
}

/// Moves `state` to `to` if `from` accepts its current value, atomically for every thread that
/// touches the Waiter; returns the value it found (`Err` if refused).
#[cfg(Py_GIL_DISABLED)]
fn transition(state: &AtomicU8, from: impl Fn(u8) -> bool, to: u8) -> Result<u8, u8> {
    state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
        from(current).then_some(to)
    })
}

/// As above. With a GIL, every access to a Waiter's state is made by a thread attached to the
/// interpreter (its methods and slots, the scheduler's dispatch), which the GIL serializes, and
/// none releases it midway: a load and a store are the transition, without the locked
/// read-modify-write (a noticeable part of an await's cost).
#[cfg(not(Py_GIL_DISABLED))]
fn transition(state: &AtomicU8, from: impl Fn(u8) -> bool, to: u8) -> Result<u8, u8> {
    let current = state.load(Ordering::Acquire);
    if !from(current) {
        return Err(current);
    }
    state.store(to, Ordering::Release);
    Ok(current)
}

fn already_awaited() -> PyErr {
    PyRuntimeError::new_err("this Waiter was already awaited; a Waiter can be waited on only once")
}

fn iterated() -> PyErr {
    PyTypeError::new_err(
        "a Waiter (or spawn result) is waited on by yielding or awaiting it in a tonio task, not \
         by iterating it (did you forget a yield or an await?)",
    )
}

#[pymethods]
impl Waiter {
    /// TonIO's constructor: a Waiter that resumes once every event is set (as `Waiter.all`).
    #[new]
    #[pyo3(signature = (*events, timeout = None))]
    fn py_new(events: &Bound<'_, PyTuple>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Self::combine(events, timeout, Combine::All, false)
    }

    /// A Waiter that resumes as soon as one of `waits` (Events, Waiters, spawn results) fires,
    /// with that operand's index, or with None when `timeout` seconds (or the earliest operand
    /// timeout) pass first. The other registrations are withdrawn.
    #[staticmethod]
    #[pyo3(signature = (*waits, timeout = None))]
    fn any(waits: &Bound<'_, PyTuple>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Self::combine(waits, timeout, Combine::Any, false)
    }

    /// A Waiter that resumes with True once every one of `waits` has fired, or False when
    /// `timeout` seconds (or the latest operand timeout) pass first.
    #[staticmethod]
    #[pyo3(signature = (*waits, timeout = None))]
    fn all(waits: &Bound<'_, PyTuple>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Self::combine(waits, timeout, Combine::All, false)
    }

    /// `w1 | w2`: `Waiter.any(w1, w2)`.
    fn __or__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Self> {
        let items = PyTuple::new(slf.py(), [slf.as_any(), other])?;
        Self::combine(&items, None, Combine::Any, true)
    }

    /// `event | waiter`: `Waiter.any(event, waiter)`.
    fn __ror__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Self> {
        let items = PyTuple::new(slf.py(), [other, slf.as_any()])?;
        Self::combine(&items, None, Combine::Any, true)
    }

    /// `event & waiter`: `Waiter.all(event, waiter)`.
    fn __rand__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Self> {
        let items = PyTuple::new(slf.py(), [other, slf.as_any()])?;
        Self::combine(&items, None, Combine::All, true)
    }

    /// `w1 & w2`: `Waiter.all(w1, w2)`.
    fn __and__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Self> {
        let items = PyTuple::new(slf.py(), [slf.as_any(), other])?;
        Self::combine(&items, None, Combine::All, true)
    }

    /// TonIO's low-level checkpoint: yielding it passes at once and binds it to the task;
    /// `abort()` then cancels that task (see `wait/checkpoint.rs`).
    #[staticmethod]
    fn checkpoint() -> Self {
        let checkpoint = Arc::new(Checkpoint::default());
        let source = CheckpointWait::new(Arc::clone(&checkpoint));
        Self {
            checkpoint: Some(checkpoint),
            ..Self::new(WaitKind::Source(Arc::new(source)), Timeout::Never)
        }
    }

    /// Cancels the task that passed this checkpoint (or will). Returns whether a running task
    /// was bound to it. Only checkpoints can be aborted.
    fn abort(&self) -> PyResult<bool> {
        match &self.checkpoint {
            Some(checkpoint) => Ok(checkpoint.abort()),
            None => Err(PyTypeError::new_err(
                "only a Waiter.checkpoint() can be aborted (cancel a task with a scope)",
            )),
        }
    }

    /// TonIO's name for `abort`.
    fn unwind(&self) -> PyResult<bool> {
        self.abort()
    }

    fn __await__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Raises `error` where the Waiter is awaited (the coroutine protocol's `throw`: how a task
    /// that only waits for this Waiter is cancelled).
    fn throw(&self, error: Bound<'_, PyAny>) -> PyResult<()> {
        self.state.store(DONE, Ordering::Release);
        Err(PyErr::from_value(error))
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        match Self::step(slf, &slf.py().None().into_bound(slf.py()), false) {
            Sent::Yield(yielded) => Ok(Some(yielded.unbind())),
            Sent::Return(value) if value.is_none() => Ok(None),
            // An await that completed in its first step (`complete_inline`) ends with its value.
            Sent::Return(value) => Err(crate::py::stop_iteration(&value)),
            Sent::Raise(err) => Err(err),
        }
    }

    /// Called by `await`/`yield from` when the scheduler resumes the task with a value (where
    /// the interpreter does not use the `am_send` slot, see `py/send_slot.rs`).
    fn send(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match Self::step(slf, value, false) {
            Sent::Yield(yielded) => Ok(yielded.unbind()),
            Sent::Return(value) => Err(crate::py::stop_iteration(&value)),
            Sent::Raise(err) => Err(err),
        }
    }

    fn __repr__(&self) -> String {
        format!("<tonio.Waiter {}>", self.kind.describe())
    }
}

/// `sleep(seconds)`: a Waiter that resumes after `seconds` (negative: now; inf: never).
#[pyfunction]
pub(crate) fn sleep(seconds: &Bound<'_, PyAny>) -> PyResult<Waiter> {
    if seconds.is_none() {
        return Err(PyTypeError::new_err(
            "sleep delay must be a number of seconds, not None",
        ));
    }
    let timeout = Timeout::after(Some(seconds), "sleep delay")?;
    Ok(Waiter::new(WaitKind::Sleep, timeout))
}

/// `sleep_until(when)`: a Waiter that resumes once the runtime clock reaches `when` seconds.
#[pyfunction]
pub(crate) fn sleep_until(when: &Bound<'_, PyAny>) -> PyResult<Waiter> {
    let timeout = Timeout::at(when, "sleep_until time")?;
    Ok(Waiter::new(WaitKind::Sleep, timeout))
}

/// `yield_now()`: a Waiter that lets every other runnable task run once before resuming.
#[pyfunction]
pub(crate) fn yield_now() -> Waiter {
    Waiter::new(WaitKind::YieldNow, Timeout::Never)
}
