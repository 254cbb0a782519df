//! Waiting: the one interface every wait source implements, the fair queue sources park waiters
//! on, the `Event` flag, and the `Waiter` a task suspends on.

mod checkpoint;
mod combined;
mod event;
mod handoff_slot;
mod internal_panic;
mod parked;
mod queue;
mod reusable;
mod source;
mod waiter;

pub(crate) use event::{Event, EventCore};
pub(crate) use handoff_slot::HandoffSlot;
pub(crate) use internal_panic::_internal_panic_waiter;
pub(crate) use parked::{Claim, Parked, ParkedTask};
pub(crate) use queue::{QueueKey, WaitQueue};
pub(crate) use reusable::ReusableWaiter;
pub(crate) use source::{Inline, OnCancel, Registered, Resumed, WaitKind, WaitSource};
pub(crate) use waiter::{sleep, sleep_until, yield_now, Taken, Waiter};
