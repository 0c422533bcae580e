//! Shared by the VM tests of ipvs-sys and of `lvsd ipvs` (tests/vm_ipvs_cli.rs
//! at the workspace root includes this file by path): the feature table,
//! namespaces ready for it, and a NAT lab that makes real traffic.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use integration::netns::{veth, ChildGuard, Netns};
use ipvs_sys::format::{self, ServiceEntry};
use ipvs_sys::*;

/// The feature table, in the exact text `ipvsadm -S -n` prints for it (its
/// order and spelling), so "ipvsadm reads back what ipvs-sys wrote" is one
/// string comparison. Every scheduler, TCP/UDP/SCTP, IPv4 and IPv6, fwmark
/// (v4 and v6), persistence with netmask / prefix and port 0, scheduler flags,
/// one-packet scheduling, the sip persistence engine, and every forwarding
/// method with every tunnel type and checksum option.
pub const RULES: &str = include_str!("../vectors/feature-table.rules");

/// Thresholds are not part of `ipvsadm -S`; they are set with these edits and
/// checked through `--thresholds`.
pub const THRESHOLDS: &str = "\
-e -t 10.1.0.1:80 -r 10.1.1.1:8080 -m -w 1 -x 100 -y 10
-e -t [2001:db8::1]:80 -r [2001:db8:1::2]:8080 -m -w 3 -x 5000 -y 0
";

/// A test namespace with routes for the table's real servers: the kernel
/// refuses (EINVAL) a NAT destination whose IPv4 address has no unicast or
/// local route (ip_vs_ctl.c __ip_vs_update_dest → inet_addr_type check).
///
/// Tests holding an `Ns` run one at a time: the kernel keeps the services of
/// every namespace in one hash table, and a multi-part dump walks it by
/// position (ip_vs_genl_dump_services keeps an index in cb->args), so a
/// service added or removed in another namespace between two parts shifts
/// the walk and the dump repeats or skips entries. Seen here as ipvsadm
/// listing a service several times while the other tests were running.
pub struct Ns(pub Netns, Turn);

/// Serialises the tests that compare whole-table dumps (see [`Ns`]).
static KERNEL_TABLE: std::sync::Mutex<()> = std::sync::Mutex::new(());

thread_local! {
    /// This thread's test already holds [`KERNEL_TABLE`] (a test may make
    /// several namespaces).
    static HOLDS_TURN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A test's turn at the kernel table; the first namespace of a test takes it.
pub struct Turn(Option<std::sync::MutexGuard<'static, ()>>);

impl Turn {
    fn take() -> Turn {
        if HOLDS_TURN.with(|h| h.get()) {
            return Turn(None);
        }
        let guard = KERNEL_TABLE.lock().unwrap_or_else(|e| e.into_inner());
        HOLDS_TURN.with(|h| h.set(true));
        Turn(Some(guard))
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.0.is_some() {
            HOLDS_TURN.with(|h| h.set(false));
        }
    }
}

impl Ns {
    pub fn new(label: &str) -> Ns {
        let turn = Turn::take();
        let ns = Netns::new(label).unwrap();
        ns.ip(&["link", "add", "dummy0", "type", "dummy"]).unwrap();
        ns.ip(&["link", "set", "dummy0", "multicast", "on"])
            .unwrap();
        ns.addr("dummy0", "10.255.255.254/8").unwrap();
        ns.ip(&["-6", "addr", "add", "2001:db8:ffff::1/32", "dev", "dummy0"])
            .unwrap();
        Ns(ns, turn)
    }

    pub fn client(&self) -> Client {
        Client::in_netns(&self.0.path()).unwrap()
    }

    pub fn ipvsadm(&self, args: &[&str]) -> String {
        let out = self.0.exec(&[&["ipvsadm"], args].concat()).unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn restore_with_ipvsadm(&self, rules: &str) {
        let file = std::env::temp_dir().join(format!("{}.rules", self.0.name()));
        std::fs::write(&file, rules).unwrap();
        let script = format!("ipvsadm -R < {}", file.display());
        self.0.sh(&script).unwrap();
        std::fs::remove_file(&file).unwrap();
    }
}

pub fn table(c: &mut Client) -> Vec<ServiceEntry> {
    c.services()
        .unwrap()
        .into_iter()
        .map(|s| {
            let d = c.dests(&s.key).unwrap();
            (s, d)
        })
        .collect()
}

/// The table without what the kernel owns (HASHED flag, counters), sorted:
/// what a caller programmed.
pub fn programmed(mut t: Vec<ServiceEntry>) -> Vec<ServiceEntry> {
    format::sort_table(&mut t);
    for (s, ds) in &mut t {
        s.flags.0 &= !ServiceFlags::HASHED;
        s.stats = None;
        for d in ds {
            d.stats = None;
            d.active_conns = 0;
            d.inact_conns = 0;
            d.persist_conns = 0;
        }
    }
    t
}

pub fn apply_rules(c: &mut Client, rules: &str) {
    let ops = rules::parse(rules).unwrap();
    c.apply(&ops).unwrap();
}

/// client (192.168.50.2) → director (NAT service 192.168.50.1:80) →
/// server (192.168.60.2:8080, answers `pong` to every connection).
pub struct NatLab {
    pub client: Netns,
    pub director: Ns,
    pub server: Netns,
    _answering: ChildGuard,
}

/// The lab's service.
pub const NAT_RULES: &str =
    "-A -t 192.168.50.1:80 -s rr\n-a -t 192.168.50.1:80 -r 192.168.60.2:8080 -m -w 1\n";

impl NatLab {
    pub fn new() -> NatLab {
        let client = Netns::new("cli").unwrap();
        let director = Ns::new("dir");
        let server = Netns::new("srv").unwrap();
        veth(&client, "eth0", &director.0, "c0").unwrap();
        veth(&director.0, "s0", &server, "eth0").unwrap();
        client.addr("eth0", "192.168.50.2/24").unwrap();
        director.0.addr("c0", "192.168.50.1/24").unwrap();
        director.0.addr("s0", "192.168.60.1/24").unwrap();
        server.addr("eth0", "192.168.60.2/24").unwrap();
        server
            .ip(&["route", "add", "default", "via", "192.168.60.1"])
            .unwrap();
        director.0.sysctl("net.ipv4.ip_forward=1").unwrap();

        director.restore_with_ipvsadm(NAT_RULES);
        // A server that answers each connection, then the client's exchanges.
        let answering = server
            .spawn(&[
                "sh",
                "-c",
                "while true; do echo pong | nc -N -l 8080 >/dev/null; done",
            ])
            .unwrap();
        NatLab {
            client,
            director,
            server,
            _answering: answering,
        }
    }

    /// Makes `n` request/answer exchanges through the service and waits until
    /// the kernel reports them in the counters; returns the table then.
    pub fn exchange_and_wait_counters(&self, c: &mut Client, n: u64) -> Vec<ServiceEntry> {
        let client = &self.client;
        let mut served = 0;
        for _ in 0..100 {
            if served == n {
                break;
            }
            let ok = client
                .sh("echo ping | nc -N -w 2 192.168.50.1 80")
                .map(|o| o.trim() == "pong")
                .unwrap_or(false);
            if ok {
                served += 1;
            } else {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
        assert_eq!(served, n, "exchanges through the NAT service");
        // Kernels before 6.2 fold the per-CPU counters into the reported ones in
        // the 2 s estimator tick (ip_vs_read_cpu_stats): wait for that tick.
        let mut t = table(c);
        for _ in 0..50 {
            if t[0].0.stats.unwrap().conns >= n {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            t = table(c);
        }
        let st = t[0].0.stats.unwrap();
        assert!(st.conns >= n && st.inpkts > 0 && st.outbytes > 0, "{st:?}");
        t
    }
}
