//! `lvsd run` end to end in the real kernel (inside the VM; feature
//! `vm-tests`): the lvsd binary runs in a director namespace, checks real
//! TCP servers in a real-server namespace, programs IPVS, answers
//! `lvsd status` and `lvsd reload`, serves /metrics, and releases its
//! services on SIGTERM. ipvsadm is the judge of the kernel table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use integration::netns::{veth, Netns};

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

fn config(weight: u32) -> String {
    format!(
        "global_defs {{ router_id vm-run }}
virtual_server 10.0.0.3 80 {{
    protocol TCP
    delay_loop 1
    lvs_sched rr
    lvs_method DR
    sorry_server 10.0.1.99 80
    real_server 10.0.1.1 80 {{
        weight {weight}
        TCP_CHECK {{ connect_timeout 1 retry 0 }}
    }}
    real_server 10.0.1.2 80 {{
        TCP_CHECK {{ connect_timeout 1 retry 0 }}
    }}
}}
"
    )
}

fn lvsd(args: &[&str]) -> Output {
    Command::new(LVSD).args(args).output().unwrap()
}

fn status_json(socket: &Path) -> Option<serde_json::Value> {
    let out = lvsd(&["status", "--json", "--socket", socket.to_str().unwrap()]);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).unwrap())
}

/// Waits (polling the external daemon) until `cond` holds; fails with `what`.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn healthy(status: &serde_json::Value, real: usize) -> bool {
    status["virtual_servers"][0]["real_servers"][real]["healthy"] == true
}

/// A TCP server on `addr` inside `ns` until dropped. It never accepts: the
/// kernel completes the checkers' handshakes into the backlog, which is all
/// TCP_CHECK needs, and dropping the listener makes connects fail at once.
fn server(ns: &Netns, addr: &str) -> TcpListener {
    ns.enter(|| TcpListener::bind(addr)).unwrap().unwrap()
}

/// A director namespace (10.0.1.254) linked to a real-server namespace
/// holding `real_addresses`.
fn director_and_reals(label: &str, real_addresses: &[&str]) -> (Netns, Netns) {
    let director = Netns::new(&format!("{label}-dir")).unwrap();
    let reals = Netns::new(&format!("{label}-rs")).unwrap();
    veth(&director, "eth0", &reals, "eth0").unwrap();
    director.addr("eth0", "10.0.1.254/24").unwrap();
    for a in real_addresses {
        reals.addr("eth0", a).unwrap();
    }
    director.ip(&["link", "set", "lo", "up"]).unwrap();
    (director, reals)
}

#[test]
fn lvsd_run_checks_programs_reloads_and_releases() {
    let (director, reals) = director_and_reals("run", &["10.0.1.1/24", "10.0.1.2/24"]);
    let first = server(&reals, "10.0.1.1:80");

    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    let socket = dir.path().join("lvsd.sock");
    std::fs::write(&conf, config(2)).unwrap();
    let daemon = start_director(
        &director,
        &conf,
        &socket,
        &["--http", "127.0.0.1:19777", "--reconcile-interval", "500ms"],
    );

    // 10.0.1.1 answers, 10.0.1.2 refuses: one in, one out.
    wait_for("the first verdicts", || {
        status_json(&socket).is_some_and(|s| healthy(&s, 0) && !healthy(&s, 1))
    });
    let listing = director.sh("ipvsadm -Ln").unwrap();
    assert!(listing.contains("TCP  10.0.0.3:80 rr"), "{listing}");
    assert!(
        listing.contains("  -> 10.0.1.1:80                  Route   2"),
        "{listing}"
    );
    assert!(!listing.contains("10.0.1.2:80"), "{listing}");
    let s = status_json(&socket).unwrap();
    assert_eq!(
        s["virtual_servers"][0]["real_servers"][1]["last_check"],
        "connection refused"
    );

    // The second server comes up: it is added.
    let second = server(&reals, "10.0.1.2:80");
    wait_for("10.0.1.2 up", || {
        status_json(&socket).is_some_and(|s| healthy(&s, 1))
    });
    assert!(director
        .sh("ipvsadm -Ln")
        .unwrap()
        .contains("  -> 10.0.1.2:80"));

    // /metrics, inside the director's namespace.
    let metrics = director
        .enter(|| {
            let mut c = TcpStream::connect("127.0.0.1:19777").unwrap();
            c.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
            let mut body = String::new();
            c.read_to_string(&mut body).unwrap();
            body
        })
        .unwrap();
    assert!(
        metrics.contains(
            "lvsd_real_server_up{service=\"TCP 10.0.0.3:80\",real_server=\"10.0.1.2:80\"} 1"
        ),
        "{metrics}"
    );

    // It goes away again: removed.
    drop(second);
    wait_for("10.0.1.2 down", || {
        status_json(&socket).is_some_and(|s| !healthy(&s, 1))
    });
    assert!(!director.sh("ipvsadm -Ln").unwrap().contains("10.0.1.2:80"));
    // From now on its probes fail slowly (connect timeout, 1 s): a check
    // wrongly reset to up by a reload would keep it in the table that long.
    reals
        .ip(&["addr", "del", "10.0.1.2/24", "dev", "eth0"])
        .unwrap();

    // A broken file is refused with its place; nothing changes.
    std::fs::write(&conf, "virtual_server 10.0.0.3 80 {\n  lvs_sched rr\n").unwrap();
    let before = director.sh("ipvsadm -Ln").unwrap();
    let out = lvsd(&["reload", "--socket", socket.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keepalived.conf:"), "{stderr}");
    assert_eq!(director.sh("ipvsadm -Ln").unwrap(), before);

    // A valid change is applied in place; the failed server stays out.
    std::fs::write(&conf, config(5)).unwrap();
    let out = lvsd(&["reload", "--socket", socket.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("virtual server TCP 10.0.0.3:80: changed"),
        "{stdout}"
    );
    let listing = director.sh("ipvsadm -Ln").unwrap();
    assert!(
        listing.contains("  -> 10.0.1.1:80                  Route   5"),
        "{listing}"
    );
    // The failed server's unchanged check kept its state: not re-added (#1720).
    assert!(!listing.contains("10.0.1.2:80"), "{listing}");
    assert!(!healthy(&status_json(&socket).unwrap(), 1));

    // A hand deletion is repaired by the periodic pass.
    director
        .sh("ipvsadm -d -t 10.0.0.3:80 -r 10.0.1.1:80")
        .unwrap();
    wait_for("the repair", || {
        director
            .sh("ipvsadm -Ln")
            .unwrap()
            .contains("  -> 10.0.1.1:80")
    });

    // Every real server down: the sorry server takes the traffic; back up,
    // the real server takes over again.
    drop(first);
    wait_for("the sorry server", || {
        director
            .sh("ipvsadm -Ln")
            .unwrap()
            .contains("  -> 10.0.1.99:80")
    });
    let listing = director.sh("ipvsadm -Ln").unwrap();
    assert!(!listing.contains("10.0.1.1:80"), "{listing}");
    assert_eq!(
        status_json(&socket).unwrap()["virtual_servers"][0]["sorry_server_active"],
        true
    );
    let _first = server(&reals, "10.0.1.1:80");
    wait_for("the real server back", || {
        let listing = director.sh("ipvsadm -Ln").unwrap();
        listing.contains("  -> 10.0.1.1:80") && !listing.contains("10.0.1.99")
    });

    // SIGTERM: the daemon removes what it programmed and exits 0.
    stop_director(daemon);
    assert!(!director.sh("ipvsadm -Ln").unwrap().contains("TCP"));
}

/// `ha_suspend`: the checks of a virtual server run only while its address
/// is on this node (keepalived follows address notifications; so does
/// lvsd). The real server counts the checker's connections.
#[test]
fn ha_suspend_runs_checks_only_while_the_address_is_local() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let (director, reals) = director_and_reals("run-hs", &["10.0.1.1/24"]);
    let listener = server(&reals, "10.0.1.1:80");
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });

    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    let socket = dir.path().join("lvsd.sock");
    std::fs::write(
        &conf,
        "virtual_server 10.0.0.3 80 {
    protocol TCP
    delay_loop 1
    lvs_method DR
    ha_suspend
    real_server 10.0.1.1 80 {
        TCP_CHECK { connect_timeout 1 }
    }
}
",
    )
    .unwrap();
    let _daemon = start_director(&director, &conf, &socket, &[]);
    let suspended = |s: &serde_json::Value| s["virtual_servers"][0]["checks_suspended"] == true;

    // 10.0.0.3 is not on the director: no check runs for three delay_loops.
    assert!(suspended(&status_json(&socket).unwrap()));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "a suspended check ran");
    let s = status_json(&socket).unwrap();
    assert!(suspended(&s));
    assert!(s["virtual_servers"][0]["real_servers"][0]["last_check"].is_null());
    let text = lvsd(&["status", "--socket", socket.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("checks suspended"));

    // The address arrives (as VRRP would add it): the checks start.
    director
        .ip(&["addr", "add", "10.0.0.3/32", "dev", "lo"])
        .unwrap();
    wait_for("checks to run", || {
        accepted.load(Ordering::SeqCst) >= 2
            && status_json(&socket).is_some_and(|s| {
                !suspended(&s) && s["virtual_servers"][0]["real_servers"][0]["last_check"] == "ok"
            })
    });

    // It goes again: the checks stop.
    director
        .ip(&["addr", "del", "10.0.0.3/32", "dev", "lo"])
        .unwrap();
    wait_for("checks to be suspended", || {
        status_json(&socket).is_some_and(|s| suspended(&s))
    });
    let at_suspension = accepted.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(3));
    // A probe already under way when the address went may still land.
    assert!(
        accepted.load(Ordering::SeqCst) <= at_suspension + 1,
        "checks kept running after the address went"
    );
}

/// Starts `lvsd run --lvs-only` on `conf` in `ns` with `extra` arguments
/// and waits for its first status.
fn start_director(
    ns: &Netns,
    conf: &Path,
    socket: &Path,
    extra: &[&str],
) -> integration::netns::ChildGuard {
    let mut argv = vec![
        LVSD,
        "run",
        "--lvs-only",
        "-f",
        conf.to_str().unwrap(),
        "--control-socket",
        socket.to_str().unwrap(),
    ];
    argv.extend_from_slice(extra);
    let daemon = ns.spawn(&argv).unwrap();
    wait_for("the daemon's status", || status_json(socket).is_some());
    daemon
}

/// SIGTERM, then the exit status.
fn stop_director(mut daemon: integration::netns::ChildGuard) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(daemon.pid()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = daemon.child().wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// keepalived's release options: `--dont-release-ipvs` leaves the services
/// at exit, and a restart adopts them; by default only lvsd's own services
/// go and a foreign one stays; `lvs_flush` empties the table at start and
/// `lvs_flush_on_stop` at stop, foreign services included; `lvs_timeouts`
/// sets the connection timeouts.
#[test]
fn release_and_flush_options_behave_as_in_keepalived() {
    let director = Netns::new("run-rel").unwrap();
    director.ip(&["link", "set", "lo", "up"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    let socket = dir.path().join("lvsd.sock");
    let ours = "TCP  10.0.0.3:80 rr";
    let foreign = "TCP  10.9.9.9:80 wlc";
    let table = || director.sh("ipvsadm -Ln").unwrap();
    let with_globals = |globals: &str| {
        format!(
            "global_defs {{ {globals} }}
virtual_server 10.0.0.3 80 {{
    protocol TCP
    lvs_sched rr
    lvs_method DR
    real_server 10.0.1.1 80 {{ weight 3 }}
}}
"
        )
    };
    director.sh("ipvsadm -A -t 10.9.9.9:80 -s wlc").unwrap();

    // --dont-release-ipvs: the service outlives the daemon.
    std::fs::write(
        &conf,
        with_globals("lvs_timeouts tcp 901 tcpfin 61 udp 301"),
    )
    .unwrap();
    let daemon = start_director(&director, &conf, &socket, &["--dont-release-ipvs"]);
    assert!(table().contains(ours), "{}", table());
    assert_eq!(
        director.sh("ipvsadm -L --timeout").unwrap().trim(),
        "Timeout (tcp tcpfin udp): 901 61 301"
    );
    stop_director(daemon);
    let left = table();
    assert!(left.contains(ours) && left.contains(foreign), "{left}");

    // A restart adopts it, and a default stop removes only it.
    let daemon = start_director(&director, &conf, &socket, &[]);
    let listing = director.sh("ipvsadm -Ln").unwrap();
    assert!(
        listing.contains(ours) && listing.contains("Route   3"),
        "{listing}"
    );
    stop_director(daemon);
    let left = table();
    assert!(!left.contains(ours) && left.contains(foreign), "{left}");

    // lvs_flush: the foreign service goes at start.
    std::fs::write(&conf, with_globals("lvs_flush")).unwrap();
    let daemon = start_director(&director, &conf, &socket, &[]);
    let listing = table();
    assert!(
        listing.contains(ours) && !listing.contains(foreign),
        "{listing}"
    );
    stop_director(daemon);

    // lvs_flush_on_stop: everything goes at stop, foreign included.
    director.sh("ipvsadm -A -t 10.9.9.9:80 -s wlc").unwrap();
    std::fs::write(&conf, with_globals("lvs_flush_on_stop")).unwrap();
    let daemon = start_director(&director, &conf, &socket, &[]);
    assert!(table().contains(foreign));
    stop_director(daemon);
    let left = table();
    assert!(!left.contains("TCP"), "{left}");
}
