//! The daemon's edges around the [`Director`](super::Director) loop: Unix
//! signals, the control socket and the optional HTTP endpoint, all turned
//! into [`Event`]s.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::time::Instant;

use super::Event;
use crate::control::{self, ControlError, Incoming, Request, Response};
use crate::status::{http, Status};

/// How long an HTTP request waits for the daemon's snapshot (Prometheus's
/// default scrape timeout); a daemon busy longer, in a reload of a very
/// large configuration say, makes the request fail with 503.
const HTTP_STATUS_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one snapshot answers HTTP requests: however often `/metrics` is
/// scraped or `/status` polled, the daemon builds at most one snapshot a
/// second for them (at 10,000 real servers a snapshot is megabytes).
const HTTP_SNAPSHOT_REUSE: Duration = Duration::from_secs(1);

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
    let shared = SharedStatus::new(events);
    tokio::spawn(async move {
        let status = move || {
            let shared = shared.clone();
            async move { shared.get().await }
        };
        if let Err(e) = http::serve(listener, status).await {
            tracing::error!(error = %e, "HTTP endpoint stopped");
        }
    });
    Ok(bound)
}

/// The HTTP endpoint's snapshots: one request to the daemon at a time, its
/// answer shared by every HTTP request within [`HTTP_SNAPSHOT_REUSE`] and
/// dropped after that (the daemon keeps no snapshot between requests).
#[derive(Clone)]
struct SharedStatus {
    events: mpsc::Sender<Event>,
    latest: Arc<Mutex<Option<Snapshot>>>,
}

/// A snapshot and when it was taken.
type Snapshot = (Instant, Arc<Status>);

impl SharedStatus {
    fn new(events: mpsc::Sender<Event>) -> SharedStatus {
        SharedStatus {
            events,
            latest: Arc::new(Mutex::new(None)),
        }
    }

    /// A snapshot no older than [`HTTP_SNAPSHOT_REUSE`]; `None` when the
    /// daemon does not answer.
    async fn get(&self) -> Option<Arc<Status>> {
        // Held while asking, so concurrent requests wait for this answer
        // instead of asking again.
        let mut latest = self.latest.lock().await;
        if let Some((at, status)) = latest.as_ref() {
            if at.elapsed() < HTTP_SNAPSHOT_REUSE {
                return Some(status.clone());
            }
        }
        let status = Arc::new(request_status(self.events.clone()).await?);
        let at = Instant::now();
        *latest = Some((at, status.clone()));
        let slot = self.latest.clone();
        tokio::spawn(async move {
            tokio::time::sleep(HTTP_SNAPSHOT_REUSE).await;
            let mut latest = slot.lock().await;
            if latest.as_ref().is_some_and(|(stored, _)| *stored == at) {
                *latest = None;
            }
        });
        Some(status)
    }
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

    /// A daemon that answers status requests with the number of requests
    /// it has answered so far, as `reloads`.
    fn counting_daemon() -> mpsc::Sender<Event> {
        let (events, mut rx) = mpsc::channel(4);
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
        events
    }

    #[tokio::test]
    async fn the_http_endpoint_serves_the_daemons_snapshot() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = http_endpoint("127.0.0.1:0".parse().unwrap(), counting_daemon())
            .await
            .unwrap();
        assert!(addr.ip().is_loopback() && addr.port() != 0);
        // Two requests in a row: the daemon is asked once, both are
        // answered from its snapshot.
        for _ in 0..2 {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await.unwrap();
            let mut raw = String::new();
            s.read_to_string(&mut raw).await.unwrap();
            assert!(raw.lines().any(|l| l == "lvsd_reloads_total 1"), "{raw}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn http_snapshots_are_shared_for_a_second_then_asked_for_again() {
        let shared = SharedStatus::new(counting_daemon());
        let (a, b) = tokio::join!(shared.get(), shared.get());
        assert_eq!((a.unwrap().reloads, b.unwrap().reloads), (1, 1));
        tokio::time::sleep(HTTP_SNAPSHOT_REUSE / 2).await;
        assert_eq!(shared.get().await.unwrap().reloads, 1);
        tokio::time::sleep(HTTP_SNAPSHOT_REUSE).await;
        // Expired and dropped: the next request asks the daemon again.
        assert!(shared.latest.lock().await.is_none());
        assert_eq!(shared.get().await.unwrap().reloads, 2);
    }

    #[tokio::test]
    async fn a_daemon_that_is_gone_gives_no_snapshot() {
        let (events, rx) = mpsc::channel(1);
        drop(rx);
        assert!(SharedStatus::new(events).get().await.is_none());
    }
}
