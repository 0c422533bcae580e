//! Inputs the fuzz target (conf/fuzz, target `parse`) found, reduced to what made
//! them fail, so the failure cannot return.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use conf::model::CheckerKind;
use conf::{load_keepalived_str, LoadOptions};

/// 2026-11-28: a real server whose checkers were not in schema order (PING_CHECK
/// before TCP_CHECK) came back from its keepalived dump reordered, kind by kind.
#[test]
fn dump_keeps_the_order_of_mixed_checkers() {
    let text = "virtual_server 10.0.0.1 80 { protocol TCP\n  real_server 10.0.0.2 80 {\n    PING_CHECK {\n      retry 2\n    }\n    TCP_CHECK {\n      connect_port 81\n    }\n    HTTP_GET {\n      url {\n        path /\n      }\n    }\n    TCP_CHECK {\n    }\n  }\n}\n";
    let loaded = load_keepalived_str("k.conf", text, &LoadOptions::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let kinds = |config: &conf::Config| -> Vec<CheckerKind> {
        config.virtual_servers[0].real_servers[0]
            .checkers
            .iter()
            .map(|c| c.kind)
            .collect()
    };
    let order = [
        CheckerKind::PING_CHECK,
        CheckerKind::TCP_CHECK,
        CheckerKind::HTTP_GET,
        CheckerKind::TCP_CHECK,
    ];
    assert_eq!(kinds(&loaded.config), order);
    let dump = conf::to_keepalived(&loaded.config);
    let again = load_keepalived_str("dump.conf", &dump, &LoadOptions::default());
    assert_eq!(kinds(&again.config), order, "{dump}");
    assert_eq!(again.config, loaded.config, "{dump}");
}

/// 2026-11-28: list entries `@foxmail.com` and `include`, written mid-line in the
/// input, began a line of the dump, where they read as a conditional line and an
/// include directive; the dump now quotes them.
#[test]
fn dump_quotes_words_that_would_read_as_directives_at_a_line_start() {
    let text = "global_defs {\n  notification_email {\n    a@b.c @foxmail.com include\n  }\n}\n";
    let loaded = load_keepalived_str("k.conf", text, &LoadOptions::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    assert_eq!(
        loaded.config.global_defs.notification_email,
        ["a@b.c", "@foxmail.com", "include"]
    );
    let dump = conf::to_keepalived(&loaded.config);
    assert!(dump.contains("\"@foxmail.com\"\n"), "{dump}");
    let again = load_keepalived_str("dump.conf", &dump, &LoadOptions::default());
    assert!(again.diagnostics.is_empty(), "{:?}", again.diagnostics);
    assert_eq!(again.config, loaded.config, "{dump}");
}
