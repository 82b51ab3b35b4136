//! Where each field of a parsed YAML document came from.
//!
//! Serde hands the loader plain values, but semantic errors ("`needs` names a later case")
//! must still point at a line and column. This module walks the parser's event stream once
//! more and records, for every node, its field path (`cases[1].steps[0].request.method`,
//! spelled as `serde_path_to_error` spells it) and position. Keeping this apart from the
//! model means the shared types stay plain data, without span wrappers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use serde_saphyr::granit_parser::{Event, Parser, Span};

/// A parsed document together with where its fields are.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    pub path: PathBuf,
    pub value: T,
    pub index: SourceIndex,
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

impl Pos {
    /// For problems with no position at all (unreadable or empty file).
    pub const NONE: Pos = Pos { line: 0, column: 0 };

    fn from_span(span: &Span) -> Pos {
        Pos {
            line: span.start.line() as u64,
            column: span.start.col() as u64 + 1,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The mapping key naming this node, when it is a mapping value.
    key: Option<Pos>,
    /// The node itself; for a block mapping or sequence that is its first entry.
    value: Pos,
    scalar: bool,
}

/// Field path → position for one document.
///
/// Built on the first question, not when the file is parsed: a second walk of every
/// suite's events was a third of loading them, and a file that loads without a finding
/// is never asked where anything is.
#[derive(Debug, Clone, Default)]
pub struct SourceIndex {
    text: Arc<str>,
    entries: OnceLock<HashMap<String, Entry>>,
    /// For a document the loader rewrote ([`super::for_each`]): where each part of the
    /// rewritten document was written. Empty for a document read as written.
    renames: Vec<Rename>,
}

/// The rewritten document's `from` (a field path prefix) was written at `to`.
#[derive(Debug, Clone)]
pub struct Rename {
    pub from: String,
    pub to: String,
    /// Said after a finding inside it, e.g. "for_each[2] of cases[5], case `x`".
    pub note: Option<String>,
}

enum Frame {
    Map {
        path: String,
        /// The key just read, waiting for its value.
        pending_key: Option<(String, Pos)>,
    },
    Seq {
        path: String,
        next: usize,
    },
}

fn child_of_map(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl SourceIndex {
    /// The index of `text`, built when it is first asked (see [`SourceIndex`]).
    pub fn build(text: &str) -> SourceIndex {
        SourceIndex {
            text: Arc::from(text),
            entries: OnceLock::new(),
            renames: Vec::new(),
        }
    }

    /// Whether the positions have been worked out yet.
    #[cfg(test)]
    pub(crate) fn is_built(&self) -> bool {
        self.entries.get().is_some()
    }

    fn entries(&self) -> &HashMap<String, Entry> {
        self.entries.get_or_init(|| index_text(&self.text))
    }
}

/// Indexes what can be parsed of `text`; stops quietly at the first syntax error (the
/// deserializer reports that one with its own position).
fn index_text(text: &str) -> HashMap<String, Entry> {
    {
        let mut index = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut parser = Parser::new_from_str(text);
        // Only the first document counts: the loader rejects files with more than one.
        let mut seen_root = false;
        while let Some(Ok((event, span))) = parser.next_event() {
            let pos = Pos::from_span(&span);
            let (opens, scalar_text) = match &event {
                Event::Scalar(text, ..) => (false, Some(text.to_string())),
                Event::Alias(_) => (false, None),
                Event::MappingStart(..) | Event::SequenceStart(..) => (true, None),
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                    if stack.is_empty() && seen_root {
                        return index;
                    }
                    continue;
                }
                _ => continue,
            };
            let (path, key_pos) = match stack.last_mut() {
                None => {
                    if seen_root {
                        return index;
                    }
                    seen_root = true;
                    (String::new(), None)
                }
                Some(Frame::Map { path, pending_key }) => match pending_key.take() {
                    // A key: remember it and wait for its value.
                    None => {
                        let key_text = scalar_text.unwrap_or_else(|| "?".to_string());
                        *pending_key = Some((key_text, pos));
                        if opens {
                            // A complex (non-scalar) key: index its insides under `?`
                            // so they cannot shadow real fields.
                            let p = child_of_map(path, "?");
                            stack.push(new_frame(&event, p));
                        }
                        continue;
                    }
                    Some((k, kp)) => (child_of_map(path, &k), Some(kp)),
                },
                Some(Frame::Seq { path, next }) => {
                    let p = format!("{path}[{next}]");
                    *next += 1;
                    (p, None)
                }
            };
            index.entry(path.clone()).or_insert(Entry {
                key: key_pos,
                value: pos,
                scalar: !opens,
            });
            if opens {
                stack.push(new_frame(&event, path));
            } else if stack.is_empty() {
                // A scalar document: nothing more to index.
                return index;
            }
        }
        index
    }
}

impl SourceIndex {
    /// This index for a rewritten document: `renames` say where its parts were written.
    pub fn with_renames(mut self, renames: Vec<Rename>) -> SourceIndex {
        self.renames = renames;
        self
    }

    /// The longest rename whose `from` is `path` or an ancestor of it.
    fn rename_of(&self, path: &str) -> Option<(&Rename, usize)> {
        self.renames
            .iter()
            .filter(|r| {
                path.strip_prefix(r.from.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
            .max_by_key(|r| r.from.len())
            .map(|r| (r, r.from.len()))
    }

    /// Where `path` of the document the loader works on was written in the file.
    pub fn source_path(&self, path: &str) -> String {
        match self.rename_of(path) {
            Some((r, n)) => format!("{}{}", r.to, &path[n..]),
            None => path.to_string(),
        }
    }

    /// A finding's field path and message as the author should read them: the path
    /// where it was written, and what it was expanded into.
    pub fn explain(&self, path: &str, message: String) -> (String, String) {
        match self.rename_of(path) {
            Some((r, n)) => (
                format!("{}{}", r.to, &path[n..]),
                match &r.note {
                    Some(note) => format!("{message} (in {note})"),
                    None => message,
                },
            ),
            None => (path.to_string(), message),
        }
    }

    /// Where the token for `path` is: the value of a scalar, or the key line of a
    /// mapping or sequence (its first entry may sit on the next line). Falls back to the
    /// nearest indexed ancestor, since defaulted fields have no token of their own.
    pub fn locate(&self, path: &str) -> Pos {
        let source = self.source_path(path);
        let mut p = source.as_str();
        loop {
            if let Some(e) = self.entries().get(p) {
                return match (e.scalar, e.key) {
                    (false, Some(k)) => k,
                    _ => e.value,
                };
            }
            match parent_path(p) {
                Some(parent) => p = parent,
                None => return Pos { line: 1, column: 1 },
            }
        }
    }

    /// The position of the key that names `path`, if it is a mapping value.
    pub fn key_pos(&self, path: &str) -> Option<Pos> {
        self.entries()
            .get(self.source_path(path).as_str())
            .and_then(|e| e.key)
    }

    /// True when the document has a node at exactly `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.entries().contains_key(self.source_path(path).as_str())
    }
}

fn new_frame(event: &Event<'_>, path: String) -> Frame {
    match event {
        Event::SequenceStart(..) => Frame::Seq { path, next: 0 },
        _ => Frame::Map {
            path,
            pending_key: None,
        },
    }
}

/// `a.b[2].c` → `a.b[2]` → `a.b` → `a` → `` → None.
pub fn parent_path(p: &str) -> Option<&str> {
    if p.is_empty() {
        return None;
    }
    if p.ends_with(']') {
        if let Some(i) = p.rfind('[') {
            return Some(&p[..i]);
        }
    }
    Some(match p.rfind(['.', '[']) {
        Some(i) => &p[..i],
        None => "",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
phase: p1
cases:
  - id: first
    steps:
      - request:
          method: GET
          path: /x
        expect: {status: 200, json: [{path: $.a, equals: 1}]}
  - id: second
    needs: [first]
";

    fn at(line: u64, column: u64) -> Pos {
        Pos { line, column }
    }

    #[test]
    fn scalars_point_at_their_value() {
        let ix = SourceIndex::build(DOC);
        assert_eq!(ix.locate("phase"), at(1, 8));
        assert_eq!(ix.locate("cases[0].id"), at(3, 9));
        assert_eq!(ix.locate("cases[0].steps[0].request.method"), at(6, 19));
        assert_eq!(ix.locate("cases[1].needs[0]"), at(10, 13));
        assert_eq!(
            ix.locate("cases[0].steps[0].expect.json[0].equals"),
            at(8, 58)
        );
    }

    #[test]
    fn containers_point_at_their_key() {
        let ix = SourceIndex::build(DOC);
        assert_eq!(ix.locate("cases[0].steps[0].request"), at(5, 9));
        assert_eq!(ix.locate("cases"), at(2, 1));
        assert_eq!(ix.key_pos("cases[1].needs"), Some(at(10, 5)));
    }

    #[test]
    fn sequence_items_point_at_the_item() {
        let ix = SourceIndex::build(DOC);
        assert_eq!(ix.locate("cases[1]"), at(9, 5));
    }

    #[test]
    fn missing_paths_fall_back_to_the_nearest_ancestor() {
        let ix = SourceIndex::build(DOC);
        assert_eq!(ix.locate("cases[1].steps"), at(9, 5));
        assert_eq!(ix.locate("nothing.here[3]"), at(1, 1));
    }

    #[test]
    fn stops_quietly_at_syntax_errors() {
        let ix = SourceIndex::build("a: 1\nb: [unclosed\n");
        assert_eq!(ix.locate("a"), at(1, 4));
    }

    #[test]
    fn complex_keys_do_not_shadow_fields() {
        let ix = SourceIndex::build("? [a, b]\n: 1\nc: 2\n");
        assert_eq!(ix.locate("c"), at(3, 4));
        assert!(!ix.contains("a"));
    }

    #[test]
    fn parent_paths() {
        assert_eq!(parent_path("a.b[2].c"), Some("a.b[2]"));
        assert_eq!(parent_path("a.b[2]"), Some("a.b"));
        assert_eq!(parent_path("a"), Some(""));
        assert_eq!(parent_path(""), None);
    }
}
