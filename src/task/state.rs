//! The task state word: who owns a task right now, and how it was woken.
//!
//! A task is always in exactly one place: running on one worker, sitting in one run queue, parked on
//! its wait registrations, or done. One `AtomicU64` records which, so that every hand-off is a single
//! compare-and-swap and a task can never be woken twice for the same suspension.
//!
//! ```text
//!  bits 0-1   lifecycle: SCHEDULED | RUNNING | SUSPENDED | DONE
//!  bit  2     CANCEL: a cancellation waits to be delivered at the next suspension point
//!  bits 3-4   the outcome that woke the task (meaningful in SCHEDULED after a suspension)
//!  bit  5     DOOMED: the task itself was cancelled (not just a scope inside it); never cleared,
//!             so no scope of the task absorbs that cancellation
//!  bit  6     STARTED: the task has run at least once
//!  bits 8-23  tag: which source of an `any` wait woke the task
//!  bits 24-63 epoch: bumped at every suspension
//! ```
//!
//! Transitions:
//! - `begin_run`: SCHEDULED -> RUNNING, only by the worker that popped the task from a queue.
//! - `suspend`: RUNNING -> SUSPENDED(epoch + 1), by the running worker, *before* it registers the
//!   task with anything that may wake it, so a wake can never race ahead of the suspension.
//! - `wake(epoch, outcome, tag)`: SUSPENDED(epoch) -> SCHEDULED. Event sets, hand-offs, timers and
//!   cancellation all race here; the one CAS that succeeds owns the task and queues it, the others
//!   see `Stale`.
//! - `reschedule`: RUNNING -> SCHEDULED (yield_now).
//! - `finish`: RUNNING -> DONE.
//!
//! **Handoff beats cancel.** The CANCEL bit can be set in any state. A wake that *delivered*
//! something (the event was set, a lock or a message was handed over, the deadline passed) won the
//! suspension: `begin_run` leaves a CANCEL that arrived afterwards pending, so the task resumes
//! with what it was given and receives the cancellation at its next suspension point. Only a task
//! woken *by* the cancel, or one rescheduled by `yield_now`, consumes it at once. A task cancelled
//! before it ever ran starts anyway and receives the cancel at its first suspension point (as in
//! trio), so its coroutine is never left unstarted. Either way a cancel is delivered exactly once.

use std::sync::atomic::{AtomicU64, Ordering};

const LIFECYCLE: u64 = 0b11;
const SCHEDULED: u64 = 0;
const RUNNING: u64 = 1;
const SUSPENDED: u64 = 2;
const DONE: u64 = 3;
const CANCEL: u64 = 1 << 2;
const OUTCOME_SHIFT: u32 = 3;
const OUTCOME: u64 = 0b11 << OUTCOME_SHIFT;
const DOOMED: u64 = 1 << 5;
const STARTED: u64 = 1 << 6;
const TAG_SHIFT: u32 = 8;
const TAG: u64 = 0xffff << TAG_SHIFT;
const EPOCH_SHIFT: u32 = 24;

/// Why a suspended task was woken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Not woken from a suspension: a fresh task, or one that yielded to the scheduler.
    Ready = 0,
    /// What it waited for happened (an event set, a group done, a hand-off made).
    Set = 1,
    /// Its deadline passed first.
    TimedOut = 2,
    /// It was cancelled while suspended.
    Cancelled = 3,
}

/// Which source of an `any` wait woke the task (0 for single waits).
pub(crate) type Tag = u16;

impl Outcome {
    fn from_bits(bits: u64) -> Self {
        match (bits & OUTCOME) >> OUTCOME_SHIFT {
            0 => Outcome::Ready,
            1 => Outcome::Set,
            2 => Outcome::TimedOut,
            _ => Outcome::Cancelled,
        }
    }
}

/// Identifies one suspension of one task; a wake carrying an older epoch is stale.
pub(crate) type Epoch = u64;

/// What a worker learns when it starts running a task.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunStart {
    pub(crate) outcome: Outcome,
    pub(crate) tag: Tag,
    /// A cancellation was requested and is now the worker's to deliver. Never set together with
    /// a delivering outcome (`Set`, `TimedOut`): that cancel stays pending instead.
    pub(crate) cancelled: bool,
    /// The task's first run: its coroutine has never been resumed by it.
    pub(crate) first: bool,
}

#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// This caller moved the task to SCHEDULED and must queue it.
    Woken,
    /// Someone else woke it, or it already moved on to another suspension.
    Stale,
}

#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Suspend {
    /// The task is suspended under this epoch; register it with its wake sources.
    Suspended(Epoch),
    /// A cancellation is pending: the task stays RUNNING and must receive it now.
    Cancelled,
}

#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Cancel {
    /// The task was suspended; the caller now owns it and must queue it.
    Woken,
    /// The request was recorded and will be delivered at the next suspension point.
    Recorded,
    /// The task already finished.
    Finished,
}

/// Whether a task starting to run from `bits` leaves a pending cancel for its next suspension:
/// the wake delivered something (see "Handoff beats cancel"), or the task has never run.
fn keeps_cancel(bits: u64) -> bool {
    match Outcome::from_bits(bits) {
        Outcome::Set | Outcome::TimedOut => true,
        Outcome::Cancelled => false,
        Outcome::Ready => bits & STARTED == 0,
    }
}

pub(crate) struct TaskState(AtomicU64);

impl TaskState {
    /// A new task starts out SCHEDULED: it is queued as soon as it is created.
    pub(crate) fn new() -> Self {
        Self(AtomicU64::new(SCHEDULED))
    }

    pub(crate) fn begin_run(&self) -> RunStart {
        let previous = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |bits| {
                debug_assert_eq!(bits & LIFECYCLE, SCHEDULED);
                let keep = if keeps_cancel(bits) { CANCEL } else { 0 };
                Some(
                    (bits & !(LIFECYCLE | CANCEL | OUTCOME | TAG))
                        | (bits & keep)
                        | RUNNING
                        | STARTED,
                )
            })
            .unwrap_or_else(|bits| bits);
        RunStart {
            outcome: Outcome::from_bits(previous),
            tag: ((previous & TAG) >> TAG_SHIFT) as Tag,
            cancelled: previous & CANCEL != 0 && !keeps_cancel(previous),
            first: previous & STARTED == 0,
        }
    }

    pub(crate) fn suspend(&self) -> Suspend {
        let mut bits = self.0.load(Ordering::Acquire);
        loop {
            debug_assert_eq!(bits & LIFECYCLE, RUNNING);
            if bits & CANCEL != 0 {
                // Consume the request: the caller delivers it right away.
                self.0.fetch_and(!CANCEL, Ordering::AcqRel);
                return Suspend::Cancelled;
            }
            let epoch = (bits >> EPOCH_SHIFT) + 1;
            let next = (epoch << EPOCH_SHIFT) | SUSPENDED | (bits & (DOOMED | STARTED));
            match self
                .0
                .compare_exchange_weak(bits, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Suspend::Suspended(epoch),
                Err(actual) => bits = actual,
            }
        }
    }

    pub(crate) fn wake(&self, epoch: Epoch, outcome: Outcome, tag: Tag) -> Wake {
        let mut bits = self.0.load(Ordering::Acquire);
        loop {
            if bits & LIFECYCLE != SUSPENDED || bits >> EPOCH_SHIFT != epoch {
                return Wake::Stale;
            }
            let next = (bits & !(LIFECYCLE | OUTCOME | TAG))
                | SCHEDULED
                | ((outcome as u64) << OUTCOME_SHIFT)
                | (u64::from(tag) << TAG_SHIFT);
            match self
                .0
                .compare_exchange_weak(bits, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Wake::Woken,
                Err(actual) => bits = actual,
            }
        }
    }

    /// Requests cancellation of the task itself: `doomed` marks it as one no scope of the task may
    /// absorb (the task was cancelled from outside); a scope cancelling the code inside it passes
    /// false. A suspended task is woken with `Cancelled`, unless `deadline_passed(epoch)` says its
    /// wait had already timed out: then the timeout is what it resumes with (it was due before
    /// the cancel came, even if the reactor had not fired it yet) and the cancel stays pending.
    pub(crate) fn cancel(&self, doomed: bool, deadline_passed: impl Fn(Epoch) -> bool) -> Cancel {
        let bits = if doomed { CANCEL | DOOMED } else { CANCEL };
        let previous = self.0.fetch_or(bits, Ordering::AcqRel);
        match previous & LIFECYCLE {
            DONE => Cancel::Finished,
            SUSPENDED => {
                let epoch = previous >> EPOCH_SHIFT;
                let outcome = if deadline_passed(epoch) {
                    Outcome::TimedOut
                } else {
                    Outcome::Cancelled
                };
                match self.wake(epoch, outcome, 0) {
                    Wake::Woken => Cancel::Woken,
                    Wake::Stale => Cancel::Recorded,
                }
            }
            _ => Cancel::Recorded,
        }
    }

    /// Whether a cancellation waits to be delivered.
    pub(crate) fn cancel_pending(&self) -> bool {
        self.0.load(Ordering::Acquire) & CANCEL != 0
    }

    /// Consumes a pending cancellation, if any (for waits that resolve without suspending).
    pub(crate) fn take_cancel(&self) -> bool {
        self.0.load(Ordering::Acquire) & CANCEL != 0
            && self.0.fetch_and(!CANCEL, Ordering::AcqRel) & CANCEL != 0
    }

    /// Whether the task was cancelled from outside (see DOOMED).
    pub(crate) fn is_doomed(&self) -> bool {
        self.0.load(Ordering::Acquire) & DOOMED != 0
    }

    /// Whether the task is still suspended in suspension `epoch` (a timer for it is live).
    pub(crate) fn is_suspended_at(&self, epoch: Epoch) -> bool {
        let bits = self.0.load(Ordering::Acquire);
        bits & LIFECYCLE == SUSPENDED && bits >> EPOCH_SHIFT == epoch
    }

    pub(crate) fn reschedule(&self) {
        self.0.fetch_and(!LIFECYCLE, Ordering::AcqRel);
    }

    pub(crate) fn finish(&self) {
        self.0.fetch_or(DONE, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never(_: Epoch) -> bool {
        false
    }

    fn running() -> TaskState {
        let state = TaskState::new();
        let start = state.begin_run();
        assert_eq!(start.outcome, Outcome::Ready);
        assert!(!start.cancelled);
        state
    }

    #[test]
    fn only_one_wake_wins_per_suspension() {
        let state = running();
        let Suspend::Suspended(epoch) = state.suspend() else {
            panic!("no cancel was requested")
        };
        assert_eq!(state.wake(epoch, Outcome::Set, 0), Wake::Woken);
        assert_eq!(state.wake(epoch, Outcome::TimedOut, 0), Wake::Stale);
        let start = state.begin_run();
        assert_eq!(start.outcome, Outcome::Set);
    }

    #[test]
    fn a_wake_for_an_old_epoch_is_stale() {
        let state = running();
        let Suspend::Suspended(first) = state.suspend() else {
            panic!()
        };
        assert_eq!(state.wake(first, Outcome::Set, 0), Wake::Woken);
        let _ = state.begin_run();
        let Suspend::Suspended(second) = state.suspend() else {
            panic!()
        };
        assert_ne!(first, second);
        assert_eq!(state.wake(first, Outcome::TimedOut, 0), Wake::Stale);
        assert_eq!(state.wake(second, Outcome::TimedOut, 0), Wake::Woken);
    }

    #[test]
    fn doomed_survives_suspensions_and_a_scope_cancel_does_not_doom() {
        let state = running();
        assert_eq!(state.cancel(false, never), Cancel::Recorded);
        assert!(!state.is_doomed());
        assert_eq!(state.suspend(), Suspend::Cancelled);
        assert_eq!(state.cancel(true, never), Cancel::Recorded);
        assert_eq!(state.suspend(), Suspend::Cancelled);
        let Suspend::Suspended(epoch) = state.suspend() else {
            panic!("the cancel was delivered once")
        };
        assert!(state.is_doomed());
        assert!(state.is_suspended_at(epoch));
        assert_eq!(state.wake(epoch, Outcome::Set, 0), Wake::Woken);
        assert!(!state.is_suspended_at(epoch));
        assert!(state.is_doomed());
    }

    #[test]
    fn cancel_while_running_is_delivered_at_the_next_suspension() {
        let state = running();
        assert_eq!(state.cancel(true, never), Cancel::Recorded);
        assert_eq!(state.suspend(), Suspend::Cancelled);
        // Delivered once: the next suspension proceeds normally.
        assert!(matches!(state.suspend(), Suspend::Suspended(_)));
    }

    #[test]
    fn cancel_while_suspended_wakes_the_task_once() {
        let state = running();
        let Suspend::Suspended(epoch) = state.suspend() else {
            panic!()
        };
        assert_eq!(state.cancel(true, never), Cancel::Woken);
        assert_eq!(state.wake(epoch, Outcome::Set, 0), Wake::Stale);
        let start = state.begin_run();
        assert_eq!(start.outcome, Outcome::Cancelled);
        assert!(start.cancelled);
    }

    #[test]
    fn a_cancel_after_a_delivering_wake_stays_pending() {
        let state = running();
        let Suspend::Suspended(epoch) = state.suspend() else {
            panic!()
        };
        assert_eq!(state.wake(epoch, Outcome::Set, 3), Wake::Woken);
        assert_eq!(state.cancel(true, never), Cancel::Recorded);
        let start = state.begin_run();
        assert_eq!(start.outcome, Outcome::Set);
        assert_eq!(start.tag, 3);
        assert!(
            !start.cancelled,
            "the hand-off is resumed with, not thrown away"
        );
        assert!(state.cancel_pending());
        assert_eq!(
            state.suspend(),
            Suspend::Cancelled,
            "the cancel reaches the task at its next suspension"
        );
    }

    #[test]
    fn a_cancel_of_a_task_whose_deadline_passed_resumes_it_as_timed_out() {
        let state = running();
        let Suspend::Suspended(epoch) = state.suspend() else {
            panic!()
        };
        assert_eq!(state.cancel(true, |_| true), Cancel::Woken);
        let start = state.begin_run();
        assert_eq!(start.outcome, Outcome::TimedOut);
        assert!(!start.cancelled);
        assert_eq!(state.suspend(), Suspend::Cancelled);
        let _ = epoch;
    }

    #[test]
    fn a_task_cancelled_before_it_ran_starts_and_gets_the_cancel_at_its_first_suspension() {
        let state = TaskState::new();
        assert_eq!(state.cancel(true, never), Cancel::Recorded);
        let start = state.begin_run();
        assert!(!start.cancelled);
        assert_eq!(state.suspend(), Suspend::Cancelled);
    }

    #[test]
    fn a_cancel_of_a_rescheduled_task_is_taken_when_it_runs() {
        let state = running();
        state.reschedule();
        assert_eq!(state.cancel(false, never), Cancel::Recorded);
        let start = state.begin_run();
        assert_eq!(start.outcome, Outcome::Ready);
        assert!(start.cancelled);
        assert!(!state.cancel_pending());
    }

    #[test]
    fn cancel_after_finish_reports_finished() {
        let state = running();
        state.finish();
        assert_eq!(state.cancel(true, never), Cancel::Finished);
    }

    #[test]
    fn concurrent_wakes_produce_exactly_one_winner() {
        use std::sync::Arc;
        for _ in 0..200 {
            let state = Arc::new(running());
            let Suspend::Suspended(epoch) = state.suspend() else {
                panic!()
            };
            let winners: usize = (0..4)
                .map(|i| {
                    let state = Arc::clone(&state);
                    std::thread::spawn(move || {
                        let woken = if i == 3 {
                            state.cancel(true, never) == Cancel::Woken
                        } else {
                            state.wake(epoch, Outcome::Set, i as Tag) == Wake::Woken
                        };
                        usize::from(woken)
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|handle| handle.join().expect("waker thread panicked"))
                .sum();
            assert_eq!(winners, 1);
        }
    }
}
