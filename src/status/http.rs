//! The optional HTTP endpoint (hyper, HTTP/1.1): `GET /status` gives the
//! snapshot as JSON, `GET /metrics` as Prometheus text. Each request asks
//! its source for a snapshot (the daemon builds one on demand, as for
//! `lvsd status`, instead of keeping one up to date between requests); a
//! source that cannot answer makes the request fail with 503.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::{metrics, Status};

/// The default listen address: loopback only, like keepalived's SNMP/DBus
/// interfaces are local; exposing it is the operator's explicit choice.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9777";

/// Prometheus text exposition format, version 0.0.4.
const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Serves connections from `listener` until the task is dropped, asking
/// `status` for a snapshot per request (`None`: it could not answer). A
/// failed connection is logged and does not stop the server.
pub async fn serve<F, Fut>(listener: TcpListener, status: F) -> std::io::Result<()>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Option<Arc<Status>>> + Send + 'static,
{
    loop {
        let (stream, peer) = listener.accept().await?;
        let status = status.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let snapshot = status();
                async move {
                    let response = match snapshot.await {
                        Some(s) => respond(req.method(), req.uri().path(), &s),
                        None => plain(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "the daemon did not answer\n".into(),
                        ),
                    };
                    Ok::<_, Infallible>(response)
                }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "status HTTP connection failed");
            }
        });
    }
}

/// The response to one request (pure, for tests).
pub fn respond(method: &Method, path: &str, status: &Status) -> Response<Full<Bytes>> {
    if method != Method::GET && method != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET\n".into());
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match path {
        "/status" => match serde_json::to_vec_pretty(status) {
            Ok(body) => with_type(StatusCode::OK, body, "application/json"),
            Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
        },
        "/metrics" => match metrics::render(status) {
            Ok(body) => with_type(StatusCode::OK, body.into_bytes(), METRICS_CONTENT_TYPE),
            Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
        },
        _ => plain(StatusCode::NOT_FOUND, "try /status or /metrics\n".into()),
    }
}

fn plain(code: StatusCode, text: String) -> Response<Full<Bytes>> {
    with_type(code, text.into_bytes(), "text/plain; charset=utf-8")
}

fn with_type(code: StatusCode, body: Vec<u8>, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    async fn get(addr: std::net::SocketAddr, method: &str, path: &str) -> (String, String) {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = format!("{method} {path} HTTP/1.1\r\nHost: lvsd\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).await.unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        (head.to_string(), body.to_string())
    }

    #[tokio::test]
    async fn serves_a_fresh_snapshot_per_request_over_real_http() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let current = Arc::new(Mutex::new(Some(Status::default())));
        let source = current.clone();
        let server = tokio::spawn(serve(listener, move || {
            let snapshot = source.lock().unwrap().clone().map(Arc::new);
            async move { snapshot }
        }));

        let (head, body) = get(addr, "GET", "/status").await;
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert_eq!(
            serde_json::from_str::<Status>(&body).unwrap(),
            Status::default()
        );

        // A new snapshot is visible to the next request.
        let next = Status {
            reloads: 4,
            ..Status::default()
        };
        *current.lock().unwrap() = Some(next.clone());
        let (_, body) = get(addr, "GET", "/status").await;
        assert_eq!(serde_json::from_str::<Status>(&body).unwrap(), next);

        let (head, body) = get(addr, "GET", "/metrics").await;
        assert!(
            head.contains("content-type: text/plain; version=0.0.4"),
            "{head}"
        );
        assert!(body.lines().any(|l| l == "lvsd_reloads_total 4"), "{body}");

        let (head, _) = get(addr, "GET", "/nope").await;
        assert!(head.starts_with("HTTP/1.1 404"), "{head}");
        let (head, _) = get(addr, "POST", "/status").await;
        assert!(head.starts_with("HTTP/1.1 405"), "{head}");
        assert!(head.contains("allow: GET, HEAD"), "{head}");

        // A source that cannot answer: 503, and the server goes on.
        *current.lock().unwrap() = None;
        let (head, _) = get(addr, "GET", "/metrics").await;
        assert!(head.starts_with("HTTP/1.1 503"), "{head}");
        server.abort();
    }
}
