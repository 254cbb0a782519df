//! Synchronization primitives and channels, every one on the same fair wait queue.
//!
//! Each primitive keeps its waiters in one `WaitQueue` (`crate::wait`) behind its own mutex and
//! waits through its own `WaitSource`; none is combinable (their wakes hand something over). The
//! one hand-off step they share, and why it makes them cancel-safe, is in `handoff.rs`: a new
//! primitive adds logic there, not another queue, and the step function does not change for it.
//!
//! - `permits.rs`: a FIFO pool of permits, the core of `lock.rs` (one) and `semaphore.rs` (n).
//! - `condition.rs`: wait/notify on a Lock, moving notified waiters to the lock's queue.
//! - `rwlock.rs`: readers or one writer, one queue of both.
//! - `barrier.rs`: n tasks meet, round after round.
//! - `channel/`: bounded and unbounded channels.
//! - `guard.rs`: the Guard an acquisition resumes with, and the `Done` awaitable.
//! - `statistics.rs`: what `statistics()` returns.

mod barrier;
mod channel;
mod condition;
mod guard;
mod handoff;
mod lock;
mod permits;
mod rwlock;
mod semaphore;
mod statistics;

use pyo3::prelude::*;

/// Adds this area's classes and functions to `tonio._tonio`.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<lock::Lock>()?;
    module.add_class::<semaphore::Semaphore>()?;
    module.add_class::<condition::Condition>()?;
    module.add_class::<rwlock::RWLock>()?;
    module.add_class::<rwlock::RWLockAccess>()?;
    module.add_class::<barrier::Barrier>()?;
    module.add_class::<guard::Guard>()?;
    module.add_class::<guard::Done>()?;
    module.add_class::<statistics::LockStatistics>()?;
    module.add_class::<statistics::SemaphoreStatistics>()?;
    module.add_class::<statistics::RWLockStatistics>()?;
    module.add_class::<statistics::ChannelStatistics>()?;
    module.add_class::<channel::ChannelSender>()?;
    module.add_class::<channel::UnboundedChannelSender>()?;
    module.add_class::<channel::ChannelReceiver>()?;
    module.add_class::<channel::ChannelClosed>()?;
    module.add_class::<channel::ChannelEmpty>()?;
    module.add_class::<channel::ChannelFull>()?;
    module.add_function(wrap_pyfunction!(channel::channel, module)?)?;
    module.add_function(wrap_pyfunction!(channel::unbounded_channel, module)?)?;
    Ok(())
}
