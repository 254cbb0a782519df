//! Tasks: a coroutine stack driven by the scheduler, its state word, where its result goes, and
//! the registry of live tasks.
//!
//! `driver.rs` is the step function (the only code that resumes Python coroutines), helped by
//! `dispatch.rs` (what a yielded object means) and `completion.rs` (finishing). `spawned.rs` is
//! the Python `Spawned` (the results of one `spawn`), `spawn.rs` the `spawn` object itself.

mod completion;
mod dispatch;
mod driver;
mod registry;
mod spawn;
mod spawned;
mod state;
mod task;

pub(crate) use driver::run_task;
pub(crate) use registry::{Slot, TaskRegistry};
pub(crate) use spawn::{_check_coroutines, _report_unraisable, check_argument, Spawn};
pub(crate) use spawned::{Collect, Spawned, SpawnedCore};
pub(crate) use state::{Epoch, Outcome, Tag, Wake};
pub(crate) use task::{Completion, Task};
