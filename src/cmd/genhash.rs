//! `lvsd genhash`: the MD5 digest of a URL's body, for a `digest` line of
//! HTTP_GET/SSL_GET — keepalived's genhash(1), with its options.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use checks::probe::http::{get, hex, Request};
use checks::spec::{Endpoint, HttpProtocol, TlsOptions};
use clap::Args;

/// `lvsd genhash` arguments (genhash's short and long options).
#[derive(Debug, Args)]
pub struct GenhashArgs {
    /// Remote server address (IP or host name).
    #[arg(short = 's', long = "server")]
    pub server: String,
    /// Remote server port (default 80, or 443 with --use-ssl).
    #[arg(short = 'p', long = "port")]
    pub port: Option<u16>,
    /// Path of the page to digest.
    #[arg(short = 'u', long = "url", default_value = "/")]
    pub url: String,
    /// Use SSL (TLS; the certificate is not verified, as in keepalived).
    #[arg(short = 'S', long = "use-ssl")]
    pub use_ssl: bool,
    /// Send the virtual host as SNI during the TLS handshake (see -V).
    #[arg(short = 'I', long = "use-sni")]
    pub use_sni: bool,
    /// Virtual host sent in the Host header.
    #[arg(short = 'V', long = "use-virtualhost")]
    pub virtualhost: Option<String>,
    /// HTTP protocol: 1.0, 1.0c (1.0 with "Connection: close") or 1.1.
    #[arg(short = 'P', long = "protocol", default_value = "1.0", value_parser = parse_protocol)]
    pub protocol: HttpProtocol,
    /// Timeout of the whole request in seconds.
    #[arg(short = 't', long = "timeout", default_value_t = 5)]
    pub timeout: u64,
    /// Firewall mark set on the socket (SO_MARK).
    #[arg(short = 'm', long = "fwmark")]
    pub fwmark: Option<u32>,
    /// Also print the status and body length.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

fn parse_protocol(s: &str) -> Result<HttpProtocol, String> {
    match s {
        "1.0" => Ok(HttpProtocol::Http10),
        "1.0c" | "1.0C" => Ok(HttpProtocol::Http10Close),
        "1.1" => Ok(HttpProtocol::Http11),
        other => Err(format!(
            "unknown HTTP protocol {other:?} (1.0, 1.0c or 1.1)"
        )),
    }
}

/// Resolves, fetches and prints the digest; exit 1 if the page cannot be
/// fetched (keepalived's genhash exits 0 even then).
pub fn run(args: GenhashArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("genhash: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(genhash(args))
}

async fn genhash(args: GenhashArgs) -> ExitCode {
    let port = args.port.unwrap_or(if args.use_ssl { 443 } else { 80 });
    let target: SocketAddr = match tokio::net::lookup_host((args.server.as_str(), port)).await {
        Ok(mut addrs) => match addrs.next() {
            Some(a) => a,
            None => {
                eprintln!("genhash: {} has no address", args.server);
                return ExitCode::FAILURE;
            }
        },
        Err(e) => {
            eprintln!("genhash: cannot resolve {}: {e}", args.server);
            return ExitCode::FAILURE;
        }
    };
    let mut endpoint = Endpoint::to(target);
    endpoint.fwmark = args.fwmark;
    let tls = TlsOptions {
        enable_sni: args.use_sni,
        ca_file: None,
    };
    let request = Request {
        path: &args.url,
        host: args.virtualhost.as_deref(),
        protocol: args.protocol,
        tls: args.use_ssl.then_some(&tls),
    };
    match get(&request, &endpoint, Duration::from_secs(args.timeout)).await {
        Ok(response) => {
            if args.verbose {
                println!("Server: {target}");
                println!("URL: {}", args.url);
                println!("Status: {}", response.status);
                println!("Body length: {}", response.body_len);
                println!("MD5SUM = {}", hex(&response.digest));
            } else {
                println!("{}", hex(&response.digest));
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("genhash: {target}{}: {failure}", args.url);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn accepts_keepalived_genhash_options() {
        let cli = Cli::try_parse_from([
            "lvsd",
            "genhash",
            "-S",
            "-I",
            "-s",
            "10.0.0.1",
            "-p",
            "8443",
            "-u",
            "/x",
            "-V",
            "www.example.org",
            "-P",
            "1.0c",
            "-t",
            "2",
            "-m",
            "7",
            "-v",
        ])
        .unwrap();
        let Some(Command::Genhash(args)) = cli.command else {
            panic!("not genhash");
        };
        assert!(args.use_ssl && args.use_sni && args.verbose);
        assert_eq!((args.server.as_str(), args.port), ("10.0.0.1", Some(8443)));
        assert_eq!(args.url, "/x");
        assert_eq!(args.virtualhost.as_deref(), Some("www.example.org"));
        assert_eq!(args.protocol, HttpProtocol::Http10Close);
        assert_eq!((args.timeout, args.fwmark), (2, Some(7)));
        let defaults = Cli::try_parse_from(["lvsd", "genhash", "--server", "h"]).unwrap();
        let Some(Command::Genhash(args)) = defaults.command else {
            panic!("not genhash");
        };
        assert_eq!(
            (args.url.as_str(), args.protocol, args.timeout),
            ("/", HttpProtocol::Http10, 5)
        );
        assert!(Cli::try_parse_from(["lvsd", "genhash", "-s", "h", "-P", "2"]).is_err());
    }
}
