//! The control socket: a unix stream socket, mode 0600, that only root (or
//! the daemon's own user) may use. One JSON request line in, one JSON
//! response line out. `lvsd status` and `lvsd reload` are its clients.
//!
//! The server does not touch the daemon's state: it hands each request with
//! a reply channel to the daemon's main loop, which owns the state.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use crate::status::Status;

/// Where the daemon listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/lvsd/lvsd.sock";

/// Longest request line accepted (requests are tiny; this bounds a client
/// that never sends a newline).
const MAX_REQUEST: u64 = 64 * 1024;

/// A request to the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// The current status snapshot.
    Status,
    /// Re-read the configuration file and apply the difference.
    Reload,
}

/// The daemon's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "snake_case")]
pub enum Response {
    /// The status snapshot.
    Status(Status),
    /// The reload was applied; what changed.
    Reloaded {
        /// One line per change, e.g. `virtual server TCP 10.0.0.3:80: added`.
        changes: Vec<String>,
    },
    /// The new configuration was refused; nothing changed.
    ReloadRefused {
        /// The diagnostics, `file:line:col: error: message`.
        errors: Vec<String>,
    },
    /// The request could not be handled.
    Error {
        /// Why.
        message: String,
    },
}

/// A request with the channel for its answer, as the daemon receives it.
pub type Incoming = (Request, oneshot::Sender<Response>);

/// Control socket errors.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The socket could not be created.
    #[error("control socket {path}: {source}")]
    Bind {
        /// Socket path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Another daemon answers on the socket.
    #[error("control socket {0}: another lvsd is running")]
    InUse(PathBuf),
    /// The daemon could not be reached.
    #[error("cannot reach lvsd at {path}: {source} (is the daemon running?)")]
    Connect {
        /// Socket path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The exchange failed half way.
    #[error("control socket {path}: {source}")]
    Io {
        /// Socket path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The daemon's answer was not understood.
    #[error("control socket {path}: bad response: {detail}")]
    BadResponse {
        /// Socket path.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
}

/// Binds the control socket at `path` with mode 0600, replacing a stale
/// socket left by a crashed daemon but refusing to steal a live one.
pub fn bind(path: &Path) -> Result<UnixListener, ControlError> {
    let bind_err = |source| ControlError::Bind {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(bind_err)?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(ControlError::InUse(path.to_path_buf()));
        }
        std::fs::remove_file(path).map_err(bind_err)?;
    }
    let listener = UnixListener::bind(path).map_err(bind_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(bind_err)?;
    Ok(listener)
}

/// Accepts clients until the task is dropped, passing each request to the
/// daemon on `daemon`. Peers other than root and the daemon's own user are
/// refused even if the file mode was changed.
pub async fn serve(listener: UnixListener, daemon: mpsc::Sender<Incoming>) -> std::io::Result<()> {
    let own_uid = nix::unistd::geteuid().as_raw();
    loop {
        let (stream, _) = listener.accept().await?;
        let daemon = daemon.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(stream, daemon, own_uid).await {
                tracing::debug!(error = %e, "control connection failed");
            }
        });
    }
}

async fn handle(
    stream: UnixStream,
    daemon: mpsc::Sender<Incoming>,
    own_uid: u32,
) -> std::io::Result<()> {
    let uid = stream.peer_cred()?.uid();
    let (read, mut write) = stream.into_split();
    let response = if uid != 0 && uid != own_uid {
        Response::Error {
            message: format!("uid {uid} may not use the control socket"),
        }
    } else {
        let mut line = String::new();
        AsyncBufReader::new(tokio::io::AsyncReadExt::take(read, MAX_REQUEST))
            .read_line(&mut line)
            .await?;
        match serde_json::from_str::<Request>(&line) {
            Err(e) => Response::Error {
                message: format!("bad request: {e}"),
            },
            Ok(request) => {
                let (tx, rx) = oneshot::channel();
                if daemon.send((request, tx)).await.is_err() {
                    Response::Error {
                        message: "the daemon is shutting down".into(),
                    }
                } else {
                    rx.await.unwrap_or_else(|_| Response::Error {
                        message: "the daemon dropped the request".into(),
                    })
                }
            }
        }
    };
    let mut out = serde_json::to_vec(&response).map_err(std::io::Error::other)?;
    out.push(b'\n');
    write.write_all(&out).await?;
    write.shutdown().await
}

/// Sends one request to the daemon at `path` and waits up to `timeout` for
/// the answer (a reload can take a while: it waits for the result).
pub fn call(path: &Path, request: &Request, timeout: Duration) -> Result<Response, ControlError> {
    let io_err = |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut stream =
        std::os::unix::net::UnixStream::connect(path).map_err(|source| ControlError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
    stream.set_read_timeout(Some(timeout)).map_err(io_err)?;
    let mut line = serde_json::to_vec(request).map_err(|e| io_err(std::io::Error::other(e)))?;
    line.push(b'\n');
    stream.write_all(&line).map_err(io_err)?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(io_err)?;
    serde_json::from_str(&answer).map_err(|e| ControlError::BadResponse {
        path: path.to_path_buf(),
        detail: format!("{e}: {:?}", answer.chars().take(200).collect::<String>()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for the daemon's main loop: answers status with a
    /// snapshot holding `reloads`, and refuses every reload.
    fn fake_daemon(reloads: u64) -> mpsc::Sender<Incoming> {
        let (tx, mut rx) = mpsc::channel::<Incoming>(4);
        tokio::spawn(async move {
            while let Some((req, reply)) = rx.recv().await {
                let _ = reply.send(match req {
                    Request::Status => Response::Status(Status {
                        reloads,
                        ..Status::default()
                    }),
                    Request::Reload => Response::ReloadRefused {
                        errors: vec!["a.conf:3:5: error: bad".into()],
                    },
                });
            }
        });
        tx
    }

    async fn call_async(path: PathBuf, req: Request) -> Result<Response, ControlError> {
        tokio::task::spawn_blocking(move || call(&path, &req, Duration::from_secs(5)))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn requests_reach_the_daemon_and_answers_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/lvsd.sock");
        let listener = bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let server = tokio::spawn(serve(listener, fake_daemon(7)));

        match call_async(path.clone(), Request::Status).await.unwrap() {
            Response::Status(s) => assert_eq!(s.reloads, 7),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            call_async(path.clone(), Request::Reload).await.unwrap(),
            Response::ReloadRefused {
                errors: vec!["a.conf:3:5: error: bad".into()]
            }
        );
        // A live daemon's socket is not stolen by a second one.
        assert!(matches!(bind(&path), Err(ControlError::InUse(_))));
        server.abort();
    }

    #[tokio::test]
    async fn a_bad_request_gets_an_error_and_a_stale_socket_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lvsd.sock");
        // A socket file nobody listens on, as a crashed daemon leaves it.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let server = tokio::spawn(serve(bind(&path).unwrap(), fake_daemon(0)));

        let p = path.clone();
        let answer = tokio::task::spawn_blocking(move || {
            let mut s = std::os::unix::net::UnixStream::connect(&p).unwrap();
            s.write_all(b"{\"request\":\"explode\"}\n").unwrap();
            let mut line = String::new();
            BufReader::new(s).read_line(&mut line).unwrap();
            line
        })
        .await
        .unwrap();
        let answer: Response = serde_json::from_str(&answer).unwrap();
        assert!(
            matches!(&answer, Response::Error { message } if message.contains("unknown variant `explode`")),
            "{answer:?}"
        );
        server.abort();
    }

    #[test]
    fn no_daemon_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = call(
            &dir.path().join("none.sock"),
            &Request::Status,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(err.to_string().contains("is the daemon running?"), "{err}");
    }
}
