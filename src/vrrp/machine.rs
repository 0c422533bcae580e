//! The pure VRRP state machine of one instance: RFC 3768 §6.4 / RFC 5798
//! §6.4 with keepalived 2.2.7's extensions (FAULT, nopreempt,
//! preempt_delay, track weights, priority-0 resignation, lower-priority
//! master answered by an immediate advert).
//!
//! `handle(event, now) -> Vec<Action>`; timers are deadlines kept inside and
//! reported by [`Machine::next_deadline`]; the I/O layer sends
//! [`Event::Timer`] once that instant is reached. Actions come out in the
//! order they must be carried out, notifications in transition order.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::config::InstanceConfig;
use super::packet::{Advert, Auth, Version};

/// Protocol state (keepalived adds FAULT to the RFC's three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Init,
    Backup,
    Master,
    Fault,
}

impl State {
    /// The word keepalived passes to `notify` scripts and writes to notify_fifo.
    pub fn notify_word(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

/// What a notify hook reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyKind {
    Master,
    Backup,
    Fault,
    /// The instance stops (daemon shutdown).
    Stop,
}

impl NotifyKind {
    pub fn word(self) -> &'static str {
        match self {
            NotifyKind::Master => "MASTER",
            NotifyKind::Backup => "BACKUP",
            NotifyKind::Fault => "FAULT",
            NotifyKind::Stop => "STOP",
        }
    }
}

/// Why a received advert was dropped (each counted; the state does not change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reject {
    /// VRID of another router (not an error on a shared LAN, still not ours).
    OtherVrid,
    WrongVersion,
    /// v2: authentication type or password mismatch (RFC 3768 §7.1).
    Auth,
    /// v2: the advert interval differs from ours (RFC 3768 §7.1).
    Interval,
    /// Unicast with `check_unicast_src`: the source is no configured peer.
    NotAPeer,
    /// `vrrp_strict`: the address list differs from ours.
    AddressList,
    /// The address family differs from the instance's.
    Family,
}

/// Inputs of the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The instance starts (INIT → BACKUP, or MASTER for the address owner).
    Startup,
    /// A decoded advert, with the IP source it came from.
    Advert { source: IpAddr, advert: Advert },
    /// `now` reached [`Machine::next_deadline`].
    Timer,
    /// A `track_interface` link went up or down (rtnetlink).
    Interface { name: String, up: bool },
    /// A `track_script` result after its rise/fall thresholds.
    Script { name: String, ok: bool },
    /// A `track_file`'s current value.
    File { path: PathBuf, value: i64 },
    /// Sync group: another member moved, this one follows (keepalived
    /// `vrrp_sync_group`).
    GroupFollow(State),
    /// The daemon stops: a master resigns with priority 0.
    Shutdown,
}

/// Effects for the I/O layer, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send an advert with this priority (0 = resign).
    SendAdvert {
        priority: u8,
    },
    AddVips,
    RemoveVips,
    /// Send `repeat` gratuitous ARPs / unsolicited NAs for every VIP.
    SendGratuitous {
        repeat: u32,
    },
    /// Block (`true`) or allow traffic to the VIPs (no_accept under vrrp_strict).
    BlockVipTraffic(bool),
    /// Run the notify hooks (specific, then generic) and write notify_fifo.
    Notify {
        kind: NotifyKind,
        priority: u8,
    },
    /// The state changed; sync groups and status follow this.
    Transition {
        from: State,
        to: State,
    },
    /// A received advert was dropped.
    Dropped(Reject),
}

/// Timer deadlines kept by the machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Deadlines {
    /// Master: next advert; backup: master-down.
    advert_or_down: Option<Instant>,
    /// Second gratuitous burst (`garp_master_delay`) after becoming master.
    garp_delay: Option<Instant>,
    /// Periodic refresh (`garp_master_refresh`).
    garp_refresh: Option<Instant>,
}

impl Deadlines {
    fn earliest(&self) -> Option<Instant> {
        [self.advert_or_down, self.garp_delay, self.garp_refresh]
            .into_iter()
            .flatten()
            .min()
    }
}

/// One VRRP instance's machine.
#[derive(Debug, Clone)]
pub struct Machine {
    config: InstanceConfig,
    /// Our primary address on the interface (or `unicast_src_ip`): the
    /// equal-priority tie-break compares it (RFC 5798 §6.4.3).
    primary_address: IpAddr,
    state: State,
    deadlines: Deadlines,
    /// The master's advert interval in centiseconds: ours, or adopted from
    /// the master in v3 (RFC 5798 §6.4.2).
    master_adver_int_cs: u16,
    /// keepalived `preempt_delay`: until this instant a lower-priority master
    /// is still accepted.
    preempt_after: Option<Instant>,
    interfaces: BTreeMap<String, bool>,
    scripts: BTreeMap<String, bool>,
    files: BTreeMap<PathBuf, i64>,
}

impl Machine {
    /// A machine in INIT. Tracked items start up / ok / 0 until told otherwise.
    pub fn new(config: InstanceConfig, primary_address: IpAddr) -> Self {
        let interfaces = config
            .track_interfaces
            .iter()
            .map(|t| (t.name.clone(), true))
            .collect();
        let scripts = config
            .track_scripts
            .iter()
            .map(|t| (t.name.clone(), true))
            .collect();
        let files = config
            .track_files
            .iter()
            .map(|t| (t.path.clone(), 0))
            .collect();
        Machine {
            master_adver_int_cs: config.advert_int_cs,
            config,
            primary_address,
            state: State::Init,
            deadlines: Deadlines::default(),
            preempt_after: None,
            interfaces,
            scripts,
            files,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn config(&self) -> &InstanceConfig {
        &self.config
    }

    /// The earliest instant at which [`Event::Timer`] must be delivered.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.earliest()
    }

    /// The master advert interval in use (centiseconds).
    pub fn master_adver_int_cs(&self) -> u16 {
        self.master_adver_int_cs
    }

    /// Whether a tracked item with weight 0 is failing (keepalived FAULT).
    pub fn is_faulty(&self) -> bool {
        let interface_down = self
            .config
            .track_interfaces
            .iter()
            .any(|t| t.weight == 0 && self.interfaces.get(&t.name) == Some(&false));
        let script_failed = self
            .config
            .track_scripts
            .iter()
            .any(|t| t.weight == 0 && self.scripts.get(&t.name) == Some(&false));
        // keepalived track_file: weight 0 → any non-zero value is a fault;
        // otherwise value × weight ≤ -254 is a fault.
        let file_fault = self.config.track_files.iter().any(|t| {
            let value = self.files.get(&t.path).copied().unwrap_or(0);
            if t.weight == 0 {
                value != 0
            } else {
                value.saturating_mul(i64::from(t.weight)) <= -254
            }
        });
        interface_down || script_failed || file_fault
    }

    /// The effective priority: the base priority plus the track weights,
    /// clamped to 1–254. The address owner (255) is never adjusted (keepalived).
    pub fn effective_priority(&self) -> u8 {
        let base = self.config.priority;
        if base == 255 {
            return 255;
        }
        // Positive weight counts while up, negative while down (keepalived).
        let weighted = |weight: i32, up: bool| -> i64 {
            match (weight > 0, up) {
                (true, true) | (false, false) => i64::from(weight),
                _ => 0,
            }
        };
        let mut priority = i64::from(base);
        for t in &self.config.track_interfaces {
            priority += weighted(t.weight, self.interfaces.get(&t.name) != Some(&false));
        }
        for t in &self.config.track_scripts {
            priority += weighted(t.weight, self.scripts.get(&t.name) != Some(&false));
        }
        for t in self.config.track_files.iter().filter(|t| t.weight != 0) {
            let value = self.files.get(&t.path).copied().unwrap_or(0);
            priority += value.saturating_mul(i64::from(t.weight));
        }
        priority.clamp(1, 254) as u8
    }

    fn master_adver_int(&self) -> Duration {
        Duration::from_millis(u64::from(self.master_adver_int_cs) * 10)
    }

    /// Skew time from the effective priority (keepalived; the RFCs use the
    /// configured one). v2: (256 − prio)/256 s (RFC 3768 §6.1); v3:
    /// (256 − prio) × interval / 256 (RFC 5798 §6.1).
    pub fn skew_time(&self) -> Duration {
        let factor = 256 - u64::from(self.effective_priority());
        match self.config.version {
            Version::V2 => Duration::from_micros(factor * 1_000_000 / 256),
            Version::V3 => {
                Duration::from_micros(factor * u64::from(self.master_adver_int_cs) * 10_000 / 256)
            }
        }
    }

    /// 3 × the master's interval + skew (RFC 3768 §6.1, RFC 5798 §6.1).
    pub fn master_down_interval(&self) -> Duration {
        self.master_adver_int() * 3 + self.skew_time()
    }

    /// Feeds one event at `now`; returns the effects in order.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        match event {
            Event::Startup => self.startup(now, &mut actions),
            Event::Advert { source, advert } => self.advert(source, &advert, now, &mut actions),
            Event::Timer => self.timer(now, &mut actions),
            Event::Interface { name, up } => {
                if let Some(slot) = self.interfaces.get_mut(&name) {
                    *slot = up;
                }
                self.tracking_changed(now, &mut actions);
            }
            Event::Script { name, ok } => {
                if let Some(slot) = self.scripts.get_mut(&name) {
                    *slot = ok;
                }
                self.tracking_changed(now, &mut actions);
            }
            Event::File { path, value } => {
                if let Some(slot) = self.files.get_mut(&path) {
                    *slot = value;
                }
                self.tracking_changed(now, &mut actions);
            }
            Event::GroupFollow(target) => self.follow_group(target, now, &mut actions),
            Event::Shutdown => self.shutdown(&mut actions),
        }
        actions
    }

    fn startup(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if self.state != State::Init {
            return;
        }
        if self.is_faulty() {
            self.enter_fault(actions);
        } else if self.config.priority == 255 {
            // RFC 3768 §6.4.1: the address owner becomes master at once.
            self.enter_master(now, actions);
        } else {
            // keepalived 2.2.7 starts `state MASTER` in BACKUP as well.
            if !self.config.preempt_delay.is_zero() {
                // preempt_delay counts from startup as well.
                self.preempt_after = Some(now + self.config.preempt_delay);
            }
            self.enter_backup(now, actions);
        }
    }

    /// Checks a received advert against the instance (RFC 3768 §7.1, RFC
    /// 5798 §7.1, plus keepalived's unicast and strict checks).
    pub fn check_advert(&self, source: IpAddr, advert: &Advert) -> Result<(), Reject> {
        if advert.vrid != self.config.vrid {
            return Err(Reject::OtherVrid);
        }
        if advert.version != self.config.version {
            return Err(Reject::WrongVersion);
        }
        if advert.family() != self.config.family && !advert.addresses.is_empty() {
            return Err(Reject::Family);
        }
        if self.config.version == Version::V2 {
            let expected = self
                .config
                .auth_pass
                .as_deref()
                .map(Auth::pass)
                .unwrap_or(Auth::None);
            if advert.auth != expected {
                return Err(Reject::Auth);
            }
            if advert.interval_cs != self.config.advert_int_cs {
                return Err(Reject::Interval);
            }
        }
        if self.config.is_unicast()
            && self.config.check_unicast_src
            && !self.config.unicast_peers.contains(&source)
        {
            return Err(Reject::NotAPeer);
        }
        if self.config.strict && advert.priority != 0 {
            let mut ours: Vec<IpAddr> = self.config.vips.iter().map(|v| v.address).collect();
            let mut theirs = advert.addresses.clone();
            ours.sort();
            theirs.sort();
            if ours != theirs {
                return Err(Reject::AddressList);
            }
        }
        Ok(())
    }

    fn advert(&mut self, source: IpAddr, advert: &Advert, now: Instant, actions: &mut Vec<Action>) {
        if let Err(reject) = self.check_advert(source, advert) {
            actions.push(Action::Dropped(reject));
            return;
        }
        match self.state {
            State::Backup => self.backup_receives(advert, now),
            State::Master => self.master_receives(source, advert, now, actions),
            State::Init | State::Fault => {}
        }
    }

    /// RFC 5798 §6.4.2 (Backup), with keepalived's nopreempt and preempt_delay.
    fn backup_receives(&mut self, advert: &Advert, now: Instant) {
        if advert.priority == 0 {
            // The master resigns: take over after the skew time only.
            self.deadlines.advert_or_down = Some(now + self.skew_time());
            return;
        }
        let ours = self.effective_priority();
        let preempt_pending = self.preempt_after.is_some_and(|t| now < t);
        if self.config.nopreempt || advert.priority >= ours || preempt_pending {
            if self.config.version == Version::V3 {
                self.master_adver_int_cs = advert.interval_cs;
            }
            if advert.priority < ours
                && !self.config.preempt_delay.is_zero()
                && self.preempt_after.is_none()
            {
                // keepalived: a lower-priority master is tolerated for preempt_delay.
                self.preempt_after = Some(now + self.config.preempt_delay);
            }
            self.deadlines.advert_or_down = Some(now + self.master_down_interval());
        }
        // Otherwise discard: the master-down timer runs out and we preempt.
    }

    /// RFC 5798 §6.4.3 (Master).
    fn master_receives(
        &mut self,
        source: IpAddr,
        advert: &Advert,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        let ours = self.effective_priority();
        if advert.priority == 0 {
            // Another master resigned: assert ourselves at once.
            actions.push(Action::SendAdvert { priority: ours });
            self.deadlines.advert_or_down = Some(now + self.config.advert_interval());
            return;
        }
        let they_win =
            advert.priority > ours || (advert.priority == ours && source > self.primary_address);
        if they_win {
            if self.config.version == Version::V3 {
                self.master_adver_int_cs = advert.interval_cs;
            }
            self.leave_master(actions);
            self.enter_backup(now, actions);
        } else {
            // keepalived (unless lower_prio_no_advert): answer a lower-priority
            // master at once so that it steps down without waiting.
            actions.push(Action::SendAdvert { priority: ours });
            self.deadlines.advert_or_down = Some(now + self.config.advert_interval());
        }
    }

    fn timer(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let due = |deadline: Option<Instant>| deadline.is_some_and(|t| t <= now);
        if due(self.deadlines.advert_or_down) {
            match self.state {
                State::Backup => self.enter_master(now, actions),
                State::Master => {
                    actions.push(Action::SendAdvert {
                        priority: self.effective_priority(),
                    });
                    self.deadlines.advert_or_down = Some(now + self.config.advert_interval());
                }
                State::Init | State::Fault => self.deadlines.advert_or_down = None,
            }
        }
        if due(self.deadlines.garp_delay) {
            self.deadlines.garp_delay = None;
            if self.state == State::Master {
                actions.push(Action::SendGratuitous {
                    repeat: self.config.garp_master_repeat,
                });
            }
        }
        if due(self.deadlines.garp_refresh) {
            self.deadlines.garp_refresh = None;
            if self.state == State::Master {
                actions.push(Action::SendGratuitous {
                    repeat: self.config.garp_master_refresh_repeat,
                });
                self.deadlines.garp_refresh = self.config.garp_master_refresh.map(|p| now + p);
            }
        }
    }

    fn tracking_changed(&mut self, now: Instant, actions: &mut Vec<Action>) {
        match (self.state, self.is_faulty()) {
            (State::Master | State::Backup, true) => self.enter_fault(actions),
            (State::Fault, false) => {
                if self.config.priority == 255 {
                    self.enter_master(now, actions);
                } else {
                    self.enter_backup(now, actions);
                }
            }
            (State::Backup, false) => {
                // The skew follows the effective priority: re-arm the timer if
                // it became shorter (keepalived recomputes ms_down_timer).
                let down = now + self.master_down_interval();
                if self.deadlines.advert_or_down.is_some_and(|t| t > down) {
                    self.deadlines.advert_or_down = Some(down);
                }
            }
            // A master's new priority goes out with its next advert.
            _ => {}
        }
    }

    fn follow_group(&mut self, target: State, now: Instant, actions: &mut Vec<Action>) {
        if target == self.state {
            return;
        }
        match target {
            State::Master if self.state == State::Backup => self.enter_master(now, actions),
            // A member held in FAULT by its group comes back with it, unless
            // its own tracking still fails.
            State::Backup if self.state == State::Fault && !self.is_faulty() => {
                self.enter_backup(now, actions)
            }
            State::Backup if self.state == State::Master => {
                self.leave_master(actions);
                self.enter_backup(now, actions);
            }
            State::Fault if self.state != State::Init => self.enter_fault(actions),
            _ => {}
        }
    }

    fn shutdown(&mut self, actions: &mut Vec<Action>) {
        let from = self.state;
        if from == State::Master {
            // RFC 5798 §6.4.3: send a priority-0 advert, then drop the VIPs.
            actions.push(Action::SendAdvert { priority: 0 });
            actions.push(Action::RemoveVips);
            if !self.config.accepts_vip_traffic() {
                actions.push(Action::BlockVipTraffic(false));
            }
        }
        self.deadlines = Deadlines::default();
        self.state = State::Init;
        if from != State::Init {
            actions.push(Action::Transition {
                from,
                to: State::Init,
            });
            actions.push(Action::Notify {
                kind: NotifyKind::Stop,
                priority: self.effective_priority(),
            });
        }
    }

    fn set_state(&mut self, to: State, actions: &mut Vec<Action>) {
        let from = self.state;
        self.state = to;
        actions.push(Action::Transition { from, to });
    }

    fn enter_backup(&mut self, now: Instant, actions: &mut Vec<Action>) {
        self.deadlines = Deadlines {
            advert_or_down: Some(now + self.master_down_interval()),
            ..Deadlines::default()
        };
        self.set_state(State::Backup, actions);
        actions.push(Action::Notify {
            kind: NotifyKind::Backup,
            priority: self.effective_priority(),
        });
    }

    fn enter_master(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let priority = self.effective_priority();
        // The master sends with its own configured interval.
        self.master_adver_int_cs = self.config.advert_int_cs;
        actions.push(Action::AddVips);
        if !self.config.accepts_vip_traffic() {
            actions.push(Action::BlockVipTraffic(true));
        }
        actions.push(Action::SendAdvert { priority });
        actions.push(Action::SendGratuitous {
            repeat: self.config.garp_master_repeat,
        });
        self.deadlines = Deadlines {
            advert_or_down: Some(now + self.config.advert_interval()),
            garp_delay: (!self.config.garp_master_delay.is_zero())
                .then(|| now + self.config.garp_master_delay),
            garp_refresh: self.config.garp_master_refresh.map(|p| now + p),
        };
        self.preempt_after = None;
        self.set_state(State::Master, actions);
        actions.push(Action::Notify {
            kind: NotifyKind::Master,
            priority,
        });
    }

    /// Leaving MASTER for BACKUP or FAULT: drop the VIPs.
    fn leave_master(&mut self, actions: &mut Vec<Action>) {
        actions.push(Action::RemoveVips);
        if !self.config.accepts_vip_traffic() {
            actions.push(Action::BlockVipTraffic(false));
        }
    }

    fn enter_fault(&mut self, actions: &mut Vec<Action>) {
        if self.state == State::Master {
            // keepalived resigns with a priority-0 advert when a master faults.
            actions.push(Action::SendAdvert { priority: 0 });
            self.leave_master(actions);
        }
        self.deadlines = Deadlines::default();
        self.set_state(State::Fault, actions);
        actions.push(Action::Notify {
            kind: NotifyKind::Fault,
            priority: self.effective_priority(),
        });
    }
}
