//! Lexer, preprocessor, parser, validator and emitter on arbitrary input: no panic,
//! and whatever is read must survive its own keepalived dump.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The input is the main file and, split at the first NUL, an includable one.
    let (main, included) = text
        .split_once('\0')
        .unwrap_or((&text, "vrrp_script s { script x }"));
    let fs = conf::MemFs::new()
        .with("/f/k.conf", main)
        .with("/f/inc/a.conf", included)
        .with("/f/inc/b.conf", main);
    let options = conf::LoadOptions {
        config_id: Some("lb1".into()),
        strict: false,
    };
    let loaded = conf::load(Path::new("/f/k.conf"), &fs, &options);
    let dump = conf::to_keepalived(&loaded.config);
    let again = conf::load_keepalived_str("dump.conf", &dump, &options);
    assert_eq!(
        again.config, loaded.config,
        "dump changed the model:\n{dump}"
    );
    if let Ok(toml) = conf::to_toml(&loaded.config) {
        let from_toml = conf::load_toml_str("dump.toml", &toml, &options);
        assert_eq!(
            from_toml.config, loaded.config,
            "TOML changed the model:\n{toml}"
        );
    }
});
