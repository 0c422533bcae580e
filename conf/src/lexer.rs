//! Lexer and preprocessor for keepalived.conf.
//!
//! Works line by line, as keepalived's parser does (keepalived `parser.c`):
//! - `@id` / `@^id` at the start of a line keep the line only when the config id
//!   is (is not) `id`;
//! - `$NAME=value` defines a macro; `$NAME` and `${NAME}` expand it in later lines;
//! - `#` and `!` start a comment, except inside double quotes;
//! - `include PATTERN` reads files matching the pattern (globs and `{a,b}`), relative to
//!   the including file; a file including itself, directly or not, is an error.
//!
//! Unlike keepalived 2.2.7, `{` and `}` are tokens wherever they appear, so one-line
//! configurations lex the same as multi-line ones.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::{Diagnostic, Span};
use crate::source::{expand_braces, normalize, FileSource};

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A word; `quoted` when it was written in double quotes (and may hold spaces).
    Word {
        text: String,
        quoted: bool,
    },
    Open,
    Close,
    /// The end of a source line: statements end here unless a block is open.
    EndOfLine,
}

/// A token and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

impl Token {
    /// The word's text, or `{`/`}`.
    pub fn text(&self) -> &str {
        match &self.kind {
            TokenKind::Word { text, .. } => text,
            TokenKind::Open => "{",
            TokenKind::Close => "}",
            TokenKind::EndOfLine => "",
        }
    }
}

/// Preprocessor settings.
#[derive(Debug, Clone, Default)]
pub struct LexOptions {
    /// The id that `@id` lines are compared with (keepalived `-i`); `None` keeps
    /// only unconditional lines... and `@^id` lines.
    pub config_id: Option<String>,
}

/// keepalived limits include nesting; so do we, as a guard against runaway globs.
pub const MAX_INCLUDE_DEPTH: usize = 32;

/// Lexes `path` and everything it includes into one token stream.
pub fn lex_file(
    path: &Path,
    source: &dyn FileSource,
    options: &LexOptions,
) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut lexer = Lexer {
        source,
        options,
        tokens: Vec::new(),
        diagnostics: Vec::new(),
        macros: HashMap::new(),
        stack: Vec::new(),
    };
    let display = path.to_string_lossy();
    match source.read(path) {
        Ok(text) => lexer.lex_text(path, &text),
        Err(e) => lexer.diagnostics.push(Diagnostic::error(
            &Span::file_only(&display),
            display.as_ref(),
            format!("cannot read configuration file: {e}"),
        )),
    }
    (lexer.tokens, lexer.diagnostics)
}

/// Lexes text held in memory, named `name` in spans; includes are read from `source`.
pub fn lex_str(
    name: &Path,
    text: &str,
    source: &dyn FileSource,
    options: &LexOptions,
) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut lexer = Lexer {
        source,
        options,
        tokens: Vec::new(),
        diagnostics: Vec::new(),
        macros: HashMap::new(),
        stack: Vec::new(),
    };
    lexer.lex_text(name, text);
    (lexer.tokens, lexer.diagnostics)
}

struct Lexer<'a> {
    source: &'a dyn FileSource,
    options: &'a LexOptions,
    tokens: Vec<Token>,
    diagnostics: Vec<Diagnostic>,
    macros: HashMap<String, String>,
    /// Files being read, outermost first: include cycle detection.
    stack: Vec<PathBuf>,
}

impl Lexer<'_> {
    fn lex_text(&mut self, path: &Path, text: &str) {
        self.stack.push(normalize(path));
        let file: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
        for (index, raw_line) in text.lines().enumerate() {
            let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
            self.lex_line(path, &file, line, raw_line);
        }
        self.stack.pop();
    }

    fn lex_line(&mut self, path: &Path, file: &Arc<str>, line: u32, raw: &str) {
        let chars: Vec<char> = raw.chars().collect();
        let mut pos = skip_blanks(&chars, 0);
        // `@id` / `@^id`: conditional line.
        if chars.get(pos) == Some(&'@') {
            let negated = chars.get(pos + 1) == Some(&'^');
            let start = pos + 1 + usize::from(negated);
            let end = (start..chars.len())
                .find(|&i| chars[i].is_whitespace())
                .unwrap_or(chars.len());
            let id: String = chars[start..end].iter().collect();
            let selected = self.options.config_id.as_deref() == Some(id.as_str());
            if selected == negated {
                return;
            }
            pos = skip_blanks(&chars, end);
        }
        // `$NAME=value`: macro definition (keepalived: no blanks around '=').
        if chars.get(pos) == Some(&'$') {
            let name_end = (pos + 1..chars.len())
                .find(|&i| !is_macro_char(chars[i]))
                .unwrap_or(chars.len());
            if name_end > pos + 1 && chars.get(name_end) == Some(&'=') {
                let name: String = chars[pos + 1..name_end].iter().collect();
                let value: String = chars[name_end + 1..].iter().collect();
                let value = self.expand(
                    &value,
                    &Span {
                        file: file.clone(),
                        line,
                        col: col(pos),
                    },
                );
                self.macros.insert(name, value.trim().to_string());
                return;
            }
        }
        if chars[pos..].starts_with(&['i', 'n', 'c', 'l', 'u', 'd', 'e'])
            && chars.get(pos + 7).is_none_or(|c| c.is_whitespace())
        {
            self.include_line(path, file, line, &chars, pos);
            return;
        }
        let mut words = Vec::new();
        let mut i = pos;
        while i < chars.len() {
            let c = chars[i];
            let span = Span {
                file: file.clone(),
                line,
                col: col(i),
            };
            match c {
                c if c.is_whitespace() => i += 1,
                '#' | '!' => break,
                '{' => {
                    words.push(Token {
                        kind: TokenKind::Open,
                        span,
                    });
                    i += 1;
                }
                '}' => {
                    words.push(Token {
                        kind: TokenKind::Close,
                        span,
                    });
                    i += 1;
                }
                '"' => {
                    let end = (i + 1..chars.len()).find(|&j| chars[j] == '"');
                    let text: String = chars[i + 1..end.unwrap_or(chars.len())].iter().collect();
                    if end.is_none() {
                        self.diagnostics.push(
                            Diagnostic::error(&span, &text, "unterminated quoted string")
                                .hint("add the closing '\"'"),
                        );
                    }
                    let text = self.expand(&text, &span);
                    words.push(Token {
                        kind: TokenKind::Word { text, quoted: true },
                        span,
                    });
                    i = end.map_or(chars.len(), |e| e + 1);
                }
                _ => {
                    let end = word_end(&chars, i);
                    let text: String = chars[i..end].iter().collect();
                    self.push_expanded(&mut words, &text, span);
                    i = end;
                }
            }
        }
        if words.is_empty() {
            return;
        }
        self.tokens.extend(words);
        self.tokens.push(Token {
            kind: TokenKind::EndOfLine,
            span: Span {
                file: file.clone(),
                line,
                col: col(chars.len()),
            },
        });
    }

    /// Expands macros in an unquoted word; the expansion may hold several words and braces,
    /// which all get the span of the word they came from.
    fn push_expanded(&mut self, words: &mut Vec<Token>, text: &str, span: Span) {
        if !text.contains('$') {
            words.push(Token {
                kind: TokenKind::Word {
                    text: text.to_string(),
                    quoted: false,
                },
                span,
            });
            return;
        }
        let expanded = self.expand(text, &span);
        let mut current = String::new();
        let flush = |current: &mut String, words: &mut Vec<Token>| {
            if !current.is_empty() {
                words.push(Token {
                    kind: TokenKind::Word {
                        text: std::mem::take(current),
                        quoted: false,
                    },
                    span: span.clone(),
                });
            }
        };
        for c in expanded.chars() {
            match c {
                '{' | '}' => {
                    flush(&mut current, words);
                    let kind = if c == '{' {
                        TokenKind::Open
                    } else {
                        TokenKind::Close
                    };
                    words.push(Token {
                        kind,
                        span: span.clone(),
                    });
                }
                c if c.is_whitespace() => flush(&mut current, words),
                c => current.push(c),
            }
        }
        flush(&mut current, words);
    }

    /// Replaces `$NAME` and `${NAME}`; an undefined name is left as written, with a warning.
    fn expand(&mut self, text: &str, span: &Span) -> String {
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] != '$' {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            let (name, next) = if chars.get(i + 1) == Some(&'{') {
                match (i + 2..chars.len()).find(|&j| chars[j] == '}') {
                    Some(end) => (chars[i + 2..end].iter().collect::<String>(), end + 1),
                    None => (String::new(), i + 1),
                }
            } else {
                let end = (i + 1..chars.len())
                    .find(|&j| !is_macro_char(chars[j]))
                    .unwrap_or(chars.len());
                (chars[i + 1..end].iter().collect(), end)
            };
            match self.macros.get(&name) {
                Some(value) if !name.is_empty() => out.push_str(value),
                _ => {
                    if !name.is_empty() {
                        self.diagnostics.push(
                            Diagnostic::warning(
                                span,
                                format!("${name}"),
                                format!("undefined macro `${name}` left as written"),
                            )
                            .hint(format!(
                                "define it with a line `${name}=value` before its use"
                            )),
                        );
                    }
                    out.extend(&chars[i..next.max(i + 1)]);
                }
            }
            i = next.max(i + 1);
        }
        out
    }

    /// `include PATTERN`: the pattern is one word (or quoted), braces included.
    fn include_line(
        &mut self,
        path: &Path,
        file: &Arc<str>,
        line: u32,
        chars: &[char],
        pos: usize,
    ) {
        let start = skip_blanks(chars, pos + 7);
        let span = Span {
            file: file.clone(),
            line,
            col: col(pos),
        };
        let (text, end) = if chars.get(start) == Some(&'"') {
            let close = (start + 1..chars.len())
                .find(|&j| chars[j] == '"')
                .unwrap_or(chars.len());
            (
                chars[start + 1..close].iter().collect::<String>(),
                close + 1,
            )
        } else {
            let end = (start..chars.len())
                .find(|&j| chars[j].is_whitespace() || matches!(chars[j], '#' | '!'))
                .unwrap_or(chars.len());
            (chars[start..end].iter().collect::<String>(), end)
        };
        if text.is_empty() {
            self.diagnostics.push(Diagnostic::error(
                &span,
                "include",
                "`include` needs a file name or pattern",
            ));
            return;
        }
        let pattern_span = Span {
            file: file.clone(),
            line,
            col: col(start),
        };
        let text = self.expand(&text, &pattern_span);
        let rest = skip_blanks(chars, end.min(chars.len()));
        if rest < chars.len() && !matches!(chars[rest], '#' | '!') {
            let extra_span = Span {
                file: file.clone(),
                line,
                col: col(rest),
            };
            let extra: String = chars[rest..].iter().collect();
            self.diagnostics.push(Diagnostic::warning(
                &extra_span,
                extra,
                "extra text after the include pattern is ignored",
            ));
        }
        let pattern = Token {
            kind: TokenKind::Word {
                text,
                quoted: false,
            },
            span: pattern_span,
        };
        let pattern = &pattern;
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.diagnostics.push(Diagnostic::error(
                &pattern.span,
                pattern.text(),
                "includes nested too deeply",
            ));
            return;
        }
        let base = path.parent().unwrap_or(Path::new(""));
        let mut files = Vec::new();
        for alternative in expand_braces(pattern.text()) {
            let full = base.join(&alternative);
            if crate::source::has_wildcard(&alternative) {
                files.extend(self.source.glob(&full).unwrap_or_default());
            } else {
                files.push(full);
            }
        }
        if files.is_empty() {
            self.diagnostics.push(Diagnostic::warning(
                &pattern.span,
                pattern.text(),
                "include pattern matches no file",
            ));
        }
        for file in files {
            let normalized = normalize(&file);
            if self.stack.contains(&normalized) {
                let chain: Vec<String> = self
                    .stack
                    .iter()
                    .chain([&normalized])
                    .map(|p| p.display().to_string())
                    .collect();
                self.diagnostics.push(
                    Diagnostic::error(&pattern.span, file.display().to_string(), "include cycle")
                        .hint(format!("the chain is {}", chain.join(" -> "))),
                );
                continue;
            }
            match self.source.read(&file) {
                Ok(text) => self.lex_text(&file, &text),
                Err(e) => self.diagnostics.push(Diagnostic::error(
                    &pattern.span,
                    file.display().to_string(),
                    format!("cannot read included file {}: {e}", file.display()),
                )),
            }
        }
    }
}

/// The end of an unquoted word starting at `i`; `${NAME}` stays inside the word.
fn word_end(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '$' if chars.get(i + 1) == Some(&'{') => {
                match (i + 2..chars.len()).find(|&j| chars[j] == '}') {
                    Some(close) => i = close + 1,
                    None => i += 1,
                }
            }
            c if c.is_whitespace() || matches!(c, '{' | '}' | '"' | '#' | '!') => return i,
            _ => i += 1,
        }
    }
    i
}

fn is_macro_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn skip_blanks(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    i
}

fn col(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemFs;

    fn words(tokens: &[Token]) -> Vec<String> {
        tokens
            .iter()
            .map(|t| {
                if t.kind == TokenKind::EndOfLine {
                    "\\n".into()
                } else {
                    t.text().to_string()
                }
            })
            .collect()
    }

    fn lex(fs: &MemFs, id: Option<&str>) -> (Vec<Token>, Vec<Diagnostic>) {
        lex_file(
            Path::new("/e/k.conf"),
            fs,
            &LexOptions {
                config_id: id.map(String::from),
            },
        )
    }

    #[test]
    fn comments_quotes_and_braces() {
        let fs = MemFs::new().with(
            "/e/k.conf",
            "a{b}c # x\n  script \"p # q ! r\" ! c\nx{y{z}}\n",
        );
        let (tokens, diags) = lex(&fs, None);
        assert!(diags.is_empty());
        assert_eq!(
            words(&tokens),
            [
                "a",
                "{",
                "b",
                "}",
                "c",
                "\\n",
                "script",
                "p # q ! r",
                "\\n",
                "x",
                "{",
                "y",
                "{",
                "z",
                "}",
                "}",
                "\\n"
            ]
        );
        assert_eq!((tokens[7].span.line, tokens[7].span.col), (2, 10));
        assert_eq!(tokens[7].span.to_string(), "/e/k.conf:2:10");
    }

    #[test]
    fn macros_expand_both_forms_and_may_hold_several_words() {
        let fs = MemFs::new().with(
            "/e/k.conf",
            "$IF=eth0\n$BLK=a { b }\ninterface $IF ${IF}x\n$BLK\n$NOPE\n",
        );
        let (tokens, diags) = lex(&fs, None);
        assert_eq!(
            words(&tokens),
            [
                "interface",
                "eth0",
                "eth0x",
                "\\n",
                "a",
                "{",
                "b",
                "}",
                "\\n",
                "$NOPE",
                "\\n"
            ]
        );
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].to_string(), "/e/k.conf:5:1: warning: undefined macro `$NOPE` left as written\n  hint: define it with a line `$NOPE=value` before its use");
    }

    #[test]
    fn conditionals_follow_config_id() {
        let fs = MemFs::new().with(
            "/e/k.conf",
            "@lb1 priority 200\n@lb2 priority 100\n@^lb1 state BACKUP\n",
        );
        assert_eq!(words(&lex(&fs, Some("lb1")).0), ["priority", "200", "\\n"]);
        assert_eq!(
            words(&lex(&fs, Some("lb2")).0),
            ["priority", "100", "\\n", "state", "BACKUP", "\\n"]
        );
    }

    #[test]
    fn include_globs_braces_relative_and_cycles() {
        let fs = MemFs::new()
            .with("/e/k.conf", "include conf.d/*.conf\ninclude x/{p,q}.inc\n")
            .with("/e/conf.d/b.conf", "b\n")
            .with("/e/conf.d/a.conf", "a\ninclude ../k.conf\n")
            .with("/e/x/q.inc", "q\n")
            .with("/e/x/p.inc", "p\n");
        let (tokens, diags) = lex(&fs, None);
        assert_eq!(
            words(&tokens),
            ["a", "\\n", "b", "\\n", "p", "\\n", "q", "\\n"]
        );
        assert_eq!(tokens[0].span.to_string(), "/e/conf.d/a.conf:1:1");
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].message, "include cycle");
        assert_eq!(diags[0].span.to_string(), "/e/conf.d/a.conf:2:9");
        assert_eq!(
            diags[0].hint.as_deref(),
            Some("the chain is /e/k.conf -> /e/conf.d/a.conf -> /e/k.conf")
        );
    }

    #[test]
    fn missing_include_is_an_error_naming_the_file() {
        let fs = MemFs::new().with("/e/k.conf", "include missing.conf\n");
        let (_, diags) = lex(&fs, None);
        assert_eq!(diags.len(), 1);
        assert_eq!(
            diags[0].to_string(),
            "/e/k.conf:1:9: error: cannot read included file /e/missing.conf: no such file"
        );
    }
}
