//! systemd's readiness protocol (sd_notify(3)) for `Type=notify` units:
//! one datagram per state change to the socket named by `$NOTIFY_SOCKET`.
//! Without the variable (not under systemd) every call does nothing.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

/// The states lvsd reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    /// Start-up is complete (`READY=1`), also after a reload.
    Ready,
    /// A reload began (`RELOADING=1` with the monotonic time systemd 253 wants).
    Reloading,
    /// Shutdown began (`STOPPING=1`).
    Stopping,
}

/// Sends `state` to systemd, if lvsd runs under it. Errors are logged:
/// readiness reporting must never stop the director.
pub fn notify(state: Notify) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let message = match state {
        Notify::Ready => "READY=1\nSTATUS=running".to_string(),
        Notify::Reloading => format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()),
        Notify::Stopping => "STOPPING=1".to_string(),
    };
    let path = PathBuf::from(path);
    // An abstract socket is written with a leading '@' (sd_notify(3)).
    let result = UnixDatagram::unbound().and_then(|s| {
        let bytes = path.as_os_str().as_encoded_bytes();
        if let Some(name) = bytes.strip_prefix(b"@") {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            s.send_to_addr(message.as_bytes(), &addr)
        } else {
            s.send_to(message.as_bytes(), &path)
        }
    });
    if let Err(e) = result {
        tracing::warn!(socket = %path.display(), error = %e, "sd_notify failed");
    }
}

fn monotonic_usec() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| {
            u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000
                + u64::try_from(t.tv_nsec()).unwrap_or(0) / 1000
        })
        .unwrap_or(0)
}
