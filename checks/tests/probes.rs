//! Every checker against real servers on loopback, and each fault with the
//! exact reason the probe reports.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod servers;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use checks::probe::probe;
use checks::spec::{
    parse_hex_str, CheckKind, DnsCheck, DnsType, FileCheck, HttpCheck, HttpProtocol, MiscCheck,
    SmtpCheck, StatusRange, TlsOptions, UdpCheck, UrlCheck,
};
use checks::{CheckSpec, Endpoint, Failure, Outcome, Phase, Timing};
use md5::{Digest, Md5};
use servers::Http;

fn spec(kind: CheckKind, target: SocketAddr, timeout_ms: u64) -> CheckSpec {
    let family = kind.family();
    CheckSpec {
        kind,
        endpoint: Endpoint::to(target),
        timing: Timing {
            connect_timeout: Duration::from_millis(timeout_ms),
            ..Timing::defaults_for(family)
        },
    }
}

fn http_get(urls: Vec<UrlCheck>) -> HttpCheck {
    HttpCheck {
        urls,
        ..HttpCheck::default()
    }
}

fn url_with_digest(path: &str, body: &str) -> UrlCheck {
    UrlCheck {
        digest: Some(Md5::digest(body.as_bytes()).into()),
        ..UrlCheck::path(path)
    }
}

fn fail(f: Failure) -> Outcome {
    Outcome::Fail(f)
}

// ---- TCP_CHECK

#[tokio::test]
async fn tcp_check_passes_on_listener_and_reports_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = listener.local_addr().unwrap();
    assert_eq!(probe(&spec(CheckKind::Tcp, up, 1000)).await, Outcome::PASS);
    let closed = servers::closed_tcp_port();
    assert_eq!(
        probe(&spec(CheckKind::Tcp, closed, 1000)).await,
        fail(Failure::Refused)
    );
}

#[tokio::test]
async fn tcp_check_binds_the_source_address_and_port() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut check = spec(CheckKind::Tcp, listener.local_addr().unwrap(), 1000);
    let source_port = servers::closed_tcp_port().port();
    check.endpoint.bind_addr = Some("127.0.0.7".parse().unwrap());
    check.endpoint.bind_port = Some(source_port);
    let (outcome, accepted) = tokio::join!(probe(&check), listener.accept());
    assert_eq!(outcome, Outcome::PASS);
    let peer = accepted.unwrap().1;
    assert_eq!(peer, SocketAddr::from(([127, 0, 0, 7], source_port)));
}

// ---- HTTP_GET

#[tokio::test]
async fn http_get_passes_with_status_and_digest_of_every_url() {
    let (addr, requests) = servers::http(Http::Respond {
        status: 200,
        body: "hello",
    })
    .await;
    let check = HttpCheck {
        virtualhost: Some("www.example.org".into()),
        ..http_get(vec![
            url_with_digest("/a", "hello"),
            url_with_digest("/b", "hello"),
        ])
    };
    assert_eq!(
        probe(&spec(CheckKind::Http(Box::new(check)), addr, 2000)).await,
        Outcome::PASS
    );
    let requests = requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].starts_with("GET /a HTTP/1.0\r\n"));
    assert!(requests[1].starts_with("GET /b HTTP/1.0\r\n"));
    assert!(requests[0].contains("Host: www.example.org\r\n"));
}

#[tokio::test]
async fn http_get_reports_wrong_status_of_one_url() {
    let (addr, _) = servers::http(Http::ByPath).await;
    let urls = vec![UrlCheck::path("/ok"), UrlCheck::path("/down")];
    assert_eq!(
        probe(&spec(CheckKind::Http(Box::new(http_get(urls))), addr, 2000)).await,
        fail(Failure::Status {
            path: "/down".into(),
            code: 503
        })
    );
    // 503 listed in status_code (with a range) passes.
    let url = UrlCheck {
        status_codes: vec![
            StatusRange {
                low: 200,
                high: 299,
            },
            StatusRange::single(503),
        ],
        ..UrlCheck::path("/down")
    };
    assert_eq!(
        probe(&spec(
            CheckKind::Http(Box::new(http_get(vec![url]))),
            addr,
            2000
        ))
        .await,
        Outcome::PASS
    );
}

#[tokio::test]
async fn http_get_reports_digest_mismatch() {
    let (addr, _) = servers::http(Http::Respond {
        status: 200,
        body: "changed",
    })
    .await;
    let check = http_get(vec![url_with_digest("/", "hello")]);
    let expected_got = format!("{:x}", Md5::digest(b"changed"));
    assert_eq!(
        probe(&spec(CheckKind::Http(Box::new(check)), addr, 2000)).await,
        fail(Failure::DigestMismatch {
            path: "/".into(),
            got: expected_got
        })
    );
}

#[tokio::test]
async fn http_11_chunked_body_is_digested_after_decoding() {
    let (addr, requests) = servers::http(Http::Chunked {
        status: 200,
        body: "chunked body!",
    })
    .await;
    let check = HttpCheck {
        protocol: HttpProtocol::Http11,
        ..http_get(vec![url_with_digest("/", "chunked body!")])
    };
    assert_eq!(
        probe(&spec(CheckKind::Http(Box::new(check)), addr, 2000)).await,
        Outcome::PASS
    );
    let head = requests.lock().unwrap()[0].clone();
    assert!(head.starts_with("GET / HTTP/1.1\r\n") && head.contains("Connection: close\r\n"));
}

#[tokio::test]
async fn body_without_length_is_read_until_the_server_closes() {
    let (addr, _) = servers::http(Http::UntilClose {
        body: "no length here",
    })
    .await;
    let good = http_get(vec![url_with_digest("/", "no length here")]);
    assert_eq!(
        probe(&spec(CheckKind::Http(Box::new(good)), addr, 2000)).await,
        Outcome::PASS
    );
    let truncated = http_get(vec![url_with_digest("/", "no length")]);
    assert!(matches!(
        probe(&spec(CheckKind::Http(Box::new(truncated)), addr, 2000)).await,
        Outcome::Fail(Failure::DigestMismatch { .. })
    ));
}

#[tokio::test]
async fn slow_headers_time_out_at_connect_timeout() {
    let (addr, _) = servers::http(Http::SilentAfterRequest).await;
    let started = Instant::now();
    let outcome = probe(&spec(
        CheckKind::Http(Box::new(http_get(vec![UrlCheck::path("/")]))),
        addr,
        300,
    ))
    .await;
    assert_eq!(outcome, fail(Failure::Timeout(Phase::Headers)));
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(2));
}

#[tokio::test]
async fn trickling_body_fails_at_the_deadline_not_after_it() {
    // 1000 bytes at 50 ms each would take 50 s; the whole check is bounded
    // by connect_timeout (keepalived issue #1822).
    let (addr, _) = servers::http(Http::Trickle).await;
    let started = Instant::now();
    let outcome = probe(&spec(
        CheckKind::Http(Box::new(http_get(vec![UrlCheck::path("/")]))),
        addr,
        500,
    ))
    .await;
    assert_eq!(outcome, fail(Failure::Timeout(Phase::Body)));
    assert!(started.elapsed() < Duration::from_secs(2));
}

// ---- SSL_GET

fn ssl_get(urls: Vec<UrlCheck>, tls: TlsOptions, vhost: Option<&str>) -> CheckKind {
    CheckKind::Http(Box::new(HttpCheck {
        tls: Some(tls),
        virtualhost: vhost.map(String::from),
        ..http_get(urls)
    }))
}

#[tokio::test]
async fn ssl_get_accepts_any_certificate_by_default_and_sends_sni_only_when_enabled() {
    let pki = servers::pki("test CA");
    let (addr, _, snis) = servers::https(
        pki.server_config.clone(),
        Http::Respond {
            status: 200,
            body: "secure",
        },
    )
    .await;
    let urls = vec![url_with_digest("/", "secure")];
    let plain = ssl_get(urls.clone(), TlsOptions::default(), Some("localhost"));
    assert_eq!(probe(&spec(plain, addr, 2000)).await, Outcome::PASS);
    let sni = ssl_get(
        urls,
        TlsOptions {
            enable_sni: true,
            ca_file: None,
        },
        Some("localhost:443"),
    );
    assert_eq!(probe(&spec(sni, addr, 2000)).await, Outcome::PASS);
    assert_eq!(
        snis.lock().unwrap().clone(),
        [None, Some("localhost".to_string())]
    );
}

#[tokio::test]
async fn ssl_get_verifies_against_a_configured_ca() {
    let pki = servers::pki("test CA");
    let (addr, _, _) = servers::https(
        pki.server_config.clone(),
        Http::Respond {
            status: 200,
            body: "",
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let good_ca = dir.path().join("good.pem");
    std::fs::write(&good_ca, &pki.ca_pem).unwrap();
    let other_ca = dir.path().join("other.pem");
    std::fs::write(&other_ca, servers::pki("other CA").ca_pem).unwrap();
    let with_ca = |ca: &std::path::Path| {
        ssl_get(
            vec![UrlCheck::path("/")],
            TlsOptions {
                enable_sni: true,
                ca_file: Some(ca.to_path_buf()),
            },
            Some("localhost"),
        )
    };
    assert_eq!(
        probe(&spec(with_ca(&good_ca), addr, 2000)).await,
        Outcome::PASS
    );
    match probe(&spec(with_ca(&other_ca), addr, 2000)).await {
        Outcome::Fail(Failure::Tls(reason)) => {
            assert!(reason.contains("UnknownIssuer"), "{reason}")
        }
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}

#[tokio::test]
async fn ssl_get_to_a_plain_http_server_is_a_tls_handshake_error() {
    let addr = servers::plain_text_answer().await;
    let kind = ssl_get(vec![UrlCheck::path("/")], TlsOptions::default(), None);
    match probe(&spec(kind, addr, 2000)).await {
        Outcome::Fail(Failure::Tls(reason)) => {
            assert!(reason.contains("corrupt message"), "{reason}")
        }
        other => panic!("expected a TLS handshake error, got {other:?}"),
    }
}

// ---- SMTP_CHECK

#[tokio::test]
async fn smtp_check_greets_with_helo_name() {
    let (addr, lines) = servers::smtp("220 mail ready").await;
    let kind = CheckKind::Smtp(Box::new(SmtpCheck {
        helo_name: "lvsd.example".into(),
    }));
    assert_eq!(probe(&spec(kind, addr, 2000)).await, Outcome::PASS);
    // The server records lines after it has answered; wait for QUIT.
    for _ in 0..100 {
        if lines.lock().unwrap().len() == 2 {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        lines.lock().unwrap().clone(),
        ["HELO lvsd.example\r\n", "QUIT\r\n"]
    );
}

#[tokio::test]
async fn smtp_check_reports_a_wrong_banner() {
    let (addr, _) = servers::smtp("554 go away").await;
    let kind = CheckKind::Smtp(Box::new(SmtpCheck {
        helo_name: "lvsd".into(),
    }));
    assert_eq!(
        probe(&spec(kind, addr, 2000)).await,
        fail(Failure::Smtp {
            stage: "banner",
            reply: "554 go away".into()
        })
    );
}

// ---- DNS_CHECK

#[tokio::test]
async fn dns_check_passes_on_noerror_and_fails_on_servfail() {
    let (ok, questions) = servers::dns(0).await;
    let kind = CheckKind::Dns(Box::new(DnsCheck {
        qtype: DnsType::A,
        name: "www.example.org".into(),
    }));
    assert_eq!(probe(&spec(kind.clone(), ok, 2000)).await, Outcome::PASS);
    assert_eq!(
        questions.lock().unwrap().clone(),
        [("www.example.org".to_string(), 1)]
    );
    let (servfail, _) = servers::dns(2).await;
    assert_eq!(
        probe(&spec(kind, servfail, 2000)).await,
        fail(Failure::DnsRcode(2))
    );
    let (default_query, questions) = servers::dns(0).await;
    let kind = CheckKind::Dns(Box::default());
    assert_eq!(probe(&spec(kind, default_query, 2000)).await, Outcome::PASS);
    assert_eq!(questions.lock().unwrap().clone(), [(String::new(), 6)]);
}

#[tokio::test]
async fn dns_check_without_answer_times_out() {
    // A bound UDP socket that never answers.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let kind = CheckKind::Dns(Box::default());
    assert_eq!(
        probe(&spec(kind, silent.local_addr().unwrap(), 200)).await,
        fail(Failure::Timeout(Phase::Reply))
    );
}

// ---- UDP_CHECK

#[tokio::test]
async fn udp_check_with_reply_pattern_and_port_unreachable() {
    let echo = servers::udp_echo().await;
    let check = UdpCheck {
        payload: Some(vec![0xde, 0xad, 0xbe, 0xef]),
        require_reply: true,
        reply_pattern: parse_hex_str("de aX", true).unwrap(),
        min_reply_length: 4,
        ..UdpCheck::default()
    };
    assert_eq!(
        probe(&spec(CheckKind::Udp(Box::new(check.clone())), echo, 1000)).await,
        Outcome::PASS
    );
    let mismatching = UdpCheck {
        reply_pattern: parse_hex_str("00", false).unwrap(),
        ..check.clone()
    };
    assert_eq!(
        probe(&spec(CheckKind::Udp(Box::new(mismatching)), echo, 1000)).await,
        fail(Failure::UdpReplyMismatch)
    );
    let too_long = UdpCheck {
        max_reply_length: 3,
        ..check.clone()
    };
    assert_eq!(
        probe(&spec(CheckKind::Udp(Box::new(too_long)), echo, 1000)).await,
        fail(Failure::UdpReplyLength(4))
    );
    // ICMP port unreachable on loopback.
    let closed = servers::closed_udp_port();
    assert_eq!(
        probe(&spec(CheckKind::Udp(Box::default()), closed, 1000)).await,
        fail(Failure::Refused)
    );
}

// ---- MISC_CHECK

fn misc(command: &str, timeout_ms: u64, dynamic: bool) -> CheckSpec {
    spec(
        CheckKind::Misc(Box::new(MiscCheck {
            command: command.into(),
            timeout: Some(Duration::from_millis(timeout_ms)),
            dynamic,
            user: None,
            group: None,
        })),
        "127.0.0.1:0".parse().unwrap(),
        1000,
    )
}

#[tokio::test]
async fn misc_check_exit_statuses() {
    assert_eq!(probe(&misc("/bin/true", 5000, false)).await, Outcome::PASS);
    assert_eq!(
        probe(&misc("/bin/sh -c 'exit 1'", 5000, false)).await,
        fail(Failure::ScriptExit(1))
    );
    assert_eq!(
        probe(&misc("/bin/sh -c 'exit 12'", 5000, true)).await,
        Outcome::Pass {
            dynamic_weight: Some(10)
        }
    );
    assert_eq!(
        probe(&misc("/bin/sh -c 'exit 12'", 5000, false)).await,
        fail(Failure::ScriptExit(12))
    );
    // Arguments reach the program as separate words.
    assert_eq!(
        probe(&misc(
            r#"/bin/sh -c 'test "$0" = "two words"' "two words""#,
            5000,
            false
        ))
        .await,
        Outcome::PASS
    );
}

#[tokio::test]
async fn misc_check_timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("child.pid");
    let command = format!(
        "/bin/sh -c 'sleep 30 & echo $! > {}; wait'",
        pid_file.display()
    );
    let started = Instant::now();
    assert_eq!(
        probe(&misc(&command, 300, false)).await,
        fail(Failure::Timeout(Phase::Script))
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    // SIGKILL is delivered asynchronously: the grandchild must be dead (gone,
    // or a zombie awaiting its reaper) shortly after, not after its 30 s.
    let dead = || {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
        let stat = stat.unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next();
        state.is_none() || state == Some("Z")
    };
    let mut waited = Duration::ZERO;
    while !dead() && waited < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += Duration::from_millis(10);
    }
    assert!(dead(), "grandchild {} still alive", pid.trim());
}

#[tokio::test]
async fn misc_check_runs_as_script_user() {
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let mut check = misc(
        &format!("/bin/sh -c 'test \"$(id -u)\" = {}'", nobody.uid),
        5000,
        false,
    );
    if let CheckKind::Misc(m) = &mut check.kind {
        m.user = Some("nobody".into());
    }
    assert_eq!(probe(&check).await, Outcome::PASS);
    // As ourselves (root in the test) the same script fails.
    let as_root = misc(
        &format!("/bin/sh -c 'test \"$(id -u)\" = {}'", nobody.uid),
        5000,
        false,
    );
    assert_eq!(probe(&as_root).await, fail(Failure::ScriptExit(1)));
}

// ---- FILE_CHECK

#[tokio::test]
async fn file_check_reads_the_track_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weight");
    let check = |weight, dynamic| {
        spec(
            CheckKind::File(Box::new(FileCheck {
                path: path.clone(),
                weight,
                reverse: false,
                dynamic,
            })),
            "127.0.0.1:0".parse().unwrap(),
            1000,
        )
    };
    std::fs::write(&path, "0\n").unwrap();
    assert_eq!(probe(&check(0, false)).await, Outcome::PASS);
    std::fs::write(&path, "5\n").unwrap();
    assert_eq!(probe(&check(0, false)).await, fail(Failure::FileValue(5)));
    assert_eq!(
        probe(&check(3, true)).await,
        Outcome::Pass {
            dynamic_weight: Some(15)
        }
    );
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        probe(&check(0, false)).await,
        Outcome::Fail(Failure::FileUnreadable(_))
    ));
}

/// Every probe allocates its future, TCP_CHECK's thousands of times a
/// second: it must stay small (glibc serves up to 1,032 bytes from its
/// per-thread cache), not as large as the largest checker's (the TLS one
/// made it 6.9 KB).
#[test]
fn probe_future_size() {
    let spec = spec(CheckKind::Tcp, "127.0.0.1:1".parse().unwrap(), 1000);
    let future = checks::probe::probe_started(&spec, tokio::time::Instant::now());
    let size = std::mem::size_of_val(&future);
    assert!(size <= 1024, "a probe's future is {size} bytes");
}
