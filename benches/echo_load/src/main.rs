//! A closed-loop load generator for TCP echo servers, on loopback only.
//!
//! `echo_load --port P [--host 127.0.0.1] [--connections 4] [--size 1024] [--duration 3]
//! [--warmup 0.5] [--threads 1]`: opens `connections` connections, spread over `threads` threads
//! that each drive theirs with one epoll loop (`connection.rs`). Every connection sends `size`
//! bytes, reads the `size` bytes echoed back (checking them), and starts again at once, until
//! `warmup + duration` seconds have passed. Requests that end during the warm-up are not counted.
//! Prints one JSON object: requests per second, p50/p99/max latency in microseconds (from the
//! first byte sent to the last byte received), and the counts behind them (`all_requests`
//! includes the warm-up's, to divide the server's CPU time by).
//!
//! A request's latency includes any time its echo waited while the loop served the other
//! connections of its thread, as in any event-loop client (wrk's too).
//!
//! The run is bounded: a thread fails once none of its connections has had an event for 10
//! seconds (so at worst 10 s after the others finish), and the generator refuses any address
//! that is not loopback.

mod connection;
mod epoll;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

struct Options {
    address: SocketAddr,
    connections: usize,
    threads: usize,
    size: usize,
    duration: Duration,
    warmup: Duration,
}

fn usage(problem: &str) -> String {
    format!(
        "{problem}\nusage: echo_load --port P [--host 127.0.0.1] [--connections 4] \
         [--size 1024] [--duration 3] [--warmup 0.5] [--threads 1]"
    )
}

fn parse_options() -> Result<Options, String> {
    let mut host: IpAddr = [127, 0, 0, 1].into();
    let mut port: Option<u16> = None;
    let mut connections = 4;
    let mut threads = 1;
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
            "--threads" => threads = value.parse().map_err(|_| bad())?,
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
    if connections == 0 || size == 0 || threads == 0 {
        return Err(usage(
            "--connections, --size and --threads must be positive",
        ));
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
        threads: threads.min(connections),
        size,
        duration: Duration::from_secs_f64(duration),
        warmup: Duration::from_secs_f64(warmup),
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
    // Connection `i` goes to thread `i % threads`.
    let shares: Vec<Vec<usize>> = (0..options.threads)
        .map(|thread| {
            (thread..options.connections)
                .step_by(options.threads)
                .collect()
        })
        .collect();
    let outcomes: Vec<io::Result<Vec<connection::Measured>>> = thread::scope(|scope| {
        let workers: Vec<_> = shares
            .iter()
            .map(|share| {
                let options = &options;
                scope.spawn(move || connection::drive(options, start, share))
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("a load thread panicked")))
            })
            .collect()
    });
    let mut latencies = Vec::new();
    let mut all_requests = 0;
    for outcome in outcomes {
        match outcome {
            Ok(measured) => {
                for connection in measured {
                    latencies.extend(connection.latencies);
                    all_requests += connection.all_requests;
                }
            }
            Err(error) => {
                eprintln!("echo_load: to {}: {error}", options.address);
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
