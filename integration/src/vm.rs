//! A VM runner: boots Debian's stock kernel (which has IPVS) under
//! `qemu-system-x86_64 -accel tcg` and runs one host command inside it, as
//! root, with the host's root filesystem visible read-only.
//!
//! How a run works:
//! - The kernel tree (an unpacked `linux-image-*-amd64` package with an
//!   uncompressed `vmlinux` and `depmod`-ed modules) lives in a cache
//!   directory, by default `target/vm-kernel` of the workspace; the test
//!   command's `integration/vm/fetch-kernel.sh` fills it.
//! - A tiny busybox initramfs ([`build_initramfs`]) loads virtio/9p/overlay,
//!   mounts the host root over 9p under a tmpfs overlay and switches to it
//!   (`vm/init.sh`), then `vm/stage2.sh` mounts the API filesystems, binds
//!   the guest modules under `/lib/modules` and runs the command.
//! - The command's output comes back on the second serial port, its exit
//!   status behind a marker with a per-run nonce; the kernel console goes to
//!   a log that is shown when the run fails to report a status.
//!
//! Nothing here skips: a missing kernel, a VM that does not boot or one that
//! hangs past the timeout is an error carrying the console log.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cpio::CpioWriter;

const STAGE1: &str = include_str!("../vm/init.sh");
const STAGE2: &str = include_str!("../vm/stage2.sh");

/// Modules the initramfs loads (with their dependencies) before it can see
/// the host's filesystem.
const BOOT_MODULES: &[&str] = &["virtio_pci", "9pnet_virtio", "9p", "overlay"];

/// Where the static busybox of Debian's `busybox-static` lives.
const BUSYBOX: &str = "/bin/busybox";

/// Environment variables passed from the host into the guest command.
const FORWARDED_ENV: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "RUST_BACKTRACE",
    "RUST_LOG",
    "RUST_TEST_THREADS",
    "RUST_MIN_STACK",
    "NEXTEST_TEST_THREADS",
];

/// Errors of the VM runner. Each carries what is needed to see why.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    #[error("kernel tree {dir}: {reason} (run integration/vm/fetch-kernel.sh)")]
    Kernel { dir: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("module {0} is not in modules.dep")]
    UnknownModule(String),
    #[error("cannot start qemu: {0}")]
    Spawn(std::io::Error),
    #[error("the VM did not report an exit status within {timeout:?}; console log:\n{console}")]
    Timeout { timeout: Duration, console: String },
    #[error("the VM stopped ({status}) without reporting an exit status; console log:\n{console}")]
    NoStatus { status: ExitStatus, console: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> VmError + '_ {
    move |source| VmError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An unpacked Debian kernel package: `vmlinux`, `version`, and
/// `lib/modules/<version>` with `modules.dep`.
#[derive(Debug, Clone)]
pub struct KernelTree {
    pub dir: PathBuf,
    pub version: String,
}

impl KernelTree {
    /// The default cache: `$LVSD_VM_KERNEL_DIR`, else `target/vm-kernel`
    /// of this workspace.
    pub fn default_dir() -> PathBuf {
        match std::env::var_os("LVSD_VM_KERNEL_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/vm-kernel"),
        }
    }

    /// Opens and checks a kernel tree.
    pub fn open(dir: &Path) -> Result<Self, VmError> {
        let dir = dir.canonicalize().map_err(|e| VmError::Kernel {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let missing = |what: &str| VmError::Kernel {
            dir: dir.clone(),
            reason: format!("{what} is missing"),
        };
        let version = fs::read_to_string(dir.join("version"))
            .map_err(|_| missing("the file `version`"))?
            .trim()
            .to_string();
        if !dir.join("vmlinux").is_file() {
            return Err(missing("vmlinux"));
        }
        if !dir
            .join("lib/modules")
            .join(&version)
            .join("modules.dep")
            .is_file()
        {
            return Err(missing("modules.dep (depmod)"));
        }
        Ok(KernelTree { dir, version })
    }

    pub fn vmlinux(&self) -> PathBuf {
        self.dir.join("vmlinux")
    }

    pub fn modules_dir(&self) -> PathBuf {
        self.dir.join("lib/modules").join(&self.version)
    }
}

/// Parses `modules.dep` into module name → (path, direct dependencies).
fn parse_modules_dep(text: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let name_of = |path: &str| -> String {
        let file = path.rsplit('/').next().unwrap_or(path);
        let stem = file.split(".ko").next().unwrap_or(file);
        stem.replace('-', "_")
    };
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(path, deps)| {
            let deps = deps.split_whitespace().map(name_of).collect();
            (name_of(path), (path.to_string(), deps))
        })
        .collect()
}

/// Orders `wanted` and everything they depend on so that each module comes
/// after its dependencies (what `modprobe` does, for `insmod`).
pub fn module_load_order(
    modules_dep: &str,
    wanted: &[&str],
) -> Result<Vec<(String, String)>, VmError> {
    let graph = parse_modules_dep(modules_dep);
    let mut order = Vec::new();
    let mut done = HashSet::new();
    // Depth-first post-order; the dependency graph of kernel modules is acyclic.
    fn visit(
        name: &str,
        graph: &BTreeMap<String, (String, Vec<String>)>,
        done: &mut HashSet<String>,
        order: &mut Vec<(String, String)>,
    ) -> Result<(), VmError> {
        if done.contains(name) {
            return Ok(());
        }
        let (path, deps) = graph
            .get(name)
            .ok_or_else(|| VmError::UnknownModule(name.to_string()))?;
        done.insert(name.to_string());
        for dep in deps {
            visit(dep, graph, done, order)?;
        }
        order.push((name.to_string(), path.clone()));
        Ok(())
    }
    for name in wanted {
        visit(&name.replace('-', "_"), &graph, &mut done, &mut order)?;
    }
    Ok(order)
}

/// Builds the stage-1 initramfs (newc cpio): busybox, the boot modules in
/// load order, and the two stage scripts.
pub fn build_initramfs(kernel: &KernelTree) -> Result<Vec<u8>, VmError> {
    let modules_dir = kernel.modules_dir();
    let dep_path = modules_dir.join("modules.dep");
    let dep = fs::read_to_string(&dep_path).map_err(io_err(&dep_path))?;
    let order = module_load_order(&dep, BOOT_MODULES)?;

    let mut cpio = CpioWriter::new();
    for dir in ["bin", "proc", "sys", "dev", "modules"] {
        cpio.dir(dir);
    }
    let busybox = fs::read(BUSYBOX).map_err(io_err(Path::new(BUSYBOX)))?;
    cpio.file("bin/busybox", 0o755, &busybox);
    cpio.file("init", 0o755, STAGE1.as_bytes());
    cpio.file("stage2.sh", 0o755, STAGE2.as_bytes());
    let mut names = String::new();
    for (name, rel) in &order {
        let path = modules_dir.join(rel);
        let bytes = fs::read(&path).map_err(io_err(&path))?;
        cpio.file(&format!("modules/{name}.ko"), 0o644, &bytes);
        names.push_str(name);
        names.push('\n');
    }
    cpio.file("modules/order", 0o644, names.as_bytes());
    Ok(cpio.finish())
}

/// Quotes a word for a POSIX shell.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// One command to run inside a fresh VM.
#[derive(Debug, Clone)]
pub struct VmRun {
    pub command: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub memory_mb: u32,
    pub cpus: u32,
    /// Extra kernel command-line words, e.g. `modprobe.blacklist=ip_vs`.
    pub kernel_args: Vec<String>,
}

impl VmRun {
    /// A run of `command` in the current directory, forwarding the usual
    /// Rust test variables, with a 10-minute timeout, 2 CPUs and 2 GiB.
    pub fn new<S: Into<String>>(command: impl IntoIterator<Item = S>) -> Self {
        let env = FORWARDED_ENV
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect();
        VmRun {
            command: command.into_iter().map(Into::into).collect(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
            env,
            timeout: Duration::from_secs(600),
            memory_mb: 2048,
            cpus: 2,
            kernel_args: Vec::new(),
        }
    }

    /// Boots with the ip_vs module blacklisted and hidden (stage2.sh binds
    /// /dev/null over it), to show that a test fails without IPVS.
    pub fn without_ipvs(&mut self) -> &mut Self {
        self.kernel_args
            .extend(["lvsd.noipvs=1".into(), "modprobe.blacklist=ip_vs".into()]);
        self
    }

    /// The shell script stage 2 sources.
    fn script(&self) -> String {
        let mut s = String::from("# written by the lvsd VM runner\n");
        s.push_str(&format!(
            "export PATH={}\n",
            shell_quote("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        ));
        s.push_str("export HOME=/root LVSD_IN_VM=1\n");
        for (k, v) in &self.env {
            s.push_str(&format!("export {}={}\n", k, shell_quote(v)));
        }
        s.push_str(&format!(
            "cd {} || exit 126\n",
            shell_quote(&self.cwd.to_string_lossy())
        ));
        // The guest has its own kernel; let tests print which one.
        s.push_str("echo \"lvsd-vm: guest kernel $(uname -r)\"\n");
        let words: Vec<String> = self.command.iter().map(|w| shell_quote(w)).collect();
        s.push_str(&words.join(" "));
        s.push('\n');
        s
    }

    /// Boots the VM, streams the command's output to `out` line by line,
    /// and returns the command's exit code.
    pub fn run(&self, kernel: &KernelTree, out: &mut dyn Write) -> Result<i32, VmError> {
        let nonce = format!(
            "{:x}{:x}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let run_dir = kernel.dir.join("runs").join(&nonce);
        fs::create_dir_all(&run_dir).map_err(io_err(&run_dir))?;
        let result = self.run_in(kernel, &run_dir, &nonce, out);
        let _ = fs::remove_dir_all(&run_dir);
        result
    }

    fn run_in(
        &self,
        kernel: &KernelTree,
        run_dir: &Path,
        nonce: &str,
        out: &mut dyn Write,
    ) -> Result<i32, VmError> {
        let initrd = run_dir.join("initrd.cpio");
        fs::write(&initrd, build_initramfs(kernel)?).map_err(io_err(&initrd))?;
        let script = run_dir.join("cmd.sh");
        fs::write(&script, self.script()).map_err(io_err(&script))?;
        let console = run_dir.join("console.log");

        let mut append = format!(
            "console=ttyS0 loglevel=4 panic=-1 lvsd.run={} lvsd.nonce={} lvsd.kdir={}",
            run_dir.display(),
            nonce,
            kernel.dir.display()
        );
        for arg in &self.kernel_args {
            append.push(' ');
            append.push_str(arg);
        }
        let mut qemu = Command::new("qemu-system-x86_64")
            .args([
                "-accel",
                "tcg",
                "-nodefaults",
                "-display",
                "none",
                "-no-reboot",
            ])
            .args([
                "-m",
                &self.memory_mb.to_string(),
                "-smp",
                &self.cpus.to_string(),
            ])
            .arg("-kernel")
            .arg(kernel.vmlinux())
            .arg("-initrd")
            .arg(&initrd)
            .args(["-append", &append])
            .arg("-serial")
            .arg(format!("file:{}", console.display()))
            .args(["-serial", "stdio"])
            .args([
                "-virtfs",
                "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(VmError::Spawn)?;

        // Read the output port on a thread so the deadline holds even when
        // the guest goes silent.
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        if let Some(stdout) = qemu.stdout.take() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                loop {
                    let mut line = Vec::new();
                    match reader.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            if tx.send(line).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
        let marker = format!("LVSD-VM-EXIT-{nonce}=");
        let deadline = Instant::now() + self.timeout;
        let mut status = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let text = String::from_utf8_lossy(&line);
                    if let Some(pos) = text.find(&marker) {
                        let rest = &text[pos + marker.len()..];
                        let _ = out.write_all(&line[..pos]);
                        status = rest.trim().parse::<i32>().ok();
                        if status.is_some() {
                            break;
                        }
                    } else {
                        let _ = out.write_all(&line);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = qemu.kill();
                    let _ = qemu.wait();
                    return Err(VmError::Timeout {
                        timeout: self.timeout,
                        console: read_console(&console),
                    });
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let _ = out.flush();
        // The guest powers off right after the marker; give it a moment,
        // then make sure qemu is gone.
        let exit = wait_or_kill(&mut qemu, Duration::from_secs(20));
        match status {
            Some(code) => Ok(code),
            None => Err(VmError::NoStatus {
                status: exit,
                console: read_console(&console),
            }),
        }
    }
}

fn wait_or_kill(child: &mut std::process::Child, grace: Duration) -> ExitStatus {
    let until = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                match child.wait() {
                    Ok(status) => return status,
                    Err(_) => return std::os::unix::process::ExitStatusExt::from_raw(-1),
                }
            }
        }
    }
}

fn read_console(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|e| format!("(no console log: {e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP: &str = "\
kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko
kernel/net/9p/9pnet.ko:
kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko
kernel/fs/netfs/netfs.ko:
kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/net/ipv6/netfilter/nf_defrag-ipv6.ko:
";

    #[test]
    fn load_order_puts_dependencies_first_and_once() {
        let order: Vec<String> = module_load_order(DEP, &["9pnet_virtio", "9p"])
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let pos = |m: &str| order.iter().position(|n| n == m).unwrap();
        assert!(pos("9pnet") < pos("9pnet_virtio"));
        assert!(pos("virtio") < pos("9pnet_virtio"));
        assert!(pos("netfs") < pos("fscache"));
        assert!(pos("fscache") < pos("9p"));
        assert_eq!(order.len(), 7, "{order:?}");
    }

    #[test]
    fn module_names_fold_dashes() {
        let order = module_load_order(DEP, &["nf_defrag_ipv6"]).unwrap();
        assert_eq!(order[0].1, "kernel/net/ipv6/netfilter/nf_defrag-ipv6.ko");
    }

    #[test]
    fn unknown_module_is_an_error() {
        assert!(
            matches!(module_load_order(DEP, &["nope"]), Err(VmError::UnknownModule(m)) if m == "nope")
        );
    }

    #[test]
    fn shell_quote_round_trips_through_sh() {
        let words = ["plain", "with space", "it's", "", "$HOME", "a\"b"];
        let script = format!(
            "printf '%s\\n' {}",
            words
                .iter()
                .map(|w| shell_quote(w))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let out = Command::new("sh").args(["-c", &script]).output().unwrap();
        let got: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(got, words);
    }
}
