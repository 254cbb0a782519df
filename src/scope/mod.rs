//! Scopes: structured concurrency and cancellation (`scope`, `move_on_after`, `fail_after`).
//!
//! `core.rs` holds `ScopeCore` (its state and `cancel`); `body.rs` the cancel scope over the
//! owner's code; `children.rs` the tasks spawned into it and the wait for them; `deadline.rs` its
//! timeout; `scope.rs` the Python `Scope`.

mod body;
mod children;
mod core;
mod deadline;
mod scope;

pub(crate) use core::{CancelReason, ChildSlot, ScopeCore};
pub(crate) use scope::Scope;
