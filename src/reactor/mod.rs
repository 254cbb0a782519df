//! The reactor: the main thread's poll loop (I/O readiness, timers, signals) and the registered
//! file descriptors it reports on.
//!
//! `reactor.rs` is the loop; `io_registry.rs` maps event tokens to registered descriptors
//! (`scheduled_io.rs`: readiness and parked tasks per descriptor, `readiness.rs`: the readiness
//! word with ticks); `signal_wakeup.rs` is the signal wakeup fd.

mod io_registry;
mod reactor;
mod readiness;
mod scheduled_io;
mod signal_wakeup;

pub(crate) use io_registry::IoToken;
pub(crate) use reactor::Reactor;
pub(crate) use readiness::Direction;
pub(crate) use scheduled_io::{closed_while_waiting, IoCore, ReadyWait};
pub(crate) use signal_wakeup::SignalWakeup;
