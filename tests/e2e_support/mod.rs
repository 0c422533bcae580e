//! End-to-end director scenarios (issue 7), shared by the VM test
//! `vm_e2e` (lvsd only, with assertions) and its benchmark entry point
//! (lvsd and keepalived 2.2.7 side by side, `bench/e2e/run.sh`).
//!
//! Topology, all in network namespaces made by the test (inside the VM,
//! whose kernel has IPVS):
//!
//! ```text
//!   client .100 ──┐                      front LAN 192.168.77.0/24
//!   d1 .1 (MASTER 150) ──┤ br0 ├── d2 .2 (BACKUP 100)      VIP .50
//!   DR:  r1 .11, r2 .12, r3 .13, sorry .99 on the front LAN, VIP on lo,
//!        arp_ignore 1 / arp_announce 2
//!   NAT: r1 10.0.2.11 … sorry 10.0.2.99 on a back LAN (eth1 of the
//!        directors, 10.0.2.1/.2), default route via the internal gateway
//!        VIP 10.0.2.254 that the same VRRP instance holds, so the replies
//!        follow the master through a failover
//! ```
//!
//! The real servers are HTTP servers of this process (a thread per
//! connection): `GET` is answered with the server's name, a first line
//! `HOLD` turns the connection into a line echo (the long-lived
//! connections of scenarios c and e). "Killing" a real server closes its
//! listener and its connections, so the kernel refuses at once.
//! The client sends one HTTP request to the VIP every 15 ms and records
//! each one (start, end, ok, who answered).
//!
//! Both implementations read the same keepalived.conf.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use integration::netns::{ChildGuard, Netns};
use nix::sched::{setns, CloneFlags};

pub const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");
pub const VIP: &str = "192.168.77.50";
pub const GATEWAY_VIP: &str = "10.0.2.254";
/// delay_loop and connect_timeout of the checks (seconds).
pub const DELAY_LOOP: u64 = 1;
pub const CONNECT_TIMEOUT: u64 = 1;
/// One client request every …
pub const REQUEST_EVERY: Duration = Duration::from_millis(15);
/// Long-lived connections opened before scenarios c and e.
pub const HELD: usize = 10;

/// One topology at a time: the VM has two vCPUs, and IPVS dumps walk a
/// hash table that all namespaces share.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Forwarding method of the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Dr,
    Nat,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Dr => "DR",
            Mode::Nat => "NAT",
        }
    }

    /// Address of real server `i` (0..3), and of the sorry server (3).
    pub fn real(self, i: usize) -> String {
        let host = [11, 12, 13, 99][i];
        match self {
            Mode::Dr => format!("192.168.77.{host}"),
            Mode::Nat => format!("10.0.2.{host}"),
        }
    }
}

/// Which program directs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Lvsd,
    Keepalived,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Lvsd => "lvsd",
            Kind::Keepalived => "keepalived",
        }
    }
}

/// What a configuration holds besides the VIP's service.
#[derive(Debug, Clone, Copy)]
pub struct ConfOpts {
    /// Services VIP:1001… with one real server each (no checker).
    pub extra_services: usize,
    /// Weight of the last extra service's real server (the one a reload changes).
    pub last_weight: u32,
    /// Append an unterminated block (a configuration that does not parse).
    pub broken: bool,
}

impl Default for ConfOpts {
    fn default() -> Self {
        ConfOpts {
            extra_services: 0,
            last_weight: 1,
            broken: false,
        }
    }
}

/// The keepalived.conf of director `d` (0: MASTER 150, 1: BACKUP 100).
/// `protocol TCP` is spelled out: keepalived 2.2.7 defaults a virtual
/// server without it to UDP ("no protocol set - defaulting to UDP").
pub fn config(mode: Mode, d: usize, o: ConfOpts) -> String {
    let (state, priority) = if d == 0 {
        ("MASTER", 150)
    } else {
        ("BACKUP", 100)
    };
    let method = mode.name();
    // NAT: the real servers' gateway is a VIP of a second instance on the
    // back LAN, in a sync group with the front one (keepalived's usual NAT
    // pair), so that both move together and each announces its VIP on its
    // own link.
    let gateway = match mode {
        Mode::Dr => String::new(),
        Mode::Nat => format!(
            "vrrp_sync_group VG {{
    group {{
        VI_1
        VI_GW
    }}
}}
vrrp_instance VI_GW {{
    state {state}
    interface eth1
    virtual_router_id 52
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        {GATEWAY_VIP}/24 dev eth1
    }}
}}
"
        ),
    };
    let mut c = format!(
        "global_defs {{
    router_id e2e-d{n}
    vrrp_version 3
    lvs_sync_daemon eth0 VI_1 id 7
}}
vrrp_instance VI_1 {{
    state {state}
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        {VIP}/24 dev eth0
    }}
}}
{gateway}virtual_server {VIP} 80 {{
    protocol TCP
    delay_loop {DELAY_LOOP}
    lvs_sched rr
    lvs_method {method}
    sorry_server {sorry} 80
",
        n = d + 1,
        sorry = mode.real(3),
    );
    for i in 0..3 {
        let _ = writeln!(
            c,
            "    real_server {} 80 {{ TCP_CHECK {{ connect_timeout {CONNECT_TIMEOUT} retry 0 }} }}",
            mode.real(i)
        );
    }
    c.push_str("}\n");
    for k in 1..=o.extra_services {
        let port = 1000 + k;
        let weight = if k == o.extra_services {
            o.last_weight
        } else {
            1
        };
        let _ = writeln!(
            c,
            "virtual_server {VIP} {port} {{\n    protocol TCP\n    lvs_sched rr\n    lvs_method {method}\n    real_server {} {port} {{ weight {weight} }}\n}}",
            mode.real(0)
        );
    }
    if o.broken {
        c.push_str("virtual_server 192.168.77.51 80 {\n    protocol TCP\n");
    }
    c
}

/// Polls `cond` every 20 ms for up to `limit`; how long it took, or None.
pub fn poll(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// [`poll`] that must succeed (setup steps).
pub fn wait(what: &str, limit: Duration, cond: impl FnMut() -> bool) -> Duration {
    poll(limit, cond).unwrap_or_else(|| panic!("timed out after {limit:?} waiting for {what}"))
}

/// Runs `f` on a thread of its own inside `ns` (sockets made there stay there).
fn spawn_in<F: FnOnce() + Send + 'static>(ns: &Netns, f: F) -> JoinHandle<()> {
    let file = File::open(ns.path()).unwrap();
    std::thread::spawn(move || {
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap();
        f();
    })
}

/// Runs `argv` inside `ns` and returns its stdout. The child is forked by
/// a thread that entered the namespace, so it starts there without
/// `ip netns exec` (whose remount of /sys costs half a second under TCG).
pub fn run_in(ns: &Netns, argv: &[&str], stdin: &str) -> Result<String, String> {
    use std::process::Stdio;
    let out = ns
        .enter(|| {
            let mut child = Command::new(argv[0])
                .args(&argv[1..])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()?;
            if let Some(mut input) = child.stdin.take() {
                input.write_all(stdin.as_bytes())?;
            }
            child.wait_with_output()
        })
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{}: {e}", argv[0]))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{argv:?} in {}: {}",
            ns.name(),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `ip -batch -` inside `ns`; a failing line fails the test.
fn ip_batch(ns: &Netns, lines: &str) {
    run_in(ns, &["ip", "-batch", "-"], lines).unwrap();
}

/// Writes /proc/sys/KEY from inside `ns` (the net sysctls are those of
/// the writing thread's namespace).
fn sysctl(ns: &Netns, key: &str, value: &str) {
    ns.enter(|| std::fs::write(format!("/proc/sys/{key}"), value))
        .unwrap()
        .unwrap_or_else(|e| panic!("sysctl {key} in {}: {e}", ns.name()));
}

// --- real servers ---------------------------------------------------------------

/// An HTTP (and line-echo) server inside a namespace, until stopped.
pub struct WebServer {
    stop: Arc<AtomicBool>,
    listener: Arc<TcpListener>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl WebServer {
    pub fn start(ns: &Netns, name: &str) -> WebServer {
        let listener = Arc::new(
            ns.enter(|| TcpListener::bind("0.0.0.0:80"))
                .unwrap()
                .unwrap(),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (listener, stop, conns) = (listener.clone(), stop.clone(), conns.clone());
            let name = name.to_string();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (name, conns) = (name.clone(), conns.clone());
                    std::thread::spawn(move || serve(stream, &name, &conns));
                }
            })
        };
        WebServer {
            stop,
            listener,
            conns,
            thread: Some(thread),
        }
    }

    /// Closes the listener and every connection: new connections are refused.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // shutdown(2) on a listening socket wakes the blocked accept and
        // takes it out of LISTEN at once.
        let _ = socket2::SockRef::from(&*self.listener).shutdown(Shutdown::Both);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Answers one connection; a held one is registered in `held`, so that
/// stopping the server resets it.
fn serve(stream: TcpStream, name: &str, held: &Mutex<Vec<TcpStream>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut out = stream;
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return; // a TCP_CHECK: connect and close
    }
    if line.starts_with("HOLD") {
        if let Ok(clone) = out.try_clone() {
            held.lock().unwrap().push(clone);
        }
        if out.write_all(format!("OK {name}\n").as_bytes()).is_err() {
            return;
        }
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if out.write_all(line.as_bytes()).is_err() {
                        return;
                    }
                }
            }
        }
    }
    // HTTP/1.0: skip the headers, answer with the server's name.
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    let body = format!("{name}\n");
    let _ = out.write_all(
        format!(
            "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let _ = out.shutdown(Shutdown::Write);
}

// --- the client ------------------------------------------------------------------

/// One client request.
#[derive(Debug, Clone)]
pub struct Sample {
    pub start: Instant,
    pub end: Instant,
    /// Who answered, or why it failed.
    pub result: Result<String, String>,
}

/// Failed requests and outage in a time window.
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    pub requests: usize,
    pub failed: usize,
    /// Time without service: the runs of consecutive failed requests, each
    /// from its first request's start to the next success (0 without failures).
    pub outage: Duration,
}

/// Continuous HTTP traffic from the client namespace to VIP:80.
pub struct Traffic {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    thread: Option<JoinHandle<()>>,
}

fn get(addr: &SocketAddr) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(addr, Duration::from_millis(500))
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(1))).ok();
    s.set_write_timeout(Some(Duration::from_secs(1))).ok();
    s.write_all(b"GET / HTTP/1.0\r\nHost: e2e\r\n\r\n")
        .map_err(|e| format!("send: {e}"))?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)
        .map_err(|e| format!("receive: {e}"))?;
    match reply.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.0 200") => Ok(body.trim().to_string()),
        _ => Err(format!("bad reply {reply:?}")),
    }
}

impl Traffic {
    pub fn start(client: &Netns) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, samples) = (stop.clone(), samples.clone());
            let addr: SocketAddr = format!("{VIP}:80").parse().unwrap();
            spawn_in(client, move || {
                while !stop.load(Ordering::SeqCst) {
                    let start = Instant::now();
                    let result = get(&addr);
                    let end = Instant::now();
                    samples.lock().unwrap().push(Sample { start, end, result });
                    if let Some(rest) = REQUEST_EVERY.checked_sub(end - start) {
                        std::thread::sleep(rest);
                    }
                }
            })
        };
        Traffic {
            stop,
            samples,
            thread: Some(thread),
        }
    }

    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().unwrap().clone()
    }

    /// Requests that started in `[from, to)`.
    pub fn window(&self, from: Instant, to: Instant) -> Window {
        let samples = self.samples();
        let inside: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.start >= from && s.start < to)
            .collect();
        let failed = inside.iter().filter(|s| s.result.is_err()).count();
        // Each run of consecutive failures lasts from the start of its first
        // request to the start of the next successful one (or the end of
        // its last request).
        let mut outage = Duration::ZERO;
        let mut run_start: Option<&Sample> = None;
        let mut last_failed: Option<&Sample> = None;
        for s in &inside {
            match (&s.result, run_start) {
                (Err(_), None) => {
                    run_start = Some(s);
                    last_failed = Some(s);
                }
                (Err(_), Some(_)) => last_failed = Some(s),
                (Ok(_), Some(first)) => {
                    outage += s.start - first.start;
                    run_start = None;
                }
                (Ok(_), None) => {}
            }
        }
        if let (Some(first), Some(last)) = (run_start, last_failed) {
            outage += last.end - first.start;
        }
        Window {
            requests: inside.len(),
            failed,
            outage,
        }
    }

    /// Why the requests in the window failed (for messages).
    pub fn failures(&self, from: Instant, to: Instant) -> Vec<String> {
        self.samples()
            .iter()
            .filter(|s| s.start >= from && s.start < to)
            .filter_map(|s| s.result.clone().err())
            .collect()
    }

    /// The reasons of the failures in the window, most frequent first.
    pub fn reasons(&self, from: Instant, to: Instant) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for why in self.failures(from, to) {
            // "connect: Connection refused (os error 111)" → "connect: Connection refused"
            let short = why.split(" (os error").next().unwrap_or(&why).to_string();
            match counts.iter_mut().find(|(w, _)| *w == short) {
                Some((_, n)) => *n += 1,
                None => counts.push((short, 1)),
            }
        }
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        counts
    }

    /// Waits until `n` consecutive requests after now succeeded and `who`
    /// answered at least once among the successes since now.
    pub fn wait_answers(&self, who: &[&str], limit: Duration) -> Option<Duration> {
        let since = Instant::now();
        poll(limit, || {
            let samples = self.samples();
            let recent: Vec<&Sample> = samples.iter().filter(|s| s.start >= since).collect();
            let all_seen = who.iter().all(|w| {
                recent
                    .iter()
                    .any(|s| s.result.as_deref().is_ok_and(|b| b == *w))
            });
            let tail_ok =
                recent.len() >= 5 && recent.iter().rev().take(5).all(|s| s.result.is_ok());
            all_seen && tail_ok
        })
    }

    /// Waits until a request started after `since` succeeds; when it started.
    pub fn first_ok_after(&self, since: Instant, limit: Duration) -> Option<Instant> {
        let mut found = None;
        poll(limit, || {
            found = self
                .samples()
                .iter()
                .find(|s| s.start >= since && s.result.is_ok())
                .map(|s| s.start);
            found.is_some()
        });
        found
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Long-lived TCP connections to VIP:80 (line echo after `HOLD`).
pub struct Held {
    conns: Vec<Option<(TcpStream, BufReader<TcpStream>)>>,
}

impl Held {
    /// Opens `n` connections from the client namespace.
    pub fn open(client: &Netns, n: usize) -> Held {
        let addr: SocketAddr = format!("{VIP}:80").parse().unwrap();
        let conns = client
            .enter(|| {
                (0..n)
                    .map(|_| {
                        let mut s =
                            TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
                        s.write_all(b"HOLD\n").ok()?;
                        let mut r = BufReader::new(s.try_clone().ok()?);
                        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
                        r.get_ref()
                            .set_read_timeout(Some(Duration::from_secs(2)))
                            .ok()?;
                        let mut line = String::new();
                        r.read_line(&mut line).ok()?;
                        line.starts_with("OK ").then_some((s, r))
                    })
                    .collect()
            })
            .unwrap();
        Held { conns }
    }

    /// Sends a line on every live connection and waits up to `timeout` for
    /// its echo; a connection that fails is dropped. Returns the live count.
    pub fn ping(&mut self, timeout: Duration) -> usize {
        for slot in &mut self.conns {
            let alive = slot.as_mut().is_some_and(|(s, r)| {
                let _ = r.get_ref().set_read_timeout(Some(timeout));
                let mut line = String::new();
                s.write_all(b"ping\n").is_ok() && r.read_line(&mut line).is_ok() && line == "ping\n"
            });
            if !alive {
                *slot = None;
            }
        }
        self.alive()
    }

    pub fn alive(&self) -> usize {
        self.conns.iter().flatten().count()
    }
}

// --- directors -------------------------------------------------------------------

/// One director process (lvsd, or keepalived's three processes).
pub struct Director {
    pub kind: Kind,
    pub index: usize,
    pub conf: PathBuf,
    pub log: PathBuf,
    pub socket: PathBuf,
    dir: PathBuf,
    guard: Option<ChildGuard>,
}

impl Director {
    pub fn start(kind: Kind, ns: &Netns, dir: &Path, index: usize, conf: &str) -> Director {
        let n = index + 1;
        let mut d = Director {
            kind,
            index,
            conf: dir.join(format!("d{n}.conf")),
            log: dir.join(format!("d{n}.log")),
            socket: dir.join(format!("d{n}.sock")),
            dir: dir.to_path_buf(),
            guard: None,
        };
        std::fs::write(&d.conf, conf).unwrap();
        d.spawn(ns);
        d
    }

    fn pidfile(&self, what: &str) -> PathBuf {
        self.dir.join(format!("d{}-{what}.pid", self.index + 1))
    }

    fn spawn(&mut self, ns: &Netns) {
        let argv = match self.kind {
            Kind::Lvsd => format!(
                "{LVSD} run -f {} --control-socket {} --reconcile-interval 2s",
                self.conf.display(),
                self.socket.display()
            ),
            Kind::Keepalived => {
                for p in ["main", "vrrp", "checkers"] {
                    let _ = std::fs::remove_file(self.pidfile(p));
                }
                format!(
                    "keepalived -n -l -D -f {} -p {} -r {} -c {}",
                    self.conf.display(),
                    self.pidfile("main").display(),
                    self.pidfile("vrrp").display(),
                    self.pidfile("checkers").display()
                )
            }
        };
        let script = format!("exec {argv} >>{} 2>&1", self.log.display());
        self.guard = Some(ns.spawn(&["sh", "-c", &script]).unwrap());
    }

    /// The processes: lvsd's one, or keepalived's parent and children.
    fn pids(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self
            .guard
            .as_ref()
            .map(|g| i32::try_from(g.pid()).unwrap())
            .into_iter()
            .collect();
        if self.kind == Kind::Keepalived {
            for p in ["vrrp", "checkers"] {
                if let Some(pid) = std::fs::read_to_string(self.pidfile(p))
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                {
                    pids.push(pid);
                }
            }
        }
        pids
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        for pid in self.pids() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
        }
    }

    /// A crash: SIGKILL. keepalived's processes are all stopped first, so
    /// that no child reacts to its parent's death (PDEATHSIG) by resigning
    /// or cleaning up; that is what a crash of the whole node looks like.
    pub fn kill9(&mut self) {
        use nix::sys::signal::Signal;
        if self.kind == Kind::Keepalived {
            self.signal(Signal::SIGSTOP);
        }
        self.signal(Signal::SIGKILL);
        if let Some(mut g) = self.guard.take() {
            let _ = g.child().wait();
        }
    }

    /// Starts again with the same configuration file.
    pub fn restart(&mut self, ns: &Netns) {
        self.spawn(ns);
    }

    pub fn write_conf(&self, text: &str) {
        std::fs::write(&self.conf, text).unwrap();
    }

    /// Asks for a reload: `lvsd reload` (its exit status and output), or
    /// SIGHUP to keepalived (no answer).
    pub fn reload(&self) -> Option<(bool, String)> {
        match self.kind {
            Kind::Lvsd => {
                let out = Command::new(LVSD)
                    .args(["reload", "--socket", self.socket.to_str().unwrap()])
                    .output()
                    .unwrap();
                Some((
                    out.status.success(),
                    format!(
                        "{}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    ),
                ))
            }
            Kind::Keepalived => {
                if let Some(pid) = self.pids().first() {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(*pid),
                        nix::sys::signal::Signal::SIGHUP,
                    );
                }
                None
            }
        }
    }

    /// The status socket answers (lvsd; keepalived: its pid files exist).
    /// Both are asked from this process: running `lvsd status` per poll
    /// cost lvsd a process start each time (about 65 ms in the TCG guest),
    /// which the pid file check does not.
    pub fn running(&self) -> bool {
        use lvsd::control::{call, Request, Response};
        match self.kind {
            Kind::Lvsd => matches!(
                call(&self.socket, &Request::Status, Duration::from_secs(5)),
                Ok(Response::Status(_))
            ),
            Kind::Keepalived => self.pidfile("checkers").exists() && self.pidfile("vrrp").exists(),
        }
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

// --- the whole setup -------------------------------------------------------------

/// Namespaces, servers, directors and the client's traffic of one scenario.
/// Fields drop in order: traffic, directors, servers, namespaces.
pub struct Setup {
    pub kind: Kind,
    pub mode: Mode,
    pub traffic: Option<Traffic>,
    pub directors: Vec<Director>,
    /// r1, r2, r3, sorry (None: stopped).
    pub servers: Vec<Option<WebServer>>,
    pub d: Vec<Netns>,
    pub reals: Vec<Netns>,
    pub client: Netns,
    pub front: Netns,
    pub back: Option<Netns>,
    pub dir: tempfile::TempDir,
    _one: std::sync::MutexGuard<'static, ()>,
}

pub const NAMES: [&str; 4] = ["r1", "r2", "r3", "sorry"];

impl Drop for Setup {
    fn drop(&mut self) {
        self.mark("teardown");
        self.traffic = None;
        self.directors.clear();
        self.servers.clear();
        self.mark("processes and servers stopped");
    }
}

impl Setup {
    /// Builds the topology, starts the servers and both directors, waits
    /// until d1 holds the VIP, every real server answers the client, and
    /// d2 runs the backup sync daemon.
    pub fn start(kind: Kind, mode: Mode, opts: ConfOpts) -> Setup {
        let one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        eprintln!("e2e: {} {}", kind.name(), mode.name());
        let front = Netns::new("front").unwrap();
        let d: Vec<Netns> = (1..=2)
            .map(|i| Netns::new(&format!("d{i}")).unwrap())
            .collect();
        let reals: Vec<Netns> = NAMES.iter().map(|n| Netns::new(n).unwrap()).collect();
        let client = Netns::new("client").unwrap();
        // Host end of each link: (namespace, interface, address, extra lines).
        let mut front_hosts: Vec<(&Netns, &str, String)> = vec![
            (&d[0], "eth0", "192.168.77.1/24".into()),
            (&d[1], "eth0", "192.168.77.2/24".into()),
            (&client, "eth0", "192.168.77.100/24".into()),
        ];
        let mut back_hosts: Vec<(&Netns, &str, String)> = Vec::new();
        for (i, ns) in reals.iter().enumerate() {
            let host = (ns, "eth0", format!("{}/24", mode.real(i)));
            match mode {
                Mode::Dr => front_hosts.push(host),
                Mode::Nat => back_hosts.push(host),
            }
        }
        let back = match mode {
            Mode::Dr => None,
            Mode::Nat => {
                back_hosts.push((&d[0], "eth1", "10.0.2.1/24".into()));
                back_hosts.push((&d[1], "eth1", "10.0.2.2/24".into()));
                Some(Netns::new("back").unwrap())
            }
        };
        let mut host_lines: Vec<(&Netns, String)> = Vec::new();
        for (lan, hosts) in [(Some(&front), &front_hosts), (back.as_ref(), &back_hosts)] {
            let Some(lan) = lan else { continue };
            let mut batch = String::from(
                "link add br0 type bridge forward_delay 0 stp_state 0\nlink set br0 up\n",
            );
            for (k, (ns, dev, addr)) in hosts.iter().enumerate() {
                let _ = write!(
                    batch,
                    "link add p{k} type veth peer name {dev} netns {}\nlink set p{k} master br0\nlink set p{k} up\n",
                    ns.name()
                );
                host_lines.push((
                    ns,
                    format!("addr add {addr} dev {dev}\nlink set {dev} up\n"),
                ));
            }
            ip_batch(lan, &batch);
        }
        for ns in &reals {
            match mode {
                Mode::Dr => {
                    host_lines.push((ns, format!("addr add {VIP}/32 dev lo\n")));
                    for key in ["all", "eth0"] {
                        sysctl(ns, &format!("net/ipv4/conf/{key}/arp_ignore"), "1");
                        sysctl(ns, &format!("net/ipv4/conf/{key}/arp_announce"), "2");
                    }
                }
                Mode::Nat => {
                    host_lines.push((ns, format!("route add default via {GATEWAY_VIP}\n")));
                }
            }
        }
        if mode == Mode::Nat {
            for ns in &d {
                sysctl(ns, "net/ipv4/ip_forward", "1");
            }
        }
        // One `ip -batch` per namespace, in the order the lines came.
        let mut namespaces: Vec<&Netns> = Vec::new();
        for (ns, _) in &host_lines {
            if !namespaces.iter().any(|n| n.name() == ns.name()) {
                namespaces.push(ns);
            }
        }
        for ns in namespaces {
            let lines: String = host_lines
                .iter()
                .filter(|(n, _)| n.name() == ns.name())
                .map(|(_, l)| l.as_str())
                .collect();
            ip_batch(ns, &lines);
        }
        let servers = reals
            .iter()
            .zip(NAMES)
            .map(|(ns, name)| Some(WebServer::start(ns, name)))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let directors = d
            .iter()
            .enumerate()
            .map(|(i, ns)| Director::start(kind, ns, dir.path(), i, &config(mode, i, opts)))
            .collect();
        let mut s = Setup {
            kind,
            mode,
            traffic: None,
            directors,
            servers,
            d,
            reals,
            client,
            front,
            back,
            dir,
            _one: one,
        };
        let limit = Duration::from_secs(60);
        s.mark(&format!(
            "directors started ({:?} after start)",
            started.elapsed()
        ));
        s.expect(poll(limit, || s.has_vip(0)), "d1 holds the VIP");
        s.mark("d1 holds the VIP");
        s.expect(
            poll(limit, || (0..3).all(|i| s.in_table(0, i))),
            "d1's table has the three real servers",
        );
        if opts.extra_services > 0 {
            let last = format!("{VIP}:{}", 1000 + opts.extra_services);
            s.expect(
                poll(limit, || s.service(0, &last).is_some()),
                "d1's table has every service",
            );
        }
        // The pair has settled: d2 is backup (no VIP, backup sync daemon),
        // d1 runs the master sync daemon.
        s.expect(
            poll(limit, || {
                !s.has_vip(1)
                    && s.sync_daemon(0).contains("master sync daemon")
                    && s.sync_daemon(1).contains("backup sync daemon")
            }),
            "d1 master and d2 backup with their sync daemons",
        );
        s.mark("table ready");
        s.traffic = Some(Traffic::start(&s.client));
        let answered = s.traffic().wait_answers(&NAMES[..3], limit);
        s.expect(answered, "the three real servers answering the client");
        s.mark("traffic flows");
        s
    }

    /// Fails with both directors' logs.
    pub fn expect<T>(&self, v: Option<T>, what: &str) -> T {
        v.unwrap_or_else(|| {
            let failures: Vec<String> = self
                .traffic
                .as_ref()
                .map(|t| t.samples().iter().rev().take(5).map(|s| format!("{:?}", s.result)).collect())
                .unwrap_or_default();
            panic!(
                "{} {}: {what} did not happen; last requests: {failures:?}\n--- d1:\n{}\n--- d2:\n{}",
                self.kind.name(),
                self.mode.name(),
                self.directors[0].log_tail(),
                self.directors[1].log_tail()
            )
        })
    }

    /// Asserts `cond`, failing with both directors' logs.
    pub fn check(&self, cond: bool, what: &str) {
        self.expect(cond.then_some(()), what);
    }

    /// A wall-clock mark on stderr, to line up with the directors' logs.
    pub fn mark(&self, what: &str) {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        eprintln!(
            "e2e {}.{:03}: {what}",
            t.as_secs() % 86400,
            t.subsec_millis()
        );
    }

    pub fn traffic(&self) -> &Traffic {
        self.traffic.as_ref().unwrap()
    }

    /// Director `d` holds the VIP on eth0.
    pub fn has_vip(&self, d: usize) -> bool {
        run_in(
            &self.d[d],
            &["ip", "-4", "-o", "addr", "show", "dev", "eth0"],
            "",
        )
        .is_ok_and(|o| o.contains(&format!("inet {VIP}/")))
    }

    /// `ipvsadm -Ln -t ADDR:PORT` on director `d` (one service: no dump of
    /// the hash table every namespace shares).
    pub fn service(&self, d: usize, service: &str) -> Option<String> {
        run_in(&self.d[d], &["ipvsadm", "-Ln", "-t", service], "").ok()
    }

    /// Real server `i` (3: the sorry server) is a destination of VIP:80 on `d`.
    pub fn in_table(&self, d: usize, i: usize) -> bool {
        self.service(d, &format!("{VIP}:80"))
            .is_some_and(|l| l.contains(&format!("-> {}:80 ", self.mode.real(i))))
    }

    /// The service's settings and destinations without the connection counters.
    pub fn table_of(&self, d: usize, service: &str) -> Option<Vec<String>> {
        let listing = self.service(d, service)?;
        Some(
            listing
                .lines()
                .map(|l| {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    if w.first() == Some(&"->") && w.len() == 6 {
                        w[..4].join(" ")
                    } else {
                        w.join(" ")
                    }
                })
                .collect(),
        )
    }

    /// `[conns, inpkts]` of a service on director `d` (`ipvsadm -Ln --stats`).
    pub fn stats(&self, d: usize, service: &str) -> Option<[u64; 2]> {
        let text = run_in(
            &self.d[d],
            &["ipvsadm", "-Ln", "--stats", "--exact", "-t", service],
            "",
        )
        .ok()?;
        let line = text.lines().find(|l| l.starts_with("TCP "))?;
        let f: Vec<u64> = line
            .split_whitespace()
            .skip(2)
            .filter_map(|w| w.parse().ok())
            .collect();
        Some([*f.first()?, *f.get(1)?])
    }

    /// `ipvsadm -L --daemon` on director `d`.
    pub fn sync_daemon(&self, d: usize) -> String {
        run_in(&self.d[d], &["ipvsadm", "-L", "--daemon"], "").unwrap_or_default()
    }

    /// Connections in director `d`'s table to VIP:80 in ESTABLISHED state.
    pub fn established(&self, d: usize) -> usize {
        run_in(&self.d[d], &["ipvsadm", "-Lnc"], "")
            .map(|o| {
                o.lines()
                    .filter(|l| l.contains("ESTABLISHED") && l.contains(&format!("{VIP}:80")))
                    .count()
            })
            .unwrap_or(0)
    }

    pub fn stop_server(&mut self, i: usize) {
        if let Some(s) = self.servers[i].take() {
            s.stop();
        }
    }

    pub fn start_server(&mut self, i: usize) {
        self.servers[i] = Some(WebServer::start(&self.reals[i], NAMES[i]));
    }

    /// Lets the traffic run for `t` more, then counts from `from` (and
    /// keeps the failures' reasons in `o`).
    pub fn settle(&self, o: &mut Outcome, from: Instant, t: Duration) -> Window {
        std::thread::sleep(t);
        let now = Instant::now();
        o.reasons = self.traffic().reasons(from, now);
        self.traffic().window(from, now)
    }
}

// --- the scenarios ------------------------------------------------------------------

/// What a scenario measured. Fields that do not apply stay at their default.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Client requests in the scenario and their failures.
    pub window: Window,
    /// (a) kill to removal from the table; restore to re-adding.
    pub removed_after: Option<Duration>,
    pub readded_after: Option<Duration>,
    /// (a) failed requests that started after the removal was seen.
    pub failed_after_removal: usize,
    /// (b) the sorry server answered / the real servers took over again.
    pub sorry_answered: bool,
    pub reals_back: bool,
    /// (c) kill to the VIP on the backup; the backup's synced connections.
    pub takeover_after: Option<Duration>,
    pub synced: usize,
    /// (c, e) long-lived connections before and after.
    pub held: usize,
    pub survived: usize,
    /// (d) the change reached the kernel this long after the reload began.
    pub converged_after: Option<Duration>,
    /// (d) counters of the busy unchanged service did not go back; those
    /// of an idle unchanged service are exactly the same.
    pub busy_counters_kept: bool,
    pub idle_counters_same: bool,
    /// (d) the idle service's [conns, inpkts] before and after.
    pub idle_counters: (Option<[u64; 2]>, Option<[u64; 2]>),
    /// (d, f) `lvsd reload`: success and its output.
    pub reload: Option<(bool, String)>,
    /// (e) the restarted director adopted the table (the service's
    /// counters did not restart); (f) the table did not change.
    pub table_kept: bool,
    /// (e) the backup took the VIP meanwhile.
    pub vip_moved: bool,
    /// (e) from the kill to the restarted daemon running.
    pub restart_after: Option<Duration>,
    /// Why the failed requests failed, with counts.
    pub reasons: Vec<(String, usize)>,
}

impl Outcome {
    /// The failures' reasons, e.g. `12× connect: Connection refused`.
    pub fn why(&self) -> String {
        let parts: Vec<String> = self
            .reasons
            .iter()
            .map(|(w, n)| format!("{n}× {w}"))
            .collect();
        if parts.is_empty() {
            "no failure".into()
        } else {
            parts.join(", ")
        }
    }

    /// The scenario-specific figure for the table.
    pub fn detail(&self, scenario: char) -> String {
        let ms = |d: Option<Duration>| {
            d.map_or("never".to_string(), |d| format!("{} ms", d.as_millis()))
        };
        match scenario {
            'a' => format!(
                "removed after {}, re-added after {}, {} failed after removal",
                ms(self.removed_after),
                ms(self.readded_after),
                self.failed_after_removal
            ),
            'b' => format!(
                "sorry answered: {}, real servers back: {}",
                self.sorry_answered, self.reals_back
            ),
            'c' => format!(
                "VIP on backup after {}; {} connections in the backup's table for {} held; {}/{} held survived",
                ms(self.takeover_after),
                self.synced,
                self.held,
                self.survived,
                self.held
            ),
            'd' => format!(
                "change in kernel after {}; busy counters kept: {}, idle counters same: {} ({:?} → {:?})",
                ms(self.converged_after),
                self.busy_counters_kept,
                self.idle_counters_same,
                self.idle_counters.0,
                self.idle_counters.1
            ),
            'e' => format!(
                "running again after {}; table adopted: {}; VIP moved: {}; {}/{} long-lived survived",
                ms(self.restart_after),
                self.table_kept,
                self.vip_moved,
                self.survived,
                self.held
            ),
            'f' => format!(
                "table unchanged: {}; reload answer: {}",
                self.table_kept,
                self.reload.as_ref().map_or("none (SIGHUP)".to_string(), |(ok, out)| format!(
                    "{} {}",
                    if *ok { "ok" } else { "refused" },
                    out.lines()
                        .find(|l| l.contains(".conf:"))
                        .or_else(|| out.lines().next())
                        .unwrap_or("")
                        .trim()
                ))
            ),
            _ => String::new(),
        }
    }
}

/// (a) One real server is killed, then restored.
pub fn kill_one_real_server(kind: Kind, mode: Mode) -> (Setup, Outcome) {
    let mut s = Setup::start(kind, mode, ConfOpts::default());
    let mut o = Outcome::default();
    let t0 = Instant::now();
    s.mark("stop r2");
    s.stop_server(1);
    s.mark("r2 stopped");
    o.removed_after = poll(Duration::from_secs(15), || !s.in_table(0, 1));
    s.mark("r2 out of the table");
    let removed = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    o.failed_after_removal = s.traffic().window(removed, Instant::now()).failed;
    s.start_server(1);
    let t1 = Instant::now();
    o.readded_after = poll(Duration::from_secs(15), || s.in_table(0, 1));
    s.traffic().wait_answers(&["r2"], Duration::from_secs(10));
    o.window = s.settle(&mut o, t0, Duration::from_millis(500));
    let _ = t1;
    (s, o)
}

/// (b) Every real server goes down: the sorry server answers; they return.
pub fn all_real_servers_down(kind: Kind, mode: Mode) -> (Setup, Outcome) {
    let mut s = Setup::start(kind, mode, ConfOpts::default());
    let mut o = Outcome::default();
    let t0 = Instant::now();
    for i in 0..3 {
        s.stop_server(i);
    }
    o.sorry_answered = s
        .traffic()
        .wait_answers(&["sorry"], Duration::from_secs(15))
        .is_some();
    for i in 0..3 {
        s.start_server(i);
    }
    o.reals_back = s
        .traffic()
        .wait_answers(&NAMES[..3], Duration::from_secs(15))
        .is_some()
        && !s.in_table(0, 3);
    o.window = s.settle(&mut o, t0, Duration::from_millis(500));
    (s, o)
}

/// (c) The master dies (SIGKILL, and its links go down as with a node
/// crash: with SIGKILL alone its kernel keeps forwarding); the backup takes
/// the VIP; long-lived connections opened before survive if the backup
/// received them over the sync daemon.
pub fn master_killed(kind: Kind, mode: Mode) -> (Setup, Outcome) {
    let mut s = Setup::start(kind, mode, ConfOpts::default());
    let mut o = Outcome::default();
    let mut held = Held::open(&s.client, HELD);
    // A few packets each: IPVS syncs a connection at its third packet
    // (sync_threshold 3 50).
    for _ in 0..4 {
        held.ping(Duration::from_secs(2));
    }
    o.held = held.alive();
    let _ = poll(Duration::from_secs(10), || s.established(1) >= o.held);
    o.synced = s.established(1);
    let t0 = Instant::now();
    s.directors[0].kill9();
    for dev in ["eth0", "eth1"] {
        let _ = run_in(&s.d[0], &["ip", "link", "set", dev, "down"], "");
    }
    o.takeover_after = poll(Duration::from_secs(20), || s.has_vip(1));
    s.traffic()
        .first_ok_after(Instant::now(), Duration::from_secs(10));
    o.survived = held.ping(Duration::from_secs(8));
    o.window = s.settle(&mut o, t0, Duration::from_millis(500));
    (s, o)
}

/// The weight of the last extra service's real server on director `d`.
fn last_weight(s: &Setup, service: &str) -> Option<u32> {
    let listing = s.service(0, service)?;
    let line = listing
        .lines()
        .find(|l| l.trim_start().starts_with("->") && !l.contains("RemoteAddress"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// (d) SIGHUP reload under traffic, 1,000 services, one changed.
pub fn reload_one_of_many(kind: Kind, mode: Mode) -> (Setup, Outcome) {
    const N: usize = 999;
    let opts = ConfOpts {
        extra_services: N,
        ..ConfOpts::default()
    };
    let s = Setup::start(kind, mode, opts);
    let mut o = Outcome::default();
    let busy = format!("{VIP}:80");
    let idle = format!("{VIP}:1500");
    let changed = format!("{VIP}:{}", 1000 + N);
    // One connection attempt to an idle service, so it has counters.
    let _ = s.client.enter(|| {
        TcpStream::connect_timeout(
            &format!("{VIP}:1500").parse().unwrap(),
            Duration::from_secs(1),
        )
    });
    // The kernel folds its per-CPU counters into what it reports every
    // 2 s (the rate estimator's timer): wait until the attempt shows.
    let mut idle_before = None;
    let _ = poll(Duration::from_secs(10), || {
        idle_before = s.stats(0, &idle);
        idle_before.is_some_and(|c| c[0] >= 1)
    });
    let busy_before = s.stats(0, &busy);
    s.directors[0].write_conf(&config(
        mode,
        0,
        ConfOpts {
            last_weight: 2,
            ..opts
        },
    ));
    let t0 = Instant::now();
    match kind {
        Kind::Lvsd => {
            // `lvsd reload` answers once applied (SIGHUP is the same path).
            o.reload = s.directors[0].reload();
        }
        Kind::Keepalived => {
            s.directors[0].reload();
        }
    }
    o.converged_after = poll(Duration::from_secs(60), || {
        last_weight(&s, &changed) == Some(2)
    });
    std::thread::sleep(Duration::from_secs(1));
    let busy_after = s.stats(0, &busy);
    o.busy_counters_kept =
        matches!((busy_before, busy_after), (Some(b), Some(a)) if a[0] >= b[0] && a[1] >= b[1]);
    let idle_after = s.stats(0, &idle);
    o.idle_counters_same = idle_before.is_some() && idle_after == idle_before;
    o.idle_counters = (idle_before, idle_after);
    o.window = s.settle(&mut o, t0, Duration::from_millis(500));
    (s, o)
}

/// (e) The master's daemon is killed with SIGKILL and started again.
pub fn daemon_restarted(kind: Kind, mode: Mode) -> (Setup, Outcome) {
    let mut s = Setup::start(kind, mode, ConfOpts::default());
    let mut o = Outcome::default();
    let busy = format!("{VIP}:80");
    let mut held = Held::open(&s.client, HELD);
    held.ping(Duration::from_secs(2));
    o.held = held.alive();
    let before = s.stats(0, &busy);
    let t0 = Instant::now();
    s.directors[0].kill9();
    s.directors[0].restart(&s.d[0]);
    o.restart_after = poll(Duration::from_secs(30), || s.directors[0].running());
    // Through the restarted daemon's first check round and reconcile.
    let back = poll(Duration::from_secs(15), || s.has_vip(0));
    std::thread::sleep(Duration::from_secs(DELAY_LOOP + 2));
    o.vip_moved = s.has_vip(1) || back.is_none();
    let after = s.stats(0, &busy);
    o.table_kept = matches!((before, after), (Some(b), Some(a)) if a[0] >= b[0] && a[1] >= b[1])
        && (0..3).all(|i| s.in_table(0, i));
    o.survived = held.ping(Duration::from_secs(5));
    o.window = s.settle(&mut o, t0, Duration::from_millis(500));
    (s, o)
}

/// (f) A configuration that does not parse is loaded.
pub fn broken_config(kind: Kind, mode: Mode) -> (Setup, Outcome) {
    let s = Setup::start(kind, mode, ConfOpts::default());
    let mut o = Outcome::default();
    let busy = format!("{VIP}:80");
    let before = s.table_of(0, &busy);
    s.directors[0].write_conf(&config(
        mode,
        0,
        ConfOpts {
            broken: true,
            ..ConfOpts::default()
        },
    ));
    let t0 = Instant::now();
    o.reload = s.directors[0].reload();
    std::thread::sleep(Duration::from_secs(2));
    o.table_kept = before.is_some() && s.table_of(0, &busy) == before;
    o.window = s.settle(&mut o, t0, Duration::from_millis(500));
    (s, o)
}

/// A scenario: runs it, returns the setup (for logs and assertions) and
/// what was measured.
pub type Scenario = fn(Kind, Mode) -> (Setup, Outcome);

/// Every scenario, by letter.
pub const SCENARIOS: [(char, &str, Scenario); 6] = [
    (
        'a',
        "kill one real server, restore it",
        kill_one_real_server,
    ),
    ('b', "all real servers down, back", all_real_servers_down),
    ('c', "SIGKILL + links down of the master", master_killed),
    (
        'd',
        "SIGHUP reload, 1,000 services, one changed",
        reload_one_of_many,
    ),
    ('e', "SIGKILL of the daemon, restart", daemon_restarted),
    ('f', "reload of a broken configuration", broken_config),
];
