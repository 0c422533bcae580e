//! Scheduler benchmark: `count` real servers with one TCP_CHECK or HTTP_GET
//! each, `delay_loop 1s`, run for `seconds`; servers from bench_server.
//! Prints checks per second, CPU seconds per 10,000 checks, p50/p99
//! lateness of probe starts against their schedule, and peak RSS.
//!
//! Usage: bench tcp|http COUNT SECONDS [MAX_CONCURRENT]

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark tool: fail loudly

#[path = "bench_common/layout.rs"]
mod bench_layout;

use std::sync::Arc;
use std::time::Duration;

use checks::spec::{HttpCheck, UrlCheck};
use checks::{
    CheckKind, CheckSpec, Endpoint, NetworkProber, RealServerChecks, Report, Scheduler,
    SchedulerOptions, Timing,
};
use tokio::sync::mpsc;

/// utime + stime of this process in seconds (USER_HZ is 100 on Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_comm = stat.rsplit(')').next().unwrap();
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // Fields 14 and 15 of proc(5); after "(comm)" they are at 11 and 12.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The checker runs on a current-thread runtime, as `lvsd run` runs its
/// checks (a thread of their own, src/daemon/health.rs); `BENCH_WORKERS=N`
/// runs it on a multi-threaded runtime of N workers instead (the default
/// before 2026-11-29 was 2).
fn main() {
    let workers: usize = std::env::var("BENCH_WORKERS")
        .ok()
        .map_or(0, |w| w.parse().expect("BENCH_WORKERS"));
    let runtime = if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
    }
    .expect("runtime");
    runtime.block_on(tokio::task::unconstrained(bench(workers)));
}

async fn bench(workers: usize) {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("tcp");
    let count: usize = args.get(2).map_or(10_000, |c| c.parse().expect("COUNT"));
    let seconds: u64 = args.get(3).map_or(60, |s| s.parse().expect("SECONDS"));
    let max_concurrent: usize = args
        .get(4)
        .map_or(1024, |s| s.parse().expect("MAX_CONCURRENT"));
    let kind = match mode {
        "tcp" => CheckKind::Tcp,
        "http" => CheckKind::Http(Box::new(HttpCheck {
            urls: vec![UrlCheck::path("/")],
            ..HttpCheck::default()
        })),
        other => panic!("mode {other}: tcp or http"),
    };
    let family = kind.family();
    let timing = Timing::defaults_for(family).with_delay_loop(family, Duration::from_secs(1));
    let reals = (0..count)
        .map(|i| RealServerChecks {
            key: i,
            checks: vec![Arc::new(CheckSpec {
                kind: kind.clone(),
                endpoint: Endpoint::to(bench_layout::target(i)),
                timing: timing.clone(),
            })]
            .into(),
        })
        .collect();
    let options = SchedulerOptions {
        report_every_probe: true,
        max_concurrent,
        ..SchedulerOptions::default()
    };
    let scheduler = Scheduler::new(reals, options);
    let (tx, mut rx) = mpsc::channel(65_536);
    let cpu_start = cpu_seconds();
    let run = tokio::spawn(scheduler.run(NetworkProber, tx));
    let start = tokio::time::Instant::now();
    let end = start + Duration::from_secs(seconds);
    // Steady state: after the warmup spread and the first round.
    let steady_from = start + timing.warmup + timing.delay_loop;
    let mut steady_probes = 0u64;
    // The first second is warmup: its probes are spread over [0, 1 s).
    let mut lateness_us = Vec::with_capacity(count * seconds as usize);
    let mut latency_us = Vec::with_capacity(count * seconds as usize);
    let (mut probes, mut failures, mut downs) = (0u64, 0u64, 0u64);
    let mut first_failure = None;
    // BENCH_TIMELINE=1: lateness per second of the run, to tell a start-up
    // transient from a steady backlog.
    let timeline = std::env::var_os("BENCH_TIMELINE").is_some();
    let mut by_second: Vec<Vec<u64>> = vec![Vec::new(); seconds as usize + 1];
    while let Ok(Some(report)) = tokio::time::timeout_at(end, rx.recv()).await {
        match report {
            Report::Probes(batch) => {
                for p in batch {
                    probes += 1;
                    steady_probes += u64::from(p.started >= steady_from);
                    if !p.outcome.is_pass() {
                        failures += 1;
                        first_failure.get_or_insert(p.outcome.clone());
                    }
                    let late = p.started.saturating_duration_since(p.scheduled);
                    lateness_us.push(late.as_micros() as u64);
                    if timeline {
                        let second = p.started.saturating_duration_since(start).as_secs() as usize;
                        if let Some(bucket) = by_second.get_mut(second) {
                            bucket.push(late.as_micros() as u64);
                        }
                    }
                    latency_us.push(p.latency.as_micros() as u64);
                }
            }
            Report::Transition(t) => downs += u64::from(!t.verdict.up),
        }
    }
    let cpu = cpu_seconds() - cpu_start;
    drop(rx);
    run.abort();
    if timeline {
        for (second, bucket) in by_second.iter_mut().enumerate() {
            bucket.sort_unstable();
            println!(
                "t={second}s started={} lateness_ms p50={:.1} p99={:.1}",
                bucket.len(),
                percentile(bucket, 0.50) as f64 / 1000.0,
                percentile(bucket, 0.99) as f64 / 1000.0
            );
        }
    }
    lateness_us.sort_unstable();
    latency_us.sort_unstable();
    let per_second = probes as f64 / seconds as f64;
    println!(
        "mode={mode} real_servers={count} delay_loop=1s duration={seconds}s max_concurrent={max_concurrent} workers={workers}"
    );
    let steady_secs = end.saturating_duration_since(steady_from).as_secs_f64();
    println!(
        "checks_completed={probes} checks_per_s={per_second:.0} steady_checks_per_s={:.0}",
        steady_probes as f64 / steady_secs.max(f64::MIN_POSITIVE)
    );
    println!(
        "failures={failures} down_transitions={downs} first_failure={:?}",
        first_failure
    );
    println!(
        "cpu_s={cpu:.2} cpu_s_per_10k_checks={:.3} cpu_share_of_one_core={:.2}",
        cpu * 10_000.0 / probes.max(1) as f64,
        cpu / seconds as f64
    );
    println!(
        "lateness_ms p50={:.2} p99={:.2} max={:.2}",
        percentile(&lateness_us, 0.50) as f64 / 1000.0,
        percentile(&lateness_us, 0.99) as f64 / 1000.0,
        lateness_us.last().copied().unwrap_or(0) as f64 / 1000.0
    );
    println!(
        "probe_latency_ms p50={:.2} p99={:.2}",
        percentile(&latency_us, 0.50) as f64 / 1000.0,
        percentile(&latency_us, 0.99) as f64 / 1000.0
    );
    println!("peak_rss_mib={:.1}", peak_rss_kib() as f64 / 1024.0);
}
