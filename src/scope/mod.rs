//! Scopes: structured concurrency and cancellation (`scope`, `move_on_after`, `fail_after`).

mod core;
mod scope;

pub(crate) use core::{CancelReason, ChildSlot, ScopeCore};
pub(crate) use scope::Scope;
