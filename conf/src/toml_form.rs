//! The TOML form: read with positions, so that every diagnostic names `file:line:col`.
//!
//! The text is parsed once into `toml`'s spanned document ([`DeTable`]). The model is
//! deserialized from it; a value the model rejects (wrong type, out of range, unknown
//! key) is reported at its position and its entry is removed, and the rest is read
//! again, so one mistake costs one entry, as in the keepalived.conf reader. The key
//! positions are then put in a [`SpanMap`] under the same JSON pointers the semantic
//! checks use (`/vrrp_instances/0/priority`), since TOML and JSON share the model's
//! field names.

use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;
use toml::de::{DeArray, DeTable, DeValue, Deserializer};
use toml::Spanned;

use crate::diag::{Diagnostic, Span};
use crate::model::Config;
use crate::parse::{Pointer, SpanMap};

/// How many rejected entries are reported before giving up on a file.
const MAX_REJECTED: usize = 100;

/// Byte offsets → 1-based line and character column.
struct Lines<'a> {
    text: &'a str,
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
    file: Arc<str>,
}

impl<'a> Lines<'a> {
    fn new(file: &str, text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines {
            text,
            starts,
            file: Arc::from(file),
        }
    }

    fn span(&self, offset: usize) -> Span {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let col = self
            .text
            .get(start..offset.max(start))
            .map_or(0, |t| t.chars().count());
        Span {
            file: self.file.clone(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col + 1).unwrap_or(u32::MAX),
        }
    }
}

/// The model read from TOML text, the positions of its keys, and what was rejected.
pub fn read(name: &str, text: &str) -> (Config, SpanMap, Vec<Diagnostic>) {
    let lines = Lines::new(name, text);
    let mut diagnostics = Vec::new();
    let mut document = match DeTable::parse(text) {
        Ok(document) => document,
        Err(e) => {
            diagnostics.push(error_at(&lines, &e));
            return (Config::default(), SpanMap::new(), diagnostics);
        }
    };
    let config = loop {
        match Config::deserialize(Deserializer::from(document.clone())) {
            Ok(config) => break config,
            Err(e) => {
                // Removing a whole `[[table]]` can take two rounds (its items,
                // then its key), which report the same thing twice.
                let d = error_at(&lines, &e);
                if diagnostics.last() != Some(&d) {
                    diagnostics.push(d);
                }
                let removed = e
                    .span()
                    .is_some_and(|span| remove_entry_at(document.get_mut(), span.start));
                if !removed || diagnostics.len() >= MAX_REJECTED {
                    break Config::default();
                }
            }
        }
    };
    let mut spans = SpanMap::new();
    positions(document.get_ref(), Pointer::ROOT, &lines, &mut spans);
    (config, spans, diagnostics)
}

/// A deserialization error at its position, with the text there.
fn error_at(lines: &Lines<'_>, e: &toml::de::Error) -> Diagnostic {
    let range = e.span().unwrap_or(0..0);
    let span = if e.span().is_some() {
        lines.span(range.start)
    } else {
        Span::file_only(&lines.file)
    };
    let message = e.message().trim_end();
    // serde lists every field; name the nearest one instead, as for keepalived.conf.
    if let Some((field, expected)) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
    {
        let candidates = expected.split('`').skip(1).step_by(2);
        // A warning, as an unknown keyword in keepalived.conf is: the rest loads.
        let mut d = Diagnostic::warning(&span, field, format!("unknown key `{field}`; ignored"));
        if let Some(near) = crate::diag::nearest(field, candidates) {
            d = d.hint(format!("did you mean `{near}`?"));
        }
        return d;
    }
    Diagnostic::error(&span, lines.text.get(range).unwrap_or(""), message)
}

fn contains(span: Range<usize>, offset: usize) -> bool {
    span.contains(&offset) || span.start == offset
}

/// Removes the innermost table entry whose key or value holds `offset`; false when none
/// does. Every table and array is searched: the span of an array of tables (`[[a]]`)
/// need not cover its later tables.
fn remove_entry_at(table: &mut DeTable<'_>, offset: usize) -> bool {
    let mut found = None;
    for (key, value) in table.iter_mut() {
        if remove_inside(value, offset) {
            return true;
        }
        if found.is_none() && (contains(key.span(), offset) || contains(value.span(), offset)) {
            found = Some(key.clone());
        }
    }
    // Keys compare by their text, not their position.
    found.is_some_and(|key| table.remove(&key).is_some())
}

/// Removes an entry at `offset` inside a table or an array: an entry of one of its
/// tables, else the array item itself (a table missing a required field).
fn remove_inside(value: &mut Spanned<DeValue<'_>>, offset: usize) -> bool {
    match value.get_mut() {
        DeValue::Table(table) => remove_entry_at(table, offset),
        DeValue::Array(items) => {
            if items.iter_mut().any(|item| remove_inside(item, offset)) {
                return true;
            }
            let Some(at) = items.iter().position(|item| contains(item.span(), offset)) else {
                return false;
            };
            // DeArray has no `remove`: rebuild it without the item (its array-of-tables
            // flag only matters while parsing).
            let mut kept = DeArray::new();
            for (i, item) in items.iter().enumerate() {
                if i != at {
                    kept.push(item.clone());
                }
            }
            *items = kept;
            true
        }
        _ => false,
    }
}

/// Records where each key (for table entries) and each array item was written.
fn positions(table: &DeTable<'_>, at: Pointer, lines: &Lines<'_>, spans: &mut SpanMap) {
    for (key, value) in table.iter() {
        let here = at.field(key.get_ref());
        spans.insert(here, lines.span(key.span().start));
        value_positions(value, here, lines, spans);
    }
}

fn value_positions(
    value: &Spanned<DeValue<'_>>,
    at: Pointer,
    lines: &Lines<'_>,
    spans: &mut SpanMap,
) {
    match value.get_ref() {
        DeValue::Table(table) => positions(table, at, lines, spans),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let here = at.index(i);
                spans.insert(here, lines.span(item.span().start));
                value_positions(item, here, lines, spans);
            }
        }
        _ => {}
    }
}
