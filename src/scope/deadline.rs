//! A scope's deadline: armed when the body enters, disarmed once nothing is left to bound, and
//! fired by the timer heap (which cancels the scope with `CancelReason::Deadline`).

use std::sync::Arc;
use std::time::Instant;

use super::core::{CancelReason, ScopeCore, ScopeSynced};
use crate::time::TimerTarget;

impl ScopeCore {
    /// Places the deadline on the runtime clock as the body enters; returns when the timer must
    /// fire, if it must.
    pub(super) fn arm_deadline(&self, synced: &mut ScopeSynced) -> Option<Instant> {
        let deadline = self.timeout.deadline(self.runtime.clock()).0;
        synced.deadline = deadline;
        synced.deadline_armed = deadline.is_some() && !synced.cancel_called;
        deadline.filter(|_| synced.deadline_armed)
    }

    /// Inserts the timer armed by `arm_deadline` (outside the scope's lock).
    pub(super) fn start_timer(self: &Arc<Self>, at: Instant) {
        self.runtime
            .add_timer(at, TimerTarget::Cancel(Arc::downgrade(self)));
    }

    /// Disarms the deadline if the scope no longer needs it; true if its timer just went stale.
    pub(super) fn disarm_if_finished(synced: &mut ScopeSynced) -> bool {
        if synced.deadline_armed && (synced.cancel_called || synced.is_closed()) {
            synced.deadline_armed = false;
            return true;
        }
        false
    }

    /// The deadline on the runtime clock, once entered.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.synced().deadline
    }

    /// Whether the scope's timer should still cancel it.
    pub(crate) fn awaits_deadline(&self) -> bool {
        self.synced().deadline_armed
    }

    /// Called when the deadline passes.
    pub(crate) fn deadline_passed(&self) {
        let armed = std::mem::replace(&mut self.synced().deadline_armed, false);
        if armed {
            self.cancel(CancelReason::Deadline);
        }
    }
}
