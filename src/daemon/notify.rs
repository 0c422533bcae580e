//! The notify queue: scripts run one after another, in the order they were
//! submitted, each through `/bin/sh -c` like keepalived's notify commands.
//! A script that outlives its timeout is killed with its whole process
//! group, so one hanging script cannot hold the queue forever.
//! (keepalived starts notify scripts without waiting, so two of them can
//! run out of order; its issues #996 and #1991.)

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

/// How long one notify script may run before it is killed.
pub const DEFAULT_NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

enum Job {
    Run { script: String, reason: String },
    Drained(oneshot::Sender<()>),
}

/// A handle to submit scripts to the queue's task.
#[derive(Debug, Clone)]
pub struct Queue {
    tx: mpsc::UnboundedSender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Run { script, .. } => write!(f, "Run({script:?})"),
            Job::Drained(_) => write!(f, "Drained"),
        }
    }
}

/// What happened to one script, for tests and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    /// The command line.
    pub script: String,
    /// Exit status, or the signal that ended it, or a spawn error.
    pub outcome: String,
}

impl Queue {
    /// Starts the queue's task; `timeout` bounds each script. Each finished
    /// script is also reported on the returned receiver (ignore it if not
    /// needed; it never blocks the queue).
    pub fn start(timeout: Duration) -> (Queue, mpsc::UnboundedReceiver<Ran>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                match job {
                    Job::Drained(ack) => {
                        let _ = ack.send(());
                    }
                    Job::Run { script, reason } => {
                        let outcome = run_one(&script, timeout).await;
                        tracing::info!(%script, %reason, %outcome, "notify");
                        let _ = done_tx.send(Ran { script, outcome });
                    }
                }
            }
        });
        (Queue { tx }, done_rx)
    }

    /// Queues `script`; `reason` is for the log.
    pub fn submit(&self, script: String, reason: String) {
        if self.tx.send(Job::Run { script, reason }).is_err() {
            tracing::error!("notify queue is gone");
        }
    }

    /// Waits until every script submitted so far has finished.
    pub async fn drain(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Job::Drained(ack)).is_ok() {
            let _ = done.await;
        }
    }
}

async fn run_one(script: &str, timeout: Duration) -> String {
    let mut child = match Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return format!("cannot start: {e}"),
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit {code}"),
            (None, Some(sig)) => format!("signal {sig}"),
            _ => "ended".into(),
        },
        Ok(Err(e)) => format!("wait failed: {e}"),
        Err(_) => {
            if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                // The script's whole process group (it is its leader).
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = child.wait().await;
            format!("killed after {timeout:?}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn scripts_run_in_submission_order_even_when_the_first_is_slower() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let (q, _) = Queue::start(Duration::from_secs(10));
        let l = log.display();
        q.submit(format!("sleep 0.3; echo master >> {l}"), "t".into());
        q.submit(format!("echo backup >> {l}"), "t".into());
        q.submit(format!("echo fault >> {l}"), "t".into());
        q.drain().await;
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "master\nbackup\nfault\n"
        );
    }

    #[tokio::test]
    async fn a_hanging_script_is_killed_with_its_children_and_the_queue_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("child.pid");
        let (q, mut done) = Queue::start(Duration::from_millis(300));
        q.submit(
            format!("sleep 60 & echo $! > {}; wait", pidfile.display()),
            "t".into(),
        );
        q.submit("exit 3".into(), "t".into());
        let first = done.recv().await.unwrap();
        assert_eq!(first.outcome, "killed after 300ms");
        assert_eq!(done.recv().await.unwrap().outcome, "exit 3");
        // The script's background child died with the group.
        let child: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), None).is_ok()
            && !std::fs::read_to_string(format!("/proc/{child}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true);
        assert!(!alive, "child {child} survived");
    }
}
