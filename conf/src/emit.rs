//! Model → keepalived.conf text, driven by [`crate::schema`] (the inverse of [`crate::parse`]).
//!
//! Every field is written, defaults included, so the output is the effective
//! configuration; reading it back gives the same model.

use std::fmt::Write;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::model::Config;
use crate::schema::{Block, Entry, Header, Kind, TOP};

/// Writes the model as keepalived.conf text.
pub fn to_keepalived(config: &Config) -> String {
    let mut out = String::new();
    if let Ok(Value::Object(root)) = serde_json::to_value(config) {
        body(&mut out, &TOP, &root, 0);
    }
    out
}

/// A word as keepalived reads it: quoted when it holds blanks or special characters,
/// or when at the start of a line it would read as a conditional (`@id`) or an `include`.
pub fn quote(text: &str) -> String {
    if text.is_empty()
        || text.starts_with('@')
        || text == "include"
        || text
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '#' | '!' | '{' | '}' | '"' | '$'))
    {
        format!("\"{text}\"")
    } else {
        text.to_string()
    }
}

/// Seconds as keepalived's `<TIMER>`: an integer, or a decimal with microseconds.
pub fn seconds(d: Duration) -> String {
    if d.subsec_micros() == 0 {
        d.as_secs().to_string()
    } else {
        let text = format!("{}.{:06}", d.as_secs(), d.subsec_micros());
        text.trim_end_matches('0').to_string()
    }
}

fn duration_of(value: &Value) -> Option<Duration> {
    value
        .as_str()
        .and_then(|s| humantime::parse_duration(s).ok())
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        other => other.to_string(),
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("    ");
    }
}

fn body(out: &mut String, block: &Block, obj: &Map<String, Value>, depth: usize) {
    let mut checkers_written = false;
    for key in block.keys {
        let Some(value) = obj.get(key.field) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        match key.kind {
            Kind::Alias(_) | Kind::Other => {}
            Kind::Flag => {
                if value == &Value::Bool(true) {
                    indent(out, depth);
                    let _ = writeln!(out, "{}", key.name);
                }
            }
            Kind::Secs | Kind::SecsOr(_) => {
                if let Some(d) = duration_of(value) {
                    indent(out, depth);
                    let _ = writeln!(out, "{} {}", key.name, seconds(d));
                }
            }
            Kind::Words => {
                let words: Vec<String> = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(scalar_text)
                    .collect();
                if !words.is_empty() {
                    indent(out, depth);
                    let _ = writeln!(out, "{} {}", key.name, words.join(" "));
                }
            }
            Kind::OptName => {
                indent(out, depth);
                match value.as_str() {
                    Some("") | None => {
                        let _ = writeln!(out, "{}", key.name);
                    }
                    Some(name) => {
                        let _ = writeln!(out, "{} {}", key.name, quote(name));
                    }
                }
            }
            Kind::Endpoint => {
                indent(out, depth);
                let _ = write!(out, "{}", key.name);
                for part in ["address", "port"] {
                    if let Some(v) = value.get(part) {
                        let _ = write!(out, " {}", scalar_text(v));
                    }
                }
                out.push('\n');
            }
            Kind::Block(child) => {
                if let Value::Object(child_obj) = value {
                    open(out, key.name, "", depth);
                    body(out, child, child_obj, depth + 1);
                    close(out, depth);
                }
            }
            Kind::Checker(_) => {
                // Every checker keyword fills the one `checkers` list: write it once, in
                // its own order (a real server's checkers may mix kinds in any order).
                if checkers_written {
                    continue;
                }
                checkers_written = true;
                for item in value.as_array().into_iter().flatten() {
                    let Value::Object(item) = item else { continue };
                    let kind = item.get("kind").and_then(Value::as_str);
                    let Some(child) = block.keys.iter().find_map(|k| match k.kind {
                        Kind::Checker(c) if Some(c.name) == kind => Some(c),
                        _ => None,
                    }) else {
                        continue;
                    };
                    open(out, child.name, "", depth);
                    body(out, child, item, depth + 1);
                    close(out, depth);
                }
            }
            Kind::Blocks(child) => {
                for item in value.as_array().into_iter().flatten() {
                    let Value::Object(item) = item else { continue };
                    open(out, key.name, &header(child.header, item), depth);
                    if child.header == Header::GroupList {
                        if let Some(Value::Array(members)) = item.get("members") {
                            for member in members {
                                indent(out, depth + 1);
                                let _ = writeln!(out, "{}", entry(Entry::GroupMember, member));
                            }
                        }
                    } else {
                        body(out, child, item, depth + 1);
                    }
                    close(out, depth);
                }
            }
            Kind::Lines(shape) => {
                let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
                if items.is_empty() {
                    continue;
                }
                open(out, key.name, "", depth);
                for item in items {
                    indent(out, depth + 1);
                    let _ = writeln!(out, "{}", entry(shape, item));
                }
                close(out, depth);
            }
            Kind::Str | Kind::Line | Kind::Int(..) | Kind::Ip | Kind::Enum(_) => {
                indent(out, depth);
                let _ = writeln!(out, "{} {}", key.name, scalar_text(value));
            }
        }
    }
    if let Some(Value::Object(other)) = obj.get("other") {
        for (name, words) in other {
            indent(out, depth);
            out.push_str(name);
            for word in words.as_array().into_iter().flatten() {
                out.push(' ');
                out.push_str(&scalar_text(word));
            }
            out.push('\n');
        }
    }
}

fn open(out: &mut String, name: &str, header: &str, depth: usize) {
    indent(out, depth);
    if header.is_empty() {
        let _ = writeln!(out, "{name} {{");
    } else {
        let _ = writeln!(out, "{name} {header} {{");
    }
}

fn close(out: &mut String, depth: usize) {
    indent(out, depth);
    out.push_str("}\n");
}

fn header(header: Header, item: &Map<String, Value>) -> String {
    let field = |name: &str| item.get(name).map(scalar_text);
    match header {
        Header::None => String::new(),
        Header::Name | Header::GroupList => field("name").unwrap_or_default(),
        Header::VirtualServer => match (field("fwmark"), field("group")) {
            (Some(mark), _) => format!("fwmark {mark}"),
            (None, Some(group)) => format!("group {group}"),
            _ => [field("address"), field("port")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        },
        Header::RealServer => [field("address"), field("port")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn entry(shape: Entry, item: &Value) -> String {
    match shape {
        Entry::Route => return typed::<crate::model::Route>(item),
        Entry::Rule => return typed::<crate::model::Rule>(item),
        _ => {}
    }
    let Value::Object(obj) = item else {
        return scalar_text(item);
    };
    let field = |name: &str| obj.get(name).map(scalar_text);
    match shape {
        Entry::Tracked => {
            let mut text = field("name").unwrap_or_default();
            if let Some(w) = field("weight") {
                let _ = write!(text, " weight {w}");
            }
            if obj.get("reverse") == Some(&Value::Bool(true)) {
                text.push_str(" reverse");
            }
            text
        }
        Entry::Address => {
            let mut text = field("address").unwrap_or_default();
            for option in ["brd", "dev", "scope", "label", "peer"] {
                if let Some(v) = field(option) {
                    let _ = write!(text, " {option} {v}");
                }
            }
            if obj.get("no_track") == Some(&Value::Bool(true)) {
                text.push_str(" no_track");
            }
            text
        }
        Entry::GroupMember => match field("fwmark") {
            Some(mark) => format!("fwmark {mark}"),
            None => {
                let mut text = field("address").unwrap_or_default();
                if let Some(last) = field("range_last") {
                    let _ = write!(text, "-{last}");
                }
                if let Some(port) = field("port") {
                    let _ = write!(text, " {port}");
                }
                text
            }
        },
        Entry::Word | Entry::Ip | Entry::Route | Entry::Rule => String::new(),
    }
}

/// A line written by its model type's `Display` (routes and rules).
fn typed<T: serde::de::DeserializeOwned + std::fmt::Display>(item: &Value) -> String {
    serde_json::from_value::<T>(item.clone()).map_or_else(|_| String::new(), |v| v.to_string())
}
