//! Tracked things that feed the state machine from outside: `vrrp_script`
//! (run every `interval`, killed after `timeout`, rise/fall thresholds) and
//! `track_file`. Each runs in its own task and only sends events, so a
//! hanging script never delays adverts.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::sync::mpsc;

use super::machine::Event;

/// One `vrrp_script` block, with keepalived's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptConfig {
    pub name: String,
    /// The command line (split on whitespace, double quotes group; no shell).
    pub command: String,
    /// Default 1 s.
    pub interval: Duration,
    /// Default: the interval (keepalived).
    pub timeout: Option<Duration>,
    /// Consecutive successes to become OK; default 1.
    pub rise: u32,
    /// Consecutive failures to become failed; default 1.
    pub fall: u32,
    /// Run as this user (name); default the daemon's user.
    pub user: Option<String>,
}

impl ScriptConfig {
    pub fn new(name: &str, command: &str) -> Self {
        ScriptConfig {
            name: name.to_string(),
            command: command.to_string(),
            interval: Duration::from_secs(1),
            timeout: None,
            rise: 1,
            fall: 1,
            user: None,
        }
    }
}

/// Rise/fall hysteresis of a check: the status flips after `rise`
/// consecutive successes or `fall` consecutive failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    ok: bool,
    streak: u32,
}

impl RiseFall {
    /// Starts OK (the machine's tracked items start up as well).
    pub fn new(rise: u32, fall: u32) -> Self {
        RiseFall {
            rise: rise.max(1),
            fall: fall.max(1),
            ok: true,
            streak: 0,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.ok
    }

    /// Records one result; returns the new status when it flips.
    pub fn record(&mut self, success: bool) -> Option<bool> {
        if success == self.ok {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let needed = if success { self.rise } else { self.fall };
        if self.streak >= needed {
            self.ok = success;
            self.streak = 0;
            Some(success)
        } else {
            None
        }
    }
}

/// Splits a command line on whitespace; double quotes group words.
pub fn split_command(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut current));
                    any = false;
                }
            }
            c => {
                current.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(current);
    }
    out
}

/// Runs the script once: success is exit status 0 within the timeout. A
/// script still running at the timeout is killed (its whole process group)
/// and counts as a failure, as in keepalived.
pub async fn run_once(config: &ScriptConfig) -> bool {
    let argv = split_command(&config.command);
    let Some((program, args)) = argv.split_first() else {
        return false;
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(user) = &config.user {
        match nix::unistd::User::from_name(user) {
            Ok(Some(u)) => {
                command.uid(u.uid.as_raw()).gid(u.gid.as_raw());
            }
            _ => {
                tracing::warn!("vrrp_script {}: unknown user {user}", config.name);
                return false;
            }
        }
    }
    let Ok(mut child) = command.spawn() else {
        return false;
    };
    let timeout = config.timeout.unwrap_or(config.interval);
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => status.success(),
        Ok(Err(_)) => false,
        Err(_elapsed) => {
            if let Some(pid) = child.id() {
                let group = nix::unistd::Pid::from_raw(-(pid as i32));
                let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
            }
            let _ = child.kill().await;
            false
        }
    }
}

/// Runs a `vrrp_script` forever, sending [`Event::Script`] on each flip.
pub async fn script_task(config: ScriptConfig, events: mpsc::UnboundedSender<Event>) {
    let mut status = RiseFall::new(config.rise, config.fall);
    let mut ticker = tokio::time::interval(config.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Some(ok) = status.record(run_once(&config).await) {
            let event = Event::Script {
                name: config.name.clone(),
                ok,
            };
            if events.send(event).is_err() {
                return;
            }
        }
    }
}

/// Reads a `track_file`: an integer, a missing or unreadable file is 0 (keepalived).
pub fn read_track_file(path: &std::path::Path) -> i64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|w| w.parse().ok()))
        .unwrap_or(0)
}

/// Watches a `track_file` (polled every `period`), sending [`Event::File`] on change.
pub async fn file_task(path: PathBuf, period: Duration, events: mpsc::UnboundedSender<Event>) {
    let mut last = None;
    let mut ticker = tokio::time::interval(period);
    loop {
        ticker.tick().await;
        let value = read_track_file(&path);
        if last != Some(value) {
            last = Some(value);
            if events
                .send(Event::File {
                    path: path.clone(),
                    value,
                })
                .is_err()
            {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rise_and_fall_thresholds() {
        let mut s = RiseFall::new(2, 3);
        assert_eq!(s.record(false), None);
        assert_eq!(s.record(false), None);
        assert_eq!(s.record(true), None); // streak broken
        assert_eq!(s.record(false), None);
        assert_eq!(s.record(false), None);
        assert_eq!(s.record(false), Some(false));
        assert_eq!(s.record(true), None);
        assert_eq!(s.record(true), Some(true));
        assert!(s.is_ok());
    }

    #[test]
    fn splitting() {
        assert_eq!(split_command("  a \"b c\"  d"), vec!["a", "b c", "d"]);
    }

    #[tokio::test]
    async fn a_hanging_script_is_killed_at_the_timeout_and_fails() {
        let mut config = ScriptConfig::new("hang", "sleep 30");
        config.timeout = Some(Duration::from_millis(200));
        let start = std::time::Instant::now();
        assert!(!run_once(&config).await);
        assert!(start.elapsed() < Duration::from_secs(2));
        assert!(run_once(&ScriptConfig::new("ok", "true")).await);
        assert!(!run_once(&ScriptConfig::new("ko", "false")).await);
    }
}
