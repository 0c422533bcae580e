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
                            let entries = self.entries(Entry::GroupMember);
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
                    for entry in self.entries(entry) {
                        out.push_str(&format!("{pad}  {entry}\n"));
                    }
                    out.push_str(&format!("{pad}}}\n"));
                    continue;
                }
            };
            out.push_str(&format!("{pad}{line}\n"));
        }
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

    fn entries(&mut self, entry: Entry) -> Vec<String> {
        let count = if entry == Entry::RawLine && self.one_line_safe {
            1
        } else {
            1 + self.rng.below(3)
        };
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
                Entry::RawLine => {
                    format!("10.{}.0.0/16 via 10.0.0.1 dev eth0", self.rng.below(256))
                }
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
