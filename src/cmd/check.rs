//! `lvsd check` (and `lvsd -t [-f FILE]`, keepalived's spelling): read a configuration,
//! print its diagnostics, exit non-zero when it has errors. Logic lives in the `conf` crate.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

/// keepalived's default configuration file.
pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";

/// Options shared by `check` and `config dump`: which file, which config id.
#[derive(Debug, Args, Clone)]
pub struct Source {
    /// Configuration file (keepalived.conf syntax; TOML when it ends in `.toml`).
    #[arg(short = 'f', long = "file", default_value = DEFAULT_CONFIG)]
    pub file: PathBuf,
    /// Id selecting `@id` lines (keepalived `--config-id`); default: the short hostname.
    #[arg(long = "config-id")]
    pub config_id: Option<String>,
}

impl Source {
    /// The load options: the config id (default: the short hostname) and strictness.
    pub fn load_options(&self, strict: bool) -> conf::LoadOptions {
        conf::LoadOptions {
            config_id: Some(self.config_id.clone().unwrap_or_else(short_hostname)),
            strict,
        }
    }

    /// Loads the file with the given strictness.
    pub fn load(&self, strict: bool) -> conf::Loaded {
        conf::load(&self.file, &conf::RealFs, &self.load_options(strict))
    }
}

/// `lvsd check` arguments.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub source: Source,
    /// Print diagnostics as JSON.
    #[arg(long)]
    pub json: bool,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
}

/// `lvsd -t [-f FILE]`: keepalived's config-test flags on the top-level command.
#[derive(Debug, Args)]
pub struct TestFlags {
    /// Check the configuration and exit (same as `lvsd check`).
    #[arg(short = 't', long = "config-test")]
    pub config_test: bool,
    /// Configuration file for `-t`.
    #[arg(short = 'f', long = "use-file", requires = "config_test")]
    pub use_file: Option<PathBuf>,
}

impl TestFlags {
    /// The equivalent `lvsd check` arguments.
    pub fn to_check(&self) -> CheckArgs {
        CheckArgs {
            source: Source {
                file: self
                    .use_file
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG)),
                config_id: None,
            },
            json: false,
            strict: false,
        }
    }
}

/// The short hostname (up to the first dot), keepalived's default config id.
pub fn short_hostname() -> String {
    let full = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    full.trim()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Runs `lvsd check`.
pub fn run(args: CheckArgs) -> ExitCode {
    let loaded = args.source.load(args.strict);
    // The process ends after the report: freeing a large model piece by piece would
    // only cost time.
    let loaded = std::mem::ManuallyDrop::new(loaded);
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == conf::Severity::Error)
        .count();
    let warnings = loaded.diagnostics.len() - errors;
    if args.json {
        let report = serde_json::json!({
            "file": args.source.file.display().to_string(),
            "errors": errors,
            "warnings": warnings,
            "diagnostics": loaded.diagnostics,
        });
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        // A reader that went away (`| head`) is no reason to panic; the exit code stands.
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    } else {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for diagnostic in loaded.diagnostics.iter() {
            if writeln!(out, "{diagnostic}").is_err() {
                break;
            }
        }
        let _ = out.flush();
        eprintln!(
            "{}: {errors} error(s), {warnings} warning(s)",
            display(&args.source.file)
        );
    }
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
