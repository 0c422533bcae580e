//! A keepalived.conf file cut into its top-level statements (`global_defs { … }`,
//! `virtual_server 10.0.0.1 80 { … }`, …) without lexing it, so that a reload
//! can tell which statements changed and parse only those.
//!
//! The cut follows the lexer's rules (`#` and `!` comments, double quotes, `{`
//! and `}` wherever they appear outside them). It gives up (`None`) wherever a
//! statement's meaning could depend on other lines or its extent is unclear:
//! the preprocessor (`@id` lines, `$` macros, `include`), an unterminated quote,
//! an unbalanced brace, a block opened on a line of its own, or a line where one
//! top-level statement ends and another starts. The caller then reads the file
//! as a whole, as keepalived always does.

use crate::lexer::{is_blank, word_end};

/// One top-level statement: whole lines, from its keyword's to the one that
/// closes its block (or its only line when it has no block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement<'t> {
    /// Its first word (`virtual_server`).
    pub keyword: &'t str,
    /// Its lines, line ends included.
    pub text: &'t str,
    /// The number of its first line in the file (from 1).
    pub first_line: u32,
}

/// An open statement: where it starts, its line number and keyword.
struct Open<'t> {
    start: usize,
    first_line: u32,
    keyword: &'t str,
}

/// `0x01` in every byte of a word.
const ONES: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte of a word.
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `word` is one the cut must look at: a line end,
/// `!"#$` (0x21–0x24), `{` or `}` (and `|`, 0x7C, which is then looked at
/// and passed over). Eight bytes at a time, after "Bit Twiddling Hacks"
/// (haszero, hasbetween): no byte borrows from or carries into the next,
/// so none is missed.
fn has_interesting(word: u64) -> bool {
    let newline = word ^ (ONES * u64::from(b'\n'));
    let has_newline = newline.wrapping_sub(ONES) & !newline & HIGHS;
    // A byte strictly between `low` and `high` (ASCII bytes only: bytes
    // with the high bit set belong to UTF-8 sequences, never special).
    let between = |low: u64, high: u64| {
        let ascii = word & (ONES * 0x7f);
        (ONES * (127 + high)).wrapping_sub(ascii) & !word & (ascii + ONES * (127 - low)) & HIGHS
    };
    has_newline | between(0x20, 0x25) | between(0x7a, 0x7e) != 0
}

/// The next byte at or after `at` that [`has_interesting`] would flag, or
/// the end of `bytes`: ordinary bytes are passed eight at a time.
fn next_interesting(bytes: &[u8], mut at: usize) -> usize {
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if has_interesting(u64::from_le_bytes(word)) {
            break;
        }
        at += 8;
    }
    while let Some(&c) = bytes.get(at) {
        if matches!(c, b'\n' | b'!' | b'"' | b'#' | b'$' | b'{' | b'}') {
            return at;
        }
        at += 1;
    }
    at
}

/// The end of the line holding `at` (the index of its `\n`, or the end).
fn line_end(bytes: &[u8], at: usize) -> usize {
    bytes[at..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(bytes.len(), |i| at + i)
}

/// Blanks but the line end (indentation by spaces eight at a time).
fn skip_spaces(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at..at + 8) == Some(b"        ") {
        at += 8;
    }
    while at < bytes.len() && bytes[at] != b'\n' && is_blank(bytes[at]) {
        at += 1;
    }
    at
}

/// The top-level statements of `text` in order (blank and comment lines between
/// them left out), or `None` when the file cannot be cut safely (see the module).
pub fn top_level(text: &str) -> Option<Vec<Statement<'_>>> {
    let bytes = text.as_bytes();
    let mut statements = Vec::new();
    let mut open: Option<Open<'_>> = None;
    let mut depth = 0usize;
    let mut number = 0u32;
    let mut line_start = 0;
    while line_start < bytes.len() {
        number = number.checked_add(1)?;
        let first = skip_spaces(bytes, line_start);
        // The preprocessor: conditional lines and includes (macros are caught below).
        if bytes.get(first) == Some(&b'@')
            || (text[first..].starts_with("include")
                && bytes.get(first + 7).is_none_or(|&c| is_blank(c)))
        {
            return None;
        }
        let mut i = first;
        if open.is_none() && i < bytes.len() && !matches!(bytes[i], b'#' | b'!' | b'\n') {
            // A statement starts with its keyword, a plain word.
            let end = word_end(bytes, i);
            if end == i || text[i..end].contains('$') {
                return None;
            }
            open = Some(Open {
                start: line_start,
                first_line: number,
                keyword: &text[i..end],
            });
            i = end;
        }
        // The rest of the line, up to its end (`i` then at its `\n`).
        loop {
            i = next_interesting(bytes, i);
            match bytes.get(i) {
                None | Some(b'\n') => break,
                Some(b'#' | b'!') => {
                    i = line_end(bytes, i);
                    break;
                }
                Some(b'{') => depth += 1,
                Some(b'}') => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        // A block closed at the top level: nothing may follow.
                        i = skip_spaces(bytes, i + 1);
                        match bytes.get(i) {
                            None | Some(b'\n') => break,
                            Some(b'#' | b'!') => {
                                i = line_end(bytes, i);
                                break;
                            }
                            Some(_) => return None,
                        }
                    }
                }
                Some(b'"') => {
                    let close = bytes[i + 1..]
                        .iter()
                        .position(|&c| c == b'"' || c == b'\n')
                        .map(|p| i + 1 + p)?;
                    if bytes[close] != b'"' || bytes[i + 1..close].contains(&b'$') {
                        return None;
                    }
                    i = close;
                }
                // `$`: a macro, defined or expanded.
                Some(_) => return None,
            }
            i += 1;
        }
        let next_line = (i + 1).min(bytes.len());
        if depth == 0 {
            if let Some(statement) = open.take() {
                statements.push(Statement {
                    keyword: statement.keyword,
                    text: &text[statement.start..next_line],
                    first_line: statement.first_line,
                });
            }
        }
        line_start = next_line;
    }
    if depth > 0 {
        return None;
    }
    Some(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keywords_and_lines(text: &str) -> Option<Vec<(&str, u32, usize)>> {
        Some(
            top_level(text)?
                .iter()
                .map(|s| (s.keyword, s.first_line, s.text.lines().count()))
                .collect(),
        )
    }

    #[test]
    fn statements_are_whole_lines_from_keyword_to_closing_brace() {
        let text = "# a comment\nglobal_defs {\n  router_id a # } not a brace\n}\n\n\
                    virtual_server 10.0.0.1 80 {\n  real_server 10.0.1.1 80 {\n    \
                    TCP_CHECK { connect_timeout 3 }\n  }\n  notify_up \"/bin/x {\"\n}\n\
                    net_namespace blue\n";
        assert_eq!(
            keywords_and_lines(text),
            Some(vec![
                ("global_defs", 2, 3),
                ("virtual_server", 6, 6),
                ("net_namespace", 12, 1)
            ])
        );
        let statements = top_level(text).unwrap();
        assert!(statements[1].text.starts_with("virtual_server"));
        assert!(statements[1].text.ends_with("}\n"));
        // One-line blocks, CRLF, a file without a last line end.
        assert_eq!(
            keywords_and_lines("vrrp_script s { script \"x\" }\r\nvirtual_server fwmark 1 {\r\n}"),
            Some(vec![("vrrp_script", 1, 1), ("virtual_server", 2, 2)])
        );
    }

    fn json(config: &crate::Config) -> serde_json::Value {
        serde_json::to_value(config).unwrap()
    }

    #[test]
    fn every_seed_parsed_statement_by_statement_reads_as_the_whole_file() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/seeds");
        let options = crate::LoadOptions::default();
        let mut cut = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let Some(statements) = top_level(&text) else {
                continue;
            };
            let whole = crate::load_keepalived_str("k.conf", &text, &options);
            let parts = crate::load_statements("k.conf", &statements, &options);
            assert_eq!(
                json(&parts.config),
                json(&whole.config),
                "{}",
                path.display()
            );
            assert_eq!(parts.diagnostics, whole.diagnostics, "{}", path.display());
            cut += 1;
        }
        assert!(cut >= 10, "only {cut} seeds cut");
    }

    #[test]
    fn statements_left_out_are_absent_and_diagnostics_keep_the_file_lines() {
        let text = "global_defs {\n  router_id a\n}\n\
                    virtual_server 10.0.0.1 80 {\n  protocol TCP\n  delay_loop 3\n}\n\
                    virtual_server 10.0.0.2 80 {\n  protocol TCP\n  delay_lop 3\n}\n";
        let options = crate::LoadOptions::default();
        let statements = top_level(text).unwrap();
        let first_two = crate::load_statements("k.conf", &statements[..2], &options);
        assert!(
            first_two.diagnostics.is_empty(),
            "{:?}",
            first_two.diagnostics
        );
        assert_eq!(first_two.config.virtual_servers.len(), 1);
        assert_eq!(first_two.config.global_defs.router_id.as_deref(), Some("a"));
        let last = crate::load_statements("k.conf", &statements[2..], &options);
        assert_eq!(last.config.virtual_servers.len(), 1);
        let lines: Vec<u32> = last.diagnostics.iter().map(|d| d.span.line).collect();
        assert!(lines.contains(&10), "{:?}", last.diagnostics);
    }

    #[test]
    fn no_interesting_byte_is_missed_eight_at_a_time() {
        let interesting = |c: u8| matches!(c, b'\n' | b'!' | b'"' | b'#' | b'$' | b'{' | b'}');
        // Every byte value at every position, among fillers of every kind.
        for filler in [b'a', b' ', b'0', 0xc3, 0x7f, 0x00, 0xff, b'|'] {
            for position in 0..8 {
                for c in 0..=255u8 {
                    let mut word = [filler; 8];
                    word[position] = c;
                    let flagged = has_interesting(u64::from_le_bytes(word));
                    if word.iter().any(|&b| interesting(b)) {
                        assert!(flagged, "{word:?}");
                    } else {
                        // The only false alarm allowed is `|`.
                        assert_eq!(flagged, word.contains(&b'|'), "{word:?}");
                    }
                }
            }
        }
        // Random words (xorshift64*).
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..1_000_000 {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let word = state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            if word.iter().any(|&b| interesting(b)) {
                assert!(has_interesting(u64::from_le_bytes(word)), "{word:?}");
            }
        }
    }

    #[test]
    fn the_preprocessor_and_unclear_extents_give_up() {
        for text in [
            "@node1 global_defs { }\n",
            "  include /etc/keepalived/*.conf\n",
            "$PORT=80\nvirtual_server 10.0.0.1 $PORT { }\n",
            "$W=1\nglobal_defs { }\n",
            "${X}\n",
            "virtual_server 10.0.0.1 80 { notify_up \"/bin/x $1\" }\n",
            "virtual_server 10.0.0.1 80\n{\n}\n",
            "global_defs { } virtual_server 10.0.0.1 80 { }\n",
            "global_defs {\n}}\n",
            "global_defs {\n",
            "global_defs { router_id \"open\n}\n",
            "\"quoted\" { }\n",
        ] {
            assert_eq!(top_level(text), None, "{text:?}");
        }
        // `include` as part of a longer word and `$` in a comment are not the preprocessor.
        assert_eq!(
            keywords_and_lines("includes_x 1\nglobal_defs { # $X\n}\n"),
            Some(vec![("includes_x", 1, 1), ("global_defs", 2, 2)])
        );
    }
}
