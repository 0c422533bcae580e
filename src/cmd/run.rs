//! `lvsd run`: the director daemon in the foreground (systemd runs it as a
//! simple service; it never forks).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use tokio::sync::mpsc;

use crate::cmd::check::Source;
use crate::config::{FileSource, Parts};
use crate::control::DEFAULT_SOCKET;
use crate::daemon::notify::{Queue, DEFAULT_NOTIFY_TIMEOUT};
use crate::daemon::{serve, Director, Options};

/// `lvsd run` arguments (keepalived's spellings where it has them).
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: Source,
    /// Treat configuration warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// Run only the health checkers and IPVS (keepalived `-C`/`--check`).
    #[arg(short = 'C', long = "lvs-only")]
    pub lvs_only: bool,
    /// Run only VRRP (keepalived `-P`/`--vrrp`).
    #[arg(short = 'P', long = "vrrp-only", conflicts_with = "lvs_only")]
    pub vrrp_only: bool,
    /// Keep the IPVS services at exit (keepalived `--dont-release-ipvs`).
    #[arg(short = 'I', long)]
    pub dont_release_ipvs: bool,
    /// Keep the VIPs at exit and do not resign (keepalived `--dont-release-vrrp`).
    #[arg(short = 'V', long)]
    pub dont_release_vrrp: bool,
    /// Control socket path.
    #[arg(long, default_value = DEFAULT_SOCKET)]
    pub control_socket: PathBuf,
    /// Serve /status and /metrics over HTTP on this address (e.g. 127.0.0.1:9777).
    #[arg(long)]
    pub http: Option<SocketAddr>,
    /// Log format: `text` (journald shows it as is) or `json` (one object per line).
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// How often the kernel table is re-read and repaired without events
    /// (the daemon's DEFAULT_RECONCILE_INTERVAL).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub reconcile_interval: Duration,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, no colours when not on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

/// Runs the daemon until SIGTERM/SIGINT.
pub fn run(args: RunArgs) -> ExitCode {
    crate::daemon::heap::use_one_arena();
    init_logging(args.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lvsd run: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The daemon runs as a task on the workers, not in `block_on` on the
    // main thread: an event (SIGTERM above all, which must resign the VRRP
    // master at once) then wakes it on the worker that produced it instead
    // of waking the main thread.
    let served = runtime.block_on(async { tokio::spawn(serve_director(args)).await });
    match served.unwrap_or_else(|e| Err(format!("the daemon's task failed: {e}"))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("lvsd run: {message}");
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        // journald stamps lines itself, and escape codes would show raw.
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

async fn serve_director(args: RunArgs) -> Result<(), String> {
    let path = args.source.file.clone();
    let options = args.source.load_options(args.strict);
    let parts = Parts {
        vrrp: !args.lvs_only,
        lvs: !args.vrrp_only,
    };
    // Without IPVS work there is no need for the ip_vs module (a VRRP-only
    // director on a host without IPVS).
    let client = if parts.lvs {
        Some(ipvs_sys::Client::new().map_err(|e| {
            format!("IPVS: {e} (is the ip_vs module loaded? --vrrp-only runs without it)")
        })?)
    } else {
        None
    };
    let (queue, _) = Queue::start(DEFAULT_NOTIFY_TIMEOUT);
    let (events, rx) = mpsc::channel(1024);
    let director_options = Options {
        dont_release_ipvs: args.dont_release_ipvs,
        dont_release_vrrp: args.dont_release_vrrp,
        reconcile_interval: args.reconcile_interval,
        config_path: path.clone(),
    };
    let source = FileSource::new(path, options, parts);
    let director = Director::new(source, director_options, client, queue, events.clone())
        .map_err(|e| e.to_string())?;
    serve::forward_signals(events.clone()).map_err(|e| e.to_string())?;
    serve::control_socket(&args.control_socket, events.clone()).map_err(|e| e.to_string())?;
    if let Some(addr) = args.http {
        let bound = serve::http_endpoint(addr, events.clone())
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(%bound, "HTTP status endpoint");
    }
    drop(events);
    tracing::info!(socket = %args.control_socket.display(), "lvsd running");
    let result = director.run(rx).await.map_err(|e| e.to_string());
    let _ = std::fs::remove_file(&args.control_socket);
    result
}
