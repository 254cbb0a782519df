//! The readiness word of a registered file descriptor: what the reactor has seen, and when.
//!
//! ```text
//!  bit 0     READABLE      data (or a connection, or EOF) can be read
//!  bit 1     WRITABLE      data can be written
//!  bit 2     READ_CLOSED   the peer closed its writing side (EOF), or the fd hung up
//!  bit 3     WRITE_CLOSED  the fd can no longer be written (hang-up, reset)
//!  bit 4     ERROR         the fd reported an error
//!  bits 16-63 tick          bumped at every event the reactor records
//! ```
//!
//! mio is edge-triggered: an event arrives once per change, so what it reported must be kept
//! until the task that reads or writes finds the fd exhausted (`EWOULDBLOCK`) and clears it. The
//! tick makes that safe (tokio's readiness-with-tick): a task snapshots the word before its
//! syscall and clears a direction only if the tick has not moved since; an event that arrived in
//! between (after the failed read, before the clear) bumped the tick, so the clear does nothing
//! and the readiness is not lost.

use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) const READABLE: u64 = 1;
pub(crate) const WRITABLE: u64 = 1 << 1;
pub(crate) const READ_CLOSED: u64 = 1 << 2;
pub(crate) const WRITE_CLOSED: u64 = 1 << 3;
pub(crate) const ERROR: u64 = 1 << 4;
const BITS: u64 = 0xffff;
const TICK_SHIFT: u32 = 16;

/// A direction of I/O.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The bits that make a direction ready: its own, and the hang-ups and errors that make the
    /// next syscall return at once (with the data left, EOF or the error).
    pub(crate) fn mask(self) -> u64 {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }

    /// What a syscall that would block clears: the direction's readiness, and its hang-up and
    /// error too, since a descriptor at end of file, hung up or in error does not block (its
    /// syscall returns at once). A stale hang-up (the one a socket reports before it connects)
    /// can therefore never keep a direction "ready" for a syscall that blocks.
    fn clearable(self) -> u64 {
        self.mask()
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Direction::Read => 0,
            Direction::Write => 1,
        }
    }
}

/// A snapshot of the word: its bits and the tick they were read at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Observed(u64);

impl Observed {
    /// The snapshot as one word (to keep it in an atomic), and back.
    pub(crate) fn word(self) -> u64 {
        self.0
    }

    pub(crate) fn from_word(word: u64) -> Self {
        Self(word)
    }

    pub(crate) fn is_ready(self, direction: Direction) -> bool {
        self.0 & direction.mask() != 0
    }

    /// Whether a hang-up or an error was seen: those stay until a syscall reports them.
    pub(crate) fn has_hangup_or_error(self) -> bool {
        self.0 & (READ_CLOSED | WRITE_CLOSED | ERROR) != 0
    }

    pub(crate) fn tick(self) -> u64 {
        self.0 >> TICK_SHIFT
    }
}

#[derive(Default)]
pub(crate) struct Readiness(AtomicU64);

impl Readiness {
    pub(crate) fn observe(&self) -> Observed {
        Observed(self.0.load(Ordering::Acquire))
    }

    /// Records an event (reactor): sets `bits` and bumps the tick.
    pub(crate) fn record(&self, bits: u64) {
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                let tick = (word >> TICK_SHIFT).wrapping_add(1);
                Some((tick << TICK_SHIFT) | (word & BITS) | bits)
            });
    }

    /// Clears `direction` if nothing was recorded since `seen` (a syscall found the fd
    /// exhausted). Returns whether it cleared.
    pub(crate) fn clear(&self, direction: Direction, seen: Observed) -> bool {
        let mut word = self.0.load(Ordering::Acquire);
        loop {
            if word >> TICK_SHIFT != seen.tick() {
                return false;
            }
            let next = word & !direction.clearable();
            match self
                .0
                .compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(actual) => word = actual,
            }
        }
    }

    /// Clears `direction` whatever the tick, returning whether it was ready (`consume_r`).
    pub(crate) fn consume(&self, direction: Direction) -> bool {
        let previous = self.0.fetch_and(!direction.clearable(), Ordering::AcqRel);
        previous & direction.clearable() != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_between_a_failed_syscall_and_the_clear_is_kept() {
        let readiness = Readiness::default();
        readiness.record(READABLE);
        let seen = readiness.observe();
        assert!(seen.is_ready(Direction::Read));
        // The read fails with EWOULDBLOCK, but new data arrives before the task clears.
        readiness.record(READABLE);
        assert!(!readiness.clear(Direction::Read, seen));
        assert!(readiness.observe().is_ready(Direction::Read));
        let seen = readiness.observe();
        assert!(readiness.clear(Direction::Read, seen));
        assert!(!readiness.observe().is_ready(Direction::Read));
    }

    #[test]
    fn hang_ups_and_errors_make_both_directions_ready_until_a_syscall_blocks() {
        let readiness = Readiness::default();
        readiness.record(READ_CLOSED | WRITE_CLOSED);
        let seen = readiness.observe();
        assert!(seen.is_ready(Direction::Read) && seen.is_ready(Direction::Write));
        // A read that blocked proves the hang-up stale: it is cleared with the readability.
        assert!(readiness.clear(Direction::Read, seen));
        assert!(!readiness.observe().is_ready(Direction::Read));
        assert!(readiness.observe().is_ready(Direction::Write));
    }

    #[test]
    fn consume_reports_and_clears() {
        let readiness = Readiness::default();
        assert!(!readiness.consume(Direction::Write));
        readiness.record(WRITABLE);
        assert!(readiness.consume(Direction::Write));
        assert!(!readiness.observe().is_ready(Direction::Write));
    }
}
