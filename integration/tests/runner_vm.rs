//! Host tests of the VM runner itself (they boot the VM; feature
//! `vm-tests`, kernel from integration/vm/fetch-kernel.sh): the exit status
//! and output come back, the command really runs in the guest kernel, a
//! hang fails with the console log, and `--no-ipvs` takes IPVS away.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use integration::vm::{KernelTree, VmError, VmRun};

fn kernel() -> KernelTree {
    KernelTree::open(&KernelTree::default_dir()).unwrap()
}

fn run(run: &VmRun) -> (Result<i32, VmError>, String) {
    let mut out = Vec::new();
    let result = run.run(&kernel(), &mut out);
    (result, String::from_utf8_lossy(&out).into_owned())
}

fn sh(script: &str) -> VmRun {
    VmRun::new(["sh", "-c", script])
}

#[test]
fn exit_status_output_and_guest_kernel_come_back() {
    let kernel = kernel();
    let start = Instant::now();
    let (code, out) = run(&sh(
        "uname -r; cat /proc/net/ip_vs | head -n1; echo to-stderr >&2; exit 7",
    ));
    println!("one VM boot-to-exit: {:?}", start.elapsed());
    assert_eq!(code.unwrap(), 7);
    let lines: Vec<&str> = out.lines().collect();
    // The first line is the runner's own, then the command's output in order.
    assert_eq!(
        lines[0],
        format!("lvsd-vm: guest kernel {}", kernel.version)
    );
    assert_eq!(lines[1], kernel.version);
    assert_ne!(
        kernel.version,
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap()
            .trim()
    );
    assert_eq!(lines[2], "IP Virtual Server version 1.2.1 (size=4096)");
    assert_eq!(lines[3], "to-stderr");
}

#[test]
fn arguments_and_environment_arrive_intact() {
    let mut r = VmRun::new([
        "sh",
        "-c",
        "printf '[%s]' \"$0\" \"$1\"; printf '{%s}' \"$LVSD_PROBE\"",
        "a b",
        "it's",
    ]);
    r.env.push(("LVSD_PROBE".into(), "x y $z".into()));
    let (code, out) = run(&r);
    assert_eq!(code.unwrap(), 0);
    assert!(out.ends_with("[a b][it's]{x y $z}"), "{out:?}");
}

#[test]
fn a_hanging_command_fails_with_the_console_log() {
    let mut r = sh("sleep 600");
    r.timeout = Duration::from_secs(25);
    let start = Instant::now();
    let (code, _) = run(&r);
    match code {
        Err(VmError::Timeout { console, .. }) => {
            // The console log of this boot is attached: the guest's stage 2
            // announces the kernel it booted and the command it runs.
            assert!(console.contains("lvsd-vm: stage 2 on 6."), "{console}");
            assert!(console.contains("/cmd.sh"), "{console}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn no_ipvs_boot_has_no_ipvs() {
    let mut r = sh("modprobe ip_vs; test -e /proc/net/ip_vs");
    r.without_ipvs();
    let (code, _) = run(&r);
    assert_eq!(code.unwrap(), 1);
}

/// The VM smoke test (vm_smoke.rs, built beside this binary by test.sh or
/// `cargo test -p integration --features vm-tests --no-run`) passes in the
/// guest and fails when the guest has no IPVS: it really tests the guest.
#[test]
fn vm_smoke_passes_with_ipvs_and_fails_without() {
    let deps = std::env::current_exe().unwrap();
    let deps = deps.parent().unwrap();
    let smoke = std::fs::read_dir(deps)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("vm_smoke-") && p.extension().is_none()
        })
        .max_by_key(|p| p.metadata().unwrap().modified().unwrap())
        .unwrap_or_else(|| panic!("no vm_smoke binary in {}: build all test targets of integration with --features vm-tests", deps.display()));
    let smoke = smoke.to_str().unwrap();

    let (code, out) = run(&VmRun::new([smoke]));
    assert_eq!(code.unwrap(), 0, "{out}");
    assert!(
        out.contains("test ipvs_info_over_generic_netlink ... ok"),
        "{out}"
    );

    let mut without = VmRun::new([smoke]);
    without.without_ipvs();
    let (code, out) = run(&without);
    assert_ne!(code.unwrap(), 0, "{out}");
    assert!(
        out.contains("ipvs_info_over_generic_netlink ... FAILED"),
        "{out}"
    );
}
