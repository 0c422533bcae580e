//! `lvsd ipvs …` (the binary) against the real `ipvsadm` 1.31, byte for byte,
//! inside the VM (feature `vm-tests`); each test in its own namespace. The
//! table and the NAT lab are ipvs-sys's (ipvs-sys/tests/support).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../ipvs-sys/tests/support/mod.rs"]
mod support;

use support::*;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

/// Column modes of `ipvsadm -L` (and `lvsd ipvs list`).
const MODES: [&[&str]; 6] = [
    &[],
    &["--stats"],
    &["--rate"],
    &["--thresholds"],
    &["--persistent-conn"],
    &["--tun-info"],
];

fn lvsd(ns: &Ns, args: &[&str]) -> String {
    let out = ns.0.exec(&[&[LVSD, "ipvs"], args].concat()).unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// `-t ADDR:PORT`, `-f MARK [-6]` … of every service, from `ipvsadm -S -n`.
fn service_selectors(ns: &Ns) -> Vec<Vec<String>> {
    ns.ipvsadm(&["-S", "-n"])
        .lines()
        .filter(|l| l.starts_with("-A "))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let mut sel = vec![words[1].to_string(), words[2].to_string()];
            if words.contains(&"-6") {
                sel.push("-6".into());
            }
            sel
        })
        .collect()
}

/// Every listing of `lvsd ipvs list` equals ipvsadm's: all column modes, with
/// and without `--exact`, the whole table and each service alone.
fn assert_lists_match(ns: &Ns) {
    for flags in MODES {
        for exact in [&[][..], &["--exact"][..]] {
            let theirs = ns.ipvsadm(&[&["-Ln"], flags, exact].concat());
            let ours = lvsd(ns, &[&["list", "-n"], flags, exact].concat());
            assert_eq!(ours, theirs, "list -n {flags:?} {exact:?}");
        }
    }
    for sel in service_selectors(ns) {
        let sel: Vec<&str> = sel.iter().map(String::as_str).collect();
        for flags in MODES {
            let theirs = ns.ipvsadm(&[&["-Ln"], &sel[..], flags].concat());
            let ours = lvsd(ns, &[&["list", "-n"], &sel[..], flags].concat());
            assert_eq!(ours, theirs, "list -n {sel:?} {flags:?}");
        }
    }
}

#[test]
fn every_listing_is_byte_identical_to_ipvsadm() {
    let ns = Ns::new("cli");
    ns.restore_with_ipvsadm(&format!("{RULES}{THRESHOLDS}"));
    ns.0.exec(&["ipvsadm", "--set", "900", "120", "300"])
        .unwrap();
    ns.0.exec(&[
        "ipvsadm",
        "--start-daemon",
        "master",
        "--mcast-interface",
        "dummy0",
        "--syncid",
        "3",
    ])
    .unwrap();
    assert_lists_match(&ns);
    assert_eq!(lvsd(&ns, &["save"]), ns.ipvsadm(&["-S", "-n"]));
    assert_eq!(lvsd(&ns, &["save"]), RULES);
    assert_eq!(lvsd(&ns, &["timeout"]), ns.ipvsadm(&["-L", "--timeout"]));
    // Setting: 0 leaves the tcpfin value as it was (120).
    lvsd(&ns, &["timeout", "--set", "1800", "0", "60"]);
    assert_eq!(
        ns.ipvsadm(&["-L", "--timeout"]),
        "Timeout (tcp tcpfin udp): 1800 120 60\n"
    );
    let daemons = ns.ipvsadm(&["-L", "--daemon"]);
    assert!(daemons.starts_with("master sync daemon"), "{daemons}");
    assert_eq!(lvsd(&ns, &["daemon"]), daemons);
    let header = ns.ipvsadm(&["-Ln"]).lines().next().unwrap().to_string();
    assert_eq!(lvsd(&ns, &["info"]), format!("{header}\n"));
    assert_named_lists_match(&ns);
}

/// Without `-n`, host names (from a hosts file of the namespace's own:
/// `ip netns exec` mounts /etc/netns/NAME/hosts over /etc/hosts) and
/// service names (Debian's /etc/services) replace numbers where they exist,
/// cut to the columns as ipvsadm cuts them. Its nsswitch.conf there keeps
/// lookups to files.
fn assert_named_lists_match(ns: &Ns) {
    let dir = std::path::Path::new("/etc/netns").join(ns.0.name());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("hosts"),
        "10.1.0.1 vip-one\n\
         10.1.1.1 a-real-server-name-longer-than-its-column.example\n\
         10.1.1.30 fwmark-real\n\
         2001:db8::1 vip-six\n",
    )
    .unwrap();
    // Files only: no DNS query leaves the namespace (or waits for a reply).
    std::fs::write(dir.join("nsswitch.conf"), "hosts: files\nservices: files\n").unwrap();
    let result = std::panic::catch_unwind(|| {
        let listing = ns.ipvsadm(&["-L"]);
        assert!(listing.contains("TCP  vip-one:http rr"), "{listing}");
        for flags in MODES {
            let theirs = ns.ipvsadm(&[&["-L"], flags].concat());
            let ours = lvsd(ns, &[&["list"], flags].concat());
            assert_eq!(ours, theirs, "list {flags:?}");
        }
        for sel in service_selectors(ns) {
            let sel: Vec<&str> = sel.iter().map(String::as_str).collect();
            let theirs = ns.ipvsadm(&[&["-L"], &sel[..]].concat());
            let ours = lvsd(ns, &[&["list"], &sel[..]].concat());
            assert_eq!(ours, theirs, "list {sel:?}");
        }
    });
    std::fs::remove_dir_all(&dir).unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn restore_programs_what_ipvsadm_restore_programs() {
    let rules = format!("{RULES}{THRESHOLDS}");
    let theirs = Ns::new("rtheirs");
    theirs.restore_with_ipvsadm(&rules);
    let ours = Ns::new("rours");
    let file = std::env::temp_dir().join(format!("{}.rules", ours.0.name()));
    std::fs::write(&file, &rules).unwrap();
    ours.0
        .sh(&format!("{LVSD} ipvs restore < {}", file.display()))
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    assert_eq!(ours.ipvsadm(&["-S", "-n"]), theirs.ipvsadm(&["-S", "-n"]));
    for flags in MODES {
        let args = [&["-Ln"], flags].concat();
        assert_eq!(ours.ipvsadm(&args), theirs.ipvsadm(&args), "{flags:?}");
    }
}

#[test]
fn listings_with_traffic_counters_are_identical() {
    let lab = NatLab::new();
    let mut client = lab.director.client();
    lab.exchange_and_wait_counters(&mut client, 7);
    // Rates move with the kernel's 2 s estimator; a pair of listings that
    // straddles a tick is taken again.
    for flags in MODES {
        for exact in [&[][..], &["--exact"][..]] {
            let mut last = None;
            for _ in 0..5 {
                let theirs = lab.director.ipvsadm(&[&["-Ln"], flags, exact].concat());
                let ours = lvsd(&lab.director, &[&["list", "-n"], flags, exact].concat());
                if ours == theirs {
                    last = None;
                    break;
                }
                last = Some((ours, theirs));
            }
            if let Some((ours, theirs)) = last {
                assert_eq!(ours, theirs, "{flags:?} {exact:?}");
            }
        }
    }
    let stats = lvsd(&lab.director, &["list", "-n", "--stats", "--exact"]);
    assert!(
        !stats.contains("TCP  192.168.50.1:80                  0"),
        "counters are non-zero: {stats}"
    );
}
