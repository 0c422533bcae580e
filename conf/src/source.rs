//! Where configuration files come from: the real filesystem, or memory (tests, fuzzing).

use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::path::{Component, Path, PathBuf};

/// Reads files and expands glob patterns. The preprocessor does all its file access through this.
pub trait FileSource {
    /// The text of a file.
    fn read(&self, path: &Path) -> io::Result<String>;
    /// Existing files matching `pattern` (`*`, `?`, `[...]` in any component), sorted.
    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>>;
    /// The file as a reader, for reading line by line; by default the text [`FileSource::read`] gives.
    fn open(&self, path: &Path) -> io::Result<Box<dyn BufRead + '_>> {
        Ok(Box::new(io::Cursor::new(self.read(path)?.into_bytes())))
    }
}

/// The real filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

impl FileSource for RealFs {
    fn read(&self, path: &Path) -> io::Result<String> {
        let bytes = std::fs::read(path)?;
        // Valid UTF-8 (the usual case) is taken as is; otherwise invalid bytes become U+FFFD.
        Ok(String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// Buffered, so a large file is never held whole.
    fn open(&self, path: &Path) -> io::Result<Box<dyn BufRead + '_>> {
        Ok(Box::new(io::BufReader::with_capacity(
            64 * 1024,
            std::fs::File::open(path)?,
        )))
    }

    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>> {
        let mut found = vec![PathBuf::new()];
        for component in pattern.components() {
            let part = component.as_os_str().to_string_lossy();
            let mut next = Vec::new();
            for base in &found {
                if matches!(component, Component::Normal(_)) && has_wildcard(&part) {
                    let dir = if base.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        base.as_path()
                    };
                    let Ok(entries) = std::fs::read_dir(dir) else {
                        continue;
                    };
                    for entry in entries.flatten() {
                        let name = entry.file_name().to_string_lossy().into_owned();
                        // Like glob(3): a leading '.' is matched only explicitly.
                        if wildcard_match(&part, &name)
                            && (!name.starts_with('.') || part.starts_with('.'))
                        {
                            next.push(base.join(name));
                        }
                    }
                } else {
                    next.push(base.join(component.as_os_str()));
                }
            }
            found = next;
        }
        found.retain(|p| p.is_file());
        found.sort();
        Ok(found)
    }
}

/// Files held in memory, keyed by path.
#[derive(Debug, Default, Clone)]
pub struct MemFs {
    pub files: BTreeMap<PathBuf, String>,
}

impl MemFs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file.
    pub fn with(mut self, path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        self.files.insert(path.into(), text.into());
        self
    }
}

impl FileSource for MemFs {
    fn read(&self, path: &Path) -> io::Result<String> {
        self.files
            .get(&normalize(path))
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }

    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>> {
        let pattern = normalize(pattern);
        let parts: Vec<String> = pattern
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Ok(self
            .files
            .keys()
            .filter(|path| {
                let names: Vec<String> = path
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                names.len() == parts.len()
                    && names.iter().zip(&parts).all(|(n, p)| wildcard_match(p, n))
            })
            .cloned()
            .collect())
    }
}

/// Removes `.` components and folds `dir/..`, without touching the filesystem.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// True when a path component holds glob(3) wildcard characters.
pub fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// glob(3)-style match of one path component: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    match_from(&pattern, &name)
}

fn match_from(pattern: &[char], name: &[char]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|skip| match_from(&pattern[1..], &name[skip..])),
        Some('?') => !name.is_empty() && match_from(&pattern[1..], &name[1..]),
        Some('[') => {
            let Some(&c) = name.first() else { return false };
            match class_match(&pattern[1..], c) {
                Some((matched, rest)) => matched && match_from(rest, &name[1..]),
                // No closing ']': the '[' is literal.
                None => c == '[' && match_from(&pattern[1..], &name[1..]),
            }
        }
        Some(&p) => name.first() == Some(&p) && match_from(&pattern[1..], &name[1..]),
    }
}

/// Matches `c` against a bracket class body; returns (matched, pattern after ']').
fn class_match(body: &[char], c: char) -> Option<(bool, &[char])> {
    let (negated, mut i) = if matches!(body.first(), Some('!') | Some('^')) {
        (true, 1)
    } else {
        (false, 0)
    };
    let mut matched = false;
    let mut first = true;
    while i < body.len() {
        if body[i] == ']' && !first {
            return Some((matched != negated, &body[i + 1..]));
        }
        first = false;
        if i + 2 < body.len() && body[i + 1] == '-' && body[i + 2] != ']' {
            matched |= body[i] <= c && c <= body[i + 2];
            i += 3;
        } else {
            matched |= body[i] == c;
            i += 1;
        }
    }
    None
}

/// Expands `{a,b}` alternatives (nested allowed) into every combination, in order.
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let Some(open) = chars.iter().position(|&c| c == '{') else {
        return vec![pattern.to_string()];
    };
    let mut depth = 0;
    let mut alternatives = Vec::new();
    let mut start = open + 1;
    for (i, &c) in chars.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    alternatives.push(chars[start..i].iter().collect::<String>());
                    let prefix: String = chars[..open].iter().collect();
                    let suffix: String = chars[i + 1..].iter().collect();
                    return alternatives
                        .iter()
                        .flat_map(|alt| expand_braces(&format!("{prefix}{alt}{suffix}")))
                        .collect();
                }
            }
            ',' if depth == 1 => {
                alternatives.push(chars[start..i].iter().collect::<String>());
                start = i + 1;
            }
            _ => {}
        }
    }
    // Unbalanced: no expansion.
    vec![pattern.to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_expand_in_order_and_nest() {
        assert_eq!(expand_braces("a{b,c}d"), vec!["abd", "acd"]);
        assert_eq!(
            expand_braces("{x,y{1,2}}.conf"),
            vec!["x.conf", "y1.conf", "y2.conf"]
        );
        assert_eq!(expand_braces("plain"), vec!["plain"]);
        assert_eq!(expand_braces("bad{a,b"), vec!["bad{a,b"]);
    }

    #[test]
    fn wildcards_match_like_glob() {
        assert!(wildcard_match("*.conf", "a.conf"));
        assert!(!wildcard_match("*.conf", "a.conf.bak"));
        assert!(wildcard_match("vs?.conf", "vs1.conf"));
        assert!(wildcard_match("vs[0-9].conf", "vs7.conf"));
        assert!(!wildcard_match("vs[!0-9].conf", "vs7.conf"));
    }

    #[test]
    fn memfs_globs_by_component() {
        let fs = MemFs::new()
            .with("/e/a.conf", "")
            .with("/e/b.conf", "")
            .with("/e/sub/c.conf", "");
        assert_eq!(
            fs.glob(Path::new("/e/*.conf")).unwrap_or_default(),
            vec![PathBuf::from("/e/a.conf"), PathBuf::from("/e/b.conf")]
        );
        assert_eq!(
            fs.glob(Path::new("/e/./sub/../sub/*")).unwrap_or_default(),
            vec![PathBuf::from("/e/sub/c.conf")]
        );
    }
}
