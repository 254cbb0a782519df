//! The worker loop: N identical threads, each popping runnable tasks and driving them.
//!
//! A worker stays attached to the interpreter while it has work (on GIL builds it holds the GIL,
//! which CPython's eval loop still hands over to other threads at its switch interval) and
//! detaches only to park. Workers live as long as their runtime, across `run_until_complete`
//! calls.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::JoinHandle;

use pyo3::prelude::*;

use crate::runtime::{current, Shared};
use crate::task::run_task;

pub(crate) fn spawn_workers(shared: &Arc<Shared>) -> std::io::Result<Vec<JoinHandle<()>>> {
    (0..shared.config.threads)
        .map(|index| {
            let shared = Arc::clone(shared);
            std::thread::Builder::new()
                .name(format!("tonio-worker-{index}"))
                .spawn(move || worker_main(shared, index))
        })
        .collect()
}

fn worker_main(shared: Arc<Shared>, index: usize) {
    shared.idle().register_current(index);
    current::enter_worker(Arc::clone(&shared), index);
    Python::attach(|py| {
        let mut tick: u32 = 0;
        loop {
            tick = tick.wrapping_add(1);
            if shared.has_graves() {
                shared.bury();
            }
            if let Some(task) = shared.queues().pop(index, tick) {
                // `run_task` fails the task on a panic while it owns it; one escaping anyway is a
                // bug in tonio: report it and keep the worker alive.
                if catch_unwind(AssertUnwindSafe(|| run_task(py, task))).is_err() {
                    eprintln!("tonio: internal error while running a task (see the panic above)");
                }
                continue;
            }
            if shared.is_shutting_down() {
                break;
            }
            py.detach(|| {
                shared.idle().park(index, || {
                    if shared.clock().is_virtual() {
                        // Now counted as sleeping: let the reactor see whether everyone is, so
                        // the virtual clock can jump.
                        shared.reactor().wake();
                    }
                    shared.queues().has_work() || shared.has_graves() || shared.is_shutting_down()
                })
            });
        }
    });
    current::exit();
}
