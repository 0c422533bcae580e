//! Small real servers on loopback for the checker tests: HTTP (plain and
//! TLS with certificates made at test time), SMTP greeter, DNS responder,
//! UDP echo. Each binds 127.0.0.1 port 0 and runs until the test ends.

#![allow(dead_code, clippy::unwrap_used)] // shared by several test binaries; test code

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio_rustls::rustls;

/// How the HTTP server answers.
#[derive(Debug, Clone)]
pub enum Http {
    /// A complete response with Content-Length.
    Respond { status: u16, body: &'static str },
    /// The same body, chunked (HTTP/1.1).
    Chunked { status: u16, body: &'static str },
    /// A body without Content-Length, ended by closing the connection.
    UntilClose { body: &'static str },
    /// Reads the request, then says nothing.
    SilentAfterRequest,
    /// Headers at once, then a 1000-byte body one byte every 50 ms.
    Trickle,
    /// 200 for `/ok`, 503 otherwise.
    ByPath,
}

/// The requests the server received (head only), in order.
pub type Requests = Arc<Mutex<Vec<String>>>;

async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, how: Http, requests: Requests) {
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    let path = head.split(' ').nth(1).unwrap_or("").to_string();
    requests.lock().unwrap().push(head);
    let response = match how {
        Http::Respond { status, body } => format!(
            "HTTP/1.0 {status} X\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
        Http::Chunked { status, body } => {
            let (a, b) = body.split_at(body.len() / 2);
            format!(
                "HTTP/1.1 {status} X\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                a.len(),
                b.len()
            )
        }
        Http::UntilClose { body } => format!("HTTP/1.0 200 OK\r\n\r\n{body}"),
        Http::ByPath => {
            let status = if path == "/ok" { 200 } else { 503 };
            format!("HTTP/1.0 {status} X\r\nContent-Length: 0\r\n\r\n")
        }
        Http::SilentAfterRequest => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return;
        }
        Http::Trickle => {
            let _ = stream
                .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n")
                .await;
            for _ in 0..1000 {
                if stream.write_all(b"x").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            return;
        }
    };
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A plain HTTP server.
pub async fn http(how: Http) -> (SocketAddr, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Requests::default();
    let log = requests.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(answer(stream, how.clone(), log.clone()));
        }
    });
    (addr, requests)
}

/// A CA and a server certificate for `localhost` signed by it.
pub struct Pki {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

pub fn pki(ca_name: &str) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let server_config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_config: Arc::new(server_config),
    }
}

/// An HTTPS server; also records the SNI name of each connection.
pub async fn https(
    config: Arc<rustls::ServerConfig>,
    how: Http,
) -> (SocketAddr, Requests, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Requests::default();
    let snis = Arc::new(Mutex::new(Vec::new()));
    let (log, sni_log) = (requests.clone(), snis.clone());
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, how, log, sni_log) =
                (acceptor.clone(), how.clone(), log.clone(), sni_log.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let sni = tls.get_ref().1.server_name().map(String::from);
                sni_log.lock().unwrap().push(sni);
                answer(tls, how, log).await;
            });
        }
    });
    (addr, requests, snis)
}

/// An SMTP greeter sending `banner`; records the HELO line.
pub async fn smtp(banner: &'static str) -> (SocketAddr, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let lines = Requests::default();
    let log = lines.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                // A multi-line greeting (RFC 5321 section 4.2.1).
                let greeting = format!("{}-greeting\r\n{banner}\r\n", &banner[..3]);
                stream.write_all(greeting.as_bytes()).await.ok()?;
                let mut buf = vec![0u8; 512];
                let n = stream.read(&mut buf).await.ok()?;
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                stream.write_all(b"250 pleased\r\n").await.ok()?;
                let n = stream.read(&mut buf).await.ok()?;
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                stream.write_all(b"221 bye\r\n").await.ok()
            });
        }
    });
    (addr, lines)
}

/// A DNS responder answering every query with `rcode` and no records;
/// records each query's question (name as dotted text, type).
pub async fn dns(rcode: u8) -> (SocketAddr, Arc<Mutex<Vec<(String, u16)>>>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let questions = Arc::new(Mutex::new(Vec::new()));
    let log = questions.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let query = &buf[..n];
            let mut at = 12;
            let mut labels = Vec::new();
            while at < n && query[at] != 0 {
                let len = query[at] as usize;
                labels.push(String::from_utf8_lossy(&query[at + 1..at + 1 + len]).into_owned());
                at += 1 + len;
            }
            let qtype = u16::from_be_bytes([query[at + 1], query[at + 2]]);
            log.lock().unwrap().push((labels.join("."), qtype));
            let mut reply = query[..at + 5].to_vec();
            reply[2] |= 0x80; // QR
            reply[3] = 0x80 | rcode; // RA + rcode
            let _ = socket.send_to(&reply, peer).await;
        }
    });
    (addr, questions)
}

/// A UDP echo server.
pub async fn udp_echo() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let _ = socket.send_to(&buf[..n], peer).await;
        }
    });
    addr
}

/// A plain-text server that answers anything with an HTTP 400 at once, as
/// a plain HTTP server does to a TLS ClientHello.
pub async fn plain_text_answer() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = stream
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    .await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

/// A loopback port with nothing listening (bound, then released).
pub fn closed_tcp_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A loopback UDP port with nothing bound.
pub fn closed_udp_port() -> SocketAddr {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap()
}
