//! The scheduler: run queues, parking of idle workers, and the worker loop.

mod idle;
mod queues;
mod worker;

pub(crate) use idle::Idle;
pub(crate) use queues::RunQueues;
pub(crate) use worker::spawn_workers;
