//! `conf-check FILE [--dump keepalived|toml|json]`: the conf crate alone, for
//! debugging and benchmarking without the rest of lvsd.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(file) = args.get(1) else {
        eprintln!("usage: conf-check FILE [--dump keepalived|toml|json]");
        return ExitCode::from(2);
    };
    let loaded = conf::load(
        Path::new(file),
        &conf::RealFs,
        &conf::LoadOptions::default(),
    );
    // Exit without freeing the model piece by piece, as `lvsd check` does.
    let loaded = std::mem::ManuallyDrop::new(loaded);
    for d in &loaded.diagnostics {
        eprintln!("{d}");
    }
    match args.get(3).map(String::as_str) {
        Some("keepalived") => print!("{}", conf::to_keepalived(&loaded.config)),
        Some("toml") => print!(
            "{}",
            conf::to_toml(&loaded.config).unwrap_or_else(|e| e.to_string())
        ),
        Some("json") => print!(
            "{}",
            conf::to_json(&loaded.config).unwrap_or_else(|e| e.to_string())
        ),
        _ => {}
    }
    if loaded.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
