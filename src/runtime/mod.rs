//! The runtime: its shared state, its options, the Python-facing `Runtime`, and which runtime the
//! current thread works for.

mod config;
pub(crate) mod current;
mod memory;
mod runtime;
mod shared;
mod stats;

pub(crate) use current::{
    calling_runtime, current_runtime, is_current_runtime, on_worker, running_task,
    with_current_runtime, with_running_task, Polling, RunningTask,
};
pub(crate) use runtime::Runtime;
pub(crate) use shared::Shared;
pub(crate) use stats::_runtime_stats;
