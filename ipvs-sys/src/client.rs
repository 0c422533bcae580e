//! Blocking client over a neli netlink socket. Framing and decoding are the pure
//! [`crate::codec`]; this module only sends, receives and matches replies.

use crate::batch::{chunk_by_size, BatchError, Op, Request};
use crate::codec::{self, cmd, GenlMessage, GenlRef, NlMessage, NlMessageRef};
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
/// Receive length of the client's own socket: af_netlink.c (since 4.2,
/// "netlink: Trim skb to alloc size to avoid MSG_TRUNC") puts at most 32 KiB
/// in a dump datagram; older kernels up to the skb's rounded-up size.
const RECV_BYTES: usize = 64 * 1024;
/// Receive length of the sockets that dump destinations, one small dump per
/// service. af_netlink.c netlink_dump allocates each dump datagram at the
/// largest length the socket ever received with (at least NLMSG_GOODSIZE,
/// itself below min(PAGE_SIZE, 8 KiB)), and Debian kernels zero every
/// allocation (init_on_alloc): 32 KiB buffers cost 64 KiB of zeroing per
/// service. A page is enough on x86-64 (4 KiB pages); elsewhere 8 KiB is
/// always at least NLMSG_GOODSIZE. A datagram that does not fit (a kernel
/// older than 4.2 may send one) is seen (MSG_TRUNC) and the service dumped
/// again over a socket with [`RECV_BYTES`].
const DUMP_RECV_BYTES: usize = if cfg!(target_arch = "x86_64") {
    4096
} else {
    8192
};

/// A connection to the kernel's IPVS generic-netlink family.
pub struct Client {
    sock: NlSocket,
    family: u16,
    seq: u32,
    /// The network namespace the socket lives in, for helper sockets.
    netns: Option<std::os::fd::OwnedFd>,
    /// Receive buffer, reused: two datagrams of `recv_len` bytes.
    rbuf: Vec<u8>,
    /// The most one datagram may hold.
    recv_len: usize,
    /// Receive length of destination dumps ([`Client::set_dump_recv_len`]).
    dump_recv_len: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("family", &self.family)
            .field("seq", &self.seq)
            .finish()
    }
}

/// What one received message is to the request with a given sequence
/// number. Pure; unit-tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyPart<'a> {
    /// A data message of the reply.
    Data(GenlRef<'a>),
    /// The end of the reply: DONE closing a dump or an ACK (`Ok`), or a
    /// kernel error (`Err` with the positive errno).
    End(Result<(), i32>),
    /// A message of another request (a late reply), to be skipped.
    Unrelated,
}

/// Classifies `m` for the request with sequence `seq` (see [`ReplyPart`]).
pub fn reply_part(seq: u32, m: NlMessageRef<'_>) -> ReplyPart<'_> {
    match m {
        NlMessageRef::Genl(g) if g.seq == seq => ReplyPart::Data(g),
        NlMessageRef::Done { seq: s } if s == seq => ReplyPart::End(Ok(())),
        NlMessageRef::Error { seq: s, errno } if s == seq => {
            ReplyPart::End(if errno == 0 { Ok(()) } else { Err(-errno) })
        }
        _ => ReplyPart::Unrelated,
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
        let sock = socket_in_netns(fd)?;
        Client::from_socket(sock, netns)
    }

    fn with_socket(
        sock: NlSocket,
        netns: Option<std::os::fd::OwnedFd>,
        family: u16,
        recv_len: usize,
    ) -> Client {
        let _ = sock.set_recv_buffer_size(1 << 20);
        Client {
            sock,
            family,
            seq: 0,
            netns,
            rbuf: vec![0u8; 2 * recv_len],
            recv_len,
            dump_recv_len: DUMP_RECV_BYTES,
        }
    }

    /// Another socket to the same namespace and family, for destination
    /// dumps (small receive length, see `DUMP_RECV_BYTES`); `None` when the
    /// namespace is not known, and `self` must do. No family lookup: the
    /// IPVS family id is the one `self` resolved.
    fn dump_sibling(&self) -> Result<Option<Client>, Error> {
        self.sibling(self.dump_recv_len)
    }

    /// Sets how many bytes a destination dump receives at a time (default
    /// 4 KiB on x86-64, 8 KiB elsewhere). Too small a length for the
    /// kernel's datagrams costs a second dump of the service, never data.
    pub fn set_dump_recv_len(&mut self, bytes: usize) {
        self.dump_recv_len = bytes.max(64);
    }

    /// Another socket to the same namespace and family receiving
    /// `recv_len` bytes at a time (see [`Client::dump_sibling`]).
    fn sibling(&self, recv_len: usize) -> Result<Option<Client>, Error> {
        let Some(fd) = &self.netns else {
            return Ok(None);
        };
        let sock = if is_current_netns(fd) {
            NlSocket::connect(NlFamily::Generic, None, Groups::empty())?
        } else {
            socket_in_netns(fd.try_clone()?)?
        };
        let netns = fd.try_clone().ok();
        Ok(Some(Client::with_socket(
            sock,
            netns,
            self.family,
            recv_len,
        )))
    }

    fn from_socket(sock: NlSocket, netns: Option<std::os::fd::OwnedFd>) -> Result<Client, Error> {
        let mut c = Client::with_socket(sock, netns, GENL_ID_CTRL, RECV_BYTES);
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

    /// Receives one or two datagrams into the reused buffer with one
    /// recvmmsg: it waits for the first and takes a second only if it is
    /// already queued (MSG_WAITFORONE). A dump's next part or DONE is
    /// queued by the receive that takes the part before it
    /// (af_netlink.c netlink_recvmsg), so a small dump costs one call, not
    /// two. Returns the two lengths, 0 for no second datagram.
    fn recv_pair(&mut self) -> Result<[usize; 2], Error> {
        use nix::sys::socket::{recvmmsg, MsgFlags, MultiHeaders, NetlinkAddr};
        use std::io::IoSliceMut;
        use std::os::fd::AsRawFd;
        let len = self.recv_len;
        let fd = self.sock.as_raw_fd();
        loop {
            let (first, second) = self.rbuf.split_at_mut(len);
            let mut headers = MultiHeaders::<NetlinkAddr>::preallocate(2, None);
            let mut slices = [[IoSliceMut::new(first)], [IoSliceMut::new(second)]];
            let got = recvmmsg(
                fd,
                &mut headers,
                slices.iter_mut(),
                MsgFlags::MSG_WAITFORONE | MsgFlags::MSG_TRUNC,
                None,
            );
            let results = match got {
                Ok(r) => r,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::Io(e.into())),
            };
            let mut lens = [0usize; 2];
            for (slot, r) in lens.iter_mut().zip(results) {
                // With MSG_TRUNC netlink returns the datagram's whole length.
                if r.bytes > len || r.flags.contains(MsgFlags::MSG_TRUNC) {
                    return Err(Error::Truncated {
                        len: r.bytes,
                        buffer: len,
                    });
                }
                *slot = r.bytes;
            }
            return Ok(lens);
        }
    }

    /// The datagrams [`Client::recv_pair`] received, as byte slices.
    fn received(&self, lens: [usize; 2]) -> impl Iterator<Item = &[u8]> {
        let len = self.recv_len;
        lens.into_iter()
            .enumerate()
            .map(move |(i, n)| &self.rbuf[i * len..i * len + n])
    }

    fn recv_messages(&mut self) -> Result<Vec<NlMessage>, Error> {
        let lens = self.recv_pair()?;
        let mut out = Vec::new();
        for d in self.received(lens) {
            out.extend(codec::decode_messages(d)?);
        }
        Ok(out)
    }

    /// Sends one request and hands each data message of its reply to `each`,
    /// straight from the receive buffer, until the DONE (dump) or the ACK or
    /// error carrying the request's sequence. The first error of `each` is
    /// returned once the reply is complete, so the socket is left with no
    /// dump in progress. `Err(Err(errno))` is a kernel error.
    fn exchange_each(
        &mut self,
        cmd: u8,
        payload: Vec<u8>,
        dump: bool,
        mut each: impl FnMut(GenlRef<'_>) -> Result<(), Error>,
    ) -> Result<(), Result<Error, i32>> {
        let (seq, bytes) = self.frame(cmd, payload, dump);
        self.sock
            .send(&bytes, Msg::empty())
            .map_err(|e| Ok(e.into()))?;
        let mut failed: Option<Error> = None;
        loop {
            let lens = self.recv_pair().map_err(Ok)?;
            for m in self.received(lens).flat_map(codec::messages) {
                match reply_part(seq, m.map_err(|e| Ok(e.into()))?) {
                    ReplyPart::Data(g) => {
                        if failed.is_none() {
                            failed = each(g).err();
                        }
                    }
                    ReplyPart::End(Ok(())) => return failed.map_or(Ok(()), |e| Err(Ok(e))),
                    ReplyPart::End(Err(errno)) => return Err(Err(errno)),
                    ReplyPart::Unrelated => {}
                }
            }
        }
    }

    /// Sends one request and collects its data messages. `Err(Err(errno))` is a kernel error.
    fn exchange(
        &mut self,
        cmd: u8,
        payload: Vec<u8>,
        dump: bool,
    ) -> Result<Vec<GenlMessage>, Result<Error, i32>> {
        let mut data = Vec::new();
        self.exchange_each(cmd, payload, dump, |g| {
            data.push(g.to_owned());
            Ok(())
        })?;
        Ok(data)
    }

    fn call_each(
        &mut self,
        cmd: u8,
        payload: Vec<u8>,
        dump: bool,
        subject: &Subject,
        each: impl FnMut(GenlRef<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.exchange_each(cmd, payload, dump, each)
            .map_err(|e| match e {
                Ok(e) => e,
                Err(errno) => Error::from_errno(errno, subject),
            })
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
        let mut out = Vec::new();
        self.call_each(
            cmd::GET_SERVICE,
            Vec::new(),
            true,
            &Subject::Other("services"),
            |m| {
                out.push(codec::decode_service_msg(m.payload)?);
                Ok(())
            },
        )?;
        Ok(out)
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
        let mut out = Vec::new();
        self.dests_into(key, &mut out)?;
        Ok(out)
    }

    /// Appends the destinations of a service (dump) to `out`.
    fn dests_into(&mut self, key: &ServiceKey, out: &mut Vec<Dest>) -> Result<(), Error> {
        let subject = Subject::Service {
            key: *key,
            scheduler: None,
            pe: None,
        };
        let family = key.family();
        self.call_each(
            cmd::GET_DEST,
            codec::request::service_key(key),
            true,
            &subject,
            |m| {
                out.push(codec::decode_dest_msg(m.payload, family)?);
                Ok(())
            },
        )
    }

    /// The whole table: every service with its destinations, in kernel order
    /// (see [`Client::dests_each`]).
    pub fn table(&mut self) -> Result<Vec<(Service, Vec<Dest>)>, Error> {
        let services = self.services()?;
        let mut dests = Vec::with_capacity(services.len());
        self.dests_each(&services, |_, d| {
            dests.push(std::mem::take(d));
            Ok(())
        })?;
        Ok(services.into_iter().zip(dests).collect())
    }

    /// Dumps the destinations of each of `services` in turn and hands them
    /// to `each` (in a buffer reused from one service to the next), so a
    /// listing can be written as it is read. The kernel dumps destinations
    /// one service at a time (a request and a receive each); they are
    /// dumped over a socket of their own with a small receive length (see
    /// `DUMP_RECV_BYTES`). One socket, no threads: the kernel runs every
    /// IPVS dump under genl_mutex and __ip_vs_mutex, so parallel sockets
    /// only overlapped the decoding, and in the 2-vCPU VM their threads
    /// spinning on those mutexes cost more than they saved (1,000 services:
    /// 140 ms with one socket, 200–240 ms with two).
    pub fn dests_each(
        &mut self,
        services: &[Service],
        mut each: impl FnMut(&Service, &mut Vec<Dest>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut sibling = self.dump_sibling()?;
        let mut dests = Vec::new();
        for s in services {
            dests.clear();
            let dumper = sibling.as_mut().unwrap_or(&mut *self);
            match dumper.dests_into(&s.key, &mut dests) {
                // The small receive length was too small for this kernel:
                // that socket (its dump cut short) goes, and the service is
                // dumped again, from here on with the client's own length.
                Err(Error::Truncated { .. }) if sibling.is_some() => {
                    sibling = self.sibling(RECV_BYTES)?;
                    dests.clear();
                    let dumper = sibling.as_mut().unwrap_or(&mut *self);
                    dumper.dests_into(&s.key, &mut dests)?;
                }
                r => r?,
            }
            each(s, &mut dests)?;
        }
        Ok(())
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

/// A generic netlink socket opened inside the namespace `fd` refers to, on a
/// helper thread that enters it: a netlink socket keeps the namespace it was
/// created in, and the calling thread stays where it is.
fn socket_in_netns(fd: std::os::fd::OwnedFd) -> Result<NlSocket, Error> {
    std::thread::spawn(move || -> Result<NlSocket, Error> {
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::Io(e.into()))?;
        Ok(NlSocket::connect(NlFamily::Generic, None, Groups::empty())?)
    })
    .join()
    .map_err(|_| Error::Invalid("namespace thread panicked".into()))?
}

/// Whether the calling thread is in the network namespace `fd` refers to
/// (same nsfs inode); when unsure, no.
fn is_current_netns(fd: &std::os::fd::OwnedFd) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(ours) = std::fs::metadata("/proc/thread-self/ns/net") else {
        return false;
    };
    let Ok(theirs) = fd
        .try_clone()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata())
    else {
        return false;
    };
    (ours.dev(), ours.ino()) == (theirs.dev(), theirs.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genl(seq: u32) -> NlMessageRef<'static> {
        NlMessageRef::Genl(GenlRef {
            nl_type: 0x20,
            flags: codec::NLM_F_MULTI,
            seq,
            pid: 1,
            cmd: cmd::NEW_SERVICE,
            version: 1,
            payload: &[],
        })
    }

    #[test]
    fn reply_parts_of_a_dump_and_of_other_requests() {
        assert!(matches!(reply_part(5, genl(5)), ReplyPart::Data(g) if g.seq == 5));
        assert_eq!(reply_part(5, genl(4)), ReplyPart::Unrelated);
        assert_eq!(
            reply_part(5, NlMessageRef::Done { seq: 4 }),
            ReplyPart::Unrelated
        );
        assert_eq!(
            reply_part(5, NlMessageRef::Done { seq: 5 }),
            ReplyPart::End(Ok(()))
        );
        assert_eq!(
            reply_part(5, NlMessageRef::Other { nl_type: 1, seq: 5 }),
            ReplyPart::Unrelated
        );
    }

    #[test]
    fn reply_part_maps_negative_errno_and_ack() {
        assert_eq!(
            reply_part(9, NlMessageRef::Error { seq: 9, errno: -17 }),
            ReplyPart::End(Err(17))
        );
        assert_eq!(
            reply_part(9, NlMessageRef::Error { seq: 9, errno: 0 }),
            ReplyPart::End(Ok(()))
        );
        assert_eq!(
            reply_part(9, NlMessageRef::Error { seq: 8, errno: -2 }),
            ReplyPart::Unrelated
        );
    }
}
