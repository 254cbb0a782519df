//! Signals as tasks receive them: `signal_receiver(*signals)` for the signals a runtime
//! listens to (`signals=[...]`). `hub.rs` routes each signal number to the receivers open for it;
//! `receiver.rs` is the Python `SignalReceiver`; `handlers.rs` keeps
//! the listened signals away from their default actions while the runtime runs.

mod handlers;
mod hub;
mod receiver;

pub(crate) use handlers::SignalHandlers;
pub(crate) use hub::SignalHub;
pub(crate) use receiver::{signal_receiver, SignalReceiver};
