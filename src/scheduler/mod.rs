//! The scheduler: run queues, idle workers, the worker loop, and the I/O budget.

pub(crate) mod budget;
mod idle;
mod queues;
mod worker;

pub(crate) use idle::Idle;
pub(crate) use queues::RunQueues;
pub(crate) use worker::spawn_workers;
