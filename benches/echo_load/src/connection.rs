//! One thread's share of the connections, driven by one epoll loop: each connection sends a
//! request, reads the echo back (checking it), records the latency and starts the next request
//! at once, until the run ends.
//!
//! Non-blocking sockets and one thread for many connections: a thread per connection blocked in
//! `read` made every echo wake a sleeping thread, and that wake-up (paid by the server's `write`,
//! on the server's clock) plus the client's own switching cost as much CPU as the server itself.
//! On a small machine the client then took the cores the server needed, and the rates measured
//! the CPU split rather than the server.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use crate::epoll::{Epoll, Event, READABLE, WRITABLE};
use crate::Options;

/// The most bytes a request may have sent and not yet seen echoed: a client that wrote 100 KB
/// before reading anything could deadlock with a server whose writes block on the client's full
/// receive buffer.
const WINDOW: usize = 32 * 1024;
/// The largest single write.
const CHUNK: usize = 16 * 1024;
/// How long a thread may go without an event on any of its connections before the run fails.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// What one connection measured: the latency of every request that ended in the measured window,
/// and how many requests it made in all (the warm-up's too).
pub struct Measured {
    pub latencies: Vec<Duration>,
    pub all_requests: u64,
}

struct Connection {
    /// Its position in the thread's list, and its key in epoll.
    key: usize,
    stream: TcpStream,
    payload: Vec<u8>,
    echoed: Vec<u8>,
    sent: usize,
    received: usize,
    sent_at: Instant,
    /// Whether epoll watches this connection for writability too (only while a write blocked).
    watching_writes: bool,
    done: bool,
    measured: Measured,
}

impl Connection {
    fn open(options: &Options, index: usize, key: usize) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&options.address, IO_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        // A different pattern per connection, so an echo sent to the wrong client is caught.
        let payload: Vec<u8> = (0..options.size)
            .map(|i| (i.wrapping_mul(31).wrapping_add(index * 7) % 251) as u8)
            .collect();
        Ok(Self {
            key,
            stream,
            echoed: vec![0u8; payload.len()],
            payload,
            sent: 0,
            received: 0,
            sent_at: Instant::now(),
            watching_writes: false,
            done: false,
            measured: Measured {
                latencies: Vec::with_capacity(1 << 16),
                all_requests: 0,
            },
        })
    }

    /// Writes what the window allows; returns whether a write would block with more to send.
    fn send(&mut self) -> io::Result<bool> {
        let size = self.payload.len();
        while self.sent < size && self.sent - self.received < WINDOW {
            let end = (self.sent + CHUNK).min(size).min(self.received + WINDOW);
            match self.stream.write(&self.payload[self.sent..end]) {
                Ok(written) => self.sent += written,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(false)
    }

    /// Reads what the server echoed so far; returns whether the request is complete.
    fn receive(&mut self) -> io::Result<bool> {
        let size = self.payload.len();
        while self.received < self.sent {
            let (from, to) = (self.received, self.sent);
            match self.stream.read(&mut self.echoed[from..to]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the server closed the connection after echoing {from} of {size} bytes"
                        ),
                    ))
                }
                Ok(read) => {
                    if self.echoed[from..from + read] != self.payload[from..from + read] {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("the echo differs from what was sent at byte {from}"),
                        ));
                    }
                    self.received += read;
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(self.received == size)
    }

    /// Moves this connection as far as it can go without waiting: finishes requests, records
    /// them and starts the next, until the socket has nothing more to give or take.
    fn advance(&mut self, epoll: &Epoll, window: (Instant, Instant)) -> io::Result<()> {
        let (measured_from, end) = window;
        loop {
            let blocked = self.send()?;
            let received = self.received;
            if !self.receive()? {
                if self.received > received && !blocked && self.sent < self.payload.len() {
                    continue; // the echo opened the window: send more before waiting
                }
                if blocked != self.watching_writes {
                    let interest = if blocked {
                        READABLE | WRITABLE
                    } else {
                        READABLE
                    };
                    epoll.modify(self.stream.as_raw_fd(), interest, self.key)?;
                    self.watching_writes = blocked;
                }
                return Ok(());
            }
            let finished = Instant::now();
            self.measured.all_requests += 1;
            if finished >= measured_from && finished <= end {
                self.measured.latencies.push(finished - self.sent_at);
            }
            if finished >= end {
                self.done = true;
                return epoll.remove(self.stream.as_raw_fd());
            }
            self.sent = 0;
            self.received = 0;
            self.sent_at = finished;
        }
    }
}

/// Runs the connections numbered `indices` until the run ends; what each measured, in order.
pub fn drive(options: &Options, start: Instant, indices: &[usize]) -> io::Result<Vec<Measured>> {
    let epoll = Epoll::new()?;
    let mut connections = Vec::with_capacity(indices.len());
    for (key, &index) in indices.iter().enumerate() {
        let connection = Connection::open(options, index, key).map_err(|err| named(index, err))?;
        epoll.add(connection.stream.as_raw_fd(), READABLE, key)?;
        connections.push(connection);
    }
    let measured_from = start + options.warmup;
    let window = (measured_from, measured_from + options.duration);
    for (position, connection) in connections.iter_mut().enumerate() {
        connection.sent_at = Instant::now();
        connection
            .advance(&epoll, window)
            .map_err(|err| named(indices[position], err))?;
    }
    let mut events = vec![Event::EMPTY; indices.len().max(1)];
    let mut last_progress = Instant::now();
    while connections.iter().any(|connection| !connection.done) {
        let ready = epoll.wait(&mut events, Duration::from_millis(100))?;
        if ready == 0 {
            if last_progress.elapsed() > IO_TIMEOUT {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no echo for {IO_TIMEOUT:?}"),
                ));
            }
            continue;
        }
        last_progress = Instant::now();
        for event in &events[..ready] {
            let key = event.key();
            let connection = &mut connections[key];
            if !connection.done {
                connection
                    .advance(&epoll, window)
                    .map_err(|err| named(indices[key], err))?;
            }
        }
    }
    Ok(connections
        .into_iter()
        .map(|connection| connection.measured)
        .collect())
}

fn named(index: usize, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), format!("connection {index}: {err}"))
}
