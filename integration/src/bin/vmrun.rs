//! `vmrun`: run one command inside a fresh VM with Debian's IPVS-capable
//! kernel. Its exit status is the command's; a VM that cannot boot or hangs
//! fails with the console log.
//!
//! ```text
//! vmrun [--timeout SECS] [--memory MB] [--cpus N] [--kernel-dir DIR]
//!       [--env NAME=VALUE]... [--no-ipvs] -- COMMAND [ARGS]...
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use integration::vm::{KernelTree, VmRun};

#[derive(Debug, Parser)]
#[command(
    name = "vmrun",
    about = "Run a command inside a qemu VM with an IPVS-capable kernel"
)]
struct Args {
    /// Seconds before the VM is killed and the run fails.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Guest memory in MiB.
    #[arg(long, default_value_t = 2048)]
    memory: u32,
    /// Guest CPUs.
    #[arg(long, default_value_t = 2)]
    cpus: u32,
    /// The unpacked kernel package (default: target/vm-kernel).
    #[arg(long)]
    kernel_dir: Option<PathBuf>,
    /// Extra environment for the command, NAME=VALUE.
    #[arg(long = "env", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// Boot with the ip_vs module blacklisted (to see tests fail without IPVS).
    #[arg(long)]
    no_ipvs: bool,
    /// The command and its arguments.
    #[arg(required = true, last = true)]
    command: Vec<String>,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{s:?} is not NAME=VALUE"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let dir = args.kernel_dir.unwrap_or_else(KernelTree::default_dir);
    let kernel = match KernelTree::open(&dir) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("vmrun: {e}");
            return ExitCode::from(125);
        }
    };
    let mut run = VmRun::new(args.command);
    run.timeout = Duration::from_secs(args.timeout);
    run.memory_mb = args.memory;
    run.cpus = args.cpus;
    run.env.extend(args.env);
    if args.no_ipvs {
        run.without_ipvs();
    }
    let mut out = std::io::stdout();
    match run.run(&kernel, &mut out) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("vmrun: {e}");
            ExitCode::from(125)
        }
    }
}
