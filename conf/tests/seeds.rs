//! Every seed configuration (copied from shared/seed-configs) parses; its diagnostics
//! match the checked-in snapshot; models survive keepalived/TOML/JSON round trips.
//!
//! Regenerate snapshots after an intended change with `UPDATE_SNAPSHOTS=1 cargo test -p conf --test seeds`.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::{Path, PathBuf};

use conf::{load_keepalived_str, LoadOptions};

fn seeds() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/seeds");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 13, "seed configs missing");
    files
}

fn load(path: &Path) -> conf::Loaded {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    load_keepalived_str(
        &name,
        &std::fs::read_to_string(path).unwrap(),
        &LoadOptions::default(),
    )
}

#[test]
fn seed_diagnostics_match_snapshots() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut mismatches = Vec::new();
    for seed in seeds() {
        let loaded = load(&seed);
        let text: String = loaded
            .diagnostics
            .iter()
            .map(|d| format!("{d}\n"))
            .collect();
        let snapshot = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/snapshots")
            .join(format!(
                "{}.diag",
                seed.file_stem().unwrap().to_string_lossy()
            ));
        if update {
            std::fs::write(&snapshot, &text).unwrap();
        } else if std::fs::read_to_string(&snapshot).unwrap_or_default() != text {
            mismatches.push(format!("{}:\n{text}", seed.display()));
        }
    }
    assert!(
        mismatches.is_empty(),
        "diagnostics differ from snapshots:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn seeds_have_no_errors() {
    for seed in seeds() {
        let loaded = load(&seed);
        assert!(
            !loaded.has_errors(),
            "{}: {:?}",
            seed.display(),
            loaded.diagnostics
        );
    }
}

/// The problems keepalived 2.2.7 itself names, at the lines it names
/// (`keepalived -t -f`: 003 line 44 nat_mask, lines 53/63 nb_get_retry; 004-lvs-http-get
/// lines 63/76 nb_get_retry; 004-lvs-tcp-check-sorry line 13 tcp_port).
#[test]
fn seeds_name_what_keepalived_names() {
    let expect = [
        ("003-compose-master.conf", 44, "nat_mask"),
        ("003-compose-master.conf", 53, "nb_get_retry"),
        ("003-compose-master.conf", 63, "nb_get_retry"),
        ("004-lvs-http-get.conf", 63, "nb_get_retry"),
        ("004-lvs-http-get.conf", 76, "nb_get_retry"),
        ("004-lvs-tcp-check-sorry.conf", 13, "tcp_port"),
    ];
    for (file, line, text) in expect {
        let loaded = load(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/seeds")
                .join(file),
        );
        assert!(
            loaded
                .diagnostics
                .iter()
                .any(|d| d.span.line == line && d.text == text),
            "{file}:{line} `{text}` not reported: {:?}",
            loaded.diagnostics
        );
    }
    let sorry = load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/seeds/004-lvs-tcp-check-sorry.conf"),
    );
    let tcp_port = sorry
        .diagnostics
        .iter()
        .find(|d| d.text == "tcp_port")
        .unwrap();
    assert_eq!(
        tcp_port.hint.as_deref(),
        Some("did you mean `connect_port`?")
    );
}

#[test]
fn oneline_003_gives_the_multiline_model() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/seeds");
    let oneline = load(&dir.join("003-compose-master-oneline.conf"));
    let multiline = load(&dir.join("003-compose-master.conf"));
    assert!(oneline.diagnostics.is_empty(), "{:?}", oneline.diagnostics);
    // The multi-line file also has virtual servers; the one-liner holds the VRRP part.
    assert_eq!(oneline.config.vrrp_scripts, multiline.config.vrrp_scripts);
    assert_eq!(
        oneline.config.vrrp_instances,
        multiline.config.vrrp_instances
    );
    assert_eq!(oneline.config.global_defs, multiline.config.global_defs);
    let vi = &oneline.config.vrrp_instances[0];
    assert_eq!(vi.virtual_router_id, Some(33));
    assert_eq!(
        vi.unicast_peer,
        vec!["172.20.128.3".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(vi.track_script[0].name, "chk_nginx");
}

#[test]
fn seeds_round_trip_through_keepalived_toml_and_json() {
    for seed in seeds() {
        let config = load(&seed).config;
        let text = conf::to_keepalived(&config);
        let again = load_keepalived_str("dump.conf", &text, &LoadOptions::default());
        assert!(
            again
                .diagnostics
                .iter()
                .all(|d| d.severity != conf::Severity::Error),
            "{}: {:?}\n{text}",
            seed.display(),
            again.diagnostics
        );
        assert_eq!(
            again.config,
            config,
            "{} via keepalived text:\n{text}",
            seed.display()
        );
        let toml = conf::to_toml(&config).unwrap();
        let from_toml = conf::load_toml_str("dump.toml", &toml, &LoadOptions::default());
        assert_eq!(
            from_toml.config,
            config,
            "{} via TOML:\n{toml}",
            seed.display()
        );
        let json = conf::to_json(&config).unwrap();
        assert_eq!(
            serde_json::from_str::<conf::Config>(&json).unwrap(),
            config,
            "{} via JSON",
            seed.display()
        );
    }
}
