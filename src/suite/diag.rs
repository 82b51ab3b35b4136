//! Diagnostics for suite and catalogue files: every problem names the file, the line and
//! column of the offending token, and the field path inside the document, so an author
//! can jump straight to it (`suites/x.yaml:12:7: cases[1].steps[0].request.method: ...`).

use std::fmt;
use std::path::PathBuf;

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based; 0 when the problem has no position (unreadable file, empty document).
    pub line: u64,
    /// 1-based; 0 when unknown.
    pub column: u64,
    /// e.g. `cases[1].steps[0].request.method`; empty for the document as a whole.
    pub field_path: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.field_path.is_empty() {
            write!(f, "{}: ", escape_controls(&self.field_path))?;
        }
        f.write_str(&escape_controls(&self.message))
    }
}

/// `s` with control characters escaped (`\t`, `\u{1b}`): messages quote the author's
/// text, and an escape sequence or newline in it could forge or recolour terminal lines.
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(char::is_control) {
        std::borrow::Cow::Owned(
            s.chars()
                .flat_map(|c| {
                    let escaped: Vec<char> = if c.is_control() {
                        c.escape_debug().collect()
                    } else {
                        vec![c]
                    };
                    escaped
                })
                .collect(),
        )
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Every problem found while loading a project, in file order, then position order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Stable order for output and snapshots: by file, then position, then text.
    pub fn sort(&mut self) {
        self.0.sort();
        self.0.dedup();
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_position_and_path() {
        let d = Diagnostic {
            file: PathBuf::from("suites/scoped_keys.yaml"),
            line: 12,
            column: 7,
            field_path: "cases[1].steps[0].request.method".into(),
            message: "unknown variant `GETT`".into(),
        };
        assert_eq!(
            d.to_string(),
            "suites/scoped_keys.yaml:12:7: cases[1].steps[0].request.method: unknown variant `GETT`"
        );
    }

    #[test]
    fn display_without_path_omits_the_empty_segment() {
        let d = Diagnostic {
            file: PathBuf::from("a.yaml"),
            line: 0,
            column: 0,
            field_path: String::new(),
            message: "file is empty".into(),
        };
        assert_eq!(d.to_string(), "a.yaml:0:0: file is empty");
    }

    #[test]
    fn control_characters_from_the_file_are_escaped_when_shown() {
        // Found by tests/fuzz.rs: semantic checks quote the author's text verbatim.
        let d = Diagnostic {
            file: PathBuf::from("a.yaml"),
            line: 3,
            column: 1,
            field_path: "cases[0].id".into(),
            message: "invalid JSONPath `$.a =\t= 1`\n\u{1b}[31mforged".into(),
        };
        assert_eq!(
            d.to_string(),
            "a.yaml:3:1: cases[0].id: invalid JSONPath `$.a =\\t= 1`\\n\\u{1b}[31mforged"
        );
    }

    #[test]
    fn diagnostics_display_one_per_line_sorted() {
        let mk = |line| Diagnostic {
            file: PathBuf::from("a.yaml"),
            line,
            column: 1,
            field_path: "x".into(),
            message: "m".into(),
        };
        let mut ds = Diagnostics(vec![mk(9), mk(2), mk(2)]);
        ds.sort();
        assert_eq!(ds.to_string(), "a.yaml:2:1: x: m\na.yaml:9:1: x: m");
    }
}
