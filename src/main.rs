use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    if let Some(code) = lvsd::cmd::ipvs::run_if_ipvs() {
        return code;
    }
    lvsd::cli::Cli::parse().run()
}
