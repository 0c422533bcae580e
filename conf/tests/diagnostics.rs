//! Malformed and semantically wrong input: each test asserts the exact diagnostic.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::Path;

use conf::{load, load_keepalived_str, load_toml_str, LoadOptions, MemFs, Severity};

fn diags(text: &str) -> Vec<String> {
    load_keepalived_str("k.conf", text, &LoadOptions::default())
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect()
}

const VI: &str = "vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n";

#[test]
fn unbalanced_open_brace_names_the_unclosed_block() {
    assert_eq!(
        diags("vrrp_instance VI_1 {\n  state MASTER\n  virtual_router_id 5\n  authentication {\n    auth_type PASS\n}\n"),
        ["k.conf:1:20: error: `vrrp_instance` block opened here is never closed\n  hint: add the missing '}'"]
    );
}

#[test]
fn stray_close_brace_is_an_error() {
    assert_eq!(
        diags("global_defs {\n  router_id a\n}\n}\n"),
        ["k.conf:4:1: error: unexpected '}' with no block open\n  hint: remove it, or add the '{' it was meant to close"]
    );
}

#[test]
fn include_of_a_missing_file() {
    let fs = MemFs::new().with(
        "/etc/k/keepalived.conf",
        "global_defs {\n  router_id a\n}\ninclude vs/web.conf\n",
    );
    let loaded = load(
        Path::new("/etc/k/keepalived.conf"),
        &fs,
        &LoadOptions::default(),
    );
    let text: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        ["/etc/k/keepalived.conf:4:9: error: cannot read included file /etc/k/vs/web.conf: no such file"]
    );
}

#[test]
fn bad_ip_addresses() {
    assert_eq!(
        diags(&format!("{VI}  virtual_ipaddress {{\n    10.0.0.300/24 dev eth0\n  }}\n  unicast_src_ip 1.2.3\n}}\n")),
        [
            "k.conf:6:5: error: `10.0.0.300` is not an IP address (`virtual_ipaddress`)",
            "k.conf:8:18: error: `1.2.3` is not an IP address (`unicast_src_ip`)",
        ]
    );
    assert_eq!(
        diags("virtual_server 10.0.0.1 80 { protocol TCP\n  real_server 10.0.0.x 80 {\n  }\n}\n"),
        ["k.conf:2:15: error: `10.0.0.x` is not an IP address"]
    );
}

#[test]
fn values_out_of_range() {
    assert_eq!(
        diags(&format!("{VI}  priority 300\n}}\n")),
        ["k.conf:5:12: error: `300` is out of range for `priority` (1..=255)"]
    );
    assert_eq!(
        diags(&format!("{VI}  priority 0\n}}\n")),
        ["k.conf:5:12: error: `0` is out of range for `priority` (1..=255)"]
    );
    // One error each: a rejected id is not also reported as missing.
    assert_eq!(
        diags("vrrp_instance VI_1 {\n  virtual_router_id 0\n}\n"),
        ["k.conf:2:21: error: `0` is out of range for `virtual_router_id` (1..=255)"]
    );
    assert_eq!(
        diags("vrrp_instance VI_1 {\n  virtual_router_id 300\n}\n"),
        ["k.conf:2:21: error: `300` is out of range for `virtual_router_id` (1..=255)"]
    );
    assert_eq!(
        diags(&format!("{VI}  advert_int 300\n}}\n")),
        ["k.conf:5:3: error: (VI_1) advert_int 300 is out of range for VRRPv2 (1..=255 s)"]
    );
    assert_eq!(
        diags(&format!("{VI}  track_script {{\n    chk weight 300\n  }}\n}}\nvrrp_script chk {{\n  script /bin/true\n}}\n")),
        ["k.conf:6:5: error: track weight 300 is out of range (-253..=253)"]
    );
    assert_eq!(
        diags(
            "virtual_server 10.0.0.1 80 { protocol TCP\n  real_server 10.0.0.2 80 {\n    weight 70000\n  }\n}\n"
        ),
        ["k.conf:3:5: error: real_server 10.0.0.2 weight 70000 is out of range (0..=65535)"]
    );
    assert_eq!(
        diags(&format!("{VI}  priority high\n}}\n")),
        ["k.conf:5:12: error: `high` is not an integer (`priority`)"]
    );
}

#[test]
fn duplicate_vrid_on_one_interface_and_family() {
    let text = "vrrp_instance A {\n  interface eth0\n  virtual_router_id 7\n}\nvrrp_instance B {\n  interface eth0\n  virtual_router_id 7\n}\nvrrp_instance C {\n  interface eth1\n  virtual_router_id 7\n}\n";
    assert_eq!(
        diags(text),
        ["k.conf:7:3: error: (B) virtual_router_id 7 is already used by `A` on interface eth0 (IPv4)\n  hint: each VRRP instance on one interface and family needs its own virtual_router_id"]
    );
}

#[test]
fn ipv6_vip_in_vrrp_v2() {
    assert_eq!(
        diags(&format!("{VI}  virtual_ipaddress {{\n    2001:db8::1/64\n  }}\n}}\n")),
        ["k.conf:6:5: error: (VI_1) IPv6 address 2001:db8::1/64 in a VRRPv2 instance\n  hint: VRRPv2 carries IPv4 only (RFC 3768); set `version 3`"]
    );
    assert!(diags(&format!(
        "{VI}  version 3\n  virtual_ipaddress {{\n    2001:db8::1/64\n  }}\n}}\n"
    ))
    .is_empty());
}

#[test]
fn track_script_naming_no_script() {
    assert_eq!(
        diags(&format!("vrrp_script chk_nginx {{\n  script \"pidof nginx\"\n}}\n{VI}  track_script {{\n    chk_ngnix\n  }}\n}}\n")),
        ["k.conf:9:5: error: (VI_1) track_script `chk_ngnix` names no vrrp_script\n  hint: did you mean `chk_nginx`?"]
    );
}

#[test]
fn nopreempt_without_backup_is_a_warning() {
    assert_eq!(
        diags("vrrp_instance VI_1 {\n  state MASTER\n  virtual_router_id 5\n  nopreempt\n}\n"),
        ["k.conf:4:3: warning: (VI_1) nopreempt has no effect unless the initial state is BACKUP\n  hint: set `state BACKUP` on every router of this group"]
    );
}

#[test]
fn missing_real_server_port() {
    assert_eq!(
        diags("virtual_server 10.0.0.1 80 { protocol TCP\n  lvs_method NAT\n  real_server 10.0.0.2 {\n  }\n}\n"),
        ["k.conf:3:3: error: real_server 10.0.0.2 has no port, and NAT to a port-based service needs one\n  hint: write `real_server 10.0.0.2 PORT`"]
    );
    assert_eq!(
        diags("virtual_server fwmark 1 {\n  real_server 10.0.0.2 {\n    TCP_CHECK {\n    }\n  }\n}\n"),
        ["k.conf:3:5: error: TCP_CHECK for real_server 10.0.0.2 has no port to connect to\n  hint: add `connect_port`, or a port to the real_server"]
    );
    // DR keeps the destination port: no port needed.
    assert!(diags(
        "virtual_server 10.0.0.1 80 { protocol TCP\n  lvs_method DR\n  real_server 10.0.0.2 {\n  }\n}\n"
    )
    .is_empty());
}

#[test]
fn long_auth_pass_is_truncated_with_a_warning() {
    assert_eq!(
        diags(&format!("{VI}  authentication {{\n    auth_type PASS\n    auth_pass 0123456789\n  }}\n}}\n")),
        ["k.conf:7:5: warning: (VI_1) auth_pass is longer than 8 characters and will be truncated to `01234567`"]
    );
}

#[test]
fn deprecated_aliases_name_the_current_keyword_and_still_apply() {
    let loaded = load_keepalived_str(
        "k.conf",
        "virtual_server 10.0.0.1 80 { protocol TCP\n  lb_algo rr\n  lb_kind DR\n  real_server 10.0.0.2 80 {\n    HTTP_GET {\n      url {\n        path /\n      }\n      nb_get_retry 4\n    }\n  }\n}\n",
        &LoadOptions::default(),
    );
    let text: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "k.conf:2:3: warning: `lb_algo` is deprecated; use `lvs_sched`\n  hint: replace `lb_algo` with `lvs_sched`",
            "k.conf:3:3: warning: `lb_kind` is deprecated; use `lvs_method`\n  hint: replace `lb_kind` with `lvs_method`",
            "k.conf:9:7: warning: `nb_get_retry` is deprecated; use `retry`\n  hint: replace `nb_get_retry` with `retry`",
        ]
    );
    let vs = &loaded.config.virtual_servers[0];
    assert_eq!(vs.lvs_sched, "rr");
    assert_eq!(vs.lvs_method, Some(conf::model::LvsMethod::DR));
    assert_eq!(vs.real_servers[0].checkers[0].retry, Some(4));
}

#[test]
fn unknown_keyword_warns_suggests_and_the_rest_loads() {
    let loaded = load_keepalived_str(
        "k.conf",
        &format!("{VI}  priorty 150\n  advert_int 2\n}}\n"),
        &LoadOptions::default(),
    );
    let text: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(text, ["k.conf:5:3: warning: unknown keyword `priorty` in `vrrp_instance`; ignored\n  hint: did you mean `priority`?"]);
    assert_eq!(
        loaded.config.vrrp_instances[0].advert_int,
        std::time::Duration::from_secs(2)
    );
}

#[test]
fn strict_turns_warnings_into_errors() {
    let text = format!("{VI}  priorty 150\n}}\n");
    let lax = load_keepalived_str("k.conf", &text, &LoadOptions::default());
    assert!(!lax.has_errors());
    let strict = load_keepalived_str(
        "k.conf",
        &text,
        &LoadOptions {
            strict: true,
            ..LoadOptions::default()
        },
    );
    assert!(strict.has_errors());
    assert_eq!(strict.diagnostics[0].severity, Severity::Error);
}

#[test]
fn missing_virtual_router_id() {
    assert_eq!(
        diags("vrrp_instance VI_1 {\n  state BACKUP\n}\n"),
        ["k.conf:1:1: error: (VI_1) the virtual router id must be set\n  hint: add `virtual_router_id N` (1..=255), the same on every router of this group"]
    );
}

#[test]
fn block_keyword_without_a_block() {
    assert_eq!(
        diags("global_defs\nrouter_id x\n"),
        [
            "k.conf:1:1: error: expected '{' after `global_defs`, found `router_id`\n  hint: `global_defs` takes a block: `global_defs { … }`",
            "k.conf:2:1: warning: unknown keyword `router_id` at the top level; ignored",
        ]
    );
}

#[test]
fn unterminated_quote() {
    assert_eq!(
        diags("vrrp_script s {\n  script \"/bin/check\n}\n"),
        ["k.conf:2:10: error: unterminated quoted string\n  hint: add the closing '\"'"]
    );
}

#[test]
fn toml_form_is_validated_like_keepalived_conf() {
    let toml = "[[vrrp_instances]]\nname = \"VI_1\"\nvirtual_router_id = 5\nadvert_int = \"100ms\"\nstate = \"MASTER\"\nnopreempt = true\n";
    let loaded = load_toml_str("lvsd.toml", toml, &LoadOptions::default());
    let text: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "lvsd.toml:4:1: warning: (VI_1) VRRPv2 advert_int is whole seconds; 0.1 is rounded\n  hint: use `version 3` for sub-second adverts",
            "lvsd.toml:6:1: warning: (VI_1) nopreempt has no effect unless the initial state is BACKUP\n  hint: set `state BACKUP` on every router of this group",
        ]
    );
    assert_eq!(loaded.diagnostics[0].text, "0.1");
    assert_eq!(
        loaded.config.vrrp_instances[0].advert_int,
        std::time::Duration::from_millis(100)
    );
    let bad = load_toml_str(
        "lvsd.toml",
        "[[vrrp_instances]]\nname = \"x\"\nprioriti = 3\n",
        &LoadOptions::default(),
    );
    let text: Vec<String> = bad.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "lvsd.toml:3:1: error: unknown key `prioriti`; the entry is ignored\n  hint: did you mean `priority`?",
            "lvsd.toml:1:1: error: (x) the virtual router id must be set\n  hint: add `virtual_router_id N` (1..=255), the same on every router of this group",
        ]
    );
    // The rest is read and checked: the instance is there, with its name.
    assert_eq!(bad.config.vrrp_instances[0].name, "x");
}

/// Deserialization errors and the semantic checks run afterwards both name the
/// line and column of the key or value; a rejected value costs only its entry.
#[test]
fn toml_diagnostics_carry_line_and_column() {
    let toml = r#"[[vrrp_scripts]]
name = "chk_nginx"
script = "pidof nginx"

[[vrrp_instances]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
priority = 300
state = "BACKUP"
track_script = [{ name = "chk_ngnix" }]

[[vrrp_instances]]
name = "VI_2"
interface = "eth0"
virtual_router_id = 51
prioriti = 100

[[vrrp_instances.virtual_routes]]
to = "10.0.0.0/8"
via = "2001:db8::1"
dev = "eth0"
"#;
    let loaded = load_toml_str("lvsd.toml", toml, &LoadOptions::default());
    let text: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "lvsd.toml:9:12: error: invalid value: integer `300`, expected u8",
            "lvsd.toml:17:1: error: unknown key `prioriti`; the entry is ignored\n  hint: did you mean `priority`?",
            "lvsd.toml:11:17: error: (VI_1) track_script `chk_ngnix` names no vrrp_script\n  hint: did you mean `chk_nginx`?",
            "lvsd.toml:16:1: error: (VI_2) virtual_router_id 51 is already used by `VI_1` on interface eth0 (IPv4)\n  hint: each VRRP instance on one interface and family needs its own virtual_router_id",
            "lvsd.toml:21:1: error: the route mixes IPv4 and IPv6 (the line is inet)\n  hint: a route or rule is of one family; split it in two",
        ]
    );
    assert_eq!(loaded.diagnostics[0].text, "300");
    assert_eq!(loaded.diagnostics[2].text, "chk_ngnix");
    assert_eq!(loaded.diagnostics[4].text, "2001:db8::1");
    // Both instances are read; the rejected priority is the default.
    let instances = &loaded.config.vrrp_instances;
    assert_eq!(instances.len(), 2);
    assert_eq!(instances[0].priority, conf::model::defaults::PRIORITY);
}

#[test]
fn unicast_peer_ttl_bounds_are_read_and_reported_as_not_enforced() {
    let loaded = load_keepalived_str(
        "k.conf",
        &format!(
            "{VI}  unicast_peer {{\n    10.0.0.2 min_ttl 3 max_ttl 300\n    10.0.0.3\n  }}\n}}\n"
        ),
        &LoadOptions::default(),
    );
    let text: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "k.conf:6:14: warning: `min_ttl` is accepted but not enforced by lvsd\n  hint: lvsd does not filter unicast adverts by TTL; delete the option",
            "k.conf:6:32: error: `300` is out of range for `max_ttl` (0..=255)",
        ]
    );
    let peers: Vec<String> = loaded.config.vrrp_instances[0]
        .unicast_peer
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(peers, ["10.0.0.2", "10.0.0.3"]);
}

/// keepalived 2.2.7 makes an address service without `protocol` UDP and
/// only logs it; lvsd does the same and warns with the place.
#[test]
fn a_service_without_protocol_is_udp_with_a_warning() {
    let text = "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n  }\n}\n";
    assert_eq!(
        diags(text),
        ["k.conf:1:1: warning: no `protocol` set: the service is UDP (keepalived's default)\n  hint: add `protocol TCP` for a TCP service"]
    );
    let loaded = conf::load_keepalived_str("k.conf", text, &conf::LoadOptions::default());
    assert_eq!(
        loaded.config.virtual_servers[0].proto(),
        conf::model::Protocol::UDP
    );
    // A fwmark service has no protocol to set: no warning.
    assert!(diags("virtual_server fwmark 1 {\n  real_server 10.0.0.2 80 {\n  }\n}\n").is_empty());
}
