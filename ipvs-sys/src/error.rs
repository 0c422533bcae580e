//! Typed errors. Kernel errnos are mapped to errors naming the object, following
//! the kernel's ip_vs_ctl.c return codes (EEXIST on duplicate, ESRCH for a missing
//! service, ENOENT for a missing scheduler/destination/pe).

use crate::types::ServiceKey;
use std::fmt;

/// errno values used by ip_vs_ctl.c (asm-generic/errno-base.h, errno.h).
pub mod errno {
    /// Operation not permitted.
    pub const EPERM: i32 = 1;
    /// No such file or directory.
    pub const ENOENT: i32 = 2;
    /// No such process.
    pub const ESRCH: i32 = 3;
    /// File exists.
    pub const EEXIST: i32 = 17;
    /// Invalid argument.
    pub const EINVAL: i32 = 22;
    /// Address family not supported.
    pub const EAFNOSUPPORT: i32 = 97;
}

/// The object an operation was about, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A service, with the scheduler it asked for (for ENOENT on add/edit).
    Service {
        /// The service.
        key: ServiceKey,
        /// Scheduler requested, if any.
        scheduler: Option<String>,
        /// Persistence engine requested, if any (ENOENT may also mean it is missing).
        pe: Option<String>,
    },
    /// A destination of a service.
    Dest {
        /// The service.
        service: ServiceKey,
        /// The destination.
        dest: crate::types::DestKey,
    },
    /// Anything else (info, timeouts, daemon, flush, zero).
    Other(&'static str),
}

/// Renders a service key the way ipvsadm names services (`TCP 10.0.0.1:80`, `FWM 5`).
pub struct KeyDisplay<'a>(pub &'a ServiceKey);

impl fmt::Display for KeyDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ServiceKey::Addr {
                protocol,
                addr: std::net::IpAddr::V6(a),
                port,
            } => write!(f, "{} [{a}]:{port}", protocol.name()),
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => write!(f, "{} {addr}:{port}", protocol.name()),
            ServiceKey::Fwmark { family, mark } => match family {
                crate::types::Family::V4 => write!(f, "FWM {mark}"),
                crate::types::Family::V6 => write!(f, "FWM {mark} IPv6"),
            },
        }
    }
}

impl fmt::Debug for KeyDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn dest_display(d: &crate::types::DestKey) -> String {
    match d.addr {
        std::net::IpAddr::V6(a) => format!("[{a}]:{}", d.port),
        a => format!("{a}:{}", d.port),
    }
}

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// EEXIST on a service.
    #[error("service {} already exists", KeyDisplay(.0))]
    ServiceExists(ServiceKey),
    /// ESRCH: the service does not exist.
    #[error("service {} does not exist", KeyDisplay(.0))]
    NoSuchService(ServiceKey),
    /// ENOENT on service add/edit: the scheduler module is not loaded/available.
    #[error("scheduler \"{0}\" is not available (kernel module ip_vs_{0} missing)")]
    NoSuchScheduler(String),
    /// ENOENT on service add/edit with a persistence engine: the kernel does not
    /// say which of the two modules is missing (ip_vs_ctl.c returns ENOENT for both).
    #[error("scheduler \"{scheduler}\" or persistence engine \"{pe}\" is not available (kernel module ip_vs_{scheduler} or ip_vs_pe_{pe} missing)")]
    NoSuchSchedulerOrPe {
        /// Scheduler name.
        scheduler: String,
        /// Persistence engine name.
        pe: String,
    },
    /// EEXIST on a destination.
    #[error("destination {} already exists in service {}", dest_display(.dest), KeyDisplay(.service))]
    DestExists {
        /// The service.
        service: ServiceKey,
        /// The destination.
        dest: crate::types::DestKey,
    },
    /// ENOENT on a destination.
    #[error("destination {} does not exist in service {}", dest_display(.dest), KeyDisplay(.service))]
    NoSuchDest {
        /// The service.
        service: ServiceKey,
        /// The destination.
        dest: crate::types::DestKey,
    },
    /// EPERM: not allowed (needs CAP_NET_ADMIN).
    #[error("permission denied for {0} (CAP_NET_ADMIN required)")]
    PermissionDenied(String),
    /// EAFNOSUPPORT: address family not supported (IPv6 IPVS not built, or family mismatch).
    #[error("address family not supported for {0}")]
    FamilyNotSupported(String),
    /// Any other kernel errno.
    #[error("{what}: kernel error {errno} ({})", errno_name(*.errno))]
    Kernel {
        /// What the operation was about.
        what: String,
        /// The positive errno.
        errno: i32,
    },
    /// The generic netlink family "IPVS" is not registered (ip_vs module not loaded).
    #[error("the IPVS generic netlink family is not available (kernel module ip_vs missing)")]
    FamilyNotFound,
    /// A malformed reply.
    #[error("malformed netlink message: {0}")]
    Decode(#[from] crate::codec::DecodeError),
    /// A value that cannot be encoded.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// A reply datagram larger than the receive buffer: nothing of it is
    /// used (MSG_TRUNC tells; the rest of the datagram is lost).
    #[error("netlink datagram of {len} bytes does not fit the {buffer}-byte receive buffer")]
    Truncated {
        /// The datagram's length.
        len: usize,
        /// The receive buffer's.
        buffer: usize,
    },
    /// Socket I/O.
    #[error("netlink socket: {0}")]
    Io(#[from] std::io::Error),
}

fn errno_name(e: i32) -> &'static str {
    match e {
        errno::EPERM => "EPERM",
        errno::ENOENT => "ENOENT",
        errno::ESRCH => "ESRCH",
        errno::EEXIST => "EEXIST",
        errno::EINVAL => "EINVAL",
        errno::EAFNOSUPPORT => "EAFNOSUPPORT",
        _ => "errno",
    }
}

impl Error {
    /// Maps a kernel errno (positive) for an operation on `subject` to a typed error.
    pub fn from_errno(errno: i32, subject: &Subject) -> Error {
        let what = match subject {
            Subject::Service { key, .. } => format!("service {}", KeyDisplay(key)),
            Subject::Dest { service, dest } => format!(
                "destination {} of service {}",
                dest_display(dest),
                KeyDisplay(service)
            ),
            Subject::Other(s) => (*s).to_string(),
        };
        match (errno, subject) {
            (errno::EEXIST, Subject::Service { key, .. }) => Error::ServiceExists(*key),
            (errno::ESRCH, Subject::Service { key, .. }) => Error::NoSuchService(*key),
            (errno::ESRCH, Subject::Dest { service, .. }) => Error::NoSuchService(*service),
            (
                errno::ENOENT,
                Subject::Service {
                    scheduler: Some(s),
                    pe: Some(pe),
                    ..
                },
            ) => Error::NoSuchSchedulerOrPe {
                scheduler: s.clone(),
                pe: pe.clone(),
            },
            (
                errno::ENOENT,
                Subject::Service {
                    scheduler: Some(s), ..
                },
            ) => Error::NoSuchScheduler(s.clone()),
            (errno::EEXIST, Subject::Dest { service, dest }) => Error::DestExists {
                service: *service,
                dest: *dest,
            },
            (errno::ENOENT, Subject::Dest { service, dest }) => Error::NoSuchDest {
                service: *service,
                dest: *dest,
            },
            (errno::EPERM, _) => Error::PermissionDenied(what),
            (errno::EAFNOSUPPORT, _) => Error::FamilyNotSupported(what),
            _ => Error::Kernel { what, errno },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{DestKey, Protocol};

    fn svc() -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: "10.0.0.1".parse().unwrap(),
            port: 80,
        }
    }

    #[test]
    fn scheduler_missing_names_module() {
        let e = Error::from_errno(
            errno::ENOENT,
            &Subject::Service {
                key: svc(),
                scheduler: Some("foo".into()),
                pe: None,
            },
        );
        assert_eq!(
            e.to_string(),
            "scheduler \"foo\" is not available (kernel module ip_vs_foo missing)"
        );
    }

    #[test]
    fn duplicate_and_missing_service() {
        let s = Subject::Service {
            key: svc(),
            scheduler: None,
            pe: None,
        };
        assert_eq!(
            Error::from_errno(errno::EEXIST, &s).to_string(),
            "service TCP 10.0.0.1:80 already exists"
        );
        assert!(matches!(
            Error::from_errno(errno::ESRCH, &s),
            Error::NoSuchService(k) if k == svc()
        ));
    }

    #[test]
    fn enoent_with_pe_names_both_modules() {
        let e = Error::from_errno(
            errno::ENOENT,
            &Subject::Service {
                key: svc(),
                scheduler: Some("rr".into()),
                pe: Some("sip".into()),
            },
        );
        assert!(matches!(e, Error::NoSuchSchedulerOrPe { .. }));
        assert!(e.to_string().contains("ip_vs_pe_sip"));
    }

    #[test]
    fn dest_errors_name_both() {
        let d = DestKey {
            addr: "2001:db8::1".parse().unwrap(),
            port: 8080,
        };
        let s = Subject::Dest {
            service: svc(),
            dest: d,
        };
        assert_eq!(
            Error::from_errno(errno::ENOENT, &s).to_string(),
            "destination [2001:db8::1]:8080 does not exist in service TCP 10.0.0.1:80"
        );
        assert!(matches!(
            Error::from_errno(errno::EEXIST, &s),
            Error::DestExists { .. }
        ));
        assert!(matches!(
            Error::from_errno(errno::EPERM, &s),
            Error::PermissionDenied(_)
        ));
        assert!(matches!(
            Error::from_errno(errno::EAFNOSUPPORT, &s),
            Error::FamilyNotSupported(_)
        ));
        assert!(matches!(
            Error::from_errno(errno::EINVAL, &s),
            Error::Kernel { errno: 22, .. }
        ));
    }
}
