//! The cut into top-level statements against the whole-file reader: for any
//! text the cut accepts, parsing its statements gives the model and the
//! diagnostics of parsing the file (proptest over token soups mixing
//! braces, quotes, comments and the preprocessor).
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use conf::statements::top_level;
use conf::{load_keepalived_str, load_statements, LoadOptions};
use proptest::prelude::*;

const PIECES: &[&str] = &[
    "global_defs",
    "virtual_server",
    "real_server",
    "vrrp_instance",
    "TCP_CHECK",
    "10.0.0.1",
    "80",
    "weight",
    "2",
    "protocol",
    "TCP",
    "router_id",
    "x",
    "{",
    "}",
    "{ }",
    "\"q\"",
    "\"{\"",
    "\"a}b\"",
    "\"$X\"",
    "#",
    "! c",
    "# }",
    "$X",
    "$X=3",
    "@a",
    "include",
    "includes",
    "\n",
    "\n",
    "\n",
    " ",
    " ",
    "\t",
    "\r\n",
];

fn soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(0..PIECES.len(), 0..60).prop_map(|picks| {
        let mut text = String::new();
        for p in picks {
            text.push_str(PIECES[p]);
            text.push(' ');
        }
        text
    })
}

/// Balanced statements, most of which the cut accepts.
fn statements() -> impl Strategy<Value = String> {
    let statement = prop_oneof![
        Just("global_defs {\n  router_id a # }\n}\n"),
        Just("virtual_server 10.0.0.1 80 {\n  protocol TCP\n  real_server 10.0.1.1 80 { weight 2 }\n}\n"),
        Just("virtual_server 10.0.0.2 80 {\n  notify_up \"/bin/x {\"\n  real_server 10.0.1.2 80 {\n    TCP_CHECK {\n    }\n  }\n}\n"),
        Just("virtual_server fwmark 3 { }\n"),
        Just("vrrp_script s { script \"x\" }\n"),
        Just("virtual_server 10.0.0.3 80 {\n  delay_lop 3\n}\n"),
        Just("bogus_keyword 1\n"),
        Just("# a comment\n\n"),
    ];
    proptest::collection::vec(statement, 0..8).prop_map(|s| s.concat())
}

fn same_as_the_whole_file(text: &str) -> Result<(), TestCaseError> {
    let Some(cut) = top_level(text) else {
        return Ok(());
    };
    let options = LoadOptions::default();
    let whole = load_keepalived_str("k.conf", text, &options);
    let parts = load_statements("k.conf", &cut, &options);
    prop_assert_eq!(
        serde_json::to_value(&parts.config).unwrap(),
        serde_json::to_value(&whole.config).unwrap(),
        "{:?}",
        text
    );
    prop_assert_eq!(parts.diagnostics, whole.diagnostics, "{:?}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_soup_the_cut_accepts_reads_as_the_whole_file(text in soup()) {
        same_as_the_whole_file(&text)?;
    }

    #[test]
    fn statements_read_as_the_whole_file(text in statements()) {
        prop_assert!(top_level(&text).is_some(), "{:?}", text);
        same_as_the_whole_file(&text)?;
    }
}
