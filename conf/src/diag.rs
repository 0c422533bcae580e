//! Diagnostics: what is wrong, where (`file:line:col`), the offending text and a hint.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// A position in a configuration file. Lines and columns are 1-based; the
/// column counts characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Span {
    /// The file as it was named (include paths are joined to the including file's directory).
    pub file: Arc<str>,
    pub line: u32,
    pub col: u32,
}

impl Span {
    /// A span naming a whole file (line 0, column 0) for problems without a position.
    pub fn file_only(file: &str) -> Self {
        Span {
            file: Arc::from(file),
            line: 0,
            col: 0,
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// How bad a diagnostic is. `--strict` promotes warnings to errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One finding about a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    #[serde(flatten)]
    pub span: Span,
    pub message: String,
    /// The text the diagnostic is about (a keyword, a value, a path).
    pub text: String,
    /// How to fix it, when we know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(span: &Span, text: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, span, text, message)
    }

    pub fn warning(span: &Span, text: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, span, text, message)
    }

    fn new(
        severity: Severity,
        span: &Span,
        text: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            span: span.clone(),
            message: message.into(),
            text: text.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: severity: message` and, on the next line, the hint.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.span, self.severity, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// True when any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}

/// `--strict`: every warning becomes an error.
pub fn make_strict(diagnostics: &mut [Diagnostic]) {
    for d in diagnostics {
        d.severity = Severity::Error;
    }
}

/// Levenshtein distance, for "did you mean" hints.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo
/// or a keyword sharing a word with it (`tcp_port` → `connect_port`).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_parts: Vec<&str> = word.split('_').collect();
    candidates
        .into_iter()
        .map(|c| {
            let mut score = edit_distance(word, c);
            // Sharing a whole '_'-separated part (port, timeout) makes a candidate closer.
            if c.split('_').any(|p| p.len() > 2 && word_parts.contains(&p)) {
                score = score.saturating_sub(word.len() / 2);
            }
            (score, c)
        })
        .filter(|(score, c)| *score <= (word.len().max(c.len()) / 2).max(2))
        .min_by_key(|(score, c)| (*score, *c))
        .map(|(_, c)| c)
}
