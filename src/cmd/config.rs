//! `lvsd config dump`: the effective configuration after includes, macros,
//! conditionals and defaults, as keepalived.conf, TOML or JSON.

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use crate::cmd::check::Source;

/// `lvsd config` arguments.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

/// `lvsd config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration.
    Dump(DumpArgs),
}

/// Output syntax of `config dump`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DumpFormat {
    Keepalived,
    Toml,
    Json,
}

/// `lvsd config dump` arguments.
#[derive(Debug, Args)]
pub struct DumpArgs {
    #[command(flatten)]
    pub source: Source,
    /// Output syntax.
    #[arg(long, value_enum, default_value = "keepalived")]
    pub format: DumpFormat,
}

/// Runs `lvsd config …`. Diagnostics go to stderr; the dump is printed even when
/// there are errors (what could be read), and the exit code is then non-zero.
pub fn run(args: ConfigArgs) -> ExitCode {
    let ConfigAction::Dump(dump) = args.action;
    let loaded = dump.source.load(false);
    for diagnostic in &loaded.diagnostics {
        eprintln!("{diagnostic}");
    }
    let text = match dump.format {
        DumpFormat::Keepalived => Ok(conf::to_keepalived(&loaded.config)),
        DumpFormat::Toml => conf::to_toml(&loaded.config).map_err(|e| e.to_string()),
        DumpFormat::Json => conf::to_json(&loaded.config).map_err(|e| e.to_string()),
    };
    match text {
        // A reader that went away (`| head`) is no reason to panic; the exit code stands.
        Ok(text) => {
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
        }
        Err(e) => {
            eprintln!("cannot write the configuration: {e}");
            return ExitCode::FAILURE;
        }
    }
    if loaded.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
