//! Time: the runtime clock (real or virtual), deadlines, and the timer heap the reactor fires.

mod clock;
mod deadline;
mod timers;

pub(crate) use clock::{instant_at, instant_at_nanos, nanos_at, seconds_at, time, Clock};
pub(crate) use deadline::{Deadline, Timeout};
pub(crate) use timers::{Armed, TimerTarget, Timers};
