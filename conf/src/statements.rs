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

use crate::lexer::{is_blank, skip_blanks, word_end};

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

/// Bytes that matter to the cut; every other byte is part of a word or a blank.
const fn special_bytes() -> [bool; 256] {
    let mut table = [false; 256];
    let mut specials: &[u8] = b"{}\"#!$";
    while let [first, rest @ ..] = specials {
        table[*first as usize] = true;
        specials = rest;
    }
    table
}

const SPECIAL: [bool; 256] = special_bytes();

/// The top-level statements of `text` in order (blank and comment lines between
/// them left out), or `None` when the file cannot be cut safely (see the module).
pub fn top_level(text: &str) -> Option<Vec<Statement<'_>>> {
    let mut statements = Vec::new();
    let mut open: Option<Open<'_>> = None;
    let mut depth = 0usize;
    let mut line_start = 0;
    let mut number = 0u32;
    while line_start < text.len() {
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |i| line_start + i + 1);
        number = number.checked_add(1)?;
        let line = &text[line_start..line_end];
        let bytes = line.as_bytes();
        let first = skip_blanks(bytes, 0);
        // The preprocessor: conditional lines and includes (macros are caught below).
        if bytes.get(first) == Some(&b'@')
            || (line[first..].starts_with("include")
                && bytes.get(first + 7).is_none_or(|&c| is_blank(c)))
        {
            return None;
        }
        let mut i = first;
        if open.is_none() && i < bytes.len() && !matches!(bytes[i], b'#' | b'!') {
            // A statement starts with its keyword, a plain word.
            let end = word_end(bytes, i);
            if end == i || line[i..end].contains('$') {
                return None;
            }
            open = Some(Open {
                start: line_start,
                first_line: number,
                keyword: &line[i..end],
            });
            i = end;
        }
        // A block closed on this line at the top level: nothing may follow.
        let mut closed = false;
        while i < bytes.len() {
            let c = bytes[i];
            i += 1;
            if !SPECIAL[usize::from(c)] {
                if closed && !is_blank(c) {
                    return None;
                }
                continue;
            }
            match c {
                b'#' | b'!' => break,
                _ if closed => return None,
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.checked_sub(1)?;
                    closed = depth == 0;
                }
                b'"' => {
                    let close = line[i..].find('"')? + i;
                    if line[i..close].contains('$') {
                        return None;
                    }
                    i = close + 1;
                }
                // `$`: a macro, defined or expanded.
                _ => return None,
            }
        }
        if depth == 0 {
            if let Some(statement) = open.take() {
                statements.push(Statement {
                    keyword: statement.keyword,
                    text: &text[statement.start..line_end],
                    first_line: statement.first_line,
                });
            }
        }
        line_start = line_end;
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
