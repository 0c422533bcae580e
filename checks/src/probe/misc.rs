//! MISC_CHECK: runs `misc_path` (split into program and arguments like
//! keepalived does, without a shell) in its own process group, as
//! `user`/`group` when set. When `misc_timeout` (default `delay_loop`)
//! passes, the whole process group is killed, so children of a hanging
//! script die too.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{Group, Pid, User};

use crate::outcome::{Failure, Outcome, Phase};
use crate::spec::MiscCheck;

/// Splits a command line into words: whitespace separates, double or single
/// quotes group, a backslash escapes the next character.
pub fn split_command_line(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Maps an exit status to keepalived's meaning.
pub fn interpret_exit(code: i32, dynamic: bool) -> Outcome {
    match code {
        0 => Outcome::PASS,
        2..=255 if dynamic => Outcome::Pass {
            dynamic_weight: Some(code - 2),
        },
        n => Outcome::Fail(Failure::ScriptExit(n)),
    }
}

pub(crate) async fn check(check: &MiscCheck, delay_loop: Duration) -> Outcome {
    let words = split_command_line(&check.command);
    let Some((program, args)) = words.split_first() else {
        return Outcome::Fail(Failure::Invalid("empty misc_path".into()));
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(user) = &check.user {
        let Ok(Some(entry)) = User::from_name(user) else {
            return Outcome::Fail(Failure::Invalid(format!("unknown user {user}")));
        };
        let mut gid = entry.gid;
        if let Some(group) = &check.group {
            let Ok(Some(g)) = Group::from_name(group) else {
                return Outcome::Fail(Failure::Invalid(format!("unknown group {group}")));
            };
            gid = g.gid;
        }
        command.uid(entry.uid.as_raw()).gid(gid.as_raw());
    }
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => return Outcome::Fail(Failure::ScriptSpawn(e.to_string())),
    };
    let timeout = check.timeout.unwrap_or(delay_loop);
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => {
            use std::os::unix::process::ExitStatusExt;
            match (status.code(), status.signal()) {
                (Some(code), _) => interpret_exit(code, check.dynamic),
                (None, Some(sig)) => Outcome::Fail(Failure::ScriptSignal(sig)),
                (None, None) => Outcome::Fail(Failure::ScriptExit(-1)),
            }
        }
        Ok(Err(e)) => Outcome::Fail(Failure::ScriptSpawn(e.to_string())),
        Err(_) => {
            if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                // The child leads its own group (process_group(0)).
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let _ = child.wait().await;
            Outcome::Fail(Failure::Timeout(Phase::Script))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_words() {
        assert_eq!(
            split_command_line(r#"/bin/check "a b" 'c d' e\ f  g"#),
            ["/bin/check", "a b", "c d", "e f", "g"]
        );
        assert_eq!(split_command_line(r#"x """#), ["x", ""]);
        assert!(split_command_line("   ").is_empty());
    }

    #[test]
    fn exit_status_meaning() {
        assert_eq!(interpret_exit(0, false), Outcome::PASS);
        assert_eq!(
            interpret_exit(1, true),
            Outcome::Fail(Failure::ScriptExit(1))
        );
        assert_eq!(
            interpret_exit(7, false),
            Outcome::Fail(Failure::ScriptExit(7))
        );
        assert_eq!(
            interpret_exit(12, true),
            Outcome::Pass {
                dynamic_weight: Some(10)
            }
        );
    }
}
