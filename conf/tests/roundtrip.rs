//! Generated configurations: every keyword of the schema, and random ones (proptest),
//! survive keepalived.conf → model → TOML → model and model → keepalived text → model,
//! and read the same when written on one line.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use conf::schema::{Block, Entry, Header, Kind, TOP};
use conf::{load_keepalived_str, load_toml_str, Config, LoadOptions};
use proptest::prelude::*;

/// xorshift64*: a reproducible stream from the proptest seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self) -> bool {
        self.below(2) == 0
    }
}

/// How to generate: every keyword (the corpus), or a random subset.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Every,
    Random,
}

struct Gen {
    rng: Rng,
    mode: Mode,
    /// Keep list blocks to shapes that also read unambiguously on one line.
    one_line_safe: bool,
}

impl Gen {
    fn ip(&mut self) -> String {
        if self.rng.chance() {
            format!(
                "10.{}.{}.{}",
                self.rng.below(256),
                self.rng.below(256),
                1 + self.rng.below(254)
            )
        } else {
            format!("2001:db8::{:x}", 1 + self.rng.below(0xfff))
        }
    }

    fn name(&mut self) -> String {
        format!(
            "{}_{}",
            self.rng.pick(&["chk", "VI", "grp", "web"]),
            self.rng.below(100)
        )
    }

    fn secs(&mut self) -> String {
        match self.rng.below(3) {
            0 => self.rng.below(100).to_string(),
            1 => format!("{}.5", self.rng.below(10)),
            _ => format!("0.{:03}", 1 + self.rng.below(999)),
        }
    }

    fn block(&mut self, block: &Block, out: &mut String, depth: usize) {
        for key in block.keys {
            let include = match self.mode {
                Mode::Every => true,
                Mode::Random => self.rng.below(3) == 0,
            };
            if !include {
                continue;
            }
            // Aliases and their targets write the same field; random mode uses neither twice.
            if matches!(key.kind, Kind::Alias(_)) && self.mode == Mode::Random {
                continue;
            }
            let pad = "  ".repeat(depth);
            let line = match key.kind {
                Kind::Str => format!("{} {}", key.name, self.name()),
                Kind::Line => format!("{} \"/usr/bin/check {}\"", key.name, self.rng.below(9)),
                Kind::Words => format!("{} {} {}", key.name, self.name(), self.rng.below(99)),
                Kind::Int(lo, hi) => {
                    let span = (hi - lo).min(1000) as u64;
                    format!(
                        "{} {}",
                        key.name,
                        lo.max(-500) + self.rng.below(span) as i64
                    )
                }
                Kind::Secs => format!("{} {}", key.name, self.secs()),
                Kind::SecsOr(_) if self.rng.chance() => key.name.to_string(),
                Kind::SecsOr(_) => format!("{} {}", key.name, self.secs()),
                Kind::Flag => key.name.to_string(),
                Kind::Ip => {
                    let ip = if key.name.ends_with('4') {
                        "224.0.0.18".to_string()
                    } else if key.name.ends_with('6') {
                        "ff02::12".to_string()
                    } else {
                        self.ip()
                    };
                    format!("{} {ip}", key.name)
                }
                Kind::Enum(choices) => format!("{} {}", key.name, self.rng.pick(choices)),
                Kind::OptName if self.rng.chance() => key.name.to_string(),
                Kind::OptName => format!("{} vmac{}", key.name, self.rng.below(9)),
                Kind::Endpoint => {
                    format!("{} {} {}", key.name, self.ip(), 1 + self.rng.below(65535))
                }
                Kind::Other => format!("{} {}", key.name, self.rng.below(9)),
                Kind::Alias(target) => {
                    let Some(target) = block.key(target) else {
                        continue;
                    };
                    match target.kind {
                        Kind::Int(..) => format!("{} 3", key.name),
                        Kind::Words => format!("{} eth0 VI_1", key.name),
                        Kind::Enum(choices) => format!("{} {}", key.name, choices[0]),
                        _ => format!("{} rr", key.name),
                    }
                }
                Kind::Block(child) => {
                    out.push_str(&format!("{pad}{} {{\n", key.name));
                    self.block(child, out, depth + 1);
                    out.push_str(&format!("{pad}}}\n"));
                    continue;
                }
                Kind::Blocks(child) | Kind::Checker(child) => {
                    let count = if self.mode == Mode::Every {
                        1
                    } else {
                        1 + self.rng.below(2)
                    };
                    for _ in 0..count {
                        let header = self.header(child.header);
                        out.push_str(&format!("{pad}{} {header}{{\n", key.name));
                        if child.header == Header::GroupList {
                            let entries = self.entries(Entry::GroupMember, child.name);
                            for entry in entries {
                                out.push_str(&format!("{pad}  {entry}\n"));
                            }
                        } else {
                            self.block(child, out, depth + 1);
                        }
                        out.push_str(&format!("{pad}}}\n"));
                    }
                    continue;
                }
                Kind::Lines(entry) => {
                    out.push_str(&format!("{pad}{} {{\n", key.name));
                    for entry in self.entries(entry, key.name) {
                        out.push_str(&format!("{pad}  {entry}\n"));
                    }
                    out.push_str(&format!("{pad}}}\n"));
                    continue;
                }
            };
            out.push_str(&format!("{pad}{line}\n"));
        }
    }

    /// Route or rule lines: every sample line (the corpus), or a few random ones
    /// (one when the text is also read as one line, where lines of a list merge).
    fn ip_lines(&mut self, entry: Entry, block: &str) -> Vec<String> {
        let samples: Vec<&str> = ip_samples(entry, block).collect();
        if self.mode == Mode::Every {
            return samples.into_iter().map(String::from).collect();
        }
        let count = if self.one_line_safe {
            1
        } else {
            1 + self.rng.below(3)
        };
        (0..count)
            .map(|_| self.rng.pick(&samples).to_string())
            .collect()
    }

    fn header(&mut self, header: Header) -> String {
        match header {
            Header::None => String::new(),
            Header::Name | Header::GroupList => format!("{} ", self.name()),
            Header::VirtualServer => match self.rng.below(3) {
                0 => format!("fwmark {} ", self.rng.below(1000)),
                1 => format!("group {} ", self.name()),
                _ => format!("{} {} ", self.ip(), self.rng.below(65536)),
            },
            Header::RealServer if self.rng.chance() => format!("{} ", self.ip()),
            Header::RealServer => format!("{} {} ", self.ip(), self.rng.below(65536)),
        }
    }

    fn entries(&mut self, entry: Entry, block: &str) -> Vec<String> {
        if let Entry::Route | Entry::Rule = entry {
            return self.ip_lines(entry, block);
        }
        let count = 1 + self.rng.below(3);
        (0..count)
            .map(|_| match entry {
                Entry::Word => self.name(),
                Entry::Ip => self.ip(),
                Entry::Tracked => {
                    let mut text = self.name();
                    if self.rng.chance() {
                        text.push_str(&format!(" weight {}", self.rng.below(500) as i64 - 250));
                    }
                    if self.rng.chance() {
                        text.push_str(" reverse");
                    }
                    text
                }
                Entry::Address => {
                    let mut text = self.ip();
                    if self.rng.chance() {
                        text.push_str(&format!("/{}", 8 + self.rng.below(24)));
                    }
                    for (option, value) in [
                        ("dev", "eth1".to_string()),
                        ("label", "eth1:1".to_string()),
                        ("scope", "global".to_string()),
                        ("brd", self.ip()),
                    ] {
                        if self.rng.chance() {
                            text.push_str(&format!(" {option} {value}"));
                        }
                    }
                    if self.rng.chance() {
                        text.push_str(" no_track");
                    }
                    text
                }
                Entry::Route | Entry::Rule => String::new(),
                Entry::GroupMember if self.rng.chance() => {
                    format!("fwmark {}", self.rng.below(100))
                }
                Entry::GroupMember => format!(
                    "10.0.0.{}-{} {}",
                    self.rng.below(100),
                    100 + self.rng.below(100),
                    self.rng.below(65536)
                ),
            })
            .collect()
    }
}

/// Route lines using every route keyword between them (keepalived 2.2.7 accepts each:
/// see tests/corpus/README.md). `track_group` ones are for `static_routes` only.
const ROUTES: &[&str] = &[
    "src 10.1.0.1 to 10.2.0.0/16 via 10.1.0.254 dev eth1 scope link table 100 metric 5 protocol static tos 0x10 realms 1/2 onlink",
    "10.3.0.0/16 via 10.1.0.254 oif eth1 priority 7 mtu lock 1400 advmss 1360 rtt 10ms rttvar 5ms reordering 3 window 65535 cwnd lock 10 ssthresh 20 rto_min 200ms initcwnd 10 initrwnd 20 congctl cubic hoplimit 64 features ecn quickack 1 fastopen_no_cookie 0 append no_track",
    "2001:db8:1::/64 from 2001:db8:2::/64 via 2001:db8::1 dev eth1 preference 9 pref high expires 300 ttl-propagate enabled dsfield 0x04 prepend",
    "10.4.0.0/16 gw 10.1.0.254 or 10.1.0.253 dev eth1 add",
    "10.5.0.0/16 table 200 nexthop via 10.1.0.1 dev eth1 weight 1 onlink nexthop via 10.1.0.2 dev eth2 weight 2 realms 3",
    "unicast 10.6.0.0/16 dev eth1",
    "local 10.7.0.1 dev eth1",
    "broadcast 10.8.255.255 dev eth1",
    "anycast 10.9.0.0/16 dev eth1",
    "multicast 224.2.0.0/16 dev eth1",
    "blackhole 10.10.0.0/16 no_track",
    "unreachable 10.11.0.0/16 no_track",
    "prohibit 10.12.0.0/16 no_track",
    "throw 10.13.0.0/16 no_track",
    "nat 10.14.0.0/16 dev eth1",
    "xresolve 10.15.0.0/16 dev eth1",
    "default dev eth1 table 300 vrf blue",
    "default dev eth1 table 301 inet6",
    "default dev eth1 table 302 inet",
    "to 10.16.0.0/16 dev eth1 track_group TG",
];

/// Rule lines using every rule keyword between them.
const RULES: &[&str] = &[
    "from 10.1.0.0/16 to 10.2.0.0/16 table 100 preference 100 tos 0x10 fwmark 0x10/0xff iif eth1 oif eth2 realms 1/2 suppress_prefixlength 0 suppress_ifgroup 5",
    "not from 10.3.0.0/16 lookup main order 101 dsfield 0x04 sup_pl 8 sup_group 6 dev eth1",
    "from 2001:db8::/64 to 2001:db8:1::/64 priority 102 table 50 uidrange 1000-2000 ipproto tcp sport 1000-2000 dport 80-80 protocol 18 tunnel-id 7",
    "from all preference 103 l3mdev",
    "to 10.4.0.0/16 preference 104 goto 200",
    "to 10.5.0.0/16 preference 105 nop",
    "from 10.6.0.0/16 preference 106 blackhole",
    "from 10.7.0.0/16 preference 107 type unreachable",
    "from 10.8.0.0/16 preference 108 prohibit",
    "preference 109 table 60 inet6",
    "fwmark 5 table 61 preference 110 no_track inet",
    "from 10.9.0.0/16 iif eth1 table 62 preference 111 track_group TG",
];

/// The sample lines that fit `block` (`static_routes`, `virtual_rules`, …).
fn ip_samples(entry: Entry, block: &str) -> impl Iterator<Item = &'static str> + '_ {
    let lines = if entry == Entry::Route { ROUTES } else { RULES };
    lines
        .iter()
        .copied()
        .filter(move |l| block.starts_with("static") || !l.contains("track_group"))
}

fn generate(seed: u64, mode: Mode, one_line_safe: bool) -> String {
    let mut generator = Gen {
        rng: Rng(seed | 1),
        mode,
        one_line_safe,
    };
    let mut out = String::new();
    generator.block(&TOP, &mut out, 0);
    out
}

/// Parses generated text; syntax problems would mean the generator or the parser is wrong.
fn parse(text: &str) -> Config {
    let loaded = load_keepalived_str("gen.conf", text, &LoadOptions::default());
    let syntax: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| {
            [
                "unknown keyword",
                "unexpected",
                "never closed",
                "expected '{'",
                "is not a",
                "is out of range for `",
                "` needs",
                "entry needs",
            ]
            .iter()
            .any(|m| d.message.contains(m))
        })
        .filter(|d| !d.message.contains("deprecated"))
        .collect();
    assert!(syntax.is_empty(), "{syntax:#?}\n{text}");
    loaded.config
}

fn assert_round_trips(config: &Config, origin: &str) {
    let text = conf::to_keepalived(config);
    assert_eq!(
        &parse(&text),
        config,
        "keepalived text round trip\n--- origin\n{origin}\n--- emitted\n{text}"
    );
    let toml = conf::to_toml(config).unwrap();
    let from_toml = load_toml_str("gen.toml", &toml, &LoadOptions::default());
    assert_eq!(
        &from_toml.config, config,
        "TOML round trip\n{toml}\n{:?}",
        from_toml.diagnostics
    );
}

#[test]
fn corpus_uses_every_keyword_and_round_trips() {
    let text = generate(42, Mode::Every, false);
    for block in all_blocks() {
        for key in block.keys {
            assert!(
                text.contains(&format!("{} ", key.name))
                    || text.contains(&format!("{}\n", key.name)),
                "{} unused",
                key.name
            );
        }
    }
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/every-keyword.conf");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "corpus changed: UPDATE_SNAPSHOTS=1"
    );
    let config = parse(&text);
    assert!(!config.virtual_servers.is_empty() && !config.vrrp_instances.is_empty());
    assert_eq!(
        config.virtual_servers[0].real_servers[0].checkers.len(),
        9,
        "all nine checkers"
    );
    assert_round_trips(&config, &text);
}

fn all_blocks() -> Vec<&'static Block> {
    fn walk(block: &'static Block, out: &mut Vec<&'static Block>) {
        out.push(block);
        for key in block.keys {
            if let Kind::Block(child) | Kind::Blocks(child) | Kind::Checker(child) = key.kind {
                walk(child, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&TOP, &mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_configs_round_trip(seed in any::<u64>()) {
        let text = generate(seed, Mode::Random, false);
        let config = parse(&text);
        assert_round_trips(&config, &text);
    }

    #[test]
    fn one_line_form_reads_like_the_multi_line_form(seed in any::<u64>()) {
        let text = generate(seed, Mode::Random, true);
        let one_line = text.replace('\n', " ");
        prop_assert_eq!(parse(&one_line), parse(&text), "{}", one_line);
    }
}

/// The route and rule corpus: every route and rule keyword, each line accepted by
/// keepalived 2.2.7 (`keepalived -t -f tests/corpus/routes-rules.conf`, see
/// tests/corpus/README.md for its output), read with exactly the warnings keepalived
/// gives for the same lines, and written back (keepalived text and TOML) unchanged.
#[test]
fn routes_and_rules_corpus_uses_every_keyword_and_round_trips() {
    let lines = |entry: Entry, block: &str, pad: &str| -> String {
        ip_samples(entry, block)
            .map(|l| format!("{pad}{l}\n"))
            .collect()
    };
    let text = format!(
        "global_defs {{\n  dynamic_interfaces\n}}\ntrack_group TG {{\n  group {{\n    VI_1\n  }}\n}}\n\
         static_routes {{\n{}}}\nstatic_rules {{\n{}}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth1\n  virtual_router_id 51\n  \
         virtual_ipaddress {{\n    10.0.0.100/24\n  }}\n  virtual_routes {{\n{}  }}\n  virtual_rules {{\n{}  }}\n}}\n",
        lines(Entry::Route, "static_routes", "  "),
        lines(Entry::Rule, "static_rules", "  "),
        lines(Entry::Route, "virtual_routes", "    "),
        lines(Entry::Rule, "virtual_rules", "    "),
    );
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/routes-rules.conf");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "corpus changed: UPDATE_SNAPSHOTS=1, then check it with keepalived -t again"
    );
    let words: std::collections::HashSet<&str> = text.split_whitespace().collect();
    for keyword in
        conf::iproute::route_keywords().chain(conf::iproute::RULE_KEYWORDS.iter().copied())
    {
        assert!(words.contains(keyword), "`{keyword}` unused");
    }
    let loaded = load_keepalived_str("routes-rules.conf", &text, &LoadOptions::default());
    let diagnostics: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(diagnostics, EXPECTED_CORPUS_DIAGNOSTICS, "{diagnostics:#?}");
    let config = loaded.config;
    assert_eq!(config.static_routes.len(), ROUTES.len());
    assert_eq!(config.static_rules.len(), RULES.len());
    let vi = &config.vrrp_instances[0];
    assert_eq!(
        vi.virtual_routes.len(),
        ROUTES.len() - 1,
        "no track_group line"
    );
    assert_eq!(
        vi.virtual_rules.len(),
        RULES.len() - 1,
        "no track_group line"
    );
    assert_round_trips(&config, &text);
}

/// What lvsd says about the corpus; keepalived 2.2.7 warns about the same lines
/// (protocol reset, gw/or deprecated, untracked routes without dev), see the README.
const EXPECTED_CORPUS_DIAGNOSTICS: &[&str] = &[
    "routes-rules.conf:13:15: warning: `gw` is deprecated; use `via`\n  hint: replace `gw` with `via`",
    "routes-rules.conf:13:29: warning: `or` is deprecated; use `nexthop`\n  hint: write `nexthop via A nexthop via B`",
    "routes-rules.conf:56:17: warning: `gw` is deprecated; use `via`\n  hint: replace `gw` with `via`",
    "routes-rules.conf:56:31: warning: `or` is deprecated; use `nexthop`\n  hint: write `nexthop via A nexthop via B`",
    "routes-rules.conf:10:94: warning: a tracked line gets protocol `keepalived` (18); this protocol is replaced (`static_routes`)\n  hint: add `no_track` to keep the protocol",
    "routes-rules.conf:14:3: warning: a route without `dev` is not tracked (`static_routes`)\n  hint: add `dev IFNAME`, or `no_track` to say so",
    "routes-rules.conf:53:96: warning: a tracked line gets protocol `keepalived` (18); this protocol is replaced (`virtual_routes`)\n  hint: add `no_track` to keep the protocol",
    "routes-rules.conf:57:5: warning: a route without `dev` is not tracked (`virtual_routes`)\n  hint: add `dev IFNAME`, or `no_track` to say so",
];
