//! Time: the runtime clock and the timer heap the reactor fires.

mod clock;
mod timers;

pub(crate) use clock::time;
pub(crate) use timers::{Armed, Timers};
