//! `lvsd ipvs …`: inspect and program the kernel IPVS table directly (no daemon).
//! Thin: all logic (netlink, formatting, parsing) is in `ipvs_sys`; name
//! lookups for listings without `-n` are done here, at the edge.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ipvs_sys::format::{self, ListMode, ListOptions, Names, Numeric, ServiceEntry};
use ipvs_sys::{Client, Family, Protocol, ServiceKey};

/// `lvsd ipvs` arguments.
#[derive(Debug, Args)]
pub struct IpvsArgs {
    #[command(subcommand)]
    pub action: IpvsAction,
}

/// `lvsd ipvs …` as a command line of its own: what `lvsd ipvs` parses to
/// when [`run_if_ipvs`] takes it, with the same usage lines, help and errors.
#[derive(Debug, clap::Parser)]
#[command(about = "Inspect and program the kernel IPVS table (like ipvsadm)")]
struct IpvsCli {
    #[command(subcommand)]
    action: IpvsAction,
}

/// Runs `lvsd ipvs …` when that is the command line (`ipvs` first), and
/// returns `None` otherwise. A listing is a short-lived process, run as
/// often as ipvsadm is; parsing only the `ipvs` arguments spares it building
/// every other subcommand's parser, about 20 ms of its start in the VM
/// (`lvsd ipvs info`: 52 ms against 74 ms, best of 25).
pub fn run_if_ipvs() -> Option<ExitCode> {
    use clap::{CommandFactory, FromArgMatches};
    let mut args = std::env::args_os();
    let argv0 = args.next()?;
    if args.next()? != "ipvs" {
        return None;
    }
    // clap names the program after argv[0]'s file name; so does this.
    let program = std::path::Path::new(&argv0)
        .file_name()
        .map_or_else(|| "lvsd".into(), |n| n.to_string_lossy().into_owned());
    let matches = IpvsCli::command()
        .bin_name(format!("{program} ipvs"))
        .get_matches_from(std::iter::once(argv0).chain(args));
    let cli = IpvsCli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    Some(run(IpvsArgs { action: cli.action }))
}

/// `lvsd ipvs` subcommands.
#[derive(Debug, Subcommand)]
pub enum IpvsAction {
    /// List the table like `ipvsadm -L`.
    List(ListArgs),
    /// Print the table as rules, like `ipvsadm -S -n`.
    Save,
    /// Apply rules read from stdin (ipvsadm -S format), like `ipvsadm -R`.
    Restore,
    /// Show connection timeouts, like `ipvsadm -L --timeout`, or set them.
    Timeout(TimeoutArgs),
    /// Show the running sync daemons, like `ipvsadm -L --daemon`.
    Daemon,
    /// Show the IPVS version and connection table size.
    Info,
}

/// `lvsd ipvs timeout` options.
#[derive(Debug, Args)]
pub struct TimeoutArgs {
    /// Set the TCP, TCP FIN and UDP timeouts in seconds, 0 leaving one
    /// unchanged (ipvsadm `--set tcp tcpfin udp`).
    #[arg(long, num_args = 3, value_names = ["TCP", "TCPFIN", "UDP"])]
    pub set: Option<Vec<u32>>,
}

/// `lvsd ipvs list` options (ipvsadm's names).
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Numeric output: no host and service names (ipvsadm `-n`).
    #[arg(short = 'n', long)]
    pub numeric: bool,
    /// Counters.
    #[arg(long, group = "mode")]
    pub stats: bool,
    /// Rates.
    #[arg(long, group = "mode")]
    pub rate: bool,
    /// Thresholds.
    #[arg(long, group = "mode")]
    pub thresholds: bool,
    /// Persistent connections.
    #[arg(long = "persistent-conn", group = "mode")]
    pub persistent_conn: bool,
    /// Tunnel information.
    #[arg(long = "tun-info", group = "mode")]
    pub tun_info: bool,
    /// Exact numbers.
    #[arg(long)]
    pub exact: bool,
    /// Do not sort.
    #[arg(long)]
    pub nosort: bool,
    /// Only this TCP service (ADDR:PORT).
    #[arg(short = 't', long = "tcp-service", group = "svc")]
    pub tcp: Option<String>,
    /// Only this UDP service (ADDR:PORT).
    #[arg(short = 'u', long = "udp-service", group = "svc")]
    pub udp: Option<String>,
    /// Only this SCTP service (ADDR:PORT).
    #[arg(long = "sctp-service", group = "svc")]
    pub sctp: Option<String>,
    /// Only this fwmark service.
    #[arg(short = 'f', long = "fwmark-service", group = "svc")]
    pub fwmark: Option<u32>,
    /// The fwmark service is IPv6.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// JSON output (schema: ipvs-sys/JSON.md).
    #[arg(long)]
    pub json: bool,
}

impl ListArgs {
    fn options(&self) -> ListOptions {
        let mode = if self.stats {
            ListMode::Stats
        } else if self.rate {
            ListMode::Rate
        } else if self.thresholds {
            ListMode::Thresholds
        } else if self.persistent_conn {
            ListMode::PersistentConn
        } else if self.tun_info {
            ListMode::TunInfo
        } else {
            ListMode::Default
        };
        ListOptions {
            mode,
            exact: self.exact,
            sort: !self.nosort,
        }
    }

    fn service_key(&self) -> Result<Option<ServiceKey>, String> {
        let addr = |protocol: Protocol, s: &str| -> Result<ServiceKey, String> {
            let line = format!("-D -t {s}");
            match ipvs_sys::rules::parse_line(&line)? {
                Some(ipvs_sys::Op::DelService(ServiceKey::Addr { addr, port, .. })) => {
                    Ok(ServiceKey::Addr {
                        protocol,
                        addr,
                        port,
                    })
                }
                _ => Err(format!("bad service address `{s}'")),
            }
        };
        Ok(match (&self.tcp, &self.udp, &self.sctp, self.fwmark) {
            (Some(s), _, _, _) => Some(addr(Protocol::Tcp, s)?),
            (_, Some(s), _, _) => Some(addr(Protocol::Udp, s)?),
            (_, _, Some(s), _) => Some(addr(Protocol::Sctp, s)?),
            (_, _, _, Some(mark)) => Some(ServiceKey::Fwmark {
                family: if self.ipv6 { Family::V6 } else { Family::V4 },
                mark,
            }),
            _ => None,
        })
    }
}

/// The system's names, as ipvsadm finds them: hosts through NSS
/// (getnameinfo with NI_NAMEREQD, which asks what gethostbyaddr asks: files,
/// then DNS), services from /etc/services (nsswitch's `services: files`),
/// the first entry of a port and protocol winning as in getservbyport.
#[derive(Debug, Default)]
struct SystemNames {
    hosts: RefCell<HashMap<IpAddr, Option<String>>>,
    services: OnceCell<HashMap<(u16, &'static str), String>>,
}

impl SystemNames {
    fn services(&self) -> &HashMap<(u16, &'static str), String> {
        self.services.get_or_init(|| {
            std::fs::read_to_string("/etc/services")
                .map(|text| parse_services(&text))
                .unwrap_or_default()
        })
    }
}

impl Names for SystemNames {
    fn host(&self, addr: &IpAddr) -> Option<String> {
        self.hosts
            .borrow_mut()
            .entry(*addr)
            .or_insert_with(|| dns_lookup::lookup_addr(addr).ok())
            .clone()
    }

    fn service(&self, port: u16, protocol: Protocol) -> Option<String> {
        let name = match protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        };
        self.services().get(&(port, name)).cloned()
    }
}

/// `/etc/services` lines: `name port/protocol [aliases] [# comment]`.
fn parse_services(text: &str) -> HashMap<(u16, &'static str), String> {
    let mut map = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let (Some(name), Some(port_proto)) = (words.next(), words.next()) else {
            continue;
        };
        let Some((port, proto)) = port_proto.split_once('/') else {
            continue;
        };
        let proto = match proto {
            "tcp" => "tcp",
            "udp" => "udp",
            "sctp" => "sctp",
            _ => continue,
        };
        if let Ok(port) = port.parse::<u16>() {
            map.entry((port, proto)).or_insert_with(|| name.to_string());
        }
    }
    map
}

fn table(client: &mut Client) -> Result<Vec<ServiceEntry>, ipvs_sys::Error> {
    client.table()
}

/// Text is written to stdout in pieces of about this size.
const WRITE_CHUNK: usize = 64 * 1024;

/// `ipvsadm -L` of the whole table, written as the table is read, as
/// ipvsadm does: the services (sorted), then each one's destinations dumped,
/// formatted and dropped in turn, the text going out every [`WRITE_CHUNK`]
/// bytes. A 1,000 × 10 table never sits in memory whole (2.5 MB of
/// destinations and text otherwise, every page of it a fault to take, which
/// the VM's emulated CPU makes dear).
fn list_table(client: &mut Client, opts: &ListOptions, names: &dyn Names) -> Result<(), String> {
    let mut services = client.services().map_err(|e| e.to_string())?;
    if opts.sort {
        format::sort_services(&mut services);
    }
    let info = client.info().map_err(|e| e.to_string())?;
    let mut out = String::with_capacity(WRITE_CHUNK + 4096);
    format::list_head(&mut out, &info, opts);
    let mut stdout = std::io::stdout().lock();
    client
        .dests_each(&services, |s, dests| {
            format::list_service(&mut out, s, dests, opts, names);
            if out.len() >= WRITE_CHUNK {
                stdout.write_all(out.as_bytes())?;
                out.clear();
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| e.to_string())
}

fn run_inner(args: IpvsArgs) -> Result<(), String> {
    let mut client = Client::new().map_err(|e| e.to_string())?;
    let text = match args.action {
        IpvsAction::List(l) if !l.json && l.service_key()?.is_none() => {
            let system = SystemNames::default();
            let names: &dyn Names = if l.numeric { &Numeric } else { &system };
            return list_table(&mut client, &l.options(), names);
        }
        IpvsAction::List(l) => {
            let opts = l.options();
            let mut entries = match l.service_key()? {
                Some(key) => {
                    let s = client.service(&key).map_err(|e| e.to_string())?;
                    let d = client.dests(&key).map_err(|e| e.to_string())?;
                    vec![(s, d)]
                }
                None => table(&mut client).map_err(|e| e.to_string())?,
            };
            if l.json {
                if opts.sort {
                    format::sort_table(&mut entries);
                }
                let info = client.info().map_err(|e| e.to_string())?;
                let mut s = ipvs_sys::json::table(Some(&info), &entries).to_string();
                s.push('\n');
                s
            } else {
                let system = SystemNames::default();
                let names: &dyn Names = if l.numeric { &Numeric } else { &system };
                // One service (the whole table is list_table's).
                entries
                    .first()
                    .map(|e| format::list_one_named(e, &opts, names))
                    .unwrap_or_default()
            }
        }
        IpvsAction::Save => format::save(&table(&mut client).map_err(|e| e.to_string())?),
        IpvsAction::Restore => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map_err(|e| e.to_string())?;
            let ops = ipvs_sys::rules::parse(&input).map_err(|e| e.to_string())?;
            client.apply(&ops).map_err(|e| {
                e.failures
                    .iter()
                    .map(|(i, err)| format!("op #{}: {err}", i + 1))
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
            String::new()
        }
        IpvsAction::Timeout(TimeoutArgs { set: Some(values) }) => {
            let [tcp, tcp_fin, udp] = values[..] else {
                return Err("--set takes three values: TCP TCPFIN UDP".into());
            };
            let t = ipvs_sys::Timeouts { tcp, tcp_fin, udp };
            client.set_timeouts(&t).map_err(|e| e.to_string())?;
            String::new()
        }
        IpvsAction::Timeout(TimeoutArgs { set: None }) => {
            format::timeouts(&client.timeouts().map_err(|e| e.to_string())?)
        }
        IpvsAction::Daemon => format::daemons(&client.daemons().map_err(|e| e.to_string())?),
        IpvsAction::Info => {
            let i = client.info().map_err(|e| e.to_string())?;
            let (a, b, c) = i.version_triple();
            format!(
                "IP Virtual Server version {a}.{b}.{c} (size={})\n",
                i.conn_tab_size
            )
        }
    };
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())
}

/// Runs `lvsd ipvs …`.
pub fn run(args: IpvsArgs) -> ExitCode {
    match run_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lvsd ipvs: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `lvsd ipvs …` taken by run_if_ipvs parses, helps and fails exactly
    /// as the same words through the whole `lvsd` command line.
    #[test]
    fn own_ipvs_command_line_is_the_full_ones() {
        use clap::{CommandFactory, Parser};
        let lines: [&[&str]; 5] = [
            &["list", "-n", "--stats", "--exact"],
            &["list", "-t", "10.0.0.1:80", "--json"],
            &["timeout", "--set", "1", "2", "3"],
            &["restore"],
            &["list", "-f", "3", "-6", "--nosort"],
        ];
        for words in lines {
            let full = crate::cli::Cli::try_parse_from(["lvsd", "ipvs"].iter().chain(words))
                .expect("full command line");
            let Some(crate::cli::Command::Ipvs(full)) = full.command else {
                panic!("not ipvs: {words:?}");
            };
            let own = IpvsCli::try_parse_from(["lvsd ipvs"].iter().chain(words))
                .expect("own command line");
            assert_eq!(format!("{:?}", own.action), format!("{:?}", full.action));
        }
        for words in [
            &["list", "--bogus"][..],
            &["timeout", "--set", "1"],
            &["bogus"],
        ] {
            let full = crate::cli::Cli::try_parse_from(["lvsd", "ipvs"].iter().chain(words))
                .expect_err("full command line refuses");
            let own = IpvsCli::command()
                .bin_name("lvsd ipvs")
                .try_get_matches_from(["lvsd"].iter().chain(words))
                .expect_err("own command line refuses");
            assert_eq!(own.to_string(), full.to_string(), "{words:?}");
        }
        let mut full = crate::cli::Cli::command();
        full.build();
        let full_help = full
            .find_subcommand_mut("ipvs")
            .expect("ipvs subcommand")
            .render_long_help()
            .to_string();
        let own_help = IpvsCli::command()
            .bin_name("lvsd ipvs")
            .render_long_help()
            .to_string();
        assert_eq!(own_help, full_help);
    }

    #[test]
    fn services_file_first_entry_wins_and_comments_are_ignored() {
        let map = parse_services(
            "# comment\nhttp\t80/tcp\twww # WWW\nhttp-alt 80/tcp\ndomain 53/udp\namqp 5672/sctp\nbad 99999/tcp\nddp 2/ddp\n",
        );
        assert_eq!(map.get(&(80, "tcp")).map(String::as_str), Some("http"));
        assert_eq!(map.get(&(53, "udp")).map(String::as_str), Some("domain"));
        assert_eq!(map.get(&(5672, "sctp")).map(String::as_str), Some("amqp"));
        assert_eq!(map.len(), 3);
    }
}
