//! FILE_CHECK: reads the `track_file` value. keepalived: the value times
//! `weight` (negated with `reverse`) is the weight change; with no weight
//! a non-zero value means down, and a result at or below -254 means down.

use crate::outcome::{Failure, Outcome};
use crate::spec::FileCheck;

/// Lowest effective value that keeps the server up.
const LOWEST_UP: i64 = -253;

/// Interprets the file's value.
pub fn interpret(check: &FileCheck, value: i64) -> Outcome {
    if check.weight == 0 {
        return if value == 0 {
            Outcome::PASS
        } else {
            Outcome::Fail(Failure::FileValue(value))
        };
    }
    let mut effective = value.saturating_mul(i64::from(check.weight));
    if check.reverse {
        effective = -effective;
    }
    if effective < LOWEST_UP {
        return Outcome::Fail(Failure::FileValue(value));
    }
    Outcome::Pass {
        dynamic_weight: check
            .dynamic
            .then(|| i32::try_from(effective).unwrap_or(i32::MAX)),
    }
}

pub(crate) async fn check(check: &FileCheck) -> Outcome {
    let text = match tokio::fs::read_to_string(&check.path).await {
        Ok(t) => t,
        Err(e) => return Outcome::Fail(Failure::FileUnreadable(e.to_string())),
    };
    // keepalived reads the leading integer; an empty file counts as 0.
    let word = text.split_whitespace().next().unwrap_or("0");
    match word.parse::<i64>() {
        Ok(value) => interpret(check, value),
        Err(_) => Outcome::Fail(Failure::FileUnreadable(format!("not a number: {word:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(weight: i32, reverse: bool, dynamic: bool) -> FileCheck {
        FileCheck {
            path: "/nonexistent".into(),
            weight,
            reverse,
            dynamic,
        }
    }

    #[test]
    fn values() {
        assert_eq!(interpret(&spec(0, false, false), 0), Outcome::PASS);
        assert_eq!(
            interpret(&spec(0, false, false), 3),
            Outcome::Fail(Failure::FileValue(3))
        );
        assert_eq!(
            interpret(&spec(2, false, true), 5),
            Outcome::Pass {
                dynamic_weight: Some(10)
            }
        );
        assert_eq!(
            interpret(&spec(1, true, false), 254),
            Outcome::Fail(Failure::FileValue(254))
        );
    }
}
