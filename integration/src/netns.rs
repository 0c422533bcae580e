//! Network namespaces for tests: each [`Netns`] is a uniquely named
//! namespace (`ip netns add`) that is deleted, with every process still in
//! it, when the guard drops — also when the test panics. Links are created
//! *inside* the namespaces (`ip -n NS link add … peer … netns OTHER`), so no
//! interface, address or route ever appears in the root namespace, and
//! tests can run in parallel with fixed interface names.
//!
//! Addresses such as 10.x or 192.168.x used by tests exist only inside these
//! namespaces.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use nix::sched::{setns, CloneFlags};

/// Prefix of every namespace this harness creates: `lvsdt-<pid>-<n>-<label>`.
pub const NAME_PREFIX: &str = "lvsdt-";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Errors of the namespace harness.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("cannot run {cmd}: {source}")]
    Spawn {
        cmd: String,
        #[source]
        source: io::Error,
    },
    #[error("{cmd} failed ({status}): {stderr}")]
    Failed {
        cmd: String,
        status: String,
        stderr: String,
    },
    #[error("cannot enter namespace {name}: {reason}")]
    Enter { name: String, reason: String },
}

pub type Result<T> = std::result::Result<T, NetnsError>;

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs a command to completion; a non-zero exit is an error with stderr.
pub fn run(cmd: &mut Command) -> Result<Output> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| NetnsError::Spawn {
            cmd: describe(cmd),
            source,
        })?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(NetnsError::Failed {
            cmd: describe(cmd),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Runs `ip ARGS…` in the root namespace (only for namespace management).
fn ip(args: &[&str]) -> Result<Output> {
    run(Command::new("ip").args(args))
}

/// A network namespace owned by the test; removed on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `lvsdt-<pid>-<n>-<label>` with its loopback up.
    pub fn new(label: &str) -> Result<Self> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{NAME_PREFIX}{}-{n}-{label}", std::process::id());
        ip(&["netns", "add", &name])?;
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's bind-mount file, usable with `setns(2)`.
    pub fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// A command that runs inside the namespace (`ip netns exec`).
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]);
        cmd
    }

    /// Runs a program inside the namespace to completion; non-zero exit is an error.
    pub fn exec(&self, argv: &[&str]) -> Result<Output> {
        let (program, args) = argv.split_first().ok_or_else(|| NetnsError::Failed {
            cmd: "exec".into(),
            status: "not run".into(),
            stderr: "empty argv".into(),
        })?;
        run(self.command(program).args(args))
    }

    /// Runs a `sh -c` script inside the namespace and returns its stdout.
    pub fn sh(&self, script: &str) -> Result<String> {
        let out = self.exec(&["sh", "-c", script])?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `ip -n NS ARGS…`: configure links, addresses and routes inside.
    pub fn ip(&self, args: &[&str]) -> Result<Output> {
        run(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// Adds an address (`10.0.0.1/24`) to an interface and brings it up.
    pub fn addr(&self, dev: &str, cidr: &str) -> Result<()> {
        self.ip(&["addr", "add", cidr, "dev", dev])?;
        self.ip(&["link", "set", dev, "up"])?;
        Ok(())
    }

    /// Sets a sysctl inside the namespace, e.g. `net.ipv4.ip_forward=1`.
    pub fn sysctl(&self, setting: &str) -> Result<()> {
        self.exec(&["sysctl", "-qw", setting]).map(|_| ())
    }

    /// Starts a long-running process inside the namespace; it is killed
    /// when the returned guard drops.
    pub fn spawn(&self, argv: &[&str]) -> Result<ChildGuard> {
        let (program, args) = argv.split_first().ok_or_else(|| NetnsError::Failed {
            cmd: "spawn".into(),
            status: "not run".into(),
            stderr: "empty argv".into(),
        })?;
        let mut cmd = self.command(program);
        cmd.args(args).stdin(Stdio::null());
        let child = cmd.spawn().map_err(|source| NetnsError::Spawn {
            cmd: describe(&cmd),
            source,
        })?;
        Ok(ChildGuard { child })
    }

    /// Runs `f` on a new thread that has entered the namespace: sockets
    /// created there belong to it for their whole life, wherever they are
    /// used afterwards.
    pub fn enter<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let file = File::open(self.path()).map_err(|e| NetnsError::Enter {
            name: self.name.clone(),
            reason: e.to_string(),
        })?;
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| NetnsError::Enter {
                        name: self.name.clone(),
                        reason: e.to_string(),
                    })?;
                    Ok(f())
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// PIDs of the processes inside the namespace.
    pub fn pids(&self) -> Vec<u32> {
        ip(&["netns", "pids", &self.name])
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Processes left inside were started by this test: end them first,
        // or the namespace would live on with them.
        for pid in self.pids() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// A child process killed (SIGKILL) and reaped on drop.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
}

impl ChildGuard {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connects two namespaces with a veth pair: `a_if` in `a`, `b_if` in `b`.
/// The pair is created inside `a`, so it never exists in the root namespace.
pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> Result<()> {
    a.ip(&[
        "link",
        "add",
        a_if,
        "type",
        "veth",
        "peer",
        "name",
        b_if,
        "netns",
        b.name(),
    ])?;
    a.ip(&["link", "set", a_if, "up"])?;
    b.ip(&["link", "set", b_if, "up"])?;
    Ok(())
}

/// A LAN: a namespace holding a bridge `br0`, to which hosts attach with a
/// veth each (the switch of a VRRP pair and its clients).
#[derive(Debug)]
pub struct Lan {
    ns: Netns,
    ports: AtomicU32,
}

impl Lan {
    pub fn new(label: &str) -> Result<Self> {
        let ns = Netns::new(label)?;
        ns.ip(&["link", "add", "br0", "type", "bridge"])?;
        // No STP delay: ports forward as soon as they are up.
        ns.ip(&[
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "forward_delay",
            "0",
            "stp_state",
            "0",
        ])?;
        ns.ip(&["link", "set", "br0", "up"])?;
        Ok(Lan {
            ns,
            ports: AtomicU32::new(0),
        })
    }

    /// The namespace holding the bridge (e.g. to run tcpdump or nftables there).
    pub fn netns(&self) -> &Netns {
        &self.ns
    }

    /// Attaches `host` to the bridge through its interface `dev`; returns the
    /// bridge-side port name.
    pub fn attach(&self, host: &Netns, dev: &str) -> Result<String> {
        let port = format!("p{}", self.ports.fetch_add(1, Ordering::Relaxed));
        veth(&self.ns, &port, host, dev)?;
        self.ns.ip(&["link", "set", &port, "master", "br0"])?;
        Ok(port)
    }
}

/// Namespaces named by this harness whose creating process is gone (left by
/// a test killed with SIGKILL); the test command deletes them before a run.
pub fn stale_namespaces() -> Vec<String> {
    let Ok(out) = ip(&["netns", "list"]) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| {
            name.strip_prefix(NAME_PREFIX)
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| !PathBuf::from(format!("/proc/{pid}")).exists())
        })
        .map(String::from)
        .collect()
}
