//! The daemon's edges around the [`Director`](super::Director) loop: Unix
//! signals, the control socket and the optional HTTP endpoint, all turned
//! into [`Event`]s.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, oneshot};

use super::Event;
use crate::control::{self, ControlError, Incoming, Request, Response};
use crate::status::{http, Status};

/// How long an HTTP request waits for the daemon's snapshot (Prometheus's
/// default scrape timeout); a daemon busy longer, in a reload of a very
/// large configuration say, makes the request fail with 503.
const HTTP_STATUS_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors while setting up the edges.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The control socket.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The HTTP endpoint could not listen.
    #[error("HTTP endpoint {addr}: {source}")]
    Http {
        /// Listen address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// Signal handlers could not be installed.
    #[error("signal handler: {0}")]
    Signal(std::io::Error),
}

/// Turns SIGHUP into [`Event::Reload`] and SIGTERM/SIGINT into
/// [`Event::Shutdown`] (keepalived: SIGHUP reloads, SIGTERM stops).
pub fn forward_signals(events: mpsc::Sender<Event>) -> Result<(), ServeError> {
    let mut hup = signal(SignalKind::hangup()).map_err(ServeError::Signal)?;
    let mut term = signal(SignalKind::terminate()).map_err(ServeError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ServeError::Signal)?;
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                _ = hup.recv() => Event::Reload,
                _ = term.recv() => Event::Shutdown,
                _ = int.recv() => Event::Shutdown,
            };
            let stop = matches!(event, Event::Shutdown);
            if events.send(event).await.is_err() || stop {
                break;
            }
        }
    });
    Ok(())
}

/// Serves the control socket at `path`, forwarding requests as events.
pub fn control_socket(path: &Path, events: mpsc::Sender<Event>) -> Result<(), ServeError> {
    let listener = control::bind(path)?;
    let (tx, mut rx) = mpsc::channel::<Incoming>(16);
    tokio::spawn(async move {
        if let Err(e) = control::serve(listener, tx).await {
            tracing::error!(error = %e, "control socket stopped");
        }
    });
    tokio::spawn(async move {
        while let Some(incoming) = rx.recv().await {
            if events.send(Event::Control(incoming)).await.is_err() {
                break;
            }
        }
    });
    Ok(())
}

/// Serves `/status` and `/metrics` on `addr`, each request answered with a
/// snapshot the daemon builds on demand (as `lvsd status` is); returns the
/// bound address.
pub async fn http_endpoint(
    addr: SocketAddr,
    events: mpsc::Sender<Event>,
) -> Result<SocketAddr, ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Http { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServeError::Http { addr, source })?;
    tokio::spawn(async move {
        let status = move || request_status(events.clone());
        if let Err(e) = http::serve(listener, status).await {
            tracing::error!(error = %e, "HTTP endpoint stopped");
        }
    });
    Ok(bound)
}

/// Asks the daemon for a status snapshot; `None` when it does not answer
/// within [`HTTP_STATUS_TIMEOUT`] or is gone.
async fn request_status(events: mpsc::Sender<Event>) -> Option<Status> {
    let (reply, answer) = oneshot::channel();
    let asked = async {
        events
            .send(Event::Control((Request::Status, reply)))
            .await
            .ok()?;
        answer.await.ok()
    };
    match tokio::time::timeout(HTTP_STATUS_TIMEOUT, asked).await {
        Ok(Some(Response::Status(status))) => Some(status),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn control_requests_arrive_as_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lvsd.sock");
        let (events, mut rx) = mpsc::channel(4);
        control_socket(&path, events).unwrap();
        tokio::spawn(async move {
            while let Some(Event::Control((req, reply))) = rx.recv().await {
                let _ = reply.send(match req {
                    Request::Status => Response::Status(Status {
                        reloads: 2,
                        ..Status::default()
                    }),
                    Request::Reload => Response::Reloaded { changes: vec![] },
                });
            }
        });
        let answer = tokio::task::spawn_blocking(move || {
            control::call(&path, &Request::Status, Duration::from_secs(5))
        })
        .await
        .unwrap()
        .unwrap();
        assert!(matches!(answer, Response::Status(s) if s.reloads == 2));
    }

    #[tokio::test]
    async fn the_http_endpoint_asks_the_daemon_for_each_snapshot() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (events, mut rx) = mpsc::channel(4);
        let addr = http_endpoint("127.0.0.1:0".parse().unwrap(), events)
            .await
            .unwrap();
        assert!(addr.ip().is_loopback() && addr.port() != 0);
        // A daemon that counts the status requests it answers.
        tokio::spawn(async move {
            let mut asked = 0;
            while let Some(Event::Control((Request::Status, reply))) = rx.recv().await {
                asked += 1;
                let _ = reply.send(Response::Status(Status {
                    reloads: asked,
                    ..Status::default()
                }));
            }
        });
        for expected in 1..=2 {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await.unwrap();
            let mut raw = String::new();
            s.read_to_string(&mut raw).await.unwrap();
            let line = format!("lvsd_reloads_total {expected}");
            assert!(raw.lines().any(|l| l == line), "{raw}");
        }
    }
}
