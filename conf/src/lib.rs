//! keepalived.conf and TOML configuration: lexer, preprocessor, typed model, validation.

pub mod diag;
pub mod emit;
pub mod iproute;
pub mod lexer;
pub mod model;
pub mod parse;
pub mod schema;
pub mod source;
pub mod statements;
pub mod toml_form;
pub mod validate;

use std::path::Path;

pub use diag::{Diagnostic, Severity, Span};
pub use lexer::LexOptions;
pub use model::Config;
pub use source::{FileSource, MemFs, RealFs};

/// A configuration read from a file, with everything found wrong with it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Syntax and semantic diagnostics, in file order within each pass.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        diag::has_errors(&self.diagnostics)
    }
}

/// Options for loading.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `@id` conditional lines (keepalived `--config-id`); usually the short hostname.
    pub config_id: Option<String>,
    /// Warnings become errors.
    pub strict: bool,
}

/// Which syntax a file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Keepalived,
    Toml,
}

impl Format {
    /// TOML for `*.toml`, keepalived.conf otherwise.
    pub fn of(path: &Path) -> Format {
        if path.extension().is_some_and(|e| e == "toml") {
            Format::Toml
        } else {
            Format::Keepalived
        }
    }
}

/// Reads, preprocesses, parses and validates a configuration file (keepalived.conf,
/// or TOML when the name ends in `.toml`).
pub fn load(path: &Path, source: &dyn FileSource, options: &LoadOptions) -> Loaded {
    match Format::of(path) {
        Format::Toml => {
            let name = path.to_string_lossy();
            match source.read(path) {
                Ok(text) => load_toml_str(&name, &text, options),
                Err(e) => Loaded {
                    config: Config::default(),
                    diagnostics: vec![Diagnostic::error(
                        &Span::file_only(&name),
                        name.as_ref(),
                        format!("cannot read configuration file: {e}"),
                    )],
                },
            }
        }
        Format::Keepalived => {
            let lex_options = LexOptions {
                config_id: options.config_id.clone(),
            };
            let stream = lexer::TokenStream::open(path, source, &lex_options);
            finish(stream, &path.to_string_lossy(), options)
        }
    }
}

/// Parses keepalived.conf text held in memory, named `name` in diagnostics.
pub fn load_keepalived_str(name: &str, text: &str, options: &LoadOptions) -> Loaded {
    let lex_options = LexOptions {
        config_id: options.config_id.clone(),
    };
    let fs = MemFs::new();
    let stream =
        lexer::TokenStream::from_text(Path::new(name), text.to_string(), &fs, &lex_options);
    finish(stream, name, options)
}

/// Parses and validates some top-level statements of the keepalived.conf file
/// `name` (cut by [`statements::top_level`]) as if they were the whole file;
/// diagnostics give their lines in the file.
pub fn load_statements(
    name: &str,
    statements: &[statements::Statement<'_>],
    options: &LoadOptions,
) -> Loaded {
    let lex_options = LexOptions {
        config_id: options.config_id.clone(),
    };
    let fs = MemFs::new();
    let parts = statements
        .iter()
        .map(|s| (s.first_line, s.text.to_string()))
        .collect();
    let stream = lexer::TokenStream::from_parts(Path::new(name), parts, &fs, &lex_options);
    finish(stream, name, options)
}

/// Parses the token stream as it is lexed, then validates. Diagnostics come in pass
/// order: preprocessor, parser, semantic checks.
fn finish(mut stream: lexer::TokenStream<'_>, file: &str, options: &LoadOptions) -> Loaded {
    let (config, spans, parse_diagnostics) = parse::parse_tokens(stream.by_ref());
    let mut diagnostics = stream.into_diagnostics();
    diagnostics.extend(parse_diagnostics);
    diagnostics.extend(validate::validate(&config, &spans, file));
    if options.strict {
        diag::make_strict(&mut diagnostics);
    }
    Loaded {
        config,
        diagnostics,
    }
}

/// Parses the TOML form and validates it like keepalived.conf; every diagnostic
/// carries the position of the key or value it is about.
pub fn load_toml_str(name: &str, text: &str, options: &LoadOptions) -> Loaded {
    let (config, spans, mut diagnostics) = toml_form::read(name, text);
    diagnostics.extend(validate::validate(&config, &spans, name));
    if options.strict {
        diag::make_strict(&mut diagnostics);
    }
    Loaded {
        config,
        diagnostics,
    }
}

/// The model as TOML.
pub fn to_toml(config: &Config) -> Result<String, toml::ser::Error> {
    toml::to_string(config)
}

/// The model as JSON (pretty).
pub fn to_json(config: &Config) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(config)
}

pub use emit::to_keepalived;
