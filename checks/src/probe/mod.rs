//! The checkers: one probe of a [`CheckSpec`] gives an [`Outcome`].
//!
//! Every network probe is bounded as a whole by `connect_timeout`: each
//! step runs against one deadline, and the step that was running when it
//! passed names the timeout ([`Phase`]).

use std::future::Future;
use std::io;

use tokio::time::Instant;

use crate::outcome::{Failure, Outcome, Phase};
use crate::spec::{CheckKind, CheckSpec};

mod dns;
mod file;
pub mod http;
mod misc;
mod net;
mod ping;
mod smtp;
mod tls;
mod udp;

pub use dns::{build_query, parse_reply_rcode};
pub use misc::split_command_line;

/// The end of a probe's time budget.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(pub Instant);

impl Deadline {
    /// Runs one step; a socket error or the deadline is a failure of `phase`.
    pub async fn step<T>(
        &self,
        phase: Phase,
        fut: impl Future<Output = io::Result<T>>,
    ) -> Result<T, Failure> {
        match tokio::time::timeout_at(self.0, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Failure::from_io(&e, phase)),
            Err(_) => Err(Failure::Timeout(phase)),
        }
    }
}

/// Probes once, starting now.
pub async fn probe(spec: &CheckSpec) -> Outcome {
    probe_started(spec, Instant::now()).await
}

/// Probes once, starting at `started` (the caller's clock reading, so a
/// probe reads the clock once less: the scheduler reads it anyway, and
/// in a guest whose clock source is the HPET every read is a VM exit).
///
/// Every checker but TCP_CHECK runs boxed. An async function's future is
/// as large as its largest branch, and the TLS one is kilobytes: unboxed,
/// each TCP_CHECK probe allocated and moved a 6.9 KB future; with the
/// others boxed, 432 bytes (the probe_future_size test).
pub async fn probe_started(spec: &CheckSpec, started: Instant) -> Outcome {
    let deadline = Deadline(started + spec.timing.connect_timeout);
    let endpoint = &spec.endpoint;
    let result = match &spec.kind {
        CheckKind::Tcp => tcp(spec, deadline).await,
        CheckKind::Http(h) => Box::pin(http::check(h, endpoint, spec.timing.connect_timeout)).await,
        CheckKind::Misc(m) => return Box::pin(misc::check(m, spec.timing.delay_loop)).await,
        CheckKind::Smtp(s) => Box::pin(smtp::check(s, endpoint, deadline)).await,
        CheckKind::Dns(d) => Box::pin(dns::check(d, endpoint, deadline)).await,
        CheckKind::Udp(u) => Box::pin(udp::check(u, endpoint, deadline)).await,
        CheckKind::Ping => Box::pin(ping::check(endpoint, deadline)).await,
        CheckKind::File(f) => return Box::pin(file::check(f)).await,
    };
    match result {
        Ok(()) => Outcome::PASS,
        Err(f) => Outcome::Fail(f),
    }
}

/// TCP_CHECK: connect, then close. The close is an abortive one (SO_LINGER
/// 0, a RST, as HAProxy's health checks do) so thousands of checks per
/// second leave no TIME_WAIT sockets behind on the director.
async fn tcp(spec: &CheckSpec, deadline: Deadline) -> Result<(), Failure> {
    let stream = deadline
        .step(
            Phase::Connect,
            net::tcp_connect(&spec.endpoint, net::TcpUse::ConnectOnly),
        )
        .await?;
    let _ = socket2::SockRef::from(&stream).set_linger(Some(std::time::Duration::ZERO));
    drop(stream);
    Ok(())
}
