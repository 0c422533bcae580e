//! The `lvsd` command line.
//!
//! Each subcommand is one variant of [`Command`] and one module under
//! `src/cmd/`; `main` parses [`Cli`] and calls [`Cli::run`].

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// keepalived-compatible LVS director: VRRP, health checks and IPVS in one process.
#[derive(Debug, Parser)]
#[command(name = "lvsd", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config_test: crate::cmd::check::TestFlags,
}

/// The subcommands; each arrives with the issue that implements it.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect and program the kernel IPVS table (like ipvsadm).
    Ipvs(crate::cmd::ipvs::IpvsArgs),
    /// Print the MD5 digest of a URL's body, for HTTP_GET `digest` (like keepalived's genhash).
    Genhash(crate::cmd::genhash::GenhashArgs),
    /// Run the configuration's health checkers and print each real server's verdict.
    Checks(crate::cmd::checks::ChecksArgs),
    /// Check a configuration file and print its diagnostics (also `lvsd -t [-f FILE]`).
    Check(crate::cmd::check::CheckArgs),
    /// Show the effective configuration.
    Config(crate::cmd::config::ConfigArgs),
    /// Run the director daemon in the foreground.
    Run(crate::cmd::run::RunArgs),
    /// Show the running daemon's VRRP instances and virtual servers.
    Status(crate::cmd::status::StatusArgs),
    /// Make the running daemon reload its configuration; prints the result.
    Reload(crate::cmd::status::ReloadArgs),
}

impl Cli {
    /// Runs the parsed command line and returns the process exit code.
    pub fn run(self) -> ExitCode {
        match self.command {
            Some(command) => match command {
                Command::Ipvs(args) => crate::cmd::ipvs::run(args),
                Command::Check(args) => crate::cmd::check::run(args),
                Command::Config(args) => crate::cmd::config::run(args),
                Command::Genhash(args) => crate::cmd::genhash::run(args),
                Command::Run(args) => crate::cmd::run::run(args),
                Command::Status(args) => crate::cmd::status::status(args),
                Command::Reload(args) => crate::cmd::status::reload(args),
                Command::Checks(args) => crate::cmd::checks::run(args),
            },
            None if self.config_test.config_test => {
                crate::cmd::check::run(self.config_test.to_check())
            }
            None => {
                use clap::CommandFactory;
                // No subcommand: show the help, as most CLIs do.
                let _ = Cli::command().print_help();
                ExitCode::from(2)
            }
        }
    }
}
