//! The reactor: the main thread's poll loop (I/O readiness, timers, signals).

mod reactor;
mod signals;

pub(crate) use reactor::Reactor;
pub(crate) use signals::SignalWakeup;
