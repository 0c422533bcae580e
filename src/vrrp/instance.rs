//! The I/O edge of one VRRP instance on tokio: the raw protocol-112 socket
//! (multicast joined on the interface, or unicast), VIPs through rtnetlink,
//! gratuitous ARPs through a packet socket, link events from an rtnetlink
//! subscription, and one serial notify executor. The [`Machine`] decides;
//! this module only carries out its actions.
//!
//! IPv4 only for now (v2 and v3); an IPv6 instance is refused at start.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::sync::{mpsc, watch};

use super::config::InstanceConfig;
use super::frames::{gratuitous_arp, unsolicited_na, virtual_mac, Mac};
use super::link_socket::{register_async, LinkSocket};
use super::machine::{Action, Event, Machine, NotifyKind, State};
use super::netlink::{NetlinkError, RouteMessage, RouteSocket, RTMGRP_LINK};
use super::packet::{
    decode_ipv4, Advert, Auth, DecodeError, Endpoints, Family, IPPROTO_VRRP, VRRP_GROUP_V4,
    VRRP_GROUP_V6, VRRP_TOS, VRRP_TTL,
};
use super::track::{file_task, script_task, split_command};

/// At most this many waiting packets are read before a due timer is acted
/// on, so that a flood of packets cannot hold an advert back.
const READ_BEFORE_TIMER: usize = 64;

/// How often a `track_file` is read (keepalived uses inotify).
const TRACK_FILE_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// Errors that stop an instance.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("{0}: {1}")]
    Io(&'static str, #[source] io::Error),
    #[error("rtnetlink: {0}")]
    Netlink(#[from] NetlinkError),
    #[error("interface {0} not found")]
    NoInterface(String),
    #[error("interface {0} has no IPv4 address and no unicast_src_ip is set")]
    NoPrimaryAddress(String),
    #[error("interface {0} has no IPv6 link-local address")]
    NoLinkLocal(String),
}

/// What a running instance counts and knows, read by status and metrics.
#[derive(Debug, Default)]
pub struct Counters {
    dropped: Mutex<BTreeMap<String, u64>>,
    adverts_sent: AtomicU64,
    adverts_received: AtomicU64,
    live: Mutex<Live>,
}

/// The instance's view of the group, updated as events are handled.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Live {
    /// Priority after track weights.
    pub effective_priority: u8,
    /// The current master's primary address: ours as master, the source of
    /// the last accepted advert as backup, unknown after a resignation.
    pub master: Option<IpAddr>,
}

impl Counters {
    fn count(&self, reason: String) {
        if let Ok(mut map) = self.dropped.lock() {
            *map.entry(reason).or_insert(0) += 1;
        }
    }

    /// Drop counts by reason name.
    pub fn dropped(&self) -> BTreeMap<String, u64> {
        self.dropped.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Adverts sent (each destination counts once).
    pub fn adverts_sent(&self) -> u64 {
        self.adverts_sent.load(Ordering::Relaxed)
    }

    /// Adverts received that passed every check.
    pub fn adverts_received(&self) -> u64 {
        self.adverts_received.load(Ordering::Relaxed)
    }

    /// Effective priority and master address.
    pub fn live(&self) -> Live {
        self.live.lock().map(|l| *l).unwrap_or_default()
    }

    fn update_live(&self, f: impl FnOnce(&mut Live)) {
        if let Ok(mut live) = self.live.lock() {
            f(&mut live);
        }
    }
}

/// Refreshes [`Live`] after the machine handled an event; `advert` is the
/// source and priority of an advert that passed the machine's checks.
fn observe(counters: &Counters, machine: &Machine, primary: IpAddr, advert: Option<(IpAddr, u8)>) {
    if advert.is_some() {
        counters.adverts_received.fetch_add(1, Ordering::Relaxed);
    }
    counters.update_live(|live| {
        live.effective_priority = machine.effective_priority();
        live.master = match (machine.state(), advert) {
            (State::Master, _) => Some(primary),
            (State::Backup, Some((source, priority))) => (priority > 0).then_some(source),
            (State::Backup, None) => live.master,
            (State::Init | State::Fault, _) => None,
        };
    });
}

/// Carries out the machine's answer to one packet from the VRRP socket
/// (an advert, or the reason it was rejected, counted).
fn on_packet(
    received: Result<(IpAddr, Advert), DecodeError>,
    machine: &mut Machine,
    edge: &mut Edge,
    counters: &Counters,
) {
    let (actions, accepted) = match received {
        Ok((source, advert)) => {
            let accepted = machine
                .check_advert(source, &advert)
                .is_ok()
                .then_some((source, advert.priority));
            let actions =
                machine.handle(Event::Advert { source, advert }, std::time::Instant::now());
            (actions, accepted)
        }
        Err(e) => {
            counters.count(decode_reason(&e).to_string());
            (Vec::new(), None)
        }
    };
    edge.execute(actions);
    observe(counters, machine, edge.primary, accepted);
}

fn decode_reason(error: &DecodeError) -> &'static str {
    match error {
        DecodeError::Truncated { .. } | DecodeError::AddressCount { .. } => "truncated",
        DecodeError::IpVersion { .. } | DecodeError::NotVrrp(_) | DecodeError::IpChecksum => "ip",
        DecodeError::Ttl(_) => "ttl",
        DecodeError::VrrpVersion(_) => "version",
        DecodeError::PacketType(_) => "type",
        DecodeError::Checksum { .. } => "checksum",
        DecodeError::AuthType(_) => "auth",
        DecodeError::V2OverIpv6 => "version",
    }
}

/// What the instance exposes while it runs.
#[derive(Debug, Clone)]
pub struct InstanceHandle {
    pub state: watch::Receiver<State>,
    pub counters: Arc<Counters>,
    /// Events from outside the instance (sync group, external trackers).
    pub events: mpsc::UnboundedSender<Event>,
}

/// One notify job, run in order by the serial executor.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NotifyJob {
    argv: Vec<String>,
}

/// The notify jobs for one transition, in keepalived's order: the
/// specific hook, then the generic `notify` with `INSTANCE name STATE prio`.
fn notify_jobs(config: &InstanceConfig, kind: NotifyKind, priority: u8) -> Vec<NotifyJob> {
    let specific = match kind {
        NotifyKind::Master => &config.notify.master,
        NotifyKind::Backup => &config.notify.backup,
        NotifyKind::Fault => &config.notify.fault,
        NotifyKind::Stop => &config.notify.stop,
    };
    let mut jobs = Vec::new();
    if let Some(line) = specific {
        jobs.push(NotifyJob {
            argv: split_command(line),
        });
    }
    if let Some(line) = &config.notify.generic {
        let mut argv = split_command(line);
        argv.extend([
            "INSTANCE".to_string(),
            config.name.clone(),
            kind.word().to_string(),
            priority.to_string(),
        ]);
        jobs.push(NotifyJob { argv });
    }
    jobs
}

/// Runs notify jobs strictly one after another (keepalived can reorder
/// them: its issues #996 and #1991), and writes notify_fifo lines.
async fn notify_executor(
    mut jobs: mpsc::UnboundedReceiver<(Option<PathBuf>, String, Vec<NotifyJob>)>,
) {
    while let Some((fifo, fifo_line, batch)) = jobs.recv().await {
        if let Some(path) = fifo {
            let line = fifo_line.clone();
            let write = tokio::task::spawn_blocking(move || {
                use std::io::Write;
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .and_then(|mut f| f.write_all(line.as_bytes()))
            });
            if let Ok(Err(e)) = write.await {
                tracing::warn!("notify_fifo: {e}");
            }
        }
        for job in batch {
            let Some((program, args)) = job.argv.split_first() else {
                continue;
            };
            match tokio::process::Command::new(program)
                .args(args)
                .status()
                .await
            {
                Ok(status) if !status.success() => tracing::warn!("notify {program}: {status}"),
                Err(e) => tracing::warn!("notify {program}: {e}"),
                Ok(_) => {}
            }
        }
    }
}

struct Edge {
    config: InstanceConfig,
    primary: IpAddr,
    mac: Mac,
    /// Where VIPs without `dev` go: the interface, or the vMAC macvlan.
    ifindex: u32,
    /// The macvlan created for use_vmac, deleted at shutdown.
    vmac_ifindex: Option<u32>,
    send_socket: Socket,
    link: LinkSocket,
    /// Packet sockets and MACs of the other interfaces VIPs name with
    /// `dev`: each VIP is announced on its own interface (keepalived sends
    /// a VIP's gratuitous ARP on the interface the VIP is on).
    dev_links: BTreeMap<String, (LinkSocket, Mac)>,
    route: RouteSocket,
    notify: mpsc::UnboundedSender<(Option<PathBuf>, String, Vec<NotifyJob>)>,
    counters: Arc<Counters>,
    state: watch::Sender<State>,
}

fn io_err(what: &'static str) -> impl FnOnce(io::Error) -> InstanceError {
    move |e| InstanceError::Io(what, e)
}

impl Edge {
    fn advert(&self, priority: u8) -> Advert {
        Advert {
            version: self.config.version,
            vrid: self.config.vrid,
            priority,
            interval_cs: self.config.advert_int_cs,
            auth: self
                .config
                .auth_pass
                .as_deref()
                .map(Auth::pass)
                .unwrap_or(Auth::None),
            addresses: self
                .config
                .vips
                .iter()
                .map(|v| v.address)
                .filter(|a| a.is_ipv4() == (self.config.family == Family::Ipv4))
                .collect(),
        }
    }

    fn destinations(&self) -> Vec<IpAddr> {
        if self.config.is_unicast() {
            self.config.unicast_peers.clone()
        } else {
            match self.config.family {
                Family::Ipv4 => vec![IpAddr::V4(VRRP_GROUP_V4)],
                Family::Ipv6 => vec![IpAddr::V6(VRRP_GROUP_V6)],
            }
        }
    }

    fn send_advert(&self, priority: u8) {
        let advert = self.advert(priority);
        for destination in self.destinations() {
            // The v3 pseudo-header carries the real destination: the group,
            // or the peer in unicast (as keepalived ≥ 1.3.6 does).
            let message = advert.encode(Endpoints {
                source: self.primary,
                destination,
            });
            let to = SockAddr::from(SocketAddr::new(destination, 0));
            match self.send_socket.send_to(&message, &to) {
                Ok(_) => {
                    self.counters.adverts_sent.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => tracing::warn!("{}: advert to {destination}: {e}", self.config.name),
            }
        }
    }

    fn vip_ifindex(&mut self, dev: Option<&String>) -> u32 {
        match dev {
            Some(name) => nix::net::if_::if_nametoindex(name.as_str()).unwrap_or(self.ifindex),
            None => self.ifindex,
        }
    }

    fn set_vips(&mut self, add: bool) {
        for vip in self.config.vips.clone() {
            let index = self.vip_ifindex(vip.dev.as_ref());
            let result = if add {
                self.route.add_address(&vip, index)
            } else {
                self.route.delete_address(&vip, index)
            };
            if let Err(e) = result {
                tracing::warn!("{}: VIP {}: {e}", self.config.name, vip.address);
            }
        }
    }

    fn send_gratuitous(&self, repeat: u32) {
        for _ in 0..repeat {
            for vip in &self.config.vips {
                let (link, mac) = vip
                    .dev
                    .as_ref()
                    .and_then(|dev| self.dev_links.get(dev))
                    .map_or((&self.link, self.mac), |(link, mac)| (link, *mac));
                // RFC 5798 §6.4.2: gratuitous ARP (IPv4) or unsolicited NA (IPv6).
                let frame = match vip.address {
                    IpAddr::V4(address) => gratuitous_arp(mac, address),
                    IpAddr::V6(address) => unsolicited_na(mac, address),
                };
                if let Err(e) = link.send(&frame) {
                    tracing::warn!("{}: gratuitous ARP / NA: {e}", self.config.name);
                }
            }
        }
    }

    /// no_accept (vrrp_strict without `accept`, RFC 5798 §6.4.3): a
    /// non-owner master drops traffic addressed to the VIPs. Like keepalived,
    /// an nftables table of our own, added and deleted as a whole.
    fn block_vip_traffic(&self, block: bool) {
        let table = format!("lvsd_vrrp_{}", self.config.vrid);
        let script = if block {
            let mut rules = String::new();
            for vip in &self.config.vips {
                let family = if vip.address.is_ipv4() { "ip" } else { "ip6" };
                rules.push_str(&format!("    {family} daddr {} drop\n", vip.address));
            }
            format!(
                "table inet {table} {{\n  chain input {{\n    type filter hook input priority -1;\n{rules}  }}\n}}\n"
            )
        } else {
            format!("delete table inet {table}\n")
        };
        let result = std::process::Command::new("nft")
            .args(["-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                if let Some(mut stdin) = child.stdin.take() {
                    use std::io::Write;
                    stdin.write_all(script.as_bytes())?;
                }
                child.wait_with_output()
            });
        match result {
            Ok(out) if out.status.success() => {}
            Ok(out) => tracing::warn!(
                "{}: nft: {}",
                self.config.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => tracing::warn!("{}: nft: {e}", self.config.name),
        }
    }

    fn execute(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::SendAdvert { priority } => self.send_advert(priority),
                Action::AddVips => self.set_vips(true),
                Action::RemoveVips => self.set_vips(false),
                Action::SendGratuitous { repeat } => self.send_gratuitous(repeat),
                Action::BlockVipTraffic(block) => self.block_vip_traffic(block),
                Action::Notify { kind, priority } => {
                    let line = format!(
                        "INSTANCE \"{}\" {} {}\n",
                        self.config.name,
                        kind.word(),
                        priority
                    );
                    let jobs = notify_jobs(&self.config, kind, priority);
                    let _ = self
                        .notify
                        .send((self.config.notify.fifo.clone(), line, jobs));
                }
                Action::Transition { from, to } => {
                    tracing::info!("{}: {from:?} -> {to:?}", self.config.name);
                    self.state.send_replace(to);
                }
                Action::Dropped(reason) => self.counters.count(format!("{reason:?}")),
            }
        }
    }
}

/// The receiving end: a raw socket, and for IPv6 the address adverts are
/// sent to (multicast group, or our own address in unicast).
struct Receiver {
    socket: Socket,
    family: Family,
    destination: IpAddr,
}

impl AsRawFd for Receiver {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.socket.as_raw_fd()
    }
}

impl Receiver {
    /// Reads one packet: the source and the advert, or why it was rejected.
    fn receive(&self, buf: &mut [u8]) -> io::Result<Result<(IpAddr, Advert), DecodeError>> {
        match self.family {
            Family::Ipv4 => {
                let n = (&self.socket).read(buf)?;
                Ok(decode_ipv4(&buf[..n]).map(|(h, a)| (IpAddr::V4(h.source), a)))
            }
            Family::Ipv6 => {
                use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrIn6};
                let (n, hop_limit, source) = {
                    let mut iov = [io::IoSliceMut::new(buf)];
                    let mut space = nix::cmsg_space!(nix::libc::c_int);
                    let msg = recvmsg::<SockaddrIn6>(
                        self.socket.as_raw_fd(),
                        &mut iov,
                        Some(&mut space),
                        MsgFlags::empty(),
                    )?;
                    let hop_limit = msg.cmsgs()?.find_map(|c| match c {
                        ControlMessageOwned::Ipv6HopLimit(h) => Some(h),
                        _ => None,
                    });
                    (msg.bytes, hop_limit, msg.address.map(|a| a.ip()))
                };
                let Some(source) = source else {
                    return Ok(Err(DecodeError::Truncated { needed: 1, got: 0 }));
                };
                // RFC 5798 §7.1: the hop limit must be 255.
                let hop_limit = hop_limit.unwrap_or(0);
                if hop_limit != i32::from(VRRP_TTL) {
                    return Ok(Err(DecodeError::Ttl(u8::try_from(hop_limit).unwrap_or(0))));
                }
                let endpoints = Endpoints {
                    source: IpAddr::V6(source),
                    destination: self.destination,
                };
                Ok(Advert::decode(&buf[..n], Family::Ipv6, endpoints)
                    .map(|a| (IpAddr::V6(source), a)))
            }
        }
    }
}

/// The machine's deadlines on a timerfd (CLOCK_MONOTONIC, which std's
/// `Instant` reads): to the microsecond, where tokio's timer wheel rounds a
/// sleep up to its next millisecond tick. keepalived's timers are timerfd
/// precise too; a backup taking over a millisecond late shows in the
/// failover benchmark (BENCHMARKS.md, VRRP failover).
struct DeadlineTimer(nix::sys::timerfd::TimerFd);

impl AsRawFd for DeadlineTimer {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsFd;
        self.0.as_fd().as_raw_fd()
    }
}

impl DeadlineTimer {
    fn new() -> io::Result<Self> {
        use nix::sys::timerfd::{ClockId, TimerFd, TimerFlags};
        TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .map(DeadlineTimer)
        .map_err(io::Error::from)
    }

    /// Fires once at `deadline` (at once if it has passed); `None` disarms.
    fn arm(&self, deadline: Option<std::time::Instant>) -> io::Result<()> {
        use nix::sys::time::TimeSpec;
        use nix::sys::timerfd::{Expiration, TimerSetTimeFlags};
        let result = match deadline {
            None => self.0.unset(),
            Some(at) => {
                // A zero expiration would disarm the timer.
                let after = at
                    .saturating_duration_since(std::time::Instant::now())
                    .max(std::time::Duration::from_nanos(1));
                self.0.set(
                    Expiration::OneShot(TimeSpec::from_duration(after)),
                    TimerSetTimeFlags::empty(),
                )
            }
        };
        result.map_err(io::Error::from)
    }

    /// Reads the expiration count: `WouldBlock` when it has not fired.
    fn consume(&self) -> io::Result<()> {
        self.0.wait().map_err(io::Error::from)
    }
}

/// Opens everything an instance needs in the current network namespace.
fn open_edge(
    config: &InstanceConfig,
    counters: Arc<Counters>,
    state: watch::Sender<State>,
    notify: mpsc::UnboundedSender<(Option<PathBuf>, String, Vec<NotifyJob>)>,
) -> Result<(Edge, Receiver), InstanceError> {
    let mut route = RouteSocket::open(0, false)?;
    let link = route
        .links()?
        .into_iter()
        .find(|l| l.name == config.interface)
        .ok_or_else(|| InstanceError::NoInterface(config.interface.clone()))?;
    // use_vmac: VIPs, gratuitous frames and adverts go out through a
    // macvlan with the virtual router MAC; receiving stays on the base
    // interface (keepalived's default).
    let vmac = match &config.use_vmac {
        Some(name) => {
            if let Some(old) = route.links()?.into_iter().find(|l| &l.name == name) {
                route.delete_link(old.ifindex)?;
            }
            let mac = virtual_mac(config.vrid, config.family == Family::Ipv6);
            route.add_macvlan(name, link.ifindex, mac)?;
            let created = route
                .links()?
                .into_iter()
                .find(|l| &l.name == name)
                .ok_or_else(|| InstanceError::NoInterface(name.clone()))?;
            // The base interface must not answer ARP for the VIPs (they live
            // on the vMAC), or clients may learn its MAC (arp_ignore 1).
            // Nor announce them as sender of its own ARP requests (arp_announce 2).
            for (setting, value) in [("arp_ignore", "1"), ("arp_announce", "2")] {
                let sysctl = format!("/proc/sys/net/ipv4/conf/{}/{setting}", config.interface);
                if let Err(e) = std::fs::write(&sysctl, value) {
                    tracing::warn!("{}: {sysctl}: {e}", config.name);
                }
            }
            Some(created)
        }
        None => None,
    };
    let out_link = vmac.clone().unwrap_or_else(|| link.clone());
    let vips: Vec<IpAddr> = config.vips.iter().map(|v| v.address).collect();
    let addresses = route.addresses()?;
    let own = addresses
        .iter()
        .filter(|a| a.ifindex == link.ifindex && !vips.contains(&a.address))
        .map(|a| a.address);
    let primary = match (config.family, config.unicast_src) {
        (_, Some(src)) => src,
        (Family::Ipv4, None) => own
            .clone()
            .find(IpAddr::is_ipv4)
            .ok_or_else(|| InstanceError::NoPrimaryAddress(config.interface.clone()))?,
        // RFC 5798 §5.1.2.2: IPv6 adverts come from the link-local address.
        (Family::Ipv6, None) => own
            .clone()
            .find(|a| matches!(a, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80))
            .ok_or_else(|| InstanceError::NoLinkLocal(config.interface.clone()))?,
    };
    let protocol = Some(Protocol::from(i32::from(IPPROTO_VRRP)));
    let domain = match config.family {
        Family::Ipv4 => Domain::IPV4,
        Family::Ipv6 => Domain::IPV6,
    };
    let send_socket = Socket::new(domain, Type::RAW, protocol).map_err(io_err("raw socket"))?;
    send_socket
        .bind_device(Some(out_link.name.as_bytes()))
        .map_err(io_err("SO_BINDTODEVICE"))?;
    let recv_socket = Socket::new(domain, Type::RAW, protocol).map_err(io_err("raw socket"))?;
    recv_socket
        .bind_device(Some(config.interface.as_bytes()))
        .map_err(io_err("SO_BINDTODEVICE"))?;
    let hops = u32::from(VRRP_TTL);
    let destination = match (config.family, primary) {
        (Family::Ipv4, IpAddr::V4(primary4)) => {
            send_socket
                .bind(&SockAddr::from(SocketAddr::new(primary, 0)))
                .map_err(io_err("bind"))?;
            // RFC 3768 §7.1 / RFC 5798 §5.1.1.3: TTL 255 for multicast and unicast.
            send_socket.set_ttl_v4(hops).map_err(io_err("IP_TTL"))?;
            send_socket
                .set_multicast_ttl_v4(hops)
                .map_err(io_err("IP_MULTICAST_TTL"))?;
            send_socket
                .set_multicast_loop_v4(false)
                .map_err(io_err("IP_MULTICAST_LOOP"))?;
            // The egress interface is the bound device (SO_BINDTODEVICE); an
            // IP_MULTICAST_IF naming the base interface's address would
            // conflict with a vMAC device.
            let _ = primary4;
            send_socket
                .set_tos_v4(u32::from(VRRP_TOS))
                .map_err(io_err("IP_TOS"))?;
            if !config.is_unicast() {
                recv_socket
                    .join_multicast_v4_n(
                        &VRRP_GROUP_V4,
                        &InterfaceIndexOrAddress::Index(link.ifindex),
                    )
                    .map_err(io_err("IP_ADD_MEMBERSHIP"))?;
            }
            IpAddr::V4(VRRP_GROUP_V4)
        }
        (Family::Ipv6, IpAddr::V6(primary6)) => {
            let scope = if primary6.segments()[0] & 0xffc0 == 0xfe80 {
                link.ifindex
            } else {
                0
            };
            send_socket
                .bind(&SockAddr::from(std::net::SocketAddrV6::new(
                    primary6, 0, 0, scope,
                )))
                .map_err(io_err("bind"))?;
            // RFC 5798 §5.1.2.3: hop limit 255.
            send_socket
                .set_multicast_hops_v6(hops)
                .map_err(io_err("IPV6_MULTICAST_HOPS"))?;
            send_socket
                .set_unicast_hops_v6(hops)
                .map_err(io_err("IPV6_UNICAST_HOPS"))?;
            send_socket
                .set_multicast_loop_v6(false)
                .map_err(io_err("IPV6_MULTICAST_LOOP"))?;
            send_socket
                .set_multicast_if_v6(out_link.ifindex)
                .map_err(io_err("IPV6_MULTICAST_IF"))?;
            send_socket
                .set_tclass_v6(u32::from(VRRP_TOS))
                .map_err(io_err("IPV6_TCLASS"))?;
            nix::sys::socket::setsockopt(
                &recv_socket,
                nix::sys::socket::sockopt::Ipv6RecvHopLimit,
                &true,
            )
            .map_err(|e| InstanceError::Io("IPV6_RECVHOPLIMIT", e.into()))?;
            if config.is_unicast() {
                primary
            } else {
                recv_socket
                    .join_multicast_v6(&VRRP_GROUP_V6, link.ifindex)
                    .map_err(io_err("IPV6_JOIN_GROUP"))?;
                IpAddr::V6(VRRP_GROUP_V6)
            }
        }
        _ => return Err(InstanceError::NoPrimaryAddress(config.interface.clone())),
    };
    recv_socket
        .set_nonblocking(true)
        .map_err(io_err("O_NONBLOCK"))?;

    let mut dev_links = BTreeMap::new();
    let all_links = route.links()?;
    for dev in config.vips.iter().filter_map(|v| v.dev.as_ref()) {
        if *dev == out_link.name || dev_links.contains_key(dev) {
            continue;
        }
        match all_links.iter().find(|l| &l.name == dev) {
            Some(l) => {
                let socket = LinkSocket::open(l.ifindex).map_err(io_err("packet socket"))?;
                dev_links.insert(dev.clone(), (socket, l.mac.unwrap_or([0; 6])));
            }
            None => tracing::warn!(
                "{}: VIP interface {dev} not found; its VIPs are announced on {}",
                config.name,
                out_link.name
            ),
        }
    }

    let edge = Edge {
        config: config.clone(),
        primary,
        mac: out_link.mac.unwrap_or([0; 6]),
        ifindex: out_link.ifindex,
        vmac_ifindex: vmac.as_ref().map(|l| l.ifindex),
        send_socket,
        link: LinkSocket::open(out_link.ifindex).map_err(io_err("packet socket"))?,
        dev_links,
        route,
        notify,
        counters,
        state,
    };
    let receiver = Receiver {
        socket: recv_socket,
        family: config.family,
        destination,
    };
    Ok((edge, receiver))
}

/// Starts an instance in the current thread's network namespace. It runs
/// until `shutdown` turns true, then resigns (priority 0), removes its VIPs,
/// runs notify_stop, and returns.
pub async fn run(
    config: InstanceConfig,
    shutdown: watch::Receiver<bool>,
    ready: Option<tokio::sync::oneshot::Sender<InstanceHandle>>,
) -> Result<(), InstanceError> {
    run_with_release(config, shutdown, ready, Arc::default()).await
}

/// [`run`], where `keep_vips` set by the time `shutdown` turns true is
/// keepalived's `--dont-release-vrrp`: the instance neither resigns nor
/// removes its VIPs (nor its vMAC interface) and runs no notify_stop, so the
/// addresses keep answering until the next start removes them (keepalived
/// skips shutdown_vrrp_instances).
pub async fn run_with_release(
    config: InstanceConfig,
    mut shutdown: watch::Receiver<bool>,
    ready: Option<tokio::sync::oneshot::Sender<InstanceHandle>>,
    keep_vips: Arc<AtomicBool>,
) -> Result<(), InstanceError> {
    let counters = Arc::new(Counters::default());
    let (state_tx, state_rx) = watch::channel(State::Init);
    let (notify_tx, notify_rx) = mpsc::unbounded_channel();
    let executor = tokio::spawn(notify_executor(notify_rx));
    let (mut edge, receiver) = open_edge(&config, counters.clone(), state_tx, notify_tx)?;
    let recv = register_async(receiver).map_err(io_err("AsyncFd"))?;
    let links = register_async(RouteSocket::open(RTMGRP_LINK, true)?).map_err(io_err("AsyncFd"))?;
    let tracked: Vec<String> = config
        .track_interfaces
        .iter()
        .map(|t| t.name.clone())
        .collect();
    // vrrp_script and track_file run in their own tasks and only send events.
    let (track_tx, mut track_rx) = mpsc::unbounded_channel();
    let mut trackers = Vec::new();
    for script in &config.scripts {
        if config.track_scripts.iter().any(|t| t.name == script.name) {
            trackers.push(tokio::spawn(script_task(script.clone(), track_tx.clone())));
        }
    }
    for file in &config.track_files {
        trackers.push(tokio::spawn(file_task(
            file.path.clone(),
            TRACK_FILE_POLL,
            track_tx.clone(),
        )));
    }
    let external_events = track_tx;
    let mut machine = Machine::new(config.clone(), edge.primary);
    // Leftovers of a crashed run are removed before starting (lvsd run).
    edge.set_vips(false);
    // Tracked interfaces: their current state first, then events.
    for link in edge.route.links()? {
        if tracked.contains(&link.name) {
            let actions = machine.handle(
                Event::Interface {
                    name: link.name,
                    up: link.up,
                },
                std::time::Instant::now(),
            );
            edge.execute(actions);
        }
    }
    let actions = machine.handle(Event::Startup, std::time::Instant::now());
    edge.execute(actions);
    observe(&counters, &machine, edge.primary, None);
    // Ready once leftovers are removed and the machine has started.
    if let Some(ready) = ready {
        let _ = ready.send(InstanceHandle {
            state: state_rx,
            counters: counters.clone(),
            events: external_events,
        });
    }
    let timer = register_async(DeadlineTimer::new().map_err(io_err("timerfd"))?)
        .map_err(io_err("AsyncFd"))?;
    let mut buf = [0u8; 2048];
    loop {
        if let Err(e) = timer.get_ref().arm(machine.next_deadline()) {
            tracing::warn!("{}: timerfd: {e}", config.name);
        }
        tokio::select! {
            guard = timer.readable() => {
                let Ok(mut guard) = guard else { continue };
                // Not expired (re-armed meanwhile): WouldBlock clears readiness.
                if let Ok(Ok(())) = guard.try_io(|fd| fd.get_ref().consume()) {
                    // Packets already waiting are read before the deadline
                    // is acted on, as keepalived does: its advert timer is
                    // the VRRP socket's read timeout, and a readable socket
                    // is read, not timed out. A backup not scheduled past
                    // its master-down deadline while the master's adverts
                    // queued up would otherwise take over, announce the VIPs
                    // (moving the clients' ARP entries to itself) and give
                    // them back at the next advert.
                    for _ in 0..READ_BEFORE_TIMER {
                        match recv.get_ref().receive(&mut buf) {
                            Ok(received) => on_packet(received, &mut machine, &mut edge, &counters),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => {
                                tracing::warn!("{}: receive: {e}", config.name);
                                break;
                            }
                        }
                    }
                    // A no-op if those packets moved the deadline.
                    let actions = machine.handle(Event::Timer, std::time::Instant::now());
                    edge.execute(actions);
                    observe(&counters, &machine, edge.primary, None);
                }
            }
            guard = recv.readable() => {
                let Ok(mut guard) = guard else { continue };
                match guard.try_io(|fd| fd.get_ref().receive(&mut buf)) {
                    Ok(Ok(received)) => on_packet(received, &mut machine, &mut edge, &counters),
                    Ok(Err(e)) => tracing::warn!("{}: receive: {e}", config.name),
                    Err(_would_block) => {}
                }
            }
            guard = links.readable() => {
                let Ok(mut guard) = guard else { continue };
                let received = guard.try_io(|fd| {
                    fd.get_ref().receive().map_err(|e| match e {
                        // EAGAIN must reach tokio as WouldBlock to clear readiness.
                        NetlinkError::Socket(errno) => io::Error::from(errno),
                        other => io::Error::other(other),
                    })
                });
                if let Ok(Ok(messages)) = received {
                    for message in messages {
                        if let RouteMessage::Link(link) = message {
                            if tracked.contains(&link.name) {
                                let actions = machine.handle(
                                    Event::Interface { name: link.name, up: link.up },
                                    std::time::Instant::now(),
                                );
                                edge.execute(actions);
                                observe(&counters, &machine, edge.primary, None);
                            }
                        }
                    }
                }
            }
            Some(event) = track_rx.recv() => {
                let actions = machine.handle(event, std::time::Instant::now());
                edge.execute(actions);
                observe(&counters, &machine, edge.primary, None);
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
        }
    }
    for tracker in trackers {
        tracker.abort();
    }
    if keep_vips.load(Ordering::SeqCst) {
        tracing::info!(
            "{}: stopping without releasing (VIPs left in place)",
            config.name
        );
        drop(edge);
        let _ = executor.await;
        return Ok(());
    }
    let actions = machine.handle(Event::Shutdown, std::time::Instant::now());
    edge.execute(actions);
    if let Some(index) = edge.vmac_ifindex {
        if let Err(e) = edge.route.delete_link(index) {
            tracing::warn!("{}: removing the vMAC interface: {e}", config.name);
        }
    }
    drop(edge);
    // Let notify_stop run to completion.
    let _ = executor.await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_jobs_specific_then_generic_with_keepalived_arguments() {
        let mut config = InstanceConfig::new("VI_1", 51, "eth0");
        config.notify.master = Some("/bin/notify.sh \"a b\" master".into());
        config.notify.generic = Some("/bin/generic.sh".into());
        let jobs = notify_jobs(&config, NotifyKind::Master, 150);
        assert_eq!(
            jobs,
            vec![
                NotifyJob {
                    argv: vec!["/bin/notify.sh".into(), "a b".into(), "master".into()]
                },
                NotifyJob {
                    argv: ["/bin/generic.sh", "INSTANCE", "VI_1", "MASTER", "150"]
                        .map(String::from)
                        .to_vec()
                },
            ]
        );
    }
}
