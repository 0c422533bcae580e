//! HTTP_GET and SSL_GET: a small HTTP/1 client (RFC 9112) whose every read
//! and write runs against one deadline, so a server that sends its headers
//! slowly or trickles its body fails at `connect_timeout` (keepalived's
//! issue #1822 is the opposite behaviour).

use std::net::SocketAddr;
use std::time::Duration;

use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::{net, tls, Deadline};
use crate::outcome::{Failure, Phase};
use crate::spec::{Endpoint, HttpCheck, HttpProtocol, TlsOptions};

/// Largest header block accepted.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Largest chunked body buffered for decoding.
const MAX_CHUNKED_BODY_BYTES: usize = 64 * 1024 * 1024;
/// keepalived's User-Agent.
const USER_AGENT: &str = "KeepAliveClient";

/// One GET request.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub path: &'a str,
    /// Host header and, with `enable_sni`, the TLS server name.
    pub host: Option<&'a str>,
    pub protocol: HttpProtocol,
    pub tls: Option<&'a TlsOptions>,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// MD5 of the (de-chunked) body.
    pub digest: [u8; 16],
    pub body_len: u64,
}

/// Lower-case hexadecimal, as `digest` and genhash write it.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs every `url` block; all must pass. Each URL fetch is bounded by
/// `timeout` as a whole.
pub(crate) async fn check(
    check: &HttpCheck,
    endpoint: &Endpoint,
    timeout: Duration,
) -> Result<(), Failure> {
    for url in &check.urls {
        let request = Request {
            path: &url.path,
            host: url.virtualhost.as_deref().or(check.virtualhost.as_deref()),
            protocol: check.protocol,
            tls: check.tls.as_ref(),
        };
        let deadline = Deadline(Instant::now() + timeout);
        let response = fetch(&request, endpoint, deadline).await?;
        if !url.accepts(response.status) {
            return Err(Failure::Status {
                path: url.path.clone(),
                code: response.status,
            });
        }
        if let Some(expected) = url.digest {
            if expected != response.digest {
                return Err(Failure::DigestMismatch {
                    path: url.path.clone(),
                    got: hex(&response.digest),
                });
            }
        }
    }
    Ok(())
}

/// Fetches one URL and digests its body, the whole exchange bounded by
/// `timeout` (what `lvsd genhash` prints).
pub async fn get(
    request: &Request<'_>,
    endpoint: &Endpoint,
    timeout: Duration,
) -> Result<Response, Failure> {
    fetch(request, endpoint, Deadline(Instant::now() + timeout)).await
}

/// Fetches one URL and digests its body, within `deadline`.
pub(crate) async fn fetch(
    request: &Request<'_>,
    endpoint: &Endpoint,
    deadline: Deadline,
) -> Result<Response, Failure> {
    let stream = deadline
        .step(
            Phase::Connect,
            net::tcp_connect(endpoint, net::TcpUse::Exchange),
        )
        .await?;
    match request.tls {
        None => exchange(stream, request, endpoint.target, deadline).await,
        Some(options) => {
            let server_name = options
                .enable_sni
                .then_some(request.host)
                .flatten()
                .map(host_without_port);
            let tls_stream =
                tls::handshake(stream, options, server_name, endpoint.target.ip(), deadline)
                    .await?;
            exchange(tls_stream, request, endpoint.target, deadline).await
        }
    }
}

/// `Host` without a `:port` suffix, for SNI.
fn host_without_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

/// The request bytes.
pub fn request_bytes(request: &Request<'_>, target: SocketAddr) -> Vec<u8> {
    let host = match request.host {
        Some(h) => h.to_string(),
        None => target.to_string(),
    };
    let (version, close) = match request.protocol {
        HttpProtocol::Http10 => ("1.0", false),
        HttpProtocol::Http10Close => ("1.0", true),
        HttpProtocol::Http11 => ("1.1", true),
    };
    // An empty path would make an invalid request line (RFC 9112 section 3.2).
    let path = if request.path.is_empty() {
        "/"
    } else {
        request.path
    };
    let mut text =
        format!("GET {path} HTTP/{version}\r\nUser-Agent: {USER_AGENT}\r\nHost: {host}\r\n");
    if close {
        text.push_str("Connection: close\r\n");
    }
    text.push_str("\r\n");
    text.into_bytes()
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &Request<'_>,
    target: SocketAddr,
    deadline: Deadline,
) -> Result<Response, Failure> {
    let bytes = request_bytes(request, target);
    deadline
        .step(Phase::Request, stream.write_all(&bytes))
        .await?;
    deadline.step(Phase::Request, stream.flush()).await?;

    let mut buf = Vec::with_capacity(4096);
    let header_end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > MAX_HEADER_BYTES {
            return Err(Failure::MalformedHttp("header block too large".into()));
        }
        let mut chunk = [0u8; 4096];
        let n = deadline
            .step(Phase::Headers, stream.read(&mut chunk))
            .await?;
        if n == 0 {
            return Err(Failure::Closed(Phase::Headers));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = parse_head(&buf[..header_end])?;
    let rest = buf[header_end..].to_vec();
    let (digest, body_len) = if head.chunked {
        read_chunked(&mut stream, rest, deadline).await?
    } else {
        read_identity(&mut stream, rest, head.content_length, deadline).await?
    };
    Ok(Response {
        status: head.status,
        digest,
        body_len,
    })
}

async fn read_identity<S: AsyncRead + Unpin>(
    stream: &mut S,
    already: Vec<u8>,
    content_length: Option<u64>,
    deadline: Deadline,
) -> Result<([u8; 16], u64), Failure> {
    let mut md5 = Md5::new();
    let mut len: u64 = 0;
    let mut take = |data: &[u8], len: &mut u64| {
        let want = match content_length {
            Some(cl) => data
                .len()
                .min(usize::try_from(cl - *len).unwrap_or(usize::MAX)),
            None => data.len(),
        };
        md5.update(&data[..want]);
        *len += want as u64;
    };
    take(&already, &mut len);
    let mut chunk = vec![0u8; 16 * 1024];
    while content_length.is_none_or(|cl| len < cl) {
        let n = deadline.step(Phase::Body, stream.read(&mut chunk)).await?;
        if n == 0 {
            if content_length.is_some() {
                return Err(Failure::Closed(Phase::Body));
            }
            break;
        }
        take(&chunk[..n], &mut len);
    }
    Ok((md5.finalize().into(), len))
}

async fn read_chunked<S: AsyncRead + Unpin>(
    stream: &mut S,
    mut raw: Vec<u8>,
    deadline: Deadline,
) -> Result<([u8; 16], u64), Failure> {
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        if let Some(body) = decode_chunked(&raw)? {
            let digest: [u8; 16] = Md5::digest(&body).into();
            return Ok((digest, body.len() as u64));
        }
        if raw.len() > MAX_CHUNKED_BODY_BYTES {
            return Err(Failure::MalformedHttp("chunked body too large".into()));
        }
        let n = deadline.step(Phase::Body, stream.read(&mut chunk)).await?;
        if n == 0 {
            return Err(Failure::Closed(Phase::Body));
        }
        raw.extend_from_slice(&chunk[..n]);
    }
}

/// Decodes a complete chunked body (RFC 9112 section 7.1); `None` while
/// incomplete.
pub fn decode_chunked(raw: &[u8]) -> Result<Option<Vec<u8>>, Failure> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(line_len) = find(&raw[at..], b"\r\n") else {
            return Ok(None);
        };
        let line = &raw[at..at + line_len];
        let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
        let size = std::str::from_utf8(size_text)
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .ok_or_else(|| Failure::MalformedHttp("bad chunk size".into()))?;
        at += line_len + 2;
        if size == 0 {
            // The trailer section ends with an empty line.
            let rest = &raw[at..];
            let complete = rest.starts_with(b"\r\n") || find(rest, b"\r\n\r\n").is_some();
            return Ok(complete.then_some(body));
        }
        if raw.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&raw[at..at + size]);
        at += size + 2;
    }
}

struct Head {
    status: u16,
    content_length: Option<u64>,
    chunked: bool,
}

fn parse_head(head: &[u8]) -> Result<Head, Failure> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(Failure::MalformedHttp(format!(
            "status line {status_line:?}"
        )));
    }
    let status = parts
        .next()
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|c| (100..1000).contains(c))
        .ok_or_else(|| Failure::MalformedHttp(format!("status line {status_line:?}")))?;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(
                value
                    .parse()
                    .map_err(|_| Failure::MalformedHttp("bad Content-Length".into()))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    Ok(Head {
        status,
        content_length,
        chunked,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_per_protocol() {
        let target: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let mut req = Request {
            path: "/health",
            host: None,
            protocol: HttpProtocol::Http10,
            tls: None,
        };
        assert_eq!(
            String::from_utf8(request_bytes(&req, target)).unwrap(),
            "GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:8080\r\n\r\n"
        );
        req.protocol = HttpProtocol::Http10Close;
        req.host = Some("www.example.org");
        let text = String::from_utf8(request_bytes(&req, target)).unwrap();
        assert!(text.starts_with("GET /health HTTP/1.0\r\n"));
        assert!(text.contains("Host: www.example.org\r\nConnection: close\r\n\r\n"));
        req.protocol = HttpProtocol::Http11;
        req.path = "";
        let text = String::from_utf8(request_bytes(&req, target)).unwrap();
        assert!(text.starts_with("GET / HTTP/1.1\r\n"));
        assert!(text.contains("Connection: close"));
    }

    #[test]
    fn chunked_decoding() {
        let raw = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n";
        assert_eq!(decode_chunked(raw).unwrap(), Some(b"Wikipedia".to_vec()));
        assert_eq!(decode_chunked(&raw[..12]).unwrap(), None);
        assert!(decode_chunked(b"zz\r\n").is_err());
    }

    #[test]
    fn head_parsing() {
        let head = parse_head(b"HTTP/1.1 503 Busy\r\nContent-Length: 3\r\n\r\n").unwrap();
        assert_eq!(
            (head.status, head.content_length, head.chunked),
            (503, Some(3), false)
        );
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert_eq!(host_without_port("a.example:443"), "a.example");
        assert_eq!(host_without_port("a.example"), "a.example");
    }
}
