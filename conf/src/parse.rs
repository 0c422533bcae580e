//! Tokens → model, driven by [`crate::schema`].
//!
//! Statements end at the end of a line, as in keepalived, and also where the next
//! keyword of the same block starts on the same line once the current keyword has
//! its arguments. That reads one-line configurations (`vrrp_script s { script "x"
//! interval 2 }`) fully, where keepalived 2.2.7 drops everything after the first
//! keyword of a line holding braces.
//!
//! The model is first built as a JSON value (field names from the schema), then
//! deserialized; every value is checked here first, with its span, so that step
//! cannot fail on user input. The span of every field and list entry is recorded
//! by JSON pointer (`/vrrp_instances/0/priority`) for later semantic checks.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::diag::{nearest, Diagnostic, Span};
use crate::lexer::{Token, TokenKind};
use crate::model::{Config, IpPrefix, VirtualServer};
use crate::schema::{Block, Entry, Header, Key, Kind, TOP};

/// A JSON pointer (`/vrrp_instances/0/priority`) as its 64-bit FNV-1a hash, extended
/// segment by segment as the parser descends, so that naming a position allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pointer(u64);

impl Pointer {
    /// The empty pointer (the whole document).
    pub const ROOT: Pointer = Pointer(0xcbf2_9ce4_8422_2325);

    fn bytes(self, bytes: &[u8]) -> Pointer {
        Pointer(bytes.iter().fold(self.0, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        }))
    }

    /// `self/name`.
    pub fn field(self, name: &str) -> Pointer {
        self.bytes(b"/").bytes(name.as_bytes())
    }

    /// `self/index`.
    pub fn index(self, index: usize) -> Pointer {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = index;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.bytes(b"/").bytes(&digits[at..])
    }

    /// The pointer written as text (`/a/0/b`).
    pub fn of(text: &str) -> Pointer {
        Pointer::ROOT.bytes(text.as_bytes())
    }
}

/// Hashes a [`Pointer`] (already a hash) with a final mix, for the span map.
#[derive(Debug, Default)]
pub struct PointerHasher(u64);

impl Hasher for PointerHasher {
    fn finish(&self) -> u64 {
        // splitmix64 finalizer: spreads FNV's bits over the whole word.
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Where model fields and list entries were written, by JSON pointer. Only the
/// positions the semantic checks report ([`crate::validate::POSITIONED`]) are kept.
#[derive(Debug, Default, Clone)]
pub struct SpanMap {
    map: HashMap<u64, Span, BuildHasherDefault<PointerHasher>>,
}

impl SpanMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Where the field or entry at `pointer` (`/virtual_servers/0/quorum`) was written.
    pub fn get(&self, pointer: &str) -> Option<&Span> {
        self.map.get(&Pointer::of(pointer).0)
    }

    pub fn insert(&mut self, at: Pointer, span: Span) {
        self.map.insert(at.0, span);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// True when positions of `field` are kept (see [`crate::validate::POSITIONED`]).
fn positioned(field: &str) -> bool {
    crate::validate::POSITIONED.contains(&field)
}

/// Builds the model from a token stream, consuming it as it goes. Each virtual server
/// becomes typed as soon as its block closes, so the intermediate form of only one
/// is held at a time.
pub fn parse_tokens(tokens: impl IntoIterator<Item = Token>) -> (Config, SpanMap, Vec<Diagnostic>) {
    let mut parser = Parser {
        tokens: tokens.into_iter(),
        ahead: None,
        diagnostics: Vec::new(),
        spans: SpanMap::new(),
        eof_reported: false,
        servers: Vec::new(),
        file: None,
    };
    let mut root = Map::new();
    parser.body(&TOP, &mut root, Pointer::ROOT, None);
    let mut config = match serde_json::from_value::<Config>(Value::Object(root)) {
        Ok(config) => config,
        Err(e) => {
            parser.internal_error(&e);
            Config::default()
        }
    };
    config.virtual_servers = std::mem::take(&mut parser.servers);
    (config, parser.spans, parser.diagnostics)
}

struct Parser<I: Iterator<Item = Token>> {
    tokens: I,
    /// The token looked at but not consumed.
    ahead: Option<Token>,
    diagnostics: Vec<Diagnostic>,
    spans: SpanMap,
    eof_reported: bool,
    /// Virtual servers already typed, in file order.
    servers: Vec<VirtualServer>,
    /// The first file seen, for diagnostics without a position.
    file: Option<std::sync::Arc<str>>,
}

fn word(token: &Token) -> Option<&str> {
    match &token.kind {
        TokenKind::Word { text, .. } => Some(text),
        _ => None,
    }
}

fn is_quoted(token: &Token) -> bool {
    matches!(token.kind, TokenKind::Word { quoted: true, .. })
}

/// Formats a duration as humantime, the model's text form (`3s`; `1s 500ms`).
fn duration_value(d: Duration) -> Value {
    if d.subsec_nanos() == 0 {
        // The common case, without humantime's formatter.
        let mut text = d.as_secs().to_string();
        text.push('s');
        return Value::String(text);
    }
    Value::String(humantime::format_duration(d).to_string())
}

/// keepalived `<TIMER>`: seconds, fractions allowed, microsecond resolution.
pub fn parse_seconds(text: &str) -> Option<Duration> {
    let secs: f64 = text.parse().ok()?;
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return None;
    }
    Some(Duration::from_micros((secs * 1e6).round() as u64))
}

/// The word's text, taken out of the token.
fn into_text(token: Token) -> String {
    match token.kind {
        TokenKind::Word { text, .. } => text,
        _ => String::new(),
    }
}

impl<I: Iterator<Item = Token>> Parser<I> {
    /// The next token, without consuming it.
    fn peek(&mut self) -> Option<&Token> {
        if self.ahead.is_none() {
            let token = self.tokens.next()?;
            if self.file.is_none() {
                self.file = Some(token.span.file.clone());
            }
            self.ahead = Some(token);
        }
        self.ahead.as_ref()
    }

    fn peek_kind(&mut self) -> Option<&TokenKind> {
        self.peek().map(|t| &t.kind)
    }

    fn advance(&mut self) -> Option<Token> {
        match self.ahead.take() {
            Some(token) => Some(token),
            None => {
                self.peek();
                self.ahead.take()
            }
        }
    }

    /// Drops the next token.
    fn skip(&mut self) {
        self.advance();
    }

    /// The schema and the model disagree: a bug in lvsd, not in the file.
    fn internal_error(&mut self, e: &serde_json::Error) {
        let file = self.file.as_deref().unwrap_or("");
        self.diagnostics.push(Diagnostic::error(
            &Span::file_only(file),
            "",
            format!("internal error building the model: {e}"),
        ));
    }

    /// Types the virtual servers read so far (top level only) and drops their JSON form.
    fn settle_servers(&mut self, obj: &mut Map<String, Value>) {
        let Some(Value::Array(list)) = obj.get_mut("virtual_servers") else {
            return;
        };
        for value in std::mem::take(list) {
            match serde_json::from_value::<VirtualServer>(value) {
                Ok(server) => self.servers.push(server),
                Err(e) => self.internal_error(&e),
            }
        }
    }

    /// Reads statements until the `}` closing this block (or the end for the top level).
    fn body(
        &mut self,
        block: &'static Block,
        obj: &mut Map<String, Value>,
        path: Pointer,
        opened: Option<&Span>,
    ) {
        while let Some(token) = self.advance() {
            match &token.kind {
                TokenKind::Close if opened.is_some() => return,
                TokenKind::Close => self.diagnostics.push(
                    Diagnostic::error(&token.span, "}", "unexpected '}' with no block open")
                        .hint("remove it, or add the '{' it was meant to close"),
                ),
                TokenKind::Open => {
                    self.diagnostics.push(
                        Diagnostic::error(
                            &token.span,
                            "{",
                            "unexpected '{' not after a block keyword",
                        )
                        .hint("a block opens after its keyword, e.g. `vrrp_instance NAME {`"),
                    );
                    self.skip_block();
                }
                TokenKind::Word { .. } => {
                    self.statement(block, obj, path, token);
                    if opened.is_none() {
                        self.settle_servers(obj);
                    }
                }
            }
        }
        if let (Some(open), false) = (opened, self.eof_reported) {
            self.eof_reported = true;
            let name = if block.name.is_empty() {
                "block"
            } else {
                block.name
            };
            self.diagnostics.push(
                Diagnostic::error(
                    open,
                    "{",
                    format!("`{name}` block opened here is never closed"),
                )
                .hint("add the missing '}'"),
            );
        }
    }

    /// Skips the rest of a block whose `{` was just read; true when its `}` ended a line.
    fn skip_block(&mut self) -> bool {
        let mut depth = 1;
        while let Some(token) = self.advance() {
            match token.kind {
                TokenKind::Open => depth += 1,
                TokenKind::Close => {
                    depth -= 1;
                    if depth == 0 {
                        return token.line_end;
                    }
                }
                _ => {}
            }
        }
        true
    }

    /// Skips the block that follows on the same line, if one does.
    fn skip_block_after(&mut self, line_ended: bool) {
        if !line_ended && matches!(self.peek_kind(), Some(TokenKind::Open)) {
            self.skip();
            self.skip_block();
        }
    }

    /// Words following `keyword` on its line: at least `min`, at most `max`, stopping
    /// early at a keyword of `block` once `min` are read.
    fn args(&mut self, block: &Block, keyword: &Token, min: usize, max: usize) -> Vec<Token> {
        let mut args = Vec::new();
        let mut ended = keyword.line_end;
        while !ended {
            let Some(token) = self.peek() else { break };
            let Some(text) = word(token) else { break };
            if args.len() >= max
                || (args.len() >= min && !is_quoted(token) && block.key(text).is_some())
            {
                break;
            }
            if let Some(token) = self.advance() {
                ended = token.line_end;
                args.push(token);
            }
        }
        args
    }

    fn statement(
        &mut self,
        block: &'static Block,
        obj: &mut Map<String, Value>,
        path: Pointer,
        keyword: Token,
    ) {
        let text = keyword.text();
        let key = match block.key(text) {
            Some(Key {
                kind: Kind::Alias(target),
                ..
            }) => {
                let current = block
                    .key(target)
                    .filter(|k| !matches!(k.kind, Kind::Alias(_)));
                self.diagnostics.push(
                    Diagnostic::warning(
                        &keyword.span,
                        text,
                        format!("`{text}` is deprecated; use `{target}`"),
                    )
                    .hint(format!("replace `{text}` with `{target}`")),
                );
                match current {
                    Some(k) => k,
                    None => return,
                }
            }
            Some(k) => k,
            None => {
                self.unknown(block, &keyword);
                return;
            }
        };
        let (min, max) = arity(key.kind);
        let args = self.args(block, &keyword, min, max);
        let line_ended = args.last().map_or(keyword.line_end, |t| t.line_end);
        if args.len() < min {
            self.diagnostics.push(Diagnostic::error(
                &keyword.span,
                text,
                format!(
                    "`{text}` needs {}",
                    if min == 1 {
                        "a value".to_string()
                    } else {
                        format!("{min} values")
                    }
                ),
            ));
            self.skip_block_after(line_ended);
            return;
        }
        let field_path = path.field(key.field);
        match key.kind {
            Kind::Block(child) | Kind::Blocks(child) | Kind::Checker(child) => {
                self.block_statement(key, child, obj, path, &keyword, &args)
            }
            Kind::Lines(entry) => {
                let Some(open) = self.expect_open(&keyword) else {
                    return;
                };
                let lines = self.lines(&open);
                let list = obj
                    .entry(key.field)
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(list) = list {
                    let at = positioned(key.field).then_some(field_path);
                    self.entries(entry, key.name, lines, list, at);
                }
            }
            Kind::Other => {
                let words: Vec<Value> = args
                    .into_iter()
                    .map(|t| Value::String(into_text(t)))
                    .collect();
                let other = obj
                    .entry("other")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(other) = other {
                    other.insert(into_text(keyword), Value::Array(words));
                }
                // Some of these take a block (SMTP_CHECK `host`): keep the words, skip the block.
                self.skip_block_after(line_ended);
            }
            _ => {
                // The position is kept even for a rejected value: the
                // semantic checks then know the key was written (and its
                // error reported) rather than missing.
                let span = keyword.span.clone();
                if let Some(value) = self.scalar(key, &keyword, args) {
                    obj.insert(key.field.to_string(), value);
                }
                if positioned(key.field) {
                    self.spans.insert(field_path, span);
                }
            }
        }
    }

    fn unknown(&mut self, block: &Block, keyword: &Token) {
        let text = keyword.text();
        let place = if block.name.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in `{}`", block.name)
        };
        let mut diagnostic = Diagnostic::warning(
            &keyword.span,
            text,
            format!("unknown keyword `{text}` {place}; ignored"),
        );
        if let Some(hint) = KNOWN_MISTAKES
            .iter()
            .find(|(wrong, _)| *wrong == text)
            .map(|(_, hint)| hint)
        {
            diagnostic = diagnostic.hint(*hint);
        } else if let Some(suggestion) = nearest(text, block.names()) {
            diagnostic = diagnostic.hint(format!("did you mean `{suggestion}`?"));
        }
        self.diagnostics.push(diagnostic);
        // Its arguments, and its block if it has one on the same line, go with it.
        let mut ended = keyword.line_end;
        while !ended && matches!(self.peek_kind(), Some(TokenKind::Word { .. })) {
            ended = self.advance().is_none_or(|t| t.line_end);
        }
        self.skip_block_after(ended);
    }

    /// Consumes the `{` after a block keyword (blank lines allowed between).
    fn expect_open(&mut self, keyword: &Token) -> Option<Span> {
        match self.peek() {
            Some(Token {
                kind: TokenKind::Open,
                ..
            }) => self.advance().map(|t| t.span),
            other => {
                let found = other.map_or("end of file".to_string(), |t| format!("`{}`", t.text()));
                self.diagnostics.push(
                    Diagnostic::error(
                        &keyword.span,
                        keyword.text(),
                        format!("expected '{{' after `{}`, found {found}", keyword.text()),
                    )
                    .hint(format!(
                        "`{}` takes a block: `{} {{ … }}`",
                        keyword.text(),
                        keyword.text()
                    )),
                );
                None
            }
        }
    }

    fn block_statement(
        &mut self,
        key: &Key,
        child: &'static Block,
        obj: &mut Map<String, Value>,
        path: Pointer,
        keyword: &Token,
        args: &[Token],
    ) {
        let mut object = Map::new();
        let header_ok = self.header(child.header, keyword, args, &mut object);
        let Some(open) = self.expect_open(keyword) else {
            return;
        };
        let field_path = path.field(key.field);
        match key.kind {
            Kind::Block(_) => {
                let slot = obj
                    .entry(key.field)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(existing) = slot {
                    self.body(child, existing, field_path, Some(&open));
                }
            }
            _ => {
                let list = obj
                    .entry(key.field)
                    .or_insert_with(|| Value::Array(Vec::new()));
                let mut index = match list {
                    Value::Array(list) => list.len(),
                    _ => 0,
                };
                if path == Pointer::ROOT && key.field == "virtual_servers" {
                    // Those already typed count too.
                    index += self.servers.len();
                }
                let item_path = field_path.index(index);
                if matches!(key.kind, Kind::Checker(_)) {
                    object.insert("kind".into(), Value::String(child.name.into()));
                }
                if child.header == Header::GroupList {
                    let lines = self.lines(&open);
                    let mut members = Vec::new();
                    self.entries(Entry::GroupMember, child.name, lines, &mut members, None);
                    object.insert("members".into(), Value::Array(members));
                } else {
                    self.body(child, &mut object, item_path, Some(&open));
                }
                if header_ok {
                    if positioned(key.field) {
                        self.spans.insert(item_path, keyword.span.clone());
                    }
                    if let Some(Value::Array(list)) = obj.get_mut(key.field) {
                        list.push(Value::Object(object));
                    }
                }
            }
        }
    }

    /// Reads a block header into `object`; false (with a diagnostic) when it is unusable.
    fn header(
        &mut self,
        header: Header,
        keyword: &Token,
        args: &[Token],
        object: &mut Map<String, Value>,
    ) -> bool {
        let name = keyword.text();
        match header {
            Header::None => true,
            Header::Name | Header::GroupList => match args.first() {
                Some(arg) => {
                    object.insert("name".into(), Value::String(arg.text().into()));
                    true
                }
                None => self.fail(keyword, name, format!("`{name}` needs a name")),
            },
            Header::VirtualServer => match args {
                [kind, mark] if kind.text() == "fwmark" => match mark.text().parse::<u32>() {
                    Ok(m) => {
                        object.insert("fwmark".into(), m.into());
                        true
                    }
                    Err(_) => self.fail(
                        mark,
                        mark.text(),
                        format!("`{}` is not a firewall mark", mark.text()),
                    ),
                },
                [kind, group] if kind.text() == "group" => {
                    object.insert("group".into(), Value::String(group.text().into()));
                    true
                }
                [addr, port] => self.address(addr, object) && self.port(port, object),
                _ => self.fail(
                    keyword,
                    name,
                    "`virtual_server` needs `ADDR PORT`, `fwmark N` or `group NAME`".to_string(),
                ),
            },
            Header::RealServer => match args {
                [addr] => self.address(addr, object),
                [addr, port] => self.address(addr, object) && self.port(port, object),
                _ => self.fail(
                    keyword,
                    name,
                    "`real_server` needs `ADDR [PORT]`".to_string(),
                ),
            },
        }
    }

    fn fail(&mut self, token: &Token, text: &str, message: String) -> bool {
        self.diagnostics
            .push(Diagnostic::error(&token.span, text, message));
        false
    }

    fn address(&mut self, token: &Token, object: &mut Map<String, Value>) -> bool {
        match token.text().parse::<std::net::IpAddr>() {
            Ok(a) => {
                object.insert("address".into(), Value::String(a.to_string()));
                true
            }
            Err(_) => self.fail(
                token,
                token.text(),
                format!("`{}` is not an IP address", token.text()),
            ),
        }
    }

    fn port(&mut self, token: &Token, object: &mut Map<String, Value>) -> bool {
        match token.text().parse::<u16>() {
            Ok(p) => {
                object.insert("port".into(), p.into());
                true
            }
            Err(_) => self.fail(
                token,
                token.text(),
                format!("`{}` is not a port number (0..=65535)", token.text()),
            ),
        }
    }

    /// Converts the arguments of a scalar keyword.
    fn scalar(&mut self, key: &Key, keyword: &Token, args: Vec<Token>) -> Option<Value> {
        if let Kind::Str | Kind::OptName = key.kind {
            return Some(Value::String(
                args.into_iter().next().map(into_text).unwrap_or_default(),
            ));
        }
        let first = args.first();
        let text = first.map_or("", |t| t.text());
        let bad = |this: &mut Self, message: String, hint: Option<String>| {
            let span = first.map_or(&keyword.span, |t| &t.span);
            let mut d = Diagnostic::error(span, text, message);
            if let Some(h) = hint {
                d = d.hint(h);
            }
            this.diagnostics.push(d);
            None
        };
        match key.kind {
            Kind::Line => Some(Value::String(
                args.iter().map(|t| t.text()).collect::<Vec<_>>().join(" "),
            )),
            Kind::Words => Some(Value::Array(
                args.iter()
                    .map(|t| Value::String(t.text().into()))
                    .collect(),
            )),
            Kind::Flag => Some(Value::Bool(true)),
            Kind::Int(lo, hi) => match text.parse::<i64>() {
                Ok(n) if (lo..=hi).contains(&n) => Some(n.into()),
                Ok(_) => bad(
                    self,
                    format!("`{text}` is out of range for `{}` ({lo}..={hi})", key.name),
                    None,
                ),
                Err(_) => bad(
                    self,
                    format!("`{text}` is not an integer (`{}`)", key.name),
                    None,
                ),
            },
            Kind::Secs => match parse_seconds(text) {
                Some(d) => Some(duration_value(d)),
                None => bad(
                    self,
                    format!("`{text}` is not a number of seconds (`{}`)", key.name),
                    None,
                ),
            },
            Kind::SecsOr(default) => match first {
                None => Some(duration_value(Duration::from_secs(default))),
                Some(_) => match parse_seconds(text) {
                    Some(d) => Some(duration_value(d)),
                    None => bad(
                        self,
                        format!("`{text}` is not a number of seconds (`{}`)", key.name),
                        None,
                    ),
                },
            },
            Kind::Ip => match text.parse::<std::net::IpAddr>() {
                Ok(a) => Some(Value::String(a.to_string())),
                Err(_) => bad(
                    self,
                    format!("`{text}` is not an IP address (`{}`)", key.name),
                    None,
                ),
            },
            Kind::Enum(choices) => match choices.iter().find(|c| c.eq_ignore_ascii_case(text)) {
                Some(c) => Some(Value::String((*c).into())),
                None => bad(
                    self,
                    format!("`{text}` is not a valid `{}`", key.name),
                    Some(format!("use one of: {}", choices.join(", "))),
                ),
            },
            Kind::Endpoint => {
                let mut object = Map::new();
                let ok = self.address(&args[0], &mut object)
                    && args.get(1).is_none_or(|p| self.port(p, &mut object));
                ok.then_some(Value::Object(object))
            }
            _ => None,
        }
    }

    /// The word lines of a list block whose `{` was read, up to its `}`.
    fn lines(&mut self, open: &Span) -> Vec<Vec<Token>> {
        let mut lines = vec![Vec::new()];
        while let Some(token) = self.advance() {
            let ended = match &token.kind {
                TokenKind::Close => return lines.into_iter().filter(|l| !l.is_empty()).collect(),
                TokenKind::Open => {
                    self.diagnostics.push(Diagnostic::error(
                        &token.span,
                        "{",
                        "unexpected '{' inside a list block",
                    ));
                    self.skip_block()
                }
                TokenKind::Word { .. } => {
                    let ended = token.line_end;
                    if let Some(line) = lines.last_mut() {
                        line.push(token)
                    }
                    ended
                }
            };
            if ended {
                lines.push(Vec::new());
            }
        }
        if !self.eof_reported {
            self.eof_reported = true;
            self.diagnostics.push(
                Diagnostic::error(open, "{", "list block opened here is never closed")
                    .hint("add the missing '}'"),
            );
        }
        lines.into_iter().filter(|l| !l.is_empty()).collect()
    }

    fn entries(
        &mut self,
        entry: Entry,
        block_name: &str,
        lines: Vec<Vec<Token>>,
        list: &mut Vec<Value>,
        path: Option<Pointer>,
    ) {
        for line in lines {
            if let Entry::Route | Entry::Rule = entry {
                self.ip_line(entry, block_name, &line, list, path);
                continue;
            }
            let mut i = 0;
            while i < line.len() {
                let head = &line[i];
                let start = list.len();
                let value = match entry {
                    Entry::Word => {
                        i += 1;
                        Some(Value::String(head.text().into()))
                    }
                    Entry::Ip => {
                        i += 1;
                        match head.text().parse::<std::net::IpAddr>() {
                            Ok(a) => {
                                self.peer_ttl_options(&line, &mut i);
                                Some(Value::String(a.to_string()))
                            }
                            Err(_) => {
                                self.fail(
                                    head,
                                    head.text(),
                                    format!(
                                        "`{}` is not an IP address (`{block_name}`)",
                                        head.text()
                                    ),
                                );
                                None
                            }
                        }
                    }
                    Entry::Tracked => Some(self.tracked(&line, &mut i)),
                    Entry::Address => self.virtual_address(block_name, &line, &mut i),
                    Entry::GroupMember => self.group_member(&line, &mut i),
                    Entry::Route | Entry::Rule => None,
                };
                if let Some(value) = value {
                    if let Some(path) = path {
                        self.spans.insert(path.index(start), head.span.clone());
                    }
                    list.push(value);
                }
            }
        }
    }

    /// One route or rule line ([`crate::iproute`]); the positions of its words are kept
    /// under the entry's pointer (`/static_routes/0/via`).
    fn ip_line(
        &mut self,
        entry: Entry,
        block_name: &str,
        line: &[Token],
        list: &mut Vec<Value>,
        path: Option<Pointer>,
    ) {
        let read = if entry == Entry::Route {
            crate::iproute::read_route(line, block_name, &mut self.diagnostics)
                .map(|r| (serde_json::to_value(r.value), r.spans))
        } else {
            crate::iproute::read_rule(line, block_name, &mut self.diagnostics)
                .map(|r| (serde_json::to_value(r.value), r.spans))
        };
        let Some((value, spans)) = read else { return };
        match value {
            Ok(value) => {
                if let Some(path) = path {
                    let at = path.index(list.len());
                    for (field, span) in spans {
                        // Pointers hash byte by byte: `field("nexthops/0/via")` is the
                        // pointer of `/nexthops/0/via`.
                        let pointer = if field.is_empty() {
                            at
                        } else {
                            at.field(&field)
                        };
                        self.spans.insert(pointer, span);
                    }
                }
                list.push(value);
            }
            Err(e) => self.internal_error(&e),
        }
    }

    /// keepalived.conf(5) `unicast_peer` entries: `ADDR [min_ttl 0..255] [max_ttl 0..255]`.
    /// The TTL bounds are read and checked, then ignored with a warning: lvsd does not
    /// filter adverts by TTL.
    fn peer_ttl_options(&mut self, line: &[Token], i: &mut usize) {
        while let Some(option) = line
            .get(*i)
            .filter(|t| matches!(t.text(), "min_ttl" | "max_ttl"))
        {
            let name = option.text();
            match line.get(*i + 1) {
                Some(value) if value.text().parse::<u8>().is_ok() => {
                    self.diagnostics.push(
                        Diagnostic::warning(
                            &option.span,
                            name,
                            format!("`{name}` is accepted but not enforced by lvsd"),
                        )
                        .hint("lvsd does not filter unicast adverts by TTL; delete the option"),
                    );
                }
                Some(value) => {
                    self.fail(
                        value,
                        value.text(),
                        format!("`{}` is out of range for `{name}` (0..=255)", value.text()),
                    );
                }
                None => {
                    self.fail(option, name, format!("`{name}` needs a value"));
                }
            }
            *i += 2;
        }
    }

    fn tracked(&mut self, line: &[Token], i: &mut usize) -> Value {
        let mut object = Map::new();
        object.insert("name".into(), Value::String(line[*i].text().into()));
        *i += 1;
        while let Some(token) = line.get(*i) {
            match token.text() {
                "weight" => match line.get(*i + 1).map(|t| (t, t.text().parse::<i32>())) {
                    Some((_, Ok(w))) => {
                        object.insert("weight".into(), w.into());
                        *i += 2;
                    }
                    Some((t, Err(_))) => {
                        self.fail(t, t.text(), format!("`{}` is not a weight", t.text()));
                        *i += 2;
                    }
                    None => {
                        self.fail(token, "weight", "`weight` needs a value".into());
                        *i += 1;
                    }
                },
                "reverse" => {
                    object.insert("reverse".into(), Value::Bool(true));
                    *i += 1;
                }
                _ => break,
            }
        }
        Value::Object(object)
    }

    fn virtual_address(
        &mut self,
        block_name: &str,
        line: &[Token],
        i: &mut usize,
    ) -> Option<Value> {
        let head = &line[*i];
        *i += 1;
        let prefix = match head.text().parse::<IpPrefix>() {
            Ok(p) => p,
            Err(e) => {
                self.fail(head, head.text(), format!("{e} (`{block_name}`)"));
                // Skip this entry's options.
                while line
                    .get(*i)
                    .is_some_and(|t| t.text().parse::<IpPrefix>().is_err())
                {
                    *i += 1;
                }
                return None;
            }
        };
        let mut object = Map::new();
        object.insert("address".into(), Value::String(prefix.to_string()));
        while let Some(token) = line.get(*i) {
            let option = token.text();
            let field = match option {
                "brd" | "broadcast" => "brd",
                "dev" | "scope" | "label" | "peer" => option,
                "no_track" => {
                    object.insert("no_track".into(), Value::Bool(true));
                    *i += 1;
                    continue;
                }
                _ if option.parse::<IpPrefix>().is_ok() => break,
                _ => {
                    self.diagnostics.push(Diagnostic::warning(
                        &token.span,
                        option,
                        format!("unknown `{block_name}` option `{option}`; ignored"),
                    ));
                    *i += 1;
                    continue;
                }
            };
            let Some(value) = line.get(*i + 1) else {
                self.fail(token, option, format!("`{option}` needs a value"));
                *i += 1;
                break;
            };
            *i += 2;
            if matches!(field, "brd" | "peer") {
                match value.text().parse::<std::net::IpAddr>() {
                    Ok(a) => {
                        object.insert(field.into(), Value::String(a.to_string()));
                    }
                    Err(_) => {
                        self.fail(
                            value,
                            value.text(),
                            format!("`{}` is not an IP address (`{option}`)", value.text()),
                        );
                    }
                }
            } else {
                object.insert(field.into(), Value::String(value.text().into()));
            }
        }
        Some(Value::Object(object))
    }

    fn group_member(&mut self, line: &[Token], i: &mut usize) -> Option<Value> {
        let head = &line[*i];
        let Some(second) = line.get(*i + 1) else {
            *i += 1;
            self.fail(
                head,
                head.text(),
                "a `virtual_server_group` entry needs `ADDR[-LAST] PORT` or `fwmark N`".into(),
            );
            return None;
        };
        *i += 2;
        let mut object = Map::new();
        if head.text() == "fwmark" {
            return match second.text().parse::<u32>() {
                Ok(m) => {
                    object.insert("fwmark".into(), m.into());
                    Some(Value::Object(object))
                }
                Err(_) => {
                    self.fail(
                        second,
                        second.text(),
                        format!("`{}` is not a firewall mark", second.text()),
                    );
                    None
                }
            };
        }
        let (addr, last) = match head.text().rsplit_once('-') {
            Some((a, l)) => (a, Some(l)),
            None => (head.text(), None),
        };
        let Ok(addr) = addr.parse::<std::net::IpAddr>() else {
            self.fail(
                head,
                head.text(),
                format!("`{}` is not an IP address or range", head.text()),
            );
            return None;
        };
        object.insert("address".into(), Value::String(addr.to_string()));
        if let Some(last) = last {
            match last.parse::<u16>() {
                Ok(l) => {
                    object.insert("range_last".into(), l.into());
                }
                Err(_) => {
                    self.fail(head, head.text(), format!("`{last}` is not a range end"));
                    return None;
                }
            }
        }
        self.port(second, &mut object)
            .then_some(Value::Object(object))
    }
}

/// Keywords seen in the wild that keepalived does not take, with what to write instead.
const KNOWN_MISTAKES: &[(&str, &str)] = &[
    ("tcp_port", "did you mean `connect_port`?"),
    ("port", "did you mean `connect_port`?"),
    (
        "nat_mask",
        "`nat_mask` was removed from keepalived; delete the line",
    ),
    (
        "connect_timeout_ms",
        "did you mean `connect_timeout` (seconds, fractions allowed)?",
    ),
];

/// How many arguments a keyword takes: (at least, at most).
fn arity(kind: Kind) -> (usize, usize) {
    match kind {
        Kind::Str | Kind::Int(..) | Kind::Secs | Kind::Ip | Kind::Enum(_) => (1, 1),
        Kind::Line => (1, usize::MAX),
        Kind::Words | Kind::Other => (0, usize::MAX),
        Kind::Flag | Kind::Lines(_) | Kind::Alias(_) => (0, 0),
        Kind::SecsOr(_) | Kind::OptName => (0, 1),
        Kind::Endpoint => (1, 2),
        Kind::Block(b) | Kind::Blocks(b) | Kind::Checker(b) => match b.header {
            Header::None => (0, 0),
            Header::Name | Header::GroupList => (1, 1),
            Header::VirtualServer => (2, 2),
            Header::RealServer => (1, 2),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_built_by_segments_equal_pointers_written_out() {
        let built = Pointer::ROOT
            .field("virtual_servers")
            .index(1207)
            .field("real_servers")
            .index(0);
        assert_eq!(built, Pointer::of("/virtual_servers/1207/real_servers/0"));
        assert_ne!(built, Pointer::of("/virtual_servers/1207/real_servers/1"));
        let mut spans = SpanMap::new();
        spans.insert(built, Span::file_only("k.conf"));
        assert!(spans.get("/virtual_servers/1207/real_servers/0").is_some());
        assert!(spans.get("/virtual_servers/120/real_servers/0").is_none());
    }
}
