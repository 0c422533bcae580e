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

/// The TOML form read as `lvsd.toml`, and its diagnostics as printed.
fn toml_diags(text: &str) -> (conf::Loaded, Vec<String>) {
    let loaded = load_toml_str("lvsd.toml", text, &LoadOptions::default());
    let shown = loaded.diagnostics.iter().map(ToString::to_string).collect();
    (loaded, shown)
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
    let (loaded, text) = toml_diags(toml);
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
            "lvsd.toml:3:1: warning: unknown key `prioriti`; ignored\n  hint: did you mean `priority`?",
            "lvsd.toml:1:1: error: (x) the virtual router id must be set\n  hint: add `virtual_router_id N` (1..=255), the same on every router of this group",
        ]
    );
    // The rest is read and checked: the instance is there, with its name.
    assert_eq!(bad.config.vrrp_instances[0].name, "x");

    // A misspelt array of tables is one warning, and the rest still loads.
    let misspelt = load_toml_str(
        "lvsd.toml",
        "[[vrrp_instance]]\nname = \"x\"\n\n[global_defs]\nrouter_id = \"r1\"\n",
        &LoadOptions::default(),
    );
    let text: Vec<String> = misspelt
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        text,
        ["lvsd.toml:1:3: warning: unknown key `vrrp_instance`; ignored\n  hint: did you mean `vrrp_instances`?"]
    );
    assert!(!misspelt.has_errors());
    assert_eq!(misspelt.config.global_defs.router_id.as_deref(), Some("r1"));
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
    let (loaded, text) = toml_diags(toml);
    assert_eq!(
        text,
        [
            "lvsd.toml:9:12: error: invalid value: integer `300`, expected u8",
            "lvsd.toml:17:1: warning: unknown key `prioriti`; ignored\n  hint: did you mean `priority`?",
            "lvsd.toml:11:17: error: (VI_1) track_script `chk_ngnix` names no vrrp_script\n  hint: did you mean `chk_nginx`?",
            "lvsd.toml:16:1: error: (VI_2) virtual_router_id 51 is already used by `VI_1` on interface eth0 (IPv4)\n  hint: each VRRP instance on one interface and family needs its own virtual_router_id",
            "lvsd.toml:21:1: error: the route mixes IPv4 and IPv6 (it is IPv4 by `to`) (`virtual_routes`)\n  hint: a route or rule is of one family; split it in two",
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

/// Bad words in routes and rules: each is an error at the offending word, naming
/// it and the block; the line is dropped (as keepalived drops it) and the rest loads.
#[test]
fn malformed_routes_and_rules_give_exact_diagnostics_and_the_rest_loads() {
    let text = "vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  virtual_routes {
    10.1.0.0/16 via 10.0.0.300 dev eth0
    10.2.0.0/16 dev eth0 mtx 1400
    10.3.0.0/16 dev
    10.4.0.0/16 via 2001:db8::1 dev eth0
    10.5.0.0/16 dev eth0 track_group G
    inet6 2001:db8:5::/64 dev eth0 metric 70000000000
    10.6.0.0/16 via 10.0.0.1 dev eth0
  }
  virtual_rules {
    from 10.0.0.0/8 preference 10
    from 10.0.0.0/8 table 5 goto 20 preference 10
    to 10.0.0.0/8 table 5 preference 30 sport 80
    from 10.0.0.0/8 to 2001:db8::/32 table 5 preference 40
    iif eth0 table 6
  }
}
";
    let loaded = load_keepalived_str("k.conf", text, &LoadOptions::default());
    let shown: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "k.conf:6:21: error: `10.0.0.300` is not an IP address (`via` in `virtual_routes`)",
            "k.conf:7:26: error: unknown keyword `mtx` in a route (`virtual_routes`)\n  hint: did you mean `mtu`?",
            "k.conf:8:17: error: `dev` needs a value (`virtual_routes`)",
            "k.conf:9:21: error: the route mixes IPv4 and IPv6 (it is IPv4 by `to`) (`virtual_routes`)\n  hint: a route or rule is of one family; split it in two",
            "k.conf:10:38: error: `track_group` is for static routes and rules only (`virtual_routes`)\n  hint: a virtual route or rule follows its vrrp_instance",
            "k.conf:11:5: warning: keepalived 2.2.7 skips the word after `inet6` (here `2001:db8:5::/64`); lvsd reads it\n  hint: write the family last on the line, or leave it out: the addresses give it",
            "k.conf:11:43: error: `70000000000` is out of range for `metric` (0..=4294967295)",
            "k.conf:15:5: error: the rule has no action (`virtual_rules`)\n  hint: add one of `table N`, `goto N`, `nop`, `blackhole`, `unreachable`, `prohibit`, `l3mdev`",
            "k.conf:16:34: error: a rule takes one action; `table` and `goto` are given (`virtual_rules`)",
            "k.conf:17:47: warning: keepalived 2.2.7 rejects a single port in `sport` and ignores the selector\n  hint: write `sport 80-80`",
            "k.conf:18:24: error: the rule mixes IPv4 and IPv6 (it is IPv4 by `from`) (`virtual_rules`)\n  hint: a route or rule is of one family; split it in two",
            "k.conf:19:5: warning: the rule has no preference; keepalived assigns one, which is probably not what you want (`virtual_rules`)\n  hint: add `preference N`",
        ]
    );
    // The offending text is the word itself.
    assert_eq!(loaded.diagnostics[0].text, "10.0.0.300");
    assert_eq!(loaded.diagnostics[1].text, "mtx");
    let vi = &loaded.config.vrrp_instances[0];
    assert_eq!(
        vi.virtual_router_id,
        Some(51),
        "the rest of the instance loads"
    );
    let routes: Vec<String> = vi.virtual_routes.iter().map(ToString::to_string).collect();
    assert_eq!(routes, ["10.6.0.0/16 via 10.0.0.1 dev eth0"]);
    let rules: Vec<String> = vi.virtual_rules.iter().map(ToString::to_string).collect();
    assert_eq!(
        rules,
        [
            "to 10.0.0.0/8 preference 30 sport 80-80 table 5",
            "iif eth0 table 6"
        ]
    );
}

/// The typed form: keepalived's defaults and spellings become one model (`gw` → via,
/// `oif` → dev, `via … or …` → two nexthops, family from the addresses, IPv4 without).
#[test]
fn routes_and_rules_are_typed() {
    use conf::model::{Family, IpLine, Nexthop, NumOrName, Range, Target};
    let loaded = load_keepalived_str(
        "k.conf",
        "static_routes {\n  2001:db8::/32 via 2001:db8::1 oif eth1 table main mtu lock 1400\n  10.0.0.0/8 gw 10.1.1.1 or 10.1.1.2 dev eth0 no_track\n  default dev eth0 table 7 inet6\n}\nstatic_rules {\n  from all fwmark 0x10/0xff lookup 100 priority 5 sport 1000-2000\n}\n",
        &LoadOptions::default(),
    );
    let config = &loaded.config;
    let v6 = &config.static_routes[0];
    assert_eq!(v6.effective_family(), Family::Inet6);
    assert_eq!(v6.family, None, "the addresses give the family");
    assert_eq!(v6.dev.as_deref(), Some("eth1"));
    assert_eq!(v6.table, Some(NumOrName::Name("main".into())));
    assert_eq!(
        (v6.mtu, v6.lock.as_slice()),
        (Some(1400), &["mtu".to_string()][..])
    );
    let or = &config.static_routes[1];
    assert_eq!(or.via, None);
    assert_eq!(
        or.nexthops,
        [
            Nexthop {
                via: Some("10.1.1.1".parse().unwrap()),
                ..Nexthop::default()
            },
            Nexthop {
                via: Some("10.1.1.2".parse().unwrap()),
                ..Nexthop::default()
            },
        ]
    );
    assert_eq!(or.effective_family(), Family::Inet);
    let default = &config.static_routes[2];
    assert_eq!(
        (default.to, default.family),
        (Target::Default, Some(Family::Inet6))
    );
    let rule = &config.static_rules[0];
    assert_eq!((rule.fwmark, rule.fwmask), (Some(16), Some(255)));
    assert_eq!(rule.table, Some(NumOrName::Num(100)));
    assert_eq!(rule.preference, Some(5));
    assert_eq!(
        rule.sport,
        Some(Range {
            start: 1000,
            end: 2000
        })
    );
    assert_eq!(
        rule.effective_family(),
        Family::Inet,
        "keepalived: IPv4 when nothing says"
    );
    // The dump writes the typed form, which reads back to the same model.
    let dump = conf::to_keepalived(config);
    assert!(
        dump.contains("10.0.0.0/8 dev eth0 no_track nexthop via 10.1.1.1 nexthop via 10.1.1.2\n"),
        "{dump}"
    );
    assert!(
        dump.contains("from all preference 5 fwmark 16/255 sport 1000-2000 table 100\n"),
        "{dump}"
    );
    let again = load_keepalived_str("dump.conf", &dump, &LoadOptions::default());
    assert_eq!(&again.config, config);
}

/// TOML routes and rules: a bad value is reported where it is written and costs its
/// route only; the whole-line checks point at the field inside the line.
#[test]
fn toml_routes_and_rules_report_positions_and_keep_the_rest() {
    let toml = r#"[[static_routes]]
to = "10.0.0.300/8"
dev = "eth0"

[[static_routes]]
to = "10.1.0.0/16"
dev = "eth0"
nexthops = [{ via = "10.0.0.1", weight = 0 }]

[[static_rules]]
from = "10.0.0.0/8"
table = 5
goto = 9
preference = 1
"#;
    let (loaded, text) = toml_diags(toml);
    assert_eq!(
        text,
        [
            "lvsd.toml:2:6: error: `10.0.0.300` is not an IP address",
            "lvsd.toml:1:1: error: missing field `to`",
            "lvsd.toml:8:33: error: a nexthop weight is 1..=256 (`static_routes`)",
            "lvsd.toml:13:1: error: a rule takes one action; `table` and `goto` are given (`static_rules`)",
        ]
    );
    assert_eq!(
        loaded.config.static_routes.len(),
        1,
        "the second route is kept"
    );
    assert_eq!(loaded.config.static_routes[0].to.to_string(), "10.1.0.0/16");
}
