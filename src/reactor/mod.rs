//! The reactor: the driver poll that idle workers turn (I/O readiness, timers), the lobby where
//! the thread that called `run_until_complete` waits (signals, the end of the run), and the
//! registered file descriptors.
//!
//! `reactor.rs` owns the polls and their handles; `driver.rs` is one turn of the driver poll;
//! `lobby.rs` is the caller's wait; `io_registry.rs` maps event tokens to registered descriptors
//! (`scheduled_io.rs`: readiness and parked tasks per descriptor, `readiness.rs`: the readiness
//! word with ticks); `signal_wakeup.rs` is the signal wakeup fd.

mod driver;
mod io_registry;
mod lobby;
mod reactor;
mod readiness;
mod scheduled_io;
mod signal_wakeup;

pub(crate) use driver::Wait;
pub(crate) use io_registry::IoToken;
pub(crate) use reactor::Reactor;
pub(crate) use readiness::Direction;
pub(crate) use scheduled_io::{closed_while_waiting, IoCore, ReadyWait};
pub(crate) use signal_wakeup::SignalWakeup;
