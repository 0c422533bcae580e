//! Semantic checks on the model, shared by both input forms.
//!
//! Positions come from the [`SpanMap`] the keepalived reader records; for TOML
//! (no map) the diagnostic names the file and the field's path.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::diag::{Diagnostic, Severity, Span};
use crate::iproute::{IpLine, Problem};
use crate::model::{Checker, CheckerKind, Config, LvsMethod, ServiceKey, VrrpState};
use crate::parse::SpanMap;

/// VRRP priority range (RFC 3768 §5.3.4; 255 is the address owner).
pub const PRIORITY_RANGE: std::ops::RangeInclusive<u8> = 1..=255;
/// Track weights keepalived accepts (`track_script`, `vrrp_script weight`).
pub const TRACK_WEIGHT_RANGE: std::ops::RangeInclusive<i32> = -253..=253;
/// IPVS real-server weight.
pub const RS_WEIGHT_RANGE: std::ops::RangeInclusive<i32> = 0..=65535;
/// VRRPv2 advert interval: whole seconds 1..=255 (RFC 3768 §5.3.7).
pub const V2_MAX_ADVERT: Duration = Duration::from_secs(255);
/// VRRPv3 advert interval: 12 bits of centiseconds (RFC 5798 §5.2.7), so at most 40.95 s.
pub const V3_MAX_ADVERT: Duration = Duration::from_millis(40_950);
/// keepalived uses the first 8 characters of `auth_pass` (RFC 2338 §5.3.10).
pub const AUTH_PASS_MAX: usize = 8;

/// The model fields (and list fields, for their entries and items) whose positions
/// these checks report; the keepalived reader keeps only these in its [`SpanMap`].
pub const POSITIONED: &[&str] = &[
    "vrrp_scripts",
    "vrrp_instances",
    "vrrp_sync_groups",
    "virtual_servers",
    "real_servers",
    "checkers",
    "weight",
    "priority",
    "virtual_router_id",
    "version",
    "advert_int",
    "nopreempt",
    "auth_pass",
    "quorum",
    "virtual_ipaddress",
    "track_script",
    "track_file",
    "track_interface",
    "group",
    "static_routes",
    "static_rules",
    "virtual_routes",
    "virtual_rules",
];

/// Runs every check; `file` names the configuration for positions the map lacks.
pub fn validate(config: &Config, spans: &SpanMap, file: &str) -> Vec<Diagnostic> {
    let mut v = Validator {
        spans,
        file,
        out: Vec::new(),
    };
    v.vrrp(config);
    v.routes_and_rules(config);
    v.virtual_servers(config);
    v.out.sort_by(|a, b| {
        (&a.span.file, a.span.line, a.span.col).cmp(&(&b.span.file, b.span.line, b.span.col))
    });
    v.out
}

struct Validator<'a> {
    spans: &'a SpanMap,
    file: &'a str,
    out: Vec<Diagnostic>,
}

impl Validator<'_> {
    /// The span of the first of `paths` that was written in the file.
    fn at(&self, paths: &[&str]) -> Span {
        paths
            .iter()
            .find_map(|p| self.spans.get(p).cloned())
            .unwrap_or_else(|| Span::file_only(self.file))
    }

    /// The offending text: the value, or for TOML the field path.
    fn error(
        &mut self,
        paths: &[&str],
        text: impl Into<String>,
        message: impl Into<String>,
    ) -> &mut Self {
        let span = self.at(paths);
        let text = if span.line == 0 {
            paths[0].to_string()
        } else {
            text.into()
        };
        self.out.push(Diagnostic::error(&span, text, message));
        self
    }

    fn warning(
        &mut self,
        paths: &[&str],
        text: impl Into<String>,
        message: impl Into<String>,
    ) -> &mut Self {
        let span = self.at(paths);
        let text = if span.line == 0 {
            paths[0].to_string()
        } else {
            text.into()
        };
        self.out.push(Diagnostic::warning(&span, text, message));
        self
    }

    /// Adds a hint to the diagnostic just made.
    fn hint(&mut self, hint: impl Into<String>) {
        if let Some(last) = self.out.last_mut() {
            last.hint = Some(hint.into());
        }
    }

    fn vrrp(&mut self, config: &Config) {
        let scripts: HashSet<&str> = config
            .vrrp_scripts
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        let files: HashSet<&str> = config
            .vrrp_track_files
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        let instances: HashSet<&str> = config
            .vrrp_instances
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        // (interface, is_ipv6, vrid) → first instance name
        let mut vrids: HashMap<(String, bool, u8), String> = HashMap::new();
        for (i, script) in config.vrrp_scripts.iter().enumerate() {
            let base = format!("/vrrp_scripts/{i}");
            if !TRACK_WEIGHT_RANGE.contains(&script.weight) {
                let path = format!("{base}/weight");
                self.error(
                    &[&path, &base],
                    script.weight.to_string(),
                    format!(
                        "vrrp_script `{}` weight {} is out of range (-253..=253)",
                        script.name, script.weight
                    ),
                );
            }
            if script.script.is_empty() {
                self.error(
                    &[&base],
                    &script.name,
                    format!("vrrp_script `{}` has no `script`", script.name),
                );
            }
        }
        for (i, vi) in config.vrrp_instances.iter().enumerate() {
            let base = format!("/vrrp_instances/{i}");
            let p = |field: &str| format!("{base}/{field}");
            let name = &vi.name;
            if !PRIORITY_RANGE.contains(&vi.priority) {
                self.error(
                    &[&p("priority"), &base],
                    vi.priority.to_string(),
                    format!(
                        "({name}) priority {} is out of range (1..=255)",
                        vi.priority
                    ),
                );
            }
            match vi.virtual_router_id {
                // Written but rejected: the parser has said why.
                None if self.spans.get(&p("virtual_router_id")).is_some() => {}
                None => {
                    self.error(&[&base], name, format!("({name}) the virtual router id must be set"))
                        .hint("add `virtual_router_id N` (1..=255), the same on every router of this group");
                }
                Some(0) => {
                    self.error(
                        &[&p("virtual_router_id"), &base],
                        "0",
                        format!("({name}) virtual_router_id 0 is out of range (1..=255)"),
                    );
                }
                Some(vrid) => {
                    let ipv6 = vi
                        .virtual_ipaddress
                        .first()
                        .is_some_and(|a| a.address.addr.is_ipv6());
                    let interface = vi
                        .interface
                        .clone()
                        .or_else(|| config.global_defs.default_interface.clone())
                        .unwrap_or_default();
                    match vrids.get(&(interface.clone(), ipv6, vrid)) {
                        Some(first) => {
                            let message = format!("({name}) virtual_router_id {vrid} is already used by `{first}` on interface {interface} ({})", if ipv6 { "IPv6" } else { "IPv4" });
                            self.error(&[&p("virtual_router_id"), &base], vrid.to_string(), message)
                                .hint("each VRRP instance on one interface and family needs its own virtual_router_id");
                        }
                        None => {
                            vrids.insert((interface, ipv6, vrid), name.clone());
                        }
                    }
                }
            }
            let version = vi.effective_version(&config.global_defs);
            if !(2..=3).contains(&version) {
                self.error(
                    &[&p("version"), &base],
                    version.to_string(),
                    format!("({name}) VRRP version {version} is not 2 or 3"),
                );
            }
            let advert = vi.advert_int;
            if advert.is_zero() {
                self.error(
                    &[&p("advert_int"), &base],
                    "0",
                    format!("({name}) advert_int must be greater than 0"),
                );
            } else if version == 2 && advert > V2_MAX_ADVERT {
                self.error(
                    &[&p("advert_int"), &base],
                    crate::emit::seconds(advert),
                    format!(
                        "({name}) advert_int {} is out of range for VRRPv2 (1..=255 s)",
                        crate::emit::seconds(advert)
                    ),
                );
            } else if version == 3 && advert > V3_MAX_ADVERT {
                self.error(
                    &[&p("advert_int"), &base],
                    crate::emit::seconds(advert),
                    format!(
                        "({name}) advert_int {} is out of range for VRRPv3 (at most 40.95 s)",
                        crate::emit::seconds(advert)
                    ),
                );
            } else if version == 2 && advert.subsec_nanos() != 0 {
                self.warning(
                    &[&p("advert_int"), &base],
                    crate::emit::seconds(advert),
                    format!(
                        "({name}) VRRPv2 advert_int is whole seconds; {} is rounded",
                        crate::emit::seconds(advert)
                    ),
                )
                .hint("use `version 3` for sub-second adverts");
            }
            if version == 2 {
                for (j, vip) in vi.virtual_ipaddress.iter().enumerate() {
                    if vip.address.addr.is_ipv6() {
                        let path = format!("{base}/virtual_ipaddress/{j}");
                        self.error(
                            &[&path, &base],
                            vip.address.to_string(),
                            format!("({name}) IPv6 address {} in a VRRPv2 instance", vip.address),
                        )
                        .hint("VRRPv2 carries IPv4 only (RFC 3768); set `version 3`");
                    }
                }
            }
            for (j, tracked) in vi.track_script.iter().enumerate() {
                let path = format!("{base}/track_script/{j}");
                if !scripts.contains(tracked.name.as_str()) {
                    let hint = crate::diag::nearest(&tracked.name, scripts.iter().copied())
                        .map(|s| format!("did you mean `{s}`?"));
                    self.error(
                        &[&path, &base],
                        &tracked.name,
                        format!(
                            "({name}) track_script `{}` names no vrrp_script",
                            tracked.name
                        ),
                    );
                    if let Some(h) = hint {
                        self.hint(h);
                    }
                }
                self.tracked_weight(tracked.weight, &path, &base);
            }
            for (j, tracked) in vi.track_file.iter().enumerate() {
                let path = format!("{base}/track_file/{j}");
                if !files.contains(tracked.name.as_str()) {
                    self.error(
                        &[&path, &base],
                        &tracked.name,
                        format!(
                            "({name}) track_file `{}` names no vrrp_track_file",
                            tracked.name
                        ),
                    );
                }
                self.tracked_weight(tracked.weight, &path, &base);
            }
            for (j, tracked) in vi.track_interface.iter().enumerate() {
                self.tracked_weight(
                    tracked.weight,
                    &format!("{base}/track_interface/{j}"),
                    &base,
                );
            }
            if vi.nopreempt && vi.state != Some(VrrpState::BACKUP) {
                self.warning(
                    &[&p("nopreempt"), &base],
                    "nopreempt",
                    format!("({name}) nopreempt has no effect unless the initial state is BACKUP"),
                )
                .hint("set `state BACKUP` on every router of this group");
            }
            if let Some(pass) = vi
                .authentication
                .as_ref()
                .and_then(|a| a.auth_pass.as_ref())
            {
                if pass.chars().count() > AUTH_PASS_MAX {
                    let path = format!("{base}/authentication/auth_pass");
                    let kept: String = pass.chars().take(AUTH_PASS_MAX).collect();
                    self.warning(&[&path, &base], pass, format!("({name}) auth_pass is longer than 8 characters and will be truncated to `{kept}`"));
                }
            }
        }
        for (i, group) in config.vrrp_sync_groups.iter().enumerate() {
            let base = format!("/vrrp_sync_groups/{i}");
            for (j, member) in group.group.iter().enumerate() {
                if !instances.contains(member.as_str()) {
                    let path = format!("{base}/group/{j}");
                    self.error(
                        &[&path, &base],
                        member,
                        format!(
                            "vrrp_sync_group `{}` names `{member}`, which is no vrrp_instance",
                            group.name
                        ),
                    );
                }
            }
        }
    }

    /// Routes and rules: the whole-line checks of [`crate::iproute`] (for TOML; the
    /// keepalived reader has already dropped the lines with errors, so only warnings
    /// come from it) and `track_group` names.
    fn routes_and_rules(&mut self, config: &Config) {
        let groups: HashSet<&str> = config
            .track_groups
            .iter()
            .map(|g| g.name.as_str())
            .collect();
        let mut lines = Vec::new();
        checked_lines(&mut lines, "", "static_routes", &config.static_routes);
        checked_lines(&mut lines, "", "static_rules", &config.static_rules);
        for (i, vi) in config.vrrp_instances.iter().enumerate() {
            let base = format!("/vrrp_instances/{i}");
            checked_lines(&mut lines, &base, "virtual_routes", &vi.virtual_routes);
            checked_lines(&mut lines, &base, "virtual_rules", &vi.virtual_rules);
        }
        for CheckedLine {
            base,
            block,
            problems,
            value,
            track_group,
        } in lines
        {
            for p in problems {
                let path = format!("{base}/{}", p.field);
                let text = value.pointer(&format!("/{}", p.field)).map_or_else(
                    || p.field.clone(),
                    |v| v.to_string().trim_matches('"').to_string(),
                );
                let paths = [path.trim_end_matches('/'), base.as_str()];
                let message = format!("{} (`{block}`)", p.message);
                match p.severity {
                    Severity::Error => self.error(&paths, text, message),
                    Severity::Warning => self.warning(&paths, text, message),
                };
                if let Some(hint) = p.hint {
                    self.hint(hint);
                }
            }
            if let Some(name) = track_group.filter(|g| !groups.contains(g.as_str())) {
                let path = format!("{base}/track_group");
                self.error(
                    &[&path, &base],
                    name.clone(),
                    format!("track_group `{name}` names no track_group block"),
                )
                .hint(format!(
                    "define `track_group {name} {{ group {{ INSTANCE }} }}`"
                ));
            }
        }
    }

    fn tracked_weight(&mut self, weight: Option<i32>, path: &str, base: &str) {
        if let Some(w) = weight {
            if !TRACK_WEIGHT_RANGE.contains(&w) {
                self.error(
                    &[path, base],
                    w.to_string(),
                    format!("track weight {w} is out of range (-253..=253)"),
                );
            }
        }
    }

    fn virtual_servers(&mut self, config: &Config) {
        let groups: HashSet<&str> = config
            .virtual_server_groups
            .iter()
            .map(|g| g.name.as_str())
            .collect();
        for (i, vs) in config.virtual_servers.iter().enumerate() {
            let base = format!("/virtual_servers/{i}");
            let key = vs.key();
            match &key {
                None => {
                    self.error(&[&base], "virtual_server", "virtual_server needs exactly one of `ADDR PORT`, `fwmark N` or `group NAME`");
                }
                Some(ServiceKey::Group(name)) if !groups.contains(name.as_str()) => {
                    self.error(
                        &[&base],
                        name,
                        format!("virtual_server group `{name}` names no virtual_server_group"),
                    );
                }
                _ => {}
            }
            // keepalived 2.2.7 check_parser: an address service without
            // `protocol` "defaulting to UDP" (the kernel's 0); lvsd programs
            // the same, but says so where keepalived only logs it.
            if vs.protocol.is_none() && matches!(key, Some(ServiceKey::Address { .. })) {
                self.warning(
                    &[&base],
                    "virtual_server",
                    "no `protocol` set: the service is UDP (keepalived's default)",
                )
                .hint("add `protocol TCP` for a TCP service");
            }
            let service_port = match key {
                Some(ServiceKey::Address { port, .. }) if port != 0 => Some(port),
                _ => None,
            };
            if vs.quorum == 0 {
                self.error(
                    &[&format!("{base}/quorum"), &base],
                    "0",
                    "quorum must be at least 1",
                );
            }
            for (j, rs) in vs.real_servers.iter().enumerate() {
                // Paths are spelled out only for a diagnostic: most servers have none.
                let rs_base = || format!("{base}/real_servers/{j}");
                let method = rs.lvs_method.unwrap_or(vs.method());
                if !RS_WEIGHT_RANGE.contains(&rs.weight) {
                    let rs_base = rs_base();
                    let path = format!("{rs_base}/weight");
                    self.error(
                        &[&path, &rs_base],
                        rs.weight.to_string(),
                        format!(
                            "real_server {} weight {} is out of range (0..=65535)",
                            rs.address, rs.weight
                        ),
                    );
                }
                if rs.port.is_none() && service_port.is_some() && method == LvsMethod::NAT {
                    self.error(
                        &[&rs_base()],
                        rs.address.to_string(),
                        format!(
                            "real_server {} has no port, and NAT to a port-based service needs one",
                            rs.address
                        ),
                    )
                    .hint(format!("write `real_server {} PORT`", rs.address));
                }
                for (k, checker) in rs.checkers.iter().enumerate() {
                    let paths = || {
                        let rs_base = rs_base();
                        [format!("{rs_base}/checkers/{k}"), rs_base]
                    };
                    if needs_port(checker)
                        && checker.connect_port.is_none()
                        && rs.port.is_none()
                        && service_port.is_none()
                    {
                        self.error(
                            &paths().each_ref().map(String::as_str),
                            format!("{:?}", checker.kind),
                            format!(
                                "{:?} for real_server {} has no port to connect to",
                                checker.kind, rs.address
                            ),
                        )
                        .hint("add `connect_port`, or a port to the real_server");
                    }
                    if matches!(checker.kind, CheckerKind::HTTP_GET | CheckerKind::SSL_GET)
                        && checker.url.is_empty()
                    {
                        self.error(
                            &paths().each_ref().map(String::as_str),
                            format!("{:?}", checker.kind),
                            format!(
                                "{:?} for real_server {} has no `url` block",
                                checker.kind, rs.address
                            ),
                        );
                    }
                    if checker.kind == CheckerKind::MISC_CHECK && checker.misc_path.is_none() {
                        self.error(
                            &paths().each_ref().map(String::as_str),
                            "MISC_CHECK",
                            format!(
                                "MISC_CHECK for real_server {} has no `misc_path`",
                                rs.address
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// A route or rule to check: where it is, its problems, its JSON form (for the
/// offending text) and the track_group it names.
struct CheckedLine {
    base: String,
    /// `static_routes`, `virtual_rules`, …, named in messages as the keepalived reader does.
    block: String,
    problems: Vec<Problem>,
    value: serde_json::Value,
    track_group: Option<String>,
}

/// The lines of one block (`static_routes` at the top, `virtual_rules` in an instance…).
fn checked_lines<T: IpLine + serde::Serialize>(
    out: &mut Vec<CheckedLine>,
    base: &str,
    block: &str,
    lines: &[T],
) {
    for (i, line) in lines.iter().enumerate() {
        out.push(CheckedLine {
            base: format!("{base}/{block}/{i}"),
            block: block.to_string(),
            problems: line.problems(block),
            value: serde_json::to_value(line).unwrap_or_default(),
            track_group: line.track_group().map(str::to_string),
        });
    }
}

/// Checkers that open a connection to a port.
fn needs_port(checker: &Checker) -> bool {
    matches!(
        checker.kind,
        CheckerKind::TCP_CHECK
            | CheckerKind::HTTP_GET
            | CheckerKind::SSL_GET
            | CheckerKind::SMTP_CHECK
            | CheckerKind::UDP_CHECK
    )
}
