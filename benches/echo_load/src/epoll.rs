//! The little of Linux's epoll the load generator needs, declared by hand so the tool keeps to
//! the standard library: one epoll instance per thread, level-triggered interest per connection.

#[cfg(not(target_os = "linux"))]
compile_error!("echo_load uses Linux's epoll (benches/echo_load/src/epoll.rs)");

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

pub const READABLE: u32 = 0x001; // EPOLLIN
pub const WRITABLE: u32 = 0x004; // EPOLLOUT
const CTL_ADD: i32 = 1;
const CTL_DEL: i32 = 2;
const CTL_MOD: i32 = 3;
const CLOEXEC: i32 = 0o2_000_000;

/// `struct epoll_event`: packed on x86-64 (the kernel's layout there), natural elsewhere.
#[cfg_attr(target_arch = "x86_64", repr(C, packed))]
#[cfg_attr(not(target_arch = "x86_64"), repr(C))]
#[derive(Clone, Copy)]
pub struct Event {
    events: u32,
    data: u64,
}

impl Event {
    pub const EMPTY: Event = Event { events: 0, data: 0 };

    pub fn key(&self) -> usize {
        self.data as usize
    }
}

extern "C" {
    fn epoll_create1(flags: i32) -> i32;
    fn epoll_ctl(epfd: i32, op: i32, fd: i32, event: *mut Event) -> i32;
    fn epoll_wait(epfd: i32, events: *mut Event, maxevents: i32, timeout: i32) -> i32;
}

fn check(result: i32) -> io::Result<i32> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

pub struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    pub fn new() -> io::Result<Self> {
        // SAFETY: epoll_create1 takes no pointers; a non-negative result is a new descriptor
        // that nothing else owns, so `OwnedFd` may take it.
        let fd = check(unsafe { epoll_create1(CLOEXEC) })?;
        // SAFETY: see above: `fd` is open and ours alone.
        Ok(Self {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    fn control(&self, op: i32, fd: RawFd, interest: u32, key: usize) -> io::Result<()> {
        let mut event = Event {
            events: interest,
            data: key as u64,
        };
        // SAFETY: `event` is a valid `epoll_event` for the duration of the call, which only
        // reads it.
        check(unsafe { epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut event) })?;
        Ok(())
    }

    /// Watches `fd` for `interest`, reporting it as `key`.
    pub fn add(&self, fd: RawFd, interest: u32, key: usize) -> io::Result<()> {
        self.control(CTL_ADD, fd, interest, key)
    }

    /// Changes what `fd` is watched for.
    pub fn modify(&self, fd: RawFd, interest: u32, key: usize) -> io::Result<()> {
        self.control(CTL_MOD, fd, interest, key)
    }

    /// Stops watching `fd`.
    pub fn remove(&self, fd: RawFd) -> io::Result<()> {
        self.control(CTL_DEL, fd, 0, 0)
    }

    /// Fills `events` with what is ready, waiting up to `timeout`; returns how many.
    pub fn wait(&self, events: &mut [Event], timeout: Duration) -> io::Result<usize> {
        let millis = timeout.as_millis().min(i32::MAX as u128) as i32;
        let capacity = events.len().min(i32::MAX as usize) as i32;
        loop {
            // SAFETY: `events` is writable for `capacity` entries, the most the kernel fills.
            match check(unsafe {
                epoll_wait(self.fd.as_raw_fd(), events.as_mut_ptr(), capacity, millis)
            }) {
                Ok(count) => return Ok(count as usize),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        }
    }
}
