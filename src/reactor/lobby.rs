//! The lobby: where the thread that called `run_until_complete` waits while workers run the
//! tasks and turn the driver poll. It wakes when the run may be over (`Reactor::wake_lobby`: the
//! root task finished, or the last task did) and when a signal arrives (Python's wakeup fd is
//! registered here, and the signal's C handler interrupts the wait with EINTR); the caller then
//! runs Python's handlers.
//!
//! It is also the timers' backstop. An idle worker turns the driver poll, and a busy one looks at
//! it between tasks; but tasks that never yield (a loop polling `scope.cancelled` until its
//! deadline passes) can keep every worker from doing either. So while a timer is pending, the
//! lobby's wait ends at the next deadline or after `BACKSTOP`, whichever comes first (only after
//! `BACKSTOP` while a worker sleeps in the driver poll: that worker fires the timers while it
//! stays there), and
//! if no worker sleeps in the driver poll then, the waiting thread looks at the poll itself,
//! without waiting in it (so it never keeps an idle worker from taking it). `Shared::add_timer`
//! wakes the lobby when its wait would end too late.

use std::io;
use std::time::Duration;

use super::driver::Wait;
use super::reactor::{lock, PollState, Reactor, SIGNAL};
use crate::runtime::Shared;

/// The longest the lobby waits while a timer is pending and no worker turns the driver poll.
const BACKSTOP: Duration = Duration::from_millis(10);

impl Reactor {
    /// Waits until woken or signalled (see the module doc for the timer backstop); returns
    /// whether a signal arrived.
    pub(crate) fn wait_in_lobby(&self, shared: &Shared) -> bool {
        // While a worker sleeps in the driver poll it fires the timers: look only every
        // `BACKSTOP`, in case it goes busy for good.
        let driven = shared.idle().is_driven();
        let timeout = shared.timers().next_deadline().map(|at| match driven {
            true => BACKSTOP,
            false => at
                .saturating_duration_since(shared.clock().now())
                .min(BACKSTOP),
        });
        let signalled = {
            let mut lobby = lock(&self.lobby);
            let Some(PollState { poll, events }) = lobby.as_mut() else {
                return false;
            };
            match poll.poll(events, timeout) {
                Ok(()) => events.iter().any(|event| event.token() == SIGNAL),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => true,
                Err(err) => {
                    eprintln!("tonio: lobby poll failed: {err}");
                    std::thread::sleep(Duration::from_millis(10));
                    false
                }
            }
        };
        if timeout.is_some() && !shared.idle().is_driven() {
            if let Some(driver) = self.try_drive() {
                driver.turn(shared, Wait::Never, || {});
                shared.hand_off_driver();
            }
        }
        signalled
    }
}
