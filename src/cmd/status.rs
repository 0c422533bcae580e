//! `lvsd status` and `lvsd reload`: clients of the running daemon's control
//! socket.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;

use crate::control::{call, Request, Response, DEFAULT_SOCKET};
use crate::status::text;

/// How long `lvsd status` waits for the daemon.
const STATUS_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `lvsd reload` waits: a reload applies the difference and
/// answers only when it is done.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// `lvsd status` arguments.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The daemon's control socket.
    #[arg(long, default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Print the snapshot as JSON (the same document as HTTP /status).
    #[arg(long)]
    pub json: bool,
}

/// `lvsd reload` arguments.
#[derive(Debug, Args)]
pub struct ReloadArgs {
    /// The daemon's control socket.
    #[arg(long, default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
}

/// Prints the daemon's status.
pub fn status(args: StatusArgs) -> ExitCode {
    match call(&args.socket, &Request::Status, STATUS_TIMEOUT) {
        Ok(Response::Status(s)) => {
            if args.json {
                match serde_json::to_string_pretty(&s) {
                    Ok(json) => println!("{json}"),
                    Err(e) => return fail(&e.to_string()),
                }
            } else {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                print!("{}", text::render(&s, now));
            }
            ExitCode::SUCCESS
        }
        Ok(other) => fail(&format!("unexpected answer: {other:?}")),
        Err(e) => fail(&e.to_string()),
    }
}

/// Asks the daemon to reload and prints what changed, or why it refused.
pub fn reload(args: ReloadArgs) -> ExitCode {
    match call(&args.socket, &Request::Reload, RELOAD_TIMEOUT) {
        Ok(Response::Reloaded { changes }) => {
            if changes.is_empty() {
                println!("reloaded: no change");
            } else {
                println!("reloaded:");
                for c in changes {
                    println!("  {c}");
                }
            }
            ExitCode::SUCCESS
        }
        Ok(Response::ReloadRefused { errors }) => {
            eprintln!("reload refused; the running configuration is unchanged:");
            for e in errors {
                eprintln!("{e}");
            }
            ExitCode::FAILURE
        }
        Ok(other) => fail(&format!("unexpected answer: {other:?}")),
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("lvsd: {message}");
    ExitCode::FAILURE
}
