use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    lvsd::cli::Cli::parse().run()
}
