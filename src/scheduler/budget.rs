//! The I/O budget: how many reads and writes a task may complete at once (without suspending) in
//! one run before it lets the other tasks of its worker go first.
//!
//! A socket task whose peer answers quickly may find data ready after every write, and then never
//! suspends: it would serve its connection round after round while the other connections of its
//! worker wait, which shows as a long latency tail on a loaded machine. With the budget spent, a
//! read or write that could complete at once waits instead; its descriptor being ready, the wait
//! ends at once and the task goes to the back of the run queue, doing the syscall when it runs
//! again. (tokio's cooperative budget, counted in I/O operations.)

use std::cell::Cell;

/// Reads and writes completed at once per run.
const BUDGET: u32 = 8;

thread_local! {
    static SPENT: Cell<u32> = const { Cell::new(0) };
}

/// A worker starts running a task: a fresh budget.
pub(crate) fn refill() {
    SPENT.with(|spent| spent.set(0));
}

/// Spends one unit for an I/O operation about to complete at once; false if none is left.
pub(crate) fn spend() -> bool {
    SPENT.with(|spent| {
        let used = spent.get();
        if used >= BUDGET {
            return false;
        }
        spent.set(used + 1);
        true
    })
}
