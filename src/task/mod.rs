//! Tasks: a coroutine stack driven by the scheduler, its state word, its results and its registry.

mod join;
mod registry;
mod spawn;
mod state;
mod step;
mod task;

pub(crate) use join::{Collect, JoinGroup, JoinHandle};
pub(crate) use registry::{Slot, TaskRegistry};
pub(crate) use spawn::Spawner;
pub(crate) use state::{Epoch, Outcome};
pub(crate) use step::run_task;
pub(crate) use task::{Completion, Task};
