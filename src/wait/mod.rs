//! Waiting: the `Event` flag and the `Waiter` a task suspends on.

mod event;
mod waiter;

pub(crate) use event::{Event, EventCore, Registered};
pub(crate) use waiter::{sleep, sleep_until, yield_now, WaitKind, Waiter};
