//! The lobby: where the thread that called `run_until_complete` waits while workers run the
//! tasks and turn the driver poll. It wakes when the run may be over (`Reactor::wake_lobby`: the
//! root task finished, or the last task did) and when a signal arrives (Python's wakeup fd is
//! registered here, and the signal's C handler interrupts the wait with EINTR); the caller then
//! runs Python's handlers.
//!
//! It is also the timers' backstop. An idle worker turns the driver poll, and a busy one looks at
//! it between tasks; but tasks that never yield (a loop polling `scope.cancelled` until its
//! deadline passes) can keep every worker from doing either. So while a timer is pending, the
//! lobby's wait ends at the next deadline (`BACKSTOP` after it while a worker sleeps in the driver
//! poll, since that worker fires it; every `BACKSTOP` under the virtual clock), and if no worker
//! sleeps in the driver poll then, the waiting thread looks at the poll itself, without waiting
//! in it (so it never keeps an idle worker from taking it). `Shared::add_timer` wakes the lobby
//! whenever the earliest deadline moves earlier, so its wait never ends too late.

use std::io;
use std::time::Duration;

use super::driver::Wait;
use super::reactor::{lock, PollState, Reactor, SIGNAL};
use crate::runtime::Shared;

/// How long past a deadline the lobby waits for the worker in the driver poll to fire it.
const BACKSTOP: Duration = Duration::from_millis(10);

impl Reactor {
    /// Waits until woken or signalled (see the module doc for the timer backstop); returns
    /// whether a signal arrived.
    pub(crate) fn wait_in_lobby(&self, shared: &Shared) -> bool {
        let driven = shared.idle().is_driven();
        let clock = shared.clock();
        let timeout = shared.timers().next_deadline().map(|at| {
            let left = at.saturating_duration_since(clock.now());
            match () {
                // Virtual time passes only when everyone waits, and then the driver jumps it:
                // look again only if a deadline is due already (every worker busy meanwhile).
                _ if clock.is_virtual() && left.is_zero() => left,
                _ if clock.is_virtual() => BACKSTOP,
                // A worker sleeping in the driver poll fires the timer: look only once it is
                // overdue (that worker may have gone busy for good).
                _ if driven => left + BACKSTOP,
                _ => left,
            }
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
