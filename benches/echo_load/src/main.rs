//! A closed-loop load generator for TCP echo servers, on loopback only.
//!
//! `echo_load --port P [--host 127.0.0.1] [--connections 4] [--size 1024] [--duration 3]
//! [--warmup 0.5]`: opens `connections` connections, one thread each. Every thread sends `size`
//! bytes, reads the `size` bytes echoed back (checking them), and starts again at once, until
//! `warmup + duration` seconds have passed. Requests that end during the warm-up are not counted.
//! Prints one JSON object: requests per second, p50/p99/max latency in microseconds (from the
//! first byte sent to the last byte received), and the counts behind them (`all_requests`
//! includes the warm-up's, to divide the server's CPU time by).
//!
//! Large requests are sent in chunks while the echo is read, keeping at most `WINDOW` bytes in
//! flight: a client that wrote 100 KB before reading anything could deadlock with a server whose
//! writes block on the client's full receive buffer.
//!
//! The run is bounded: every read and write times out after `IO_TIMEOUT`, and the generator
//! refuses any address that is not loopback.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

/// The most bytes a request may have sent and not yet seen echoed before the client reads.
const WINDOW: usize = 32 * 1024;
/// The largest single write.
const CHUNK: usize = 16 * 1024;
/// How long one read or write may block before the run fails.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

struct Options {
    address: SocketAddr,
    connections: usize,
    size: usize,
    duration: Duration,
    warmup: Duration,
}

fn usage(problem: &str) -> String {
    format!(
        "{problem}\nusage: echo_load --port P [--host 127.0.0.1] [--connections 4] \
         [--size 1024] [--duration 3] [--warmup 0.5]"
    )
}

fn parse_options() -> Result<Options, String> {
    let mut host: IpAddr = [127, 0, 0, 1].into();
    let mut port: Option<u16> = None;
    let mut connections = 4;
    let mut size = 1024;
    let mut duration = 3.0;
    let mut warmup = 0.5;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| usage(&format!("{flag} needs a value")))?;
        let bad = || usage(&format!("bad value {value:?} for {flag}"));
        match flag.as_str() {
            "--host" => host = value.parse().map_err(|_| bad())?,
            "--port" => port = Some(value.parse().map_err(|_| bad())?),
            "--connections" => connections = value.parse().map_err(|_| bad())?,
            "--size" => size = value.parse().map_err(|_| bad())?,
            "--duration" => duration = value.parse().map_err(|_| bad())?,
            "--warmup" => warmup = value.parse().map_err(|_| bad())?,
            _ => return Err(usage(&format!("unknown option {flag}"))),
        }
    }
    if !host.is_loopback() {
        return Err(format!(
            "{host} is not a loopback address: this tool only loads this machine"
        ));
    }
    let port = port.ok_or_else(|| usage("--port is required"))?;
    if connections == 0 || size == 0 {
        return Err(usage("--connections and --size must be positive"));
    }
    let valid = |seconds: f64| seconds.is_finite() && (0.0..=3600.0).contains(&seconds);
    if !valid(duration) || duration == 0.0 || !valid(warmup) {
        return Err(usage(
            "--duration must be in (0, 3600] and --warmup in [0, 3600]",
        ));
    }
    Ok(Options {
        address: SocketAddr::new(host, port),
        connections,
        size,
        duration: Duration::from_secs_f64(duration),
        warmup: Duration::from_secs_f64(warmup),
    })
}

/// What one connection measured: the latency of every request that ended in the measured window,
/// and how many requests it made in all (the warm-up's too).
struct Measured {
    latencies: Vec<Duration>,
    all_requests: u64,
}

/// Sends `payload` and reads it back, with at most `WINDOW` bytes in flight.
fn round_trip(stream: &mut TcpStream, payload: &[u8], echoed: &mut [u8]) -> io::Result<()> {
    let size = payload.len();
    let (mut sent, mut received) = (0, 0);
    while received < size {
        if sent < size && sent - received < WINDOW {
            let end = (sent + CHUNK).min(size);
            stream.write_all(&payload[sent..end])?;
            sent = end;
            continue;
        }
        let read = stream.read(&mut echoed[received..sent])?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the server closed the connection after echoing {received} of {size} bytes"
                ),
            ));
        }
        if echoed[received..received + read] != payload[received..received + read] {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the echo differs from what was sent at byte {received}"),
            ));
        }
        received += read;
    }
    Ok(())
}

fn connection(options: &Options, start: Instant, index: usize) -> io::Result<Measured> {
    let mut stream = TcpStream::connect_timeout(&options.address, IO_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    // A different pattern per connection, so an echo sent to the wrong client is caught.
    let payload: Vec<u8> = (0..options.size)
        .map(|i| (i.wrapping_mul(31).wrapping_add(index * 7) % 251) as u8)
        .collect();
    let mut echoed = vec![0u8; options.size];
    let measured_from = start + options.warmup;
    let end = measured_from + options.duration;
    let mut latencies = Vec::with_capacity(1 << 16);
    let mut all_requests = 0;
    loop {
        let sent_at = Instant::now();
        if sent_at >= end {
            break;
        }
        round_trip(&mut stream, &payload, &mut echoed)?;
        let done = Instant::now();
        all_requests += 1;
        if done >= measured_from && done <= end {
            latencies.push(done - sent_at);
        }
    }
    Ok(Measured {
        latencies,
        all_requests,
    })
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e6
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("echo_load: {message}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let outcomes: Vec<io::Result<Measured>> = thread::scope(|scope| {
        let workers: Vec<_> = (0..options.connections)
            .map(|index| {
                let options = &options;
                scope.spawn(move || connection(options, start, index))
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("a connection thread panicked")))
            })
            .collect()
    });
    let mut latencies = Vec::new();
    let mut all_requests = 0;
    for (index, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Ok(measured) => {
                latencies.extend(measured.latencies);
                all_requests += measured.all_requests;
            }
            Err(error) => {
                eprintln!(
                    "echo_load: connection {index} to {}: {error}",
                    options.address
                );
                return ExitCode::FAILURE;
            }
        }
    }
    latencies.sort_unstable();
    let seconds = options.duration.as_secs_f64();
    println!(
        "{{\"connections\": {}, \"size\": {}, \"seconds\": {seconds}, \"requests\": {}, \
         \"requests_per_s\": {:.1}, \"p50_us\": {:.1}, \"p99_us\": {:.1}, \"max_us\": {:.1}, \
         \"all_requests\": {all_requests}}}",
        options.connections,
        options.size,
        latencies.len(),
        latencies.len() as f64 / seconds,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );
    ExitCode::SUCCESS
}
