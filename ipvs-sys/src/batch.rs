//! Batched apply: a list of operations turned into (command, payload, subject)
//! requests. Pure; the client sends many per `send` and matches ACKs by sequence.

use crate::codec::{cmd, request};
use crate::error::Subject;
use crate::types::*;

/// One IPVS change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Add a service (`ipvsadm -A`).
    AddService(Service),
    /// Edit a service (`ipvsadm -E`).
    EditService(Service),
    /// Delete a service (`ipvsadm -D`).
    DelService(ServiceKey),
    /// Add a destination (`ipvsadm -a`).
    AddDest(ServiceKey, Dest),
    /// Edit a destination (`ipvsadm -e`).
    EditDest(ServiceKey, Dest),
    /// Delete a destination (`ipvsadm -d`).
    DelDest(ServiceKey, DestKey),
    /// Zero counters of one service, or all (`ipvsadm -Z`).
    Zero(Option<ServiceKey>),
    /// Flush the table (`ipvsadm -C`).
    Flush,
    /// Set timeouts (`ipvsadm --set`).
    SetTimeouts(Timeouts),
    /// Start a sync daemon.
    StartDaemon(Daemon),
    /// Stop a sync daemon.
    StopDaemon(DaemonState),
}

/// A request ready to frame: generic-netlink command, attribute payload, and the
/// subject used to name the object in an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `IPVS_CMD_*`.
    pub cmd: u8,
    /// Attributes after the genlmsghdr.
    pub payload: Vec<u8>,
    /// What the request is about.
    pub subject: Subject,
}

impl Op {
    /// The request for this operation.
    pub fn to_request(&self) -> Request {
        let svc_subject = |s: &Service| Subject::Service {
            key: s.key,
            scheduler: Some(s.scheduler.clone()),
            pe: s.pe_name.clone(),
        };
        let key_subject = |k: &ServiceKey| Subject::Service {
            key: *k,
            scheduler: None,
            pe: None,
        };
        let (cmd, payload, subject) = match self {
            Op::AddService(s) => (cmd::NEW_SERVICE, request::service(s), svc_subject(s)),
            Op::EditService(s) => (cmd::SET_SERVICE, request::service(s), svc_subject(s)),
            Op::DelService(k) => (cmd::DEL_SERVICE, request::service_key(k), key_subject(k)),
            Op::AddDest(k, d) => (
                cmd::NEW_DEST,
                request::dest(k, d),
                Subject::Dest {
                    service: *k,
                    dest: d.key,
                },
            ),
            Op::EditDest(k, d) => (
                cmd::SET_DEST,
                request::dest(k, d),
                Subject::Dest {
                    service: *k,
                    dest: d.key,
                },
            ),
            Op::DelDest(k, d) => (
                cmd::DEL_DEST,
                request::dest_key(k, d),
                Subject::Dest {
                    service: *k,
                    dest: *d,
                },
            ),
            Op::Zero(Some(k)) => (cmd::ZERO, request::service_key(k), key_subject(k)),
            Op::Zero(None) => (cmd::ZERO, Vec::new(), Subject::Other("zero")),
            Op::Flush => (cmd::FLUSH, Vec::new(), Subject::Other("flush")),
            Op::SetTimeouts(t) => (
                cmd::SET_CONFIG,
                request::timeouts(t),
                Subject::Other("timeouts"),
            ),
            Op::StartDaemon(d) => (
                cmd::NEW_DAEMON,
                request::daemon(d),
                Subject::Other("sync daemon"),
            ),
            Op::StopDaemon(s) => (
                cmd::DEL_DAEMON,
                request::daemon_stop(*s),
                Subject::Other("sync daemon"),
            ),
        };
        Request {
            cmd,
            payload,
            subject,
        }
    }
}

/// Splits framed messages into chunks of at most `limit` bytes (a single message
/// larger than `limit` gets a chunk of its own). Returns index ranges.
pub fn chunk_by_size(sizes: &[usize], limit: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut acc = 0;
    for (i, &s) in sizes.iter().enumerate() {
        if acc > 0 && acc + s > limit {
            out.push(start..i);
            start = i;
            acc = 0;
        }
        acc += s;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

/// Which operations of a batch failed.
#[derive(Debug, thiserror::Error)]
#[error("{} of {total} operations failed; first: op #{}: {}", failures.len(), failures.first().map(|f| f.0).unwrap_or(0), failures.first().map(|f| f.1.to_string()).unwrap_or_default())]
pub struct BatchError {
    /// Number of operations in the batch.
    pub total: usize,
    /// `(index into the op list, error)`, in op order.
    pub failures: Vec<(usize, crate::Error)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_limit() {
        assert_eq!(chunk_by_size(&[10, 10, 10], 25), vec![0..2, 2..3]);
        assert_eq!(chunk_by_size(&[30, 5], 25), vec![0..1, 1..2]);
        assert_eq!(chunk_by_size(&[], 25), Vec::<std::ops::Range<usize>>::new());
        assert_eq!(chunk_by_size(&[5, 5, 5], 100), vec![0..3]);
    }

    #[test]
    fn op_maps_to_ip_vs_h_commands() {
        let k = ServiceKey::Fwmark {
            family: Family::V4,
            mark: 1,
        };
        assert_eq!(Op::DelService(k).to_request().cmd, 3);
        assert_eq!(Op::Flush.to_request().cmd, 17);
        assert!(Op::Flush.to_request().payload.is_empty());
        let add = Op::AddService(Service::new(k, "foo")).to_request();
        assert_eq!(add.cmd, 1);
        assert_eq!(
            add.subject,
            Subject::Service {
                key: k,
                scheduler: Some("foo".into()),
                pe: None,
            }
        );
    }
}
