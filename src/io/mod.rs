//! File descriptors from Python: `tonio.io.register` and `ScheduledIO` (the readiness protocol
//! TonIO exposes), and the reads and writes streams run in Rust.

mod scheduled_io;
mod transfer;

pub(crate) use scheduled_io::{register, ScheduledIO};
