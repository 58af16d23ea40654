// SPDX-License-Identifier: MIT
//! The Rust side of `make bench-bindings` (bench/bindings.sh): one round of
//! Converter::convert on one request with the default configuration, as
//! bench/bindings_c.c does with p2m_convert.
//!
//! Usage: cargo run --release --example bench -- FILE MIN_MS
//! Prints "cpu_ns_per_op N wall_ns_per_op W calls C bytes_out B" (CPU time
//! of all the process's threads).
use profile2metrics::{Config, Converter};
use std::time::Instant;

/// CPU time of every thread of the process so far, in ns (the first field
/// of each /proc/self/task/*/schedstat).
fn cpu_ns() -> f64 {
    let mut sum = 0.0;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for e in dir.flatten() {
            if let Ok(s) = std::fs::read_to_string(e.path().join("schedstat")) {
                sum += s
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0);
            }
        }
    }
    sum
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: bench FILE MIN_MS");
        std::process::exit(2);
    }
    let input = std::fs::read(&args[1]).unwrap_or_else(|e| {
        eprintln!("{}: {}", args[1], e);
        std::process::exit(2)
    });
    let min_ms: f64 = args[2].parse().unwrap_or(100.0);
    let cfg = Config {
        now_unix_nano: Some(1_700_000_000_000_000_000),
        ..Config::default()
    };
    let conv = Converter::new(&cfg).unwrap_or_else(|e| {
        eprintln!("{}", e);
        std::process::exit(1)
    });
    for _ in 0..2 {
        // warm-up: pool, buffers
        conv.convert(&input).unwrap_or_else(|e| {
            eprintln!("{}", e);
            std::process::exit(1)
        });
    }
    let c0 = cpu_ns();
    let start = Instant::now();
    let mut calls = 0u64;
    let mut out;
    let elapsed = loop {
        out = conv.convert(&input).unwrap();
        calls += 1;
        let e = start.elapsed();
        if e.as_secs_f64() * 1e3 >= min_ms {
            break e;
        }
    };
    println!(
        "cpu_ns_per_op {:.0} wall_ns_per_op {:.0} calls {} bytes_out {}",
        (cpu_ns() - c0) / calls as f64,
        elapsed.as_nanos() as f64 / calls as f64,
        calls,
        out.len()
    );
}
