//! Blocking work: the thread pool, and the calls that use it or block on the runtime
//! (`spawn_blocking`, `map_blocking`, `block_on`).

mod calls;
mod interrupt;
mod pool;

pub(crate) use calls::{block_on, map_blocking, SpawnBlocking};
pub(crate) use interrupt::CallControl;
pub(crate) use pool::BlockingPool;
