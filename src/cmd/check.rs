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

/// What `lvsd check` prints: the report for stdout, the summary line for stderr
/// (text form only), and whether the configuration is usable (no errors).
#[derive(Debug)]
pub struct Report {
    pub stdout: String,
    pub summary: Option<String>,
    pub ok: bool,
}

/// Formats the diagnostics of `file`: one `file:line:col: severity: message` line
/// each (hint on the next line), or one JSON document with `--json`.
pub fn report(file: &Path, diagnostics: &[conf::Diagnostic], json: bool) -> Report {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == conf::Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    if json {
        let report = serde_json::json!({
            "file": display(file),
            "errors": errors,
            "warnings": warnings,
            "diagnostics": diagnostics,
        });
        let mut stdout = serde_json::to_string_pretty(&report).unwrap_or_default();
        stdout.push('\n');
        Report {
            stdout,
            summary: None,
            ok: errors == 0,
        }
    } else {
        let stdout = diagnostics.iter().map(|d| format!("{d}\n")).collect();
        Report {
            stdout,
            summary: Some(format!(
                "{}: {errors} error(s), {warnings} warning(s)",
                display(file)
            )),
            ok: errors == 0,
        }
    }
}

/// Runs `lvsd check`.
pub fn run(args: CheckArgs) -> ExitCode {
    // The process ends after the report: freeing a large model piece by piece would
    // only cost time.
    let loaded = std::mem::ManuallyDrop::new(args.source.load(args.strict));
    let report = report(&args.source.file, &loaded.diagnostics, args.json);
    // A reader that went away (`| head`) is no reason to panic; the exit code stands.
    let _ = std::io::stdout().lock().write_all(report.stdout.as_bytes());
    if let Some(summary) = &report.summary {
        eprintln!("{summary}");
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priorty 150\n  advert_int 0\n}\n";

    fn diagnostics(strict: bool) -> Vec<conf::Diagnostic> {
        let options = conf::LoadOptions {
            config_id: None,
            strict,
        };
        conf::load_keepalived_str("k.conf", CONF, &options).diagnostics
    }

    /// keepalived's default `--config-id` is the short hostname: `@NAME`
    /// lines for this host are read, those for another host are not.
    #[test]
    fn the_default_config_id_is_the_short_hostname() {
        let host = nix::unistd::gethostname().unwrap();
        let short = host
            .to_str()
            .unwrap()
            .split('.')
            .next()
            .unwrap()
            .to_string();
        assert_eq!(short_hostname(), short);
        let source = Source {
            file: PathBuf::from("k.conf"),
            config_id: None,
        };
        let text = format!("global_defs {{\n  @{short} router_id this_host\n  @not-{short} router_id other_host\n}}\n");
        let loaded = conf::load_keepalived_str("k.conf", &text, &source.load_options(false));
        assert_eq!(
            loaded.config.global_defs.router_id.as_deref(),
            Some("this_host")
        );
        let elsewhere = Source {
            config_id: Some(format!("not-{short}")),
            ..source
        };
        let loaded = conf::load_keepalived_str("k.conf", &text, &elsewhere.load_options(false));
        assert_eq!(
            loaded.config.global_defs.router_id.as_deref(),
            Some("other_host")
        );
    }

    #[test]
    fn text_report_is_one_line_per_diagnostic_and_fails_on_errors() {
        let report = report(Path::new("k.conf"), &diagnostics(false), false);
        assert_eq!(
            report.stdout,
            "k.conf:5:3: warning: unknown keyword `priorty` in `vrrp_instance`; ignored\n  hint: did you mean `priority`?\nk.conf:6:3: error: (VI_1) advert_int must be greater than 0\n"
        );
        assert_eq!(
            report.summary.as_deref(),
            Some("k.conf: 1 error(s), 1 warning(s)")
        );
        assert!(!report.ok);
    }

    #[test]
    fn warnings_alone_pass_unless_strict() {
        let only_warning: Vec<_> = diagnostics(false)
            .into_iter()
            .filter(|d| d.severity == conf::Severity::Warning)
            .collect();
        assert!(report(Path::new("k.conf"), &only_warning, false).ok);
        let strict: Vec<_> = diagnostics(true)
            .into_iter()
            .filter(|d| d.text == "priorty")
            .collect();
        assert!(!report(Path::new("k.conf"), &strict, false).ok);
    }

    #[test]
    fn json_report_carries_counts_positions_and_hints() {
        let report = report(Path::new("k.conf"), &diagnostics(false), true);
        assert!(report.summary.is_none());
        let value: serde_json::Value = serde_json::from_str(&report.stdout).unwrap_or_default();
        assert_eq!(value["file"], "k.conf");
        assert_eq!(value["errors"], 1);
        assert_eq!(value["warnings"], 1);
        let first = &value["diagnostics"][0];
        assert_eq!(first["severity"], "warning");
        assert_eq!(
            (first["line"].as_u64(), first["col"].as_u64()),
            (Some(5), Some(3))
        );
        assert_eq!(first["text"], "priorty");
        assert_eq!(first["hint"], "did you mean `priority`?");
    }

    #[test]
    fn dash_t_is_check_on_keepalived_default_path() {
        let flags = TestFlags {
            config_test: true,
            use_file: None,
        };
        assert_eq!(flags.to_check().source.file, Path::new(DEFAULT_CONFIG));
        let flags = TestFlags {
            config_test: true,
            use_file: Some(PathBuf::from("/tmp/k.conf")),
        };
        assert_eq!(flags.to_check().source.file, Path::new("/tmp/k.conf"));
    }
}
