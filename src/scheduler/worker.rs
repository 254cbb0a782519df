//! The worker loop: N identical threads, each popping runnable tasks and driving them.
//!
//! A worker stays attached to the interpreter while it has work (on GIL builds it holds the GIL,
//! which CPython's eval loop still hands over to other threads at its switch interval) and
//! detaches only to sleep. An idle worker sleeps in the driver poll when no other worker does
//! (see `idle.rs`), else parks; a busy one looks at the driver poll without waiting every
//! `POLL_INTERVAL` tasks, so I/O and timers are seen even when no worker is ever idle. Workers
//! live as long as their runtime, across `run_until_complete` calls.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::JoinHandle;

use pyo3::prelude::*;

use crate::reactor::Wait;
use crate::runtime::{current, Shared};
use crate::task::run_task;

/// A busy worker looks at the driver poll once every this many tasks (tokio's event interval).
const POLL_INTERVAL: u32 = 61;

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
            if tick % POLL_INTERVAL == 0 {
                if let Some(driver) = shared.reactor().try_drive() {
                    driver.turn(&shared, Wait::Never, || {});
                    shared.hand_off_driver();
                }
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
            py.detach(|| sleep_until_work(&shared, index));
        }
    });
    current::exit();
}

fn has_reason_to_wake(shared: &Shared) -> bool {
    shared.queues().has_work() || shared.has_graves() || shared.is_shutting_down()
}

/// Sleeps (detached) until there is something to do: in the driver poll if nobody else turns
/// it, else parked. Stays detached across wakeups that bring no work, so an idle worker does not
/// take the GIL from a busy one only to find nothing.
fn sleep_until_work(shared: &Shared, index: usize) {
    let idle = shared.idle();
    loop {
        let (sleep, driver) = idle.announce(
            index,
            || shared.reactor().try_drive(),
            || has_reason_to_wake(shared),
        );
        let drove = driver.is_some();
        match (sleep, driver) {
            (true, Some(driver)) => driver.turn(shared, Wait::UntilEvent, || idle.leave(index)),
            (true, None) => {
                if shared.clock().is_virtual() {
                    // Now counted as sleeping: let the driver see whether everyone is, so the
                    // virtual clock can jump.
                    shared.reactor().wake();
                }
                idle.park();
            }
            (false, driver) => drop(driver),
        }
        idle.leave(index);
        if has_reason_to_wake(shared) {
            if drove {
                // Off to run tasks: a sleeping worker takes the poll over.
                shared.hand_off_driver();
            }
            return;
        }
    }
}
