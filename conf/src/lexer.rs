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

use std::collections::{HashMap, VecDeque};
use std::io::BufRead;
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
}

/// A token and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
    /// The last token of its source line: statements end here unless a block is open.
    pub line_end: bool,
}

impl Token {
    /// The word's text, or `{`/`}`.
    pub fn text(&self) -> &str {
        match &self.kind {
            TokenKind::Word { text, .. } => text,
            TokenKind::Open => "{",
            TokenKind::Close => "}",
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

/// Lexes `path` and everything it includes into one token vector.
pub fn lex_file(
    path: &Path,
    source: &dyn FileSource,
    options: &LexOptions,
) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut stream = TokenStream::open(path, source, options);
    let tokens = stream.by_ref().collect();
    (tokens, stream.into_diagnostics())
}

/// Lexes text held in memory, named `name` in spans; includes are read from `source`.
pub fn lex_str(
    name: &Path,
    text: &str,
    source: &dyn FileSource,
    options: &LexOptions,
) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut stream = TokenStream::from_text(name, text.to_string(), source, options);
    let tokens = stream.by_ref().collect();
    (tokens, stream.into_diagnostics())
}

/// A file being read, line by line.
struct Frame<'a> {
    path: PathBuf,
    /// `path` normalized, for include cycle detection.
    normalized: PathBuf,
    /// `path` as spans name it.
    file: Arc<str>,
    reader: Box<dyn BufRead + 'a>,
    /// The include directive that opened this file (`None` for the main file).
    included_at: Option<Span>,
    /// The current line's bytes (reused from line to line).
    buffer: Vec<u8>,
    /// Number of the line last read.
    line: u32,
    /// Files of the include directive just read, still to be read (with the pattern's span).
    includes: VecDeque<(PathBuf, Span)>,
}

/// The tokens of a file and everything it includes, produced line by line as the
/// parser asks for them, so the whole token stream never has to be held at once.
pub struct TokenStream<'a> {
    source: &'a dyn FileSource,
    options: &'a LexOptions,
    /// Files being read, outermost first.
    frames: Vec<Frame<'a>>,
    /// Tokens of the line last lexed, not yet handed out.
    pending: VecDeque<Token>,
    diagnostics: Vec<Diagnostic>,
    macros: HashMap<String, String>,
}

impl<'a> TokenStream<'a> {
    /// Starts reading `path` from `source`; an unreadable file gives a diagnostic and no tokens.
    pub fn open(path: &Path, source: &'a dyn FileSource, options: &'a LexOptions) -> Self {
        let mut stream = Self::empty(source, options);
        match source.open(path) {
            Ok(reader) => stream.push_frame(path, reader, None),
            Err(e) => {
                let display = path.to_string_lossy();
                stream.diagnostics.push(Diagnostic::error(
                    &Span::file_only(&display),
                    display.as_ref(),
                    format!("cannot read configuration file: {e}"),
                ))
            }
        }
        stream
    }

    /// Reads `text`, named `name`; includes come from `source`.
    pub fn from_text(
        name: &Path,
        text: String,
        source: &'a dyn FileSource,
        options: &'a LexOptions,
    ) -> Self {
        let mut stream = Self::empty(source, options);
        stream.push_frame(
            name,
            Box::new(std::io::Cursor::new(text.into_bytes())),
            None,
        );
        stream
    }

    /// Reads pieces of the file `name`, one after the other, each numbered from
    /// its first line's number in the file (top-level statements of a reload that
    /// parses only what changed); includes come from `source`.
    pub fn from_parts(
        name: &Path,
        parts: Vec<(u32, String)>,
        source: &'a dyn FileSource,
        options: &'a LexOptions,
    ) -> Self {
        let mut stream = Self::empty(source, options);
        // Frames are a stack: the first part goes on top.
        for (first_line, text) in parts.into_iter().rev() {
            stream.push_frame(
                name,
                Box::new(std::io::Cursor::new(text.into_bytes())),
                None,
            );
            if let Some(frame) = stream.frames.last_mut() {
                frame.line = first_line.saturating_sub(1);
            }
        }
        stream
    }

    fn empty(source: &'a dyn FileSource, options: &'a LexOptions) -> Self {
        TokenStream {
            source,
            options,
            frames: Vec::new(),
            pending: VecDeque::new(),
            diagnostics: Vec::new(),
            macros: HashMap::new(),
        }
    }

    /// The preprocessor's diagnostics (read errors, include problems, macros, quotes).
    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    fn push_frame(
        &mut self,
        path: &Path,
        reader: Box<dyn BufRead + 'a>,
        included_at: Option<Span>,
    ) {
        self.frames.push(Frame {
            path: path.to_path_buf(),
            normalized: normalize(path),
            file: Arc::from(path.to_string_lossy().as_ref()),
            reader,
            included_at,
            buffer: Vec::new(),
            line: 0,
            includes: VecDeque::new(),
        });
    }

    /// Lexes the next line that holds anything; false at the end of the outermost file.
    fn next_line(&mut self) -> bool {
        loop {
            let Some(top) = self.frames.last_mut() else {
                return false;
            };
            if let Some((file, span)) = top.includes.pop_front() {
                self.open_include(file, &span);
                continue;
            }
            let mut bytes = std::mem::take(&mut top.buffer);
            bytes.clear();
            match top.reader.read_until(b'\n', &mut bytes) {
                Ok(0) => {
                    self.frames.pop();
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    let diagnostic = Self::read_error(top.included_at.clone(), &top.path, &e);
                    self.diagnostics.push(diagnostic);
                    self.frames.pop();
                    continue;
                }
            }
            top.line = top.line.saturating_add(1);
            let (line, file) = (top.line, top.file.clone());
            // `str::lines` semantics: the LF, and a CR before it, end the line.
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
            }
            // Invalid UTF-8 becomes U+FFFD, as keepalived would take the bytes as they are.
            let text = String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            // Lexing may schedule includes on this frame, never push another one.
            self.lex_line(&file, line, &text);
            if let Some(top) = self.frames.last_mut() {
                top.buffer = text.into_bytes();
            }
            if !self.pending.is_empty() {
                return true;
            }
        }
    }

    /// Reads one file of an include directive, unless that would close a cycle.
    fn open_include(&mut self, file: PathBuf, span: &Span) {
        let normalized = normalize(&file);
        if self.frames.iter().any(|f| f.normalized == normalized) {
            let chain: Vec<String> = self
                .frames
                .iter()
                .map(|f| f.normalized.display().to_string())
                .chain([normalized.display().to_string()])
                .collect();
            self.diagnostics.push(
                Diagnostic::error(span, file.display().to_string(), "include cycle")
                    .hint(format!("the chain is {}", chain.join(" -> "))),
            );
            return;
        }
        match self.source.open(&file) {
            Ok(reader) => self.push_frame(&file, reader, Some(span.clone())),
            Err(e) => {
                let diagnostic = Self::read_error(Some(span.clone()), &file, &e);
                self.diagnostics.push(diagnostic);
            }
        }
    }

    /// A file that cannot be read: the main one, or one an include directive at `included_at` names.
    fn read_error(included_at: Option<Span>, file: &Path, e: &std::io::Error) -> Diagnostic {
        let name = file.display().to_string();
        match included_at {
            Some(span) => Diagnostic::error(
                &span,
                &name,
                format!("cannot read included file {name}: {e}"),
            ),
            None => Diagnostic::error(
                &Span::file_only(&name),
                &name,
                format!("cannot read configuration file: {e}"),
            ),
        }
    }

    fn lex_line(&mut self, file: &Arc<str>, line: u32, raw: &str) {
        let bytes = raw.as_bytes();
        let cols = Columns::new(raw);
        let span_at = |i: usize| Span {
            file: file.clone(),
            line,
            col: cols.at(i),
        };
        let mut pos = skip_blanks(bytes, 0);
        // `@id` / `@^id`: conditional line.
        if bytes.get(pos) == Some(&b'@') {
            let negated = bytes.get(pos + 1) == Some(&b'^');
            let start = pos + 1 + usize::from(negated);
            let end = (start..bytes.len())
                .find(|&i| is_blank(bytes[i]))
                .unwrap_or(bytes.len());
            let selected = self.options.config_id.as_deref() == raw.get(start..end);
            if selected == negated {
                return;
            }
            pos = skip_blanks(bytes, end);
        }
        // `$NAME=value`: macro definition (keepalived: no blanks around '=').
        if bytes.get(pos) == Some(&b'$') {
            let name_end = (pos + 1..bytes.len())
                .find(|&i| !is_macro_byte(bytes[i]))
                .unwrap_or(bytes.len());
            if name_end > pos + 1 && bytes.get(name_end) == Some(&b'=') {
                let name = raw[pos + 1..name_end].to_string();
                let value = self.expand(&raw[name_end + 1..], &span_at(pos));
                self.macros.insert(name, value.trim().to_string());
                return;
            }
        }
        if raw[pos..].starts_with("include") && bytes.get(pos + 7).is_none_or(|&c| is_blank(c)) {
            self.include_line(raw, &cols, file, line, pos);
            return;
        }
        let before = self.pending.len();
        let mut i = pos;
        while i < bytes.len() {
            match bytes[i] {
                c if is_blank(c) => i += 1,
                b'#' | b'!' => break,
                b'{' => {
                    self.push(TokenKind::Open, span_at(i));
                    i += 1;
                }
                b'}' => {
                    self.push(TokenKind::Close, span_at(i));
                    i += 1;
                }
                b'"' => {
                    let span = span_at(i);
                    let end = raw[i + 1..].find('"').map(|e| e + i + 1);
                    let text = &raw[i + 1..end.unwrap_or(bytes.len())];
                    if end.is_none() {
                        self.diagnostics.push(
                            Diagnostic::error(&span, text, "unterminated quoted string")
                                .hint("add the closing '\"'"),
                        );
                    }
                    let text = self.expand(text, &span);
                    self.push(TokenKind::Word { text, quoted: true }, span);
                    i = end.map_or(bytes.len(), |e| e + 1);
                }
                _ => {
                    let end = word_end(bytes, i);
                    self.push_expanded(&raw[i..end], span_at(i));
                    i = end;
                }
            }
        }
        if self.pending.len() > before {
            if let Some(last) = self.pending.back_mut() {
                last.line_end = true;
            }
        }
    }

    fn push(&mut self, kind: TokenKind, span: Span) {
        self.pending.push_back(Token {
            kind,
            span,
            line_end: false,
        });
    }

    /// Expands macros in an unquoted word; the expansion may hold several words and braces,
    /// which all get the span of the word they came from.
    fn push_expanded(&mut self, text: &str, span: Span) {
        if !text.contains('$') {
            let kind = TokenKind::Word {
                text: text.to_string(),
                quoted: false,
            };
            self.push(kind, span);
            return;
        }
        let expanded = self.expand(text, &span);
        let mut current = String::new();
        for c in expanded.chars() {
            match c {
                '{' | '}' | ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' => {
                    if !current.is_empty() {
                        let text = std::mem::take(&mut current);
                        self.push(
                            TokenKind::Word {
                                text,
                                quoted: false,
                            },
                            span.clone(),
                        );
                    }
                    match c {
                        '{' => self.push(TokenKind::Open, span.clone()),
                        '}' => self.push(TokenKind::Close, span.clone()),
                        _ => {}
                    }
                }
                c => current.push(c),
            }
        }
        if !current.is_empty() {
            self.push(
                TokenKind::Word {
                    text: current,
                    quoted: false,
                },
                span,
            );
        }
    }

    /// Replaces `$NAME` and `${NAME}`; an undefined name is left as written, with a warning.
    fn expand(&mut self, text: &str, span: &Span) -> String {
        if !text.contains('$') {
            return text.to_string();
        }
        let bytes = text.as_bytes();
        let mut out = String::new();
        let mut i = 0;
        while i < bytes.len() {
            let Some(dollar) = text[i..].find('$').map(|d| d + i) else {
                out.push_str(&text[i..]);
                break;
            };
            out.push_str(&text[i..dollar]);
            let (name, next) = if bytes.get(dollar + 1) == Some(&b'{') {
                match text[dollar + 2..].find('}') {
                    Some(end) => (&text[dollar + 2..dollar + 2 + end], dollar + 3 + end),
                    None => ("", dollar + 1),
                }
            } else {
                let end = (dollar + 1..bytes.len())
                    .find(|&j| !is_macro_byte(bytes[j]))
                    .unwrap_or(bytes.len());
                (&text[dollar + 1..end], end)
            };
            match self.macros.get(name) {
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
                    out.push_str(&text[dollar..next.max(dollar + 1)]);
                }
            }
            i = next.max(dollar + 1);
        }
        out
    }

    /// `include PATTERN`: the pattern is one word (or quoted), braces included. The
    /// matching files are read before the next line of this file.
    fn include_line(&mut self, raw: &str, cols: &Columns, file: &Arc<str>, line: u32, pos: usize) {
        let bytes = raw.as_bytes();
        let span_at = |i: usize| Span {
            file: file.clone(),
            line,
            col: cols.at(i),
        };
        let start = skip_blanks(bytes, pos + 7);
        let (text, end) = if bytes.get(start) == Some(&b'"') {
            let close = raw[start + 1..]
                .find('"')
                .map_or(bytes.len(), |c| c + start + 1);
            (&raw[start + 1..close], close + 1)
        } else {
            let end = (start..bytes.len())
                .find(|&j| is_blank(bytes[j]) || matches!(bytes[j], b'#' | b'!'))
                .unwrap_or(bytes.len());
            (&raw[start..end], end)
        };
        if text.is_empty() {
            self.diagnostics.push(Diagnostic::error(
                &span_at(pos),
                "include",
                "`include` needs a file name or pattern",
            ));
            return;
        }
        let pattern_span = span_at(start);
        let pattern = self.expand(text, &pattern_span);
        let rest = skip_blanks(bytes, end.min(bytes.len()));
        if rest < bytes.len() && !matches!(bytes[rest], b'#' | b'!') {
            self.diagnostics.push(Diagnostic::warning(
                &span_at(rest),
                &raw[rest..],
                "extra text after the include pattern is ignored",
            ));
        }
        if self.frames.len() >= MAX_INCLUDE_DEPTH {
            self.diagnostics.push(Diagnostic::error(
                &pattern_span,
                pattern,
                "includes nested too deeply",
            ));
            return;
        }
        let Some(top) = self.frames.last() else {
            return;
        };
        let base = top.path.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut files = VecDeque::new();
        for alternative in expand_braces(&pattern) {
            let full = base.join(&alternative);
            if crate::source::has_wildcard(&alternative) {
                files.extend(self.source.glob(&full).unwrap_or_default());
            } else {
                files.push_back(full);
            }
        }
        if files.is_empty() {
            self.diagnostics.push(Diagnostic::warning(
                &pattern_span,
                pattern,
                "include pattern matches no file",
            ));
            return;
        }
        if let Some(top) = self.frames.last_mut() {
            top.includes
                .extend(files.into_iter().map(|f| (f, pattern_span.clone())));
        }
    }
}

impl std::fmt::Debug for TokenStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenStream")
            .field(
                "files",
                &self.frames.iter().map(|f| &f.path).collect::<Vec<_>>(),
            )
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl Iterator for TokenStream<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        if self.pending.is_empty() && !self.next_line() {
            return None;
        }
        self.pending.pop_front()
    }
}

/// Byte offset → 1-based character column of one line (bytes when the line is ASCII).
struct Columns<'l> {
    line: &'l str,
    ascii: bool,
}

impl<'l> Columns<'l> {
    fn new(line: &'l str) -> Self {
        Columns {
            line,
            ascii: line.is_ascii(),
        }
    }

    fn at(&self, offset: usize) -> u32 {
        let chars = if self.ascii {
            offset
        } else {
            self.line
                .get(..offset)
                .map_or(offset, |s| s.chars().count())
        };
        u32::try_from(chars + 1).unwrap_or(u32::MAX)
    }
}

/// The end of an unquoted word starting at `i`; `${NAME}` stays inside the word.
pub(crate) fn word_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                match (i + 2..bytes.len()).find(|&j| bytes[j] == b'}') {
                    Some(close) => i = close + 1,
                    None => i += 1,
                }
            }
            c if is_blank(c) || matches!(c, b'{' | b'}' | b'"' | b'#' | b'!') => return i,
            _ => i += 1,
        }
    }
    i
}

/// keepalived splits words at ASCII white space (`isspace`).
pub(crate) fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

fn is_macro_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

pub(crate) fn skip_blanks(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && is_blank(bytes[i]) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemFs;

    /// The tokens' texts, with `\\n` after the last of each line.
    fn words(tokens: &[Token]) -> Vec<String> {
        let mut out = Vec::new();
        for t in tokens {
            out.push(t.text().to_string());
            if t.line_end {
                out.push("\\n".into());
            }
        }
        out
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
        assert_eq!((tokens[6].span.line, tokens[6].span.col), (2, 10));
        assert_eq!(tokens[6].span.to_string(), "/e/k.conf:2:10");
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
    fn a_file_included_twice_in_sequence_is_no_cycle() {
        // a.conf includes b.conf, and the glob that matched a.conf matches b.conf too:
        // b.conf is read twice, once inside a.conf and once after it, without a cycle.
        let fs = MemFs::new()
            .with("/e/k.conf", "include *.inc\nend\n")
            .with("/e/a.inc", "a\ninclude b.inc\n")
            .with("/e/b.inc", "b\n");
        let (tokens, diags) = lex(&fs, None);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            words(&tokens),
            ["a", "\\n", "b", "\\n", "b", "\\n", "end", "\\n"]
        );
        assert_eq!(tokens[1].span.to_string(), "/e/b.inc:1:1");
        assert_eq!(tokens[3].span.to_string(), "/e/k.conf:2:1");
    }

    #[test]
    fn columns_count_characters_and_crlf_is_a_line_end() {
        let fs = MemFs::new().with("/e/k.conf", "\"é\" x\r\ny\r\n");
        let (tokens, _) = lex(&fs, None);
        assert_eq!(words(&tokens), ["é", "x", "\\n", "y", "\\n"]);
        assert_eq!(tokens[1].span.col, 5);
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
