//! The body of a scope: the code of the task that entered it, between `enter` and `exit`.
//!
//! Cancelling the scope cancels the body "within the scope" (the CANCEL bit without DOOMED), and
//! `exit` absorbs that CancelledError if the cancel was the scope's own: it was cancelled, no
//! enclosing scope of the task is, and the task itself was not cancelled from outside. A cancel
//! the body never reached a suspension point to receive is discarded at exit, so it cannot hit
//! the code after the block.

use std::sync::Arc;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use super::core::{CancelReason, Phase, ScopeCore};
use crate::errors::CancelledError;
use crate::task::Task;

/// What leaving a scope decided.
pub(crate) struct Exit {
    /// The body's CancelledError was this scope's own: swallow it.
    pub(crate) absorbed: bool,
}

impl ScopeCore {
    /// `task` enters the scope: its code from here to `exit` is the scope's body.
    pub(crate) fn enter(self: &Arc<Self>, task: &Arc<Task>) -> PyResult<()> {
        let (deadline, cancelled) = {
            let mut synced = self.synced();
            if synced.phase != Phase::Fresh {
                return Err(PyRuntimeError::new_err(
                    "this scope was already entered; a scope can be entered only once",
                ));
            }
            synced.phase = Phase::Entered;
            synced.owner = Arc::downgrade(task);
            (self.arm_deadline(&mut synced), synced.cancel_called)
        };
        // SAFETY: `task` is the task running on this thread (the caller took it from
        // `running_task`), and no Python code runs while the list is borrowed.
        unsafe { task.scopes() }.active.push(Arc::clone(self));
        if let Some(at) = deadline {
            self.start_timer(at);
        }
        if cancelled {
            // Cancelled before it was entered: the body is cancelled at its first suspension.
            task.cancel_within_scope();
        }
        Ok(())
    }

    /// `task` leaves the scope's body, with `raised` the exception unwinding through it, if any.
    pub(crate) fn exit(
        self: &Arc<Self>,
        task: &Arc<Task>,
        raised: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Exit> {
        // SAFETY: as in `enter`, `task` is the task running on this thread.
        let scopes = unsafe { task.scopes() };
        let position = scopes
            .active
            .iter()
            .rposition(|scope| Arc::ptr_eq(scope, self));
        let Some(position) = position else {
            return Err(PyRuntimeError::new_err(
                "this scope is not active in the current task (it was never entered, already \
                 exited, or entered by another task)",
            ));
        };
        scopes.active.remove(position);
        let enclosing: Vec<Arc<ScopeCore>> = scopes.active.clone();
        let enclosing_cancelled = enclosing.iter().any(|scope| scope.cancel_called());

        let (was_cancelled, stale, has_children) = {
            let mut synced = self.synced();
            synced.phase = Phase::Exited;
            // Decided under the lock that ends the body: a child spawned (by another task) after
            // this point is still seen by the owner through `exited`.
            (
                synced.cancel_called,
                Self::disarm_if_finished(&mut synced),
                synced.pending > 0,
            )
        };
        let mut finished_scopes = Vec::new();
        if has_children {
            // A long-lived task that joins its scopes after leaving them (`yield s()` after the
            // block) prunes the done ones as the list grows, so they do not accumulate.
            finished_scopes = scopes.push_exited(Arc::clone(self));
        }
        if stale {
            self.runtime.timer_went_stale();
        }
        let cancelled_out = raised.is_some_and(|error| error.is_instance_of::<CancelledError>());
        if cancelled_out || (raised.is_some() && self.cancel_on_exc) {
            // The body failed or was cancelled: the children are not needed any more.
            self.cancel(CancelReason::Failure);
        }
        let own_cancel = was_cancelled && !enclosing_cancelled && !task.state().is_doomed();
        if own_cancel && task.state().take_cancel() {
            // A cancel of ours that the body never reached a suspension point to receive is
            // dropped here: it must not hit the code after the scope. But an enclosing scope or
            // the task's canceller may have asked too since we looked: then it stays.
            let still_wanted =
                task.state().is_doomed() || enclosing.iter().any(|scope| scope.cancel_called());
            if still_wanted {
                let _ = task.record_cancel_within_scope();
            }
        }
        let absorbed = own_cancel && cancelled_out;
        // Dropped last: a scope's Drop may run Python (reporting unobserved failures).
        drop(finished_scopes);
        Ok(Exit { absorbed })
    }
}
