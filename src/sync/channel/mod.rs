//! Channels: a buffer of messages between tasks, with parked senders and receivers.
//!
//! `core.rs` holds the buffer and both wait queues (the invariants live there), `wait.rs` the
//! wait sources of `receive` and `send` (made once per channel end; a message in transit lives in
//! the task's `HandoffSlot`), `sender.rs` and `receiver.rs` the Python faces, `sentinels.rs` the
//! `Full`/`Empty`/`Closed` markers of the non-blocking calls.

mod core;
mod receiver;
mod sender;
mod sentinels;
mod wait;

pub(crate) use receiver::ChannelReceiver;
pub(crate) use sender::{channel, unbounded_channel, ChannelSender, UnboundedChannelSender};
pub(crate) use sentinels::{ChannelClosed, ChannelEmpty, ChannelFull};
