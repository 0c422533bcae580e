//! keepalived.conf and TOML configuration: lexer, preprocessor, typed model, validation.
