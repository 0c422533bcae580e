//! keepalived.conf and TOML configuration: lexer, preprocessor, typed model, validation.

pub mod diag;
pub mod lexer;
pub mod source;
