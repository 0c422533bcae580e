//! The keepalived.conf grammar as data: for every block, the keywords it takes,
//! how their arguments are read and which model field they fill.
//!
//! One table drives both directions: [`crate::parse`] (text → model) and
//! [`crate::emit`] (model → text), and it is the keyword list for "did you mean".

/// How a keyword's arguments are read and stored.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// One word → string.
    Str,
    /// One or more words, joined with single spaces → string (scripts, notify commands).
    Line,
    /// Zero or more words → array of strings.
    Words,
    /// One integer within the model type's bounds.
    Int(i64, i64),
    /// Seconds, fractions allowed (keepalived `<TIMER>`) → duration.
    Secs,
    /// Seconds, the value optional; a bare keyword means this many seconds.
    SecsOr(u64),
    /// No argument → `true`.
    Flag,
    /// One IP address.
    Ip,
    /// One of these words (compared case-insensitively, stored as written here).
    Enum(&'static [&'static str]),
    /// An optional name: bare keyword → `""`.
    OptName,
    /// `ADDR [PORT]` → `{address, port}`.
    Endpoint,
    /// A nested block stored as an object.
    Block(&'static Block),
    /// A repeatable block appended to the array field.
    Blocks(&'static Block),
    /// A checker block appended to the `checkers` array, tagged with its kind.
    Checker(&'static Block),
    /// A block of lines, each an entry of this shape, stored as an array.
    Lines(Entry),
    /// Documented by keepalived, not interpreted by lvsd: the words go to `other`.
    Other,
    /// Deprecated spelling of another keyword of the same block.
    Alias(&'static str),
}

/// The shape of one line in a [`Kind::Lines`] block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// One word → string.
    Word,
    /// One IP address.
    Ip,
    /// `NAME [weight N] [reverse]` → [`crate::model::Tracked`].
    Tracked,
    /// `ADDR[/LEN] [brd …] [dev …] …` → [`crate::model::VirtualAddress`].
    Address,
    /// An ip-route line → [`crate::model::Route`].
    Route,
    /// An ip-rule line → [`crate::model::Rule`].
    Rule,
    /// `ADDR[-LAST] PORT` | `fwmark N` → [`crate::model::GroupMember`].
    GroupMember,
}

/// What follows a block keyword before `{`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    None,
    /// `NAME` → field `name`.
    Name,
    /// `ADDR PORT` | `fwmark N` | `group NAME`.
    VirtualServer,
    /// `ADDR [PORT]`.
    RealServer,
    /// `NAME`, and the body is a list of [`Entry::GroupMember`] lines stored in `members`.
    GroupList,
}

/// One keyword of a block.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub name: &'static str,
    /// The model field (JSON/TOML name).
    pub field: &'static str,
    pub kind: Kind,
}

/// A block: its keyword, header shape and keywords.
#[derive(Debug)]
pub struct Block {
    pub name: &'static str,
    pub header: Header,
    pub keys: &'static [Key],
}

impl Block {
    /// The keyword `name`, if this block takes it.
    pub fn key(&self, name: &str) -> Option<&'static Key> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// Every keyword, for suggestions.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        self.keys
            .iter()
            .filter(|k| !matches!(k.kind, Kind::Alias(_)))
            .map(|k| k.name)
    }
}

const fn key(name: &'static str, field: &'static str, kind: Kind) -> Key {
    Key { name, field, kind }
}
/// A keyword stored under its own name.
const fn same(name: &'static str, kind: Kind) -> Key {
    Key {
        name,
        field: name,
        kind,
    }
}
const fn other(name: &'static str) -> Key {
    Key {
        name,
        field: "other",
        kind: Kind::Other,
    }
}
const fn alias(name: &'static str, target: &'static str) -> Key {
    Key {
        name,
        field: "",
        kind: Kind::Alias(target),
    }
}

pub const U8: Kind = Kind::Int(0, u8::MAX as i64);
pub const U16: Kind = Kind::Int(0, u16::MAX as i64);
pub const U32: Kind = Kind::Int(0, u32::MAX as i64);
pub const I32: Kind = Kind::Int(i32::MIN as i64, i32::MAX as i64);
const METHODS: &[&str] = &["NAT", "DR", "TUN"];

/// The top level of a keepalived.conf.
pub static TOP: Block = Block {
    name: "",
    header: Header::None,
    keys: &[
        same("global_defs", Kind::Block(&GLOBAL_DEFS)),
        key("SSL", "SSL", Kind::Block(&SSL)),
        // Before the static lines naming them: keepalived looks a group up as it reads them.
        key("track_group", "track_groups", Kind::Blocks(&TRACK_GROUP)),
        same("static_ipaddress", Kind::Lines(Entry::Address)),
        same("static_routes", Kind::Lines(Entry::Route)),
        same("static_rules", Kind::Lines(Entry::Rule)),
        key("vrrp_script", "vrrp_scripts", Kind::Blocks(&VRRP_SCRIPT)),
        key(
            "vrrp_track_file",
            "vrrp_track_files",
            Kind::Blocks(&VRRP_TRACK_FILE),
        ),
        key(
            "vrrp_sync_group",
            "vrrp_sync_groups",
            Kind::Blocks(&VRRP_SYNC_GROUP),
        ),
        key(
            "vrrp_instance",
            "vrrp_instances",
            Kind::Blocks(&VRRP_INSTANCE),
        ),
        key(
            "virtual_server_group",
            "virtual_server_groups",
            Kind::Blocks(&VIRTUAL_SERVER_GROUP),
        ),
        key(
            "virtual_server",
            "virtual_servers",
            Kind::Blocks(&VIRTUAL_SERVER),
        ),
    ],
};

pub static TRACK_GROUP: Block = Block {
    name: "track_group",
    header: Header::Name,
    keys: &[same("group", Kind::Lines(Entry::Word))],
};

pub static SSL: Block = Block {
    name: "SSL",
    header: Header::None,
    keys: &[
        same("password", Kind::Str),
        same("ca", Kind::Str),
        same("certificate", Kind::Str),
        same("key", Kind::Str),
    ],
};

pub static GLOBAL_DEFS: Block = Block {
    name: "global_defs",
    header: Header::None,
    keys: &[
        same("router_id", Kind::Str),
        same("notification_email", Kind::Lines(Entry::Word)),
        same("notification_email_from", Kind::Str),
        same("smtp_server", Kind::Words),
        same("smtp_helo_name", Kind::Str),
        same("smtp_connect_timeout", Kind::Secs),
        same("default_interface", Kind::Str),
        same("vrrp_mcast_group4", Kind::Ip),
        same("vrrp_mcast_group6", Kind::Ip),
        same("vrrp_version", U8),
        same("vrrp_strict", Kind::Flag),
        same("vrrp_garp_master_delay", Kind::Secs),
        same("vrrp_garp_master_repeat", U32),
        same("vrrp_skip_check_adv_addr", Kind::Flag),
        same("vrrp_check_unicast_src", Kind::Flag),
        same("enable_script_security", Kind::Flag),
        same("script_user", Kind::Words),
        same("lvs_sync_daemon", Kind::Words),
        same("lvs_flush", Kind::Flag),
        same("lvs_timeouts", Kind::Words),
        same("dynamic_interfaces", Kind::Flag),
        alias("lvs_sync_daemon_interface", "lvs_sync_daemon"),
        other("smtp_alert"),
        other("smtp_alert_vrrp"),
        other("smtp_alert_checker"),
        other("no_email_faults"),
        other("checker_log_all_failures"),
        other("lvs_flush_on_stop"),
        other("lvs_notify_fifo"),
        other("lvs_notify_fifo_script"),
        other("vrrp_notify_fifo"),
        other("vrrp_notify_fifo_script"),
        other("notify_fifo"),
        other("notify_fifo_script"),
        other("vrrp_garp_master_refresh"),
        other("vrrp_garp_master_refresh_repeat"),
        other("vrrp_garp_lower_prio_delay"),
        other("vrrp_garp_lower_prio_repeat"),
        other("vrrp_garp_interval"),
        other("vrrp_gna_interval"),
        other("vrrp_min_garp"),
        other("vrrp_lower_prio_no_advert"),
        other("vrrp_higher_prio_send_advert"),
        other("vrrp_down_timer_adverts"),
        other("vrrp_priority"),
        other("checker_priority"),
        other("bfd_priority"),
        other("vrrp_no_swap"),
        other("checker_no_swap"),
        other("bfd_no_swap"),
        other("vrrp_rt_priority"),
        other("checker_rt_priority"),
        other("bfd_rt_priority"),
        other("vrrp_rlimit_rttime"),
        other("checker_rlimit_rttime"),
        other("bfd_rlimit_rttime"),
        other("vrrp_cpu_affinity"),
        other("checker_cpu_affinity"),
        other("bfd_cpu_affinity"),
        other("vrrp_process_name"),
        other("checker_process_name"),
        other("bfd_process_name"),
        other("process_names"),
        other("vrrp_iptables"),
        other("vrrp_ipsets"),
        other("nftables"),
        other("nftables_priority"),
        other("nftables_ifindex"),
        other("nftables_counters"),
        other("vrrp_netlink_cmd_rcv_bufs"),
        other("vrrp_netlink_cmd_rcv_bufs_force"),
        other("vrrp_netlink_monitor_rcv_bufs"),
        other("vrrp_netlink_monitor_rcv_bufs_force"),
        other("lvs_netlink_cmd_rcv_bufs"),
        other("lvs_netlink_cmd_rcv_bufs_force"),
        other("lvs_netlink_monitor_rcv_bufs"),
        other("lvs_netlink_monitor_rcv_bufs_force"),
        other("process_monitor_rcv_bufs"),
        other("process_monitor_rcv_bufs_force"),
        other("vrrp_rx_bufs_policy"),
        other("vrrp_rx_bufs_multiplier"),
        other("vrrp_startup_delay"),
        other("vrrp_notify_priority_changes"),
        other("vrrp_track_process"),
        other("vrrp_garp_extra_if"),
        other("vrrp_max_auto_priority"),
        other("max_auto_priority"),
        other("min_auto_priority_delay"),
        other("linkbeat_use_polling"),
        other("linkbeat_interfaces"),
        other("net_namespace"),
        other("net_namespace_ipvs"),
        other("namespace_with_ipsets"),
        other("instance"),
        other("use_pid_dir"),
        other("enable_traps"),
        other("enable_snmp_vrrp"),
        other("enable_snmp_checker"),
        other("enable_snmp_rfc"),
        other("enable_snmp_rfcv2"),
        other("enable_snmp_rfcv3"),
        other("snmp_socket"),
        other("enable_dbus"),
        other("dbus_service_name"),
        other("script_security"),
        other("umask"),
        other("startup_script"),
        other("startup_script_timeout"),
        other("shutdown_script"),
        other("shutdown_script_timeout"),
        other("disable_local_igmp"),
        other("child_wait_time"),
        other("fifo_write_vrrp_states_on_reload"),
        other("reload_check_config"),
        other("reload_time_file"),
        other("reload_repeat"),
        other("reload_file"),
        other("config_save_dir"),
        other("tmp_config_directory"),
        other("random_seed"),
        other("log_unknown_vrids"),
        other("rs_init_notifies"),
        other("no_checker_emails"),
        other("data_use_instance"),
        other("vrrp_owner_ignore_adverts"),
        other("local_name"),
    ],
};

pub static VRRP_SCRIPT: Block = Block {
    name: "vrrp_script",
    header: Header::Name,
    keys: &[
        same("script", Kind::Line),
        same("interval", Kind::Secs),
        same("timeout", Kind::Secs),
        same("weight", I32),
        same("rise", U32),
        same("fall", U32),
        same("user", Kind::Words),
        same("init_fail", Kind::Flag),
    ],
};

pub static VRRP_TRACK_FILE: Block = Block {
    name: "vrrp_track_file",
    header: Header::Name,
    keys: &[
        same("file", Kind::Str),
        same("weight", I32),
        other("init_file"),
    ],
};

pub static VRRP_SYNC_GROUP: Block = Block {
    name: "vrrp_sync_group",
    header: Header::Name,
    keys: &[
        same("group", Kind::Lines(Entry::Word)),
        same("track_interface", Kind::Lines(Entry::Tracked)),
        same("track_script", Kind::Lines(Entry::Tracked)),
        same("track_file", Kind::Lines(Entry::Tracked)),
        same("notify_master", Kind::Line),
        same("notify_backup", Kind::Line),
        same("notify_fault", Kind::Line),
        same("notify_stop", Kind::Line),
        same("notify", Kind::Line),
        same("smtp_alert", Kind::Flag),
        same("global_tracking", Kind::Flag),
        other("sync_group_tracking_weight"),
        other("track_process"),
        other("track_bfd"),
    ],
};

pub static AUTHENTICATION: Block = Block {
    name: "authentication",
    header: Header::None,
    keys: &[
        same("auth_type", Kind::Enum(&["PASS", "AH"])),
        same("auth_pass", Kind::Str),
    ],
};

pub static VRRP_INSTANCE: Block = Block {
    name: "vrrp_instance",
    header: Header::Name,
    keys: &[
        same("state", Kind::Enum(&["MASTER", "BACKUP"])),
        same("interface", Kind::Str),
        // keepalived.conf(5): 1..=255 both (255: the address owner).
        same("virtual_router_id", Kind::Int(1, 255)),
        same("priority", Kind::Int(1, 255)),
        same("advert_int", Kind::Secs),
        same("version", U8),
        same("nopreempt", Kind::Flag),
        same("preempt_delay", Kind::Secs),
        same("accept", Kind::Flag),
        same("no_accept", Kind::Flag),
        same("dont_track_primary", Kind::Flag),
        same("mcast_src_ip", Kind::Ip),
        same("unicast_src_ip", Kind::Ip),
        same("unicast_peer", Kind::Lines(Entry::Ip)),
        same("authentication", Kind::Block(&AUTHENTICATION)),
        same("virtual_ipaddress", Kind::Lines(Entry::Address)),
        same("virtual_ipaddress_excluded", Kind::Lines(Entry::Address)),
        same("virtual_routes", Kind::Lines(Entry::Route)),
        same("virtual_rules", Kind::Lines(Entry::Rule)),
        same("track_interface", Kind::Lines(Entry::Tracked)),
        same("track_script", Kind::Lines(Entry::Tracked)),
        same("track_file", Kind::Lines(Entry::Tracked)),
        same("track_process", Kind::Lines(Entry::Tracked)),
        same("use_vmac", Kind::OptName),
        same("vmac_xmit_base", Kind::Flag),
        same("garp_master_delay", Kind::Secs),
        same("garp_master_repeat", U32),
        same("notify_master", Kind::Line),
        same("notify_backup", Kind::Line),
        same("notify_fault", Kind::Line),
        same("notify_stop", Kind::Line),
        same("notify", Kind::Line),
        same("smtp_alert", Kind::Flag),
        other("preempt"),
        other("preempt_delay_max"),
        other("native_ipv6"),
        other("use_ipvlan"),
        other("vmac_addr"),
        other("garp_master_refresh"),
        other("garp_master_refresh_repeat"),
        other("garp_lower_prio_delay"),
        other("garp_lower_prio_repeat"),
        other("garp_extra_if"),
        other("gna_interval"),
        other("lower_prio_no_advert"),
        other("higher_prio_send_advert"),
        other("down_timer_adverts"),
        other("notify_master_rx_lower_pri"),
        other("notify_deleted"),
        other("notify_priority_changes"),
        other("debug"),
        other("strict_mode"),
        other("skip_check_adv_addr"),
        other("check_unicast_src"),
        other("unicast_ttl"),
        other("unicast_fault_no_peer"),
        other("old_unicast_checksum"),
        other("kernel_rx_buf_size"),
        other("track_src_ip"),
        other("track_bfd"),
        other("promote_secondaries"),
        other("linkbeat_use_polling"),
        other("mcast_dst_ip"),
        other("vrrp_skip_check_adv_addr"),
        other("lvs_sync_daemon_interface"),
    ],
};

pub static VIRTUAL_SERVER_GROUP: Block = Block {
    name: "virtual_server_group",
    header: Header::GroupList,
    keys: &[],
};

/// Keywords common to every checker (keepalived `check_api.c`).
macro_rules! checker_keys {
    ($($extra:expr),* $(,)?) => {
        &[
            same("connect_ip", Kind::Ip),
            same("connect_port", U16),
            same("bindto", Kind::Ip),
            same("bind_port", U16),
            same("bind_if", Kind::Str),
            same("connect_timeout", Kind::Secs),
            same("fwmark", U32),
            same("warmup", Kind::Secs),
            same("retry", U32),
            same("delay_before_retry", Kind::Secs),
            same("delay_loop", Kind::Secs),
            same("log_all_failures", Kind::Flag),
            same("alpha", Kind::Flag),
            alias("nb_get_retry", "retry"),
            $($extra),*
        ]
    };
}

pub static URL: Block = Block {
    name: "url",
    header: Header::None,
    keys: &[
        same("path", Kind::Str),
        same("digest", Kind::Str),
        same("status_code", Kind::Words),
        same("virtualhost", Kind::Str),
        same("regex", Kind::Str),
        same("regex_no_match", Kind::Flag),
        other("regex_min_offset"),
        other("regex_max_offset"),
        other("regex_stack"),
        other("regex_options"),
    ],
};

pub static TCP_CHECK: Block = Block {
    name: "TCP_CHECK",
    header: Header::None,
    keys: checker_keys!(),
};
pub static PING_CHECK: Block = Block {
    name: "PING_CHECK",
    header: Header::None,
    keys: checker_keys!(),
};
pub static HTTP_GET: Block = Block {
    name: "HTTP_GET",
    header: Header::None,
    keys: checker_keys!(
        key("url", "url", Kind::Blocks(&URL)),
        same("virtualhost", Kind::Str),
        same("http_protocol", Kind::Str),
        same("fast_recovery", Kind::Flag),
    ),
};
pub static SSL_GET: Block = Block {
    name: "SSL_GET",
    header: Header::None,
    keys: checker_keys!(
        key("url", "url", Kind::Blocks(&URL)),
        same("virtualhost", Kind::Str),
        same("http_protocol", Kind::Str),
        same("fast_recovery", Kind::Flag),
        same("enable_sni", Kind::Flag),
    ),
};
pub static MISC_CHECK: Block = Block {
    name: "MISC_CHECK",
    header: Header::None,
    keys: checker_keys!(
        same("misc_path", Kind::Line),
        same("misc_timeout", Kind::Secs),
        same("misc_dynamic", Kind::Flag),
        same("user", Kind::Words),
    ),
};
pub static SMTP_CHECK: Block = Block {
    name: "SMTP_CHECK",
    header: Header::None,
    keys: checker_keys!(same("helo_name", Kind::Str), other("host")),
};
pub static DNS_CHECK: Block = Block {
    name: "DNS_CHECK",
    header: Header::None,
    keys: checker_keys!(same("type", Kind::Str), same("name", Kind::Str)),
};
pub static UDP_CHECK: Block = Block {
    name: "UDP_CHECK",
    header: Header::None,
    keys: checker_keys!(
        same("payload", Kind::Str),
        same("require_reply", Kind::Words),
        same("min_reply_length", U32),
        same("max_reply_length", U32),
    ),
};
pub static FILE_CHECK: Block = Block {
    name: "FILE_CHECK",
    header: Header::None,
    keys: &[
        same("track_file", Kind::Str),
        same("weight", I32),
        other("reverse"),
    ],
};

pub static REAL_SERVER: Block = Block {
    name: "real_server",
    header: Header::RealServer,
    keys: &[
        same("weight", I32),
        same("lvs_method", Kind::Enum(METHODS)),
        same("inhibit_on_failure", Kind::Flag),
        same("notify_up", Kind::Line),
        same("notify_down", Kind::Line),
        same("uthreshold", U32),
        same("lthreshold", U32),
        same("delay_loop", Kind::Secs),
        same("smtp_alert", Kind::Flag),
        key("TCP_CHECK", "checkers", Kind::Checker(&TCP_CHECK)),
        key("HTTP_GET", "checkers", Kind::Checker(&HTTP_GET)),
        key("SSL_GET", "checkers", Kind::Checker(&SSL_GET)),
        key("MISC_CHECK", "checkers", Kind::Checker(&MISC_CHECK)),
        key("SMTP_CHECK", "checkers", Kind::Checker(&SMTP_CHECK)),
        key("DNS_CHECK", "checkers", Kind::Checker(&DNS_CHECK)),
        key("UDP_CHECK", "checkers", Kind::Checker(&UDP_CHECK)),
        key("PING_CHECK", "checkers", Kind::Checker(&PING_CHECK)),
        key("FILE_CHECK", "checkers", Kind::Checker(&FILE_CHECK)),
        alias("lb_kind", "lvs_method"),
        other("retry"),
        other("delay_before_retry"),
        other("warmup"),
        other("connect_timeout"),
        other("virtualhost"),
        other("alpha"),
        other("bfd_check"),
    ],
};

pub static VIRTUAL_SERVER: Block = Block {
    name: "virtual_server",
    header: Header::VirtualServer,
    keys: &[
        same("ip_family", Kind::Enum(&["inet", "inet6"])),
        same("delay_loop", Kind::Secs),
        same("lvs_sched", Kind::Str),
        same("lvs_method", Kind::Enum(METHODS)),
        same("protocol", Kind::Enum(&["TCP", "UDP", "SCTP"])),
        same(
            "persistence_timeout",
            Kind::SecsOr(crate::model::defaults::PERSISTENCE_TIMEOUT.as_secs()),
        ),
        same("persistence_granularity", Kind::Str),
        same("persistence_engine", Kind::Str),
        same("virtualhost", Kind::Str),
        same("sorry_server", Kind::Endpoint),
        same("sorry_server_inhibit", Kind::Flag),
        same("sorry_server_lvs_method", Kind::Enum(METHODS)),
        same("quorum", U32),
        same("hysteresis", U32),
        same("quorum_up", Kind::Line),
        same("quorum_down", Kind::Line),
        same("alpha", Kind::Flag),
        same("omega", Kind::Flag),
        same("inhibit_on_failure", Kind::Flag),
        same("ha_suspend", Kind::Flag),
        same("ops", Kind::Flag),
        same("smtp_alert", Kind::Flag),
        key("real_server", "real_servers", Kind::Blocks(&REAL_SERVER)),
        alias("lb_algo", "lvs_sched"),
        alias("lb_kind", "lvs_method"),
        other("flag-1"),
        other("flag-2"),
        other("flag-3"),
        other("sh-port"),
        other("sh-fallback"),
        other("mh-port"),
        other("mh-fallback"),
        other("retry"),
        other("delay_before_retry"),
        other("warmup"),
        other("connect_timeout"),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(block: &'static Block, seen: &mut Vec<&'static str>) {
        if seen.contains(&block.name) {
            return;
        }
        seen.push(block.name);
        let mut names: Vec<&str> = block.keys.iter().map(|k| k.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate keyword in `{}`", block.name);
        for key in block.keys {
            match key.kind {
                Kind::Block(child) | Kind::Blocks(child) | Kind::Checker(child) => {
                    walk(child, seen)
                }
                Kind::Alias(target) => {
                    assert!(
                        block
                            .key(target)
                            .is_some_and(|t| !matches!(t.kind, Kind::Alias(_))),
                        "alias `{}` → `{target}`",
                        key.name
                    )
                }
                _ => {}
            }
        }
    }

    #[test]
    fn keywords_are_unique_per_block_and_aliases_resolve() {
        walk(&TOP, &mut Vec::new());
    }
}
