//! Blocking client over a neli netlink socket. Framing and decoding are the pure
//! [`crate::codec`]; this module only sends, receives and matches replies.

use crate::batch::{chunk_by_size, BatchError, Op, Request};
use crate::codec::{self, cmd, GenlMessage, NlMessage};
use crate::error::{Error, Subject};
use crate::types::*;
use neli::consts::socket::{Msg, NlFamily};
use neli::socket::NlSocket;
use neli::utils::Groups;
use std::collections::HashMap;
use std::path::Path;

/// genetlink.h `GENL_ID_CTRL`.
const GENL_ID_CTRL: u16 = 0x10;
/// genetlink.h `CTRL_CMD_GETFAMILY`.
const CTRL_CMD_GETFAMILY: u8 = 3;
/// genetlink.h `CTRL_ATTR_FAMILY_ID`.
const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// genetlink.h `CTRL_ATTR_FAMILY_NAME`.
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// Bytes per `send` in a batch.
const BATCH_BYTES: usize = 32 * 1024;
/// Receive buffer size (a dump part is at most ~a page; be generous).
const RECV_BYTES: usize = 64 * 1024;
/// [`Client::table`] fetches destinations over parallel sockets from this
/// many services on (one dump per service is the kernel's only way).
const PARALLEL_MIN_SERVICES: usize = 64;
/// At most this many sockets dump destinations at once.
const MAX_DUMP_WORKERS: usize = 4;

/// A connection to the kernel's IPVS generic-netlink family.
pub struct Client {
    sock: NlSocket,
    family: u16,
    seq: u32,
    /// The network namespace the socket lives in, for helper sockets.
    netns: Option<std::os::fd::OwnedFd>,
    /// Receive buffer, reused.
    rbuf: Vec<u8>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("family", &self.family)
            .field("seq", &self.seq)
            .finish()
    }
}

/// Collects replies to one request: data messages until DONE (dump) or the
/// NLMSG_ERROR carrying our sequence (ACK or error). Pure; unit-tested.
#[derive(Debug, Default)]
pub struct ReplyCollector {
    /// Data messages received for the sequence.
    pub data: Vec<GenlMessage>,
    /// Final status once complete: `Ok(())` or the positive errno.
    pub done: Option<Result<(), i32>>,
}

impl ReplyCollector {
    /// Feeds one message; messages of other sequences are ignored.
    pub fn feed(&mut self, seq: u32, m: NlMessage) {
        match m {
            NlMessage::Genl(g) if g.seq == seq => self.data.push(g),
            NlMessage::Done { seq: s } if s == seq => self.done = Some(Ok(())),
            NlMessage::Error { seq: s, errno } if s == seq => {
                self.done = Some(if errno == 0 { Ok(()) } else { Err(-errno) })
            }
            _ => {}
        }
    }
}

impl Client {
    /// Connects in the calling thread's network namespace and resolves "IPVS".
    pub fn new() -> Result<Client, Error> {
        let sock = NlSocket::connect(NlFamily::Generic, None, Groups::empty())?;
        let netns = std::fs::File::open("/proc/thread-self/ns/net")
            .ok()
            .map(Into::into);
        Client::from_socket(sock, netns)
    }

    /// Connects inside the network namespace at `path` (e.g. `/run/netns/NAME`).
    /// The socket is opened on a helper thread that entered the namespace; netlink
    /// sockets keep the namespace they were created in.
    pub fn in_netns(path: &Path) -> Result<Client, Error> {
        let file = std::fs::File::open(path)?;
        Client::in_netns_fd(file.into())
    }

    /// Connects inside the network namespace referred to by `fd`.
    pub fn in_netns_fd(fd: std::os::fd::OwnedFd) -> Result<Client, Error> {
        let netns = fd.try_clone().ok();
        let sock = std::thread::spawn(move || -> Result<NlSocket, Error> {
            nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| Error::Io(e.into()))?;
            Ok(NlSocket::connect(NlFamily::Generic, None, Groups::empty())?)
        })
        .join()
        .map_err(|_| Error::Invalid("namespace thread panicked".into()))??;
        Client::from_socket(sock, netns)
    }

    fn from_socket(sock: NlSocket, netns: Option<std::os::fd::OwnedFd>) -> Result<Client, Error> {
        let _ = sock.set_recv_buffer_size(1 << 20);
        let mut c = Client {
            sock,
            family: GENL_ID_CTRL,
            seq: 0,
            netns,
            rbuf: vec![0u8; RECV_BYTES],
        };
        let mut payload = Vec::new();
        let mut name = codec::GENL_NAME.as_bytes().to_vec();
        name.push(0);
        codec::put_attr(&mut payload, CTRL_ATTR_FAMILY_NAME, &name);
        let replies = c
            .exchange(CTRL_CMD_GETFAMILY, payload, false)
            .map_err(|e| match e {
                Err(2) => Error::FamilyNotFound,
                Err(n) => Error::from_errno(n, &Subject::Other("resolve IPVS family")),
                Ok(e) => e,
            })?;
        let id = replies
            .iter()
            .find_map(|m| {
                codec::find_attr(&m.payload, CTRL_ATTR_FAMILY_ID)
                    .ok()
                    .flatten()
                    .and_then(|v| <[u8; 2]>::try_from(v).ok())
                    .map(u16::from_ne_bytes)
            })
            .ok_or(Error::FamilyNotFound)?;
        c.family = id;
        Ok(c)
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn frame(&mut self, cmd: u8, payload: Vec<u8>, dump: bool) -> (u32, Vec<u8>) {
        let seq = self.next_seq();
        let flags = codec::NLM_F_REQUEST
            | if dump {
                codec::NLM_F_DUMP
            } else {
                codec::NLM_F_ACK
            };
        let m = GenlMessage {
            nl_type: self.family,
            flags,
            seq,
            pid: 0,
            cmd,
            version: codec::GENL_VERSION,
            payload,
        };
        (seq, m.encode())
    }

    fn recv_messages(&mut self) -> Result<Vec<NlMessage>, Error> {
        let (n, _) = self.sock.recv(&mut self.rbuf[..], Msg::empty())?;
        Ok(codec::decode_messages(&self.rbuf[..n.min(RECV_BYTES)])?)
    }

    /// Sends one request and collects its replies. `Err(Err(errno))` is a kernel error.
    fn exchange(
        &mut self,
        cmd: u8,
        payload: Vec<u8>,
        dump: bool,
    ) -> Result<Vec<GenlMessage>, Result<Error, i32>> {
        let (seq, bytes) = self.frame(cmd, payload, dump);
        self.sock
            .send(&bytes, Msg::empty())
            .map_err(|e| Ok(e.into()))?;
        let mut col = ReplyCollector::default();
        while col.done.is_none() {
            for m in self.recv_messages().map_err(Ok)? {
                col.feed(seq, m);
            }
        }
        match col.done {
            Some(Err(errno)) => Err(Err(errno)),
            _ => Ok(col.data),
        }
    }

    fn call(
        &mut self,
        cmd: u8,
        payload: Vec<u8>,
        dump: bool,
        subject: &Subject,
    ) -> Result<Vec<GenlMessage>, Error> {
        self.exchange(cmd, payload, dump).map_err(|e| match e {
            Ok(e) => e,
            Err(errno) => Error::from_errno(errno, subject),
        })
    }

    /// `IPVS_CMD_GET_INFO`.
    pub fn info(&mut self) -> Result<Info, Error> {
        let r = self.call(cmd::GET_INFO, Vec::new(), false, &Subject::Other("info"))?;
        let m = r.first().ok_or(Error::Invalid("empty info reply".into()))?;
        Ok(codec::decode_info(&m.payload)?)
    }

    /// `IPVS_CMD_GET_CONFIG`: current timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts, Error> {
        let r = self.call(
            cmd::GET_CONFIG,
            Vec::new(),
            false,
            &Subject::Other("timeouts"),
        )?;
        let m = r
            .first()
            .ok_or(Error::Invalid("empty config reply".into()))?;
        Ok(codec::decode_timeouts(&m.payload)?)
    }

    /// All services (dump), in kernel order.
    pub fn services(&mut self) -> Result<Vec<Service>, Error> {
        let r = self.call(
            cmd::GET_SERVICE,
            Vec::new(),
            true,
            &Subject::Other("services"),
        )?;
        r.iter()
            .map(|m| codec::decode_service_msg(&m.payload).map_err(Error::from))
            .collect()
    }

    /// One service.
    pub fn service(&mut self, key: &ServiceKey) -> Result<Service, Error> {
        let subject = Subject::Service {
            key: *key,
            scheduler: None,
            pe: None,
        };
        let r = self.call(
            cmd::GET_SERVICE,
            codec::request::service_key(key),
            false,
            &subject,
        )?;
        let m = r.first().ok_or(Error::NoSuchService(*key))?;
        Ok(codec::decode_service_msg(&m.payload)?)
    }

    /// Destinations of a service (dump).
    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>, Error> {
        let subject = Subject::Service {
            key: *key,
            scheduler: None,
            pe: None,
        };
        let r = self.call(
            cmd::GET_DEST,
            codec::request::service_key(key),
            true,
            &subject,
        )?;
        r.iter()
            .map(|m| codec::decode_dest_msg(&m.payload, key.family()).map_err(Error::from))
            .collect()
    }

    /// The whole table: every service with its destinations, in kernel order.
    /// The kernel dumps destinations one service at a time, each dump two
    /// round trips; for large tables several sockets in the same namespace
    /// dump in parallel threads.
    pub fn table(&mut self) -> Result<Vec<(Service, Vec<Dest>)>, Error> {
        let services = self.services()?;
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_DUMP_WORKERS);
        let keys: Vec<ServiceKey> = services.iter().map(|s| s.key).collect();
        let dests = match &self.netns {
            Some(fd) if workers > 1 && keys.len() >= PARALLEL_MIN_SERVICES => {
                let chunk = keys.len().div_ceil(workers);
                let fds = keys
                    .chunks(chunk)
                    .skip(1)
                    .map(|_| fd.try_clone())
                    .collect::<Result<Vec<_>, _>>()?;
                std::thread::scope(|scope| {
                    let helpers: Vec<_> = keys
                        .chunks(chunk)
                        .skip(1)
                        .zip(fds)
                        .map(|(part, fd)| {
                            scope.spawn(move || -> Result<Vec<Vec<Dest>>, Error> {
                                let mut c = Client::in_netns_fd(fd)?;
                                part.iter().map(|k| c.dests(k)).collect()
                            })
                        })
                        .collect();
                    let mut all: Vec<Vec<Dest>> = keys[..chunk.min(keys.len())]
                        .iter()
                        .map(|k| self.dests(k))
                        .collect::<Result<_, _>>()?;
                    for h in helpers {
                        let part = h
                            .join()
                            .map_err(|_| Error::Invalid("dump thread panicked".into()))??;
                        all.extend(part);
                    }
                    Ok::<_, Error>(all)
                })?
            }
            _ => keys
                .iter()
                .map(|k| self.dests(k))
                .collect::<Result<_, _>>()?,
        };
        Ok(services.into_iter().zip(dests).collect())
    }

    /// Running sync daemons (dump).
    pub fn daemons(&mut self) -> Result<Vec<Daemon>, Error> {
        let r = self.call(
            cmd::GET_DAEMON,
            Vec::new(),
            true,
            &Subject::Other("sync daemons"),
        )?;
        r.iter()
            .map(|m| codec::decode_daemon_msg(&m.payload).map_err(Error::from))
            .collect()
    }

    /// Applies one operation and waits for its ACK.
    pub fn apply_one(&mut self, op: &Op) -> Result<(), Error> {
        let Request {
            cmd,
            payload,
            subject,
        } = op.to_request();
        self.call(cmd, payload, false, &subject).map(drop)
    }

    /// Applies many operations, several netlink messages per `send`, matching
    /// ACKs to requests by sequence number. The kernel processes every message of
    /// a send even after one fails (netlink_rcv_skb), so all failures are reported.
    pub fn apply(&mut self, ops: &[Op]) -> Result<(), BatchError> {
        let mut failures = Vec::new();
        let framed: Vec<(u32, Vec<u8>, Subject)> = ops
            .iter()
            .map(|op| {
                let r = op.to_request();
                let (seq, bytes) = self.frame(r.cmd, r.payload, false);
                (seq, bytes, r.subject)
            })
            .collect();
        let sizes: Vec<usize> = framed.iter().map(|f| f.1.len()).collect();
        for range in chunk_by_size(&sizes, BATCH_BYTES) {
            let mut buf = Vec::new();
            let mut pending: HashMap<u32, usize> = HashMap::new();
            for i in range.clone() {
                buf.extend_from_slice(&framed[i].1);
                pending.insert(framed[i].0, i);
            }
            if let Err(e) = self.sock.send(&buf, Msg::empty()) {
                let e = std::io::Error::new(e.kind(), e.to_string());
                for i in range {
                    failures.push((i, Error::Io(std::io::Error::new(e.kind(), e.to_string()))));
                }
                continue;
            }
            while !pending.is_empty() {
                let msgs = match self.recv_messages() {
                    Ok(m) => m,
                    Err(e) => {
                        let msg = e.to_string();
                        for (_, i) in pending.drain() {
                            failures.push((i, Error::Invalid(msg.clone())));
                        }
                        break;
                    }
                };
                for m in msgs {
                    if let NlMessage::Error { seq, errno } = m {
                        if let Some(i) = pending.remove(&seq) {
                            if errno != 0 {
                                failures.push((i, Error::from_errno(-errno, &framed[i].2)));
                            }
                        }
                    }
                }
            }
        }
        failures.sort_by_key(|f| f.0);
        if failures.is_empty() {
            Ok(())
        } else {
            Err(BatchError {
                total: ops.len(),
                failures,
            })
        }
    }

    /// Adds a service.
    pub fn add_service(&mut self, s: &Service) -> Result<(), Error> {
        self.apply_one(&Op::AddService(s.clone()))
    }
    /// Edits a service.
    pub fn edit_service(&mut self, s: &Service) -> Result<(), Error> {
        self.apply_one(&Op::EditService(s.clone()))
    }
    /// Deletes a service.
    pub fn del_service(&mut self, k: &ServiceKey) -> Result<(), Error> {
        self.apply_one(&Op::DelService(*k))
    }
    /// Adds a destination.
    pub fn add_dest(&mut self, k: &ServiceKey, d: &Dest) -> Result<(), Error> {
        self.apply_one(&Op::AddDest(*k, d.clone()))
    }
    /// Edits a destination.
    pub fn edit_dest(&mut self, k: &ServiceKey, d: &Dest) -> Result<(), Error> {
        self.apply_one(&Op::EditDest(*k, d.clone()))
    }
    /// Deletes a destination.
    pub fn del_dest(&mut self, k: &ServiceKey, d: &DestKey) -> Result<(), Error> {
        self.apply_one(&Op::DelDest(*k, *d))
    }
    /// Zeroes counters of one service or all.
    pub fn zero(&mut self, k: Option<&ServiceKey>) -> Result<(), Error> {
        self.apply_one(&Op::Zero(k.copied()))
    }
    /// Flushes all services.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.apply_one(&Op::Flush)
    }
    /// Sets timeouts (0 = unchanged).
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), Error> {
        self.apply_one(&Op::SetTimeouts(*t))
    }
    /// Starts a sync daemon.
    pub fn start_daemon(&mut self, d: &Daemon) -> Result<(), Error> {
        self.apply_one(&Op::StartDaemon(d.clone()))
    }
    /// Stops a sync daemon.
    pub fn stop_daemon(&mut self, s: DaemonState) -> Result<(), Error> {
        self.apply_one(&Op::StopDaemon(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genl(seq: u32) -> NlMessage {
        NlMessage::Genl(GenlMessage {
            nl_type: 0x20,
            flags: codec::NLM_F_MULTI,
            seq,
            pid: 1,
            cmd: cmd::NEW_SERVICE,
            version: 1,
            payload: vec![],
        })
    }

    #[test]
    fn collector_dump_ends_on_done_and_ignores_other_seqs() {
        let mut c = ReplyCollector::default();
        c.feed(5, genl(5));
        c.feed(5, genl(4));
        c.feed(5, NlMessage::Done { seq: 4 });
        assert!(c.done.is_none());
        c.feed(5, genl(5));
        c.feed(5, NlMessage::Done { seq: 5 });
        assert_eq!(c.done, Some(Ok(())));
        assert_eq!(c.data.len(), 2);
    }

    #[test]
    fn collector_maps_negative_errno() {
        let mut c = ReplyCollector::default();
        c.feed(9, NlMessage::Error { seq: 9, errno: -17 });
        assert_eq!(c.done, Some(Err(17)));
        let mut ack = ReplyCollector::default();
        ack.feed(9, NlMessage::Error { seq: 9, errno: 0 });
        assert_eq!(ack.done, Some(Ok(())));
    }
}
