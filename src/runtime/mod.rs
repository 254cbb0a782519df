//! The runtime: its shared state, its options, the Python-facing `Runtime`, and which runtime the
//! current thread works for.

mod config;
pub(crate) mod current;
mod memory;
mod runtime;
mod shared;

pub(crate) use current::current_runtime;
pub(crate) use runtime::Runtime;
pub(crate) use shared::Shared;
