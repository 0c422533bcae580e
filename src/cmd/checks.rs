//! `lvsd checks -f FILE [--once] [--json]`: runs the configuration's health
//! checkers and prints each real server's verdict, reason and latency. A
//! debugging aid; it touches neither IPVS nor VRRP.
//!
//! [`plan`] names the real servers of the daemon's own conversion
//! ([`crate::config::director_config`]), so this shows what the daemon runs.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use checks::{CheckSpec, Outcome, RealServerChecks, Report, Scheduler};
use clap::Args;
use conf::model::Config;

use super::check::Source;

/// `lvsd checks` arguments.
#[derive(Debug, Args)]
pub struct ChecksArgs {
    #[command(flatten)]
    pub source: Source,
    /// Probe every checker once, print the table and exit (1 if any fails).
    #[arg(long)]
    pub once: bool,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A real server of the plan, named for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServerName {
    pub virtual_server: String,
    pub real_server: String,
}

/// Every real server with its checkers, named `VIP:PORT` / `RIP:PORT`.
pub fn plan(config: &Config) -> Result<Vec<RealServerChecks<RealServerName>>, Vec<String>> {
    let director = crate::config::director_config(config)?;
    Ok(director
        .checks
        .into_iter()
        .map(|real| {
            let (vs_index, real_index) = real.key;
            let vs = director.virtual_servers.get(vs_index);
            let name = RealServerName {
                virtual_server: vs
                    .map(|v| ipvs_sys::error::KeyDisplay(&v.plan.service.key).to_string())
                    .unwrap_or_default(),
                real_server: vs
                    .and_then(|v| v.plan.reals.get(real_index))
                    .map(|r| ipvs_sys::format::addrport(&r.dest.key.addr, r.dest.key.port))
                    .unwrap_or_default(),
            };
            RealServerChecks {
                key: name,
                checks: real.checks,
            }
        })
        .collect())
}

/// One row of the table.
#[derive(Debug, Clone, serde::Serialize)]
struct Row {
    virtual_server: String,
    real_server: String,
    checker: String,
    target: String,
    verdict: &'static str,
    reason: String,
    latency_ms: f64,
}

fn print_header(json: bool) {
    if !json {
        println!(
            "{:<22} {:<22} {:<10} {:<22} {:<5} {:>10}  REASON",
            "VIRTUAL SERVER", "REAL SERVER", "CHECKER", "TARGET", "STATE", "LATENCY"
        );
    }
}

fn print_row(r: &Row, json: bool) {
    if json {
        println!("{}", serde_json::to_string(r).unwrap_or_default());
    } else {
        println!(
            "{:<22} {:<22} {:<10} {:<22} {:<5} {:>8.1}ms  {}",
            r.virtual_server, r.real_server, r.checker, r.target, r.verdict, r.latency_ms, r.reason
        );
    }
}

/// Runs `lvsd checks`.
pub fn run(args: ChecksArgs) -> ExitCode {
    let loaded = args.source.load(false);
    if loaded.has_errors() {
        for d in &loaded.diagnostics {
            eprintln!("{d}");
        }
        return ExitCode::from(2);
    }
    let reals = match plan(&loaded.config) {
        Ok(r) => r,
        Err(errors) => {
            for e in errors {
                eprintln!("lvsd checks: {e}");
            }
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lvsd checks: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.once {
        runtime.block_on(once(reals, args.json))
    } else {
        runtime.block_on(live(reals, args.json))
    }
}

/// Probes each distinct check once, concurrently; prints one row per checker.
async fn once(reals: Vec<RealServerChecks<RealServerName>>, json: bool) -> ExitCode {
    let mut distinct: HashMap<Arc<CheckSpec>, Option<(Outcome, Duration)>> = HashMap::new();
    for real in &reals {
        for spec in real.checks.iter() {
            distinct.insert(spec.clone(), None);
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for spec in distinct.keys().cloned() {
        tasks.spawn(async move {
            let started = Instant::now();
            let outcome = checks::probe::probe(&spec).await;
            (spec, outcome, started.elapsed())
        });
    }
    while let Some(Ok((spec, outcome, latency))) = tasks.join_next().await {
        distinct.insert(spec, Some((outcome, latency)));
    }
    let mut rows = Vec::new();
    let mut all_up = true;
    for real in &reals {
        for spec in real.checks.iter() {
            let Some(Some((outcome, latency))) = distinct.get(spec) else {
                continue;
            };
            all_up &= outcome.is_pass();
            rows.push(Row {
                virtual_server: real.key.virtual_server.clone(),
                real_server: real.key.real_server.clone(),
                checker: spec.kind.keyword().into(),
                target: spec.endpoint.target.to_string(),
                verdict: if outcome.is_pass() { "UP" } else { "DOWN" },
                reason: outcome
                    .failure()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                latency_ms: latency.as_secs_f64() * 1000.0,
            });
        }
    }
    print_header(json);
    for row in &rows {
        print_row(row, json);
    }
    if all_up {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Runs the scheduler: prints the initial verdicts (up, or down with
/// `alpha`), then a row per verdict change, until interrupted.
async fn live(reals: Vec<RealServerChecks<RealServerName>>, json: bool) -> ExitCode {
    let scheduler = Scheduler::new(reals, checks::SchedulerOptions::default());
    print_header(json);
    for (name, verdict) in scheduler.verdicts() {
        print_row(
            &Row {
                virtual_server: name.virtual_server.clone(),
                real_server: name.real_server.clone(),
                checker: "-".into(),
                target: "-".into(),
                verdict: if verdict.up { "UP" } else { "DOWN" },
                reason: "initial state".into(),
                latency_ms: 0.0,
            },
            json,
        );
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let task = tokio::spawn(scheduler.run(checks::NetworkProber, tx));
    loop {
        tokio::select! {
            report = rx.recv() => match report {
                Some(Report::Transition(t)) => print_row(&Row {
                    virtual_server: t.real.virtual_server,
                    real_server: t.real.real_server,
                    checker: t.check.kind.keyword().into(),
                    target: t.check.endpoint.target.to_string(),
                    verdict: if t.verdict.up { "UP" } else { "DOWN" },
                    reason: t.reason.map(|r| r.to_string()).unwrap_or_default(),
                    latency_ms: t.latency.as_secs_f64() * 1000.0,
                }, json),
                Some(Report::Probes(_)) => {}
                None => break,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    task.abort();
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_names_every_real_server_of_every_virtual_server() {
        let text = r#"
virtual_server 10.0.0.1 80 {
    real_server 10.0.0.2 8080 {
        TCP_CHECK {
        }
    }
    real_server 10.0.0.3 8080 {
    }
}
virtual_server fwmark 7 {
    real_server 10.0.0.4 80 {
        PING_CHECK {
        }
    }
}
"#;
        let loaded = conf::load_keepalived_str("t.conf", text, &conf::LoadOptions::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let reals = plan(&loaded.config).unwrap();
        let names: Vec<(String, String, usize)> = reals
            .iter()
            .map(|r| {
                (
                    r.key.virtual_server.clone(),
                    r.key.real_server.clone(),
                    r.checks.len(),
                )
            })
            .collect();
        assert_eq!(names.len(), 3);
        assert_eq!(names[0].1, "10.0.0.2:8080");
        assert_eq!(names[0].2, 1);
        assert_eq!(names[1].2, 0);
        assert!(names[0].0.contains("10.0.0.1:80"), "{names:?}");
        assert!(names[2].0.contains('7'), "{names:?}");
    }
}
