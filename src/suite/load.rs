//! Reading `suites/*.yaml` and `suites/requirements.yaml` into the model, with a precise
//! [`Diagnostic`] for every problem.
//!
//! Parsing uses serde-saphyr (duplicate keys are errors, anchors bounded by its budget)
//! under `serde_path_to_error`, so a type error names both the position serde-saphyr saw
//! and the field path. A second pass over the same text ([`SourceIndex`]) keeps the
//! positions of every field, which the semantic checks in [`super::validate`] need.

use std::borrow::Cow;
use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_saphyr::{DefaultMessageFormatter, DuplicateKeyPolicy, MessageFormatter, Options};

use super::diag::{Diagnostic, Diagnostics};
use super::for_each;
use super::model::Suite;
use super::source_index::{Parsed, Pos, SourceIndex};
use super::validate;
use crate::catalogue::Catalogue;

/// The catalogue's file name inside the suites directory; never loaded as a suite.
pub const CATALOGUE_FILE: &str = "requirements.yaml";
/// The expectations ledger: looked for inside the suites directory when
/// `--expectations` is not given; lives next to the suites but is never loaded as one.
pub const DEFAULT_EXPECTATIONS_FILE: &str = "expectations.yaml";

/// One suite file, parsed and validated.
#[derive(Debug, Clone)]
pub struct LoadedSuite {
    pub path: PathBuf,
    pub suite: Suite,
}

/// Everything a run needs from disk, all of it validated.
#[derive(Debug, Clone)]
pub struct Project {
    /// In file name order for [`load_project`] (so runs and reports are stable), in the
    /// given order for [`load_files`].
    pub suites: Vec<LoadedSuite>,
    pub catalogue: Catalogue,
    pub fixtures_dir: PathBuf,
    pub suites_dir: PathBuf,
}

/// Loads every `*.yaml` in `suites_dir` except `requirements.yaml` (the catalogue) and
/// validates all of it. Every file is parsed even when an earlier one failed, so one run
/// shows the first parse error of each broken file; semantic checks run on every file
/// that parsed, and all their findings are reported.
pub fn load_project(suites_dir: &Path, fixtures_dir: &Path) -> Result<Project, Diagnostics> {
    let files = suite_files(suites_dir).map_err(|d| Diagnostics(vec![d]))?;
    if files.is_empty() {
        return Err(Diagnostics(vec![whole_file(
            suites_dir,
            format!("find suites: no `*.yaml` files besides `{CATALOGUE_FILE}`"),
        )]));
    }
    let mut project = load_files(&files, &suites_dir.join(CATALOGUE_FILE), fixtures_dir)?;
    project.suites_dir = suites_dir.to_path_buf();
    Ok(project)
}

/// Loads and validates exactly these suite files against the catalogue at
/// `catalogue_path`. `suites_dir` of the result is the catalogue's directory.
pub fn load_files(
    suite_files: &[PathBuf],
    catalogue_path: &Path,
    fixtures_dir: &Path,
) -> Result<Project, Diagnostics> {
    let mut diags = Diagnostics::default();
    // Each file is parsed on a thread of its own: parsing YAML is most of a load, the
    // files are independent, and every `run` pays it before its first request.
    fn joined<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
        h.join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
    let (catalogue, parsed) = std::thread::scope(|s| {
        let catalogue = s.spawn(|| parse_file::<Catalogue>(catalogue_path));
        let suites: Vec<_> = suite_files
            .iter()
            .map(|file| s.spawn(move || parse_suite_file(file)))
            .collect();
        let parsed: Vec<_> = suites.into_iter().map(joined).collect();
        (joined(catalogue), parsed)
    });
    let mut suites = Vec::new();
    let mut complete = true;
    for file in parsed {
        match file {
            Ok(p) => suites.push(p),
            Err(d) => {
                complete = false;
                diags.push(d);
            }
        }
    }

    let catalogue = match catalogue {
        Ok(c) => {
            diags.extend(validate::validate_catalogue(&c));
            Some(c)
        }
        Err(d) => {
            diags.push(d);
            None
        }
    };
    diags.extend(validate::validate_suites(
        &suites,
        catalogue.as_ref(),
        fixtures_dir,
        complete,
    ));

    match catalogue {
        Some(c) if diags.is_empty() => Ok(Project {
            suites: suites
                .into_iter()
                .map(|p| LoadedSuite {
                    path: p.path,
                    suite: p.value,
                })
                .collect(),
            catalogue: c.value,
            fixtures_dir: fixtures_dir.to_path_buf(),
            suites_dir: catalogue_path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        }),
        _ => {
            diags.sort();
            Err(diags)
        }
    }
}

/// Loads and checks the catalogue alone (ids unique, ids well-formed).
pub fn load_catalogue(path: &Path) -> Result<Catalogue, Diagnostics> {
    let parsed = parse_file::<Catalogue>(path).map_err(|d| Diagnostics(vec![d]))?;
    let mut diags = validate::validate_catalogue(&parsed);
    if diags.is_empty() {
        Ok(parsed.value)
    } else {
        diags.sort();
        Err(diags)
    }
}

/// `*.yaml` files of the suites directory, sorted, without the catalogue.
fn suite_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let entries =
        fs::read_dir(dir).map_err(|e| whole_file(dir, format!("read suites directory: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| whole_file(dir, format!("read suites directory: {e}")))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') {
            continue;
        }
        if name.ends_with(".yml") {
            // Silently skipping it would leave a whole phase out of every run.
            return Err(whole_file(
                &dir.join(name),
                "find suites: suite files must end in `.yaml`; rename this file".to_string(),
            ));
        }
        // The expectations ledger lives next to the suites but is not one.
        if name.ends_with(".yaml") && name != CATALOGUE_FILE && name != DEFAULT_EXPECTATIONS_FILE {
            files.push(dir.join(name));
        }
    }
    files.sort();
    Ok(files)
}

fn whole_file(path: &Path, message: String) -> Diagnostic {
    Diagnostic {
        file: path.to_path_buf(),
        line: Pos::NONE.line,
        column: Pos::NONE.column,
        field_path: String::new(),
        message,
    }
}

/// The largest suite or catalogue file read. The project's largest is about 21 KB; a
/// file past this is refused before it is parsed, because parsing builds the whole
/// model (a 112 MB suite took 22 s and 2.2 GB before anything else could object).
pub const MAX_SUITE_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads and parses one file.
pub fn parse_file<T: DeserializeOwned>(path: &Path) -> Result<Parsed<T>, Diagnostic> {
    parse_str(path, &read_text(path)?)
}

/// Reads and parses one suite file, expanding its `for_each` entries into cases
/// ([`super::for_each`]).
pub fn parse_suite_file(path: &Path) -> Result<Parsed<Suite>, Diagnostic> {
    parse_suite_str(path, &read_text(path)?)
}

/// Parses a suite file's text. One with `for_each` entries is read as plain data first
/// (syntax, duplicate keys and anchors reported as for any file), expanded, then read
/// into the model, with an index that places every field where it was written.
pub fn parse_suite_str(path: &Path, text: &str) -> Result<Parsed<Suite>, Diagnostic> {
    let index = SourceIndex::build(text);
    // Asking the index builds it (see SourceIndex); a text that cannot spell the key
    // `for_each`, not even through a double-quoted escape, is read as written without.
    let may_expand = text.contains(for_each::FOR_EACH) || text.contains('\\');
    if !may_expand || !for_each::has_for_each(&index) {
        return parse_indexed(path, text, index);
    }
    let doc = parse_indexed::<serde_json::Value>(path, text, index.clone())?.value;
    let (json, index) = for_each::expand_document(path, doc, index)?;
    let value = deserialize(path, &json, &index, false)?;
    Ok(Parsed {
        path: path.to_path_buf(),
        value,
        index,
    })
}

/// The index of a suite file's text as the loader reads it: `cases[N]` is the N-th case
/// after `for_each` expansion. A file that does not load gets its text's own index.
pub fn suite_source_index(path: &Path, text: &str) -> SourceIndex {
    match parse_suite_str(path, text) {
        Ok(p) => p.index,
        Err(_) => SourceIndex::build(text),
    }
}

/// A suite or catalogue file's text, within [`MAX_SUITE_FILE_BYTES`] and UTF-8.
pub(crate) fn read_text(path: &Path) -> Result<String, Diagnostic> {
    use std::io::Read as _;
    let file = fs::File::open(path).map_err(|e| whole_file(path, format!("read file: {e}")))?;
    let too_large = || {
        whole_file(
            path,
            format!(
                "read file: it is larger than the limit of {MAX_SUITE_FILE_BYTES} bytes; split it into several suites"
            ),
        )
    };
    // The length is checked up front and the read capped too: a FIFO or a device named
    // `*.yaml` has no honest length.
    if file
        .metadata()
        .is_ok_and(|m| m.len() > MAX_SUITE_FILE_BYTES)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(MAX_SUITE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| whole_file(path, format!("read file: {e}")))?;
    if bytes.len() as u64 > MAX_SUITE_FILE_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| not_utf8(path, &e))
}

/// Invalid UTF-8, located at its first bad byte (line and column, both 1-based; the
/// column counts the characters before it).
fn not_utf8(path: &Path, e: &std::string::FromUtf8Error) -> Diagnostic {
    let bytes = e.as_bytes();
    let at = e.utf8_error().valid_up_to();
    let before = &bytes[..at];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count() as u64
        + 1;
    Diagnostic {
        file: path.to_path_buf(),
        line: before.iter().filter(|&&b| b == b'\n').count() as u64 + 1,
        column,
        field_path: String::new(),
        message: format!(
            "read file: not UTF-8: invalid byte 0x{:02x} (save the file as UTF-8)",
            bytes[at]
        ),
    }
}

fn options() -> Options {
    let mut o = Options::default();
    // Explicit although it is the default: a repeated key would silently drop a check.
    o.duplicate_keys = DuplicateKeyPolicy::Error;
    // YAML 1.1's `yes`/`on` as booleans surprise authors; only `true`/`false` are.
    o.strict_booleans = true;
    // Our diagnostics are one line each; the snippet would be noise.
    o.with_snippet = false;
    o
}

/// Parses `text` (read from `path`, which is only used in diagnostics).
pub fn parse_str<T: DeserializeOwned>(path: &Path, text: &str) -> Result<Parsed<T>, Diagnostic> {
    parse_indexed(path, text, SourceIndex::build(text))
}

/// [`parse_str`] with the text's index already built.
fn parse_indexed<T: DeserializeOwned>(
    path: &Path,
    text: &str,
    index: SourceIndex,
) -> Result<Parsed<T>, Diagnostic> {
    // only_comments first: asking the index builds it (see SourceIndex).
    if only_comments(text) && !index.contains("") {
        return Err(whole_file(
            path,
            "parse file: it is empty (expected a YAML mapping)".to_string(),
        ));
    }

    let value = deserialize(path, text, &index, true)?;
    Ok(Parsed {
        path: path.to_path_buf(),
        value,
        index,
    })
}

/// Deserializes `text`, locating an error with `index`. With `own_positions` false (the
/// text was generated, e.g. by [`super::for_each`]), the parser's positions mean nothing
/// to the author: the error is placed, and its field path named, through `index` alone.
fn deserialize<T: DeserializeOwned>(
    path: &Path,
    text: &str,
    index: &SourceIndex,
    own_positions: bool,
) -> Result<T, Diagnostic> {
    let mut field_path = String::new();
    let result = serde_saphyr::with_deserializer_from_str_with_options(text, options(), |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            field_path = e.path().to_string();
            e.into_inner()
        })
    });
    match result {
        Ok(value) => Ok(value),
        Err(err) => {
            let outer = err.without_snippet();
            let err = original(&err);
            // serde_path_to_error writes "." for the root, and `?` for a key it never
            // handed to serde (a duplicate one).
            if field_path == "." {
                field_path.clear();
            }
            if let serde_saphyr::Error::DuplicateMappingKey { key: Some(k), .. } = err {
                if let Some(parent) = field_path.strip_suffix('?') {
                    field_path = format!("{parent}{k}");
                }
            }
            let own = outer
                .location()
                .filter(|l| own_positions && l.line() > 0)
                .map(|l| Pos {
                    line: l.line(),
                    column: l.column(),
                });
            let pos = match (err, own) {
                // serde-saphyr notices a missing field at the end of the mapping, which
                // is the next field's line; the mapping's start is where to look.
                (serde_saphyr::Error::SerdeMissingField { .. }, _) | (_, None) => {
                    index.locate(&field_path)
                }
                (_, Some(p)) => p,
            };
            let (field_path, message) = index.explain(&field_path, message_of(err).into_owned());
            Err(Diagnostic {
                file: path.to_path_buf(),
                line: pos.line,
                column: pos.column,
                field_path,
                message,
            })
        }
    }
}

/// The error itself, without the wrappers that only add where an alias was used or a
/// source snippet.
fn original(mut err: &serde_saphyr::Error) -> &serde_saphyr::Error {
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = err
    {
        err = error;
    }
    err
}

fn only_comments(text: &str) -> bool {
    text.lines()
        .map(|l| l.trim_start_matches('\u{feff}').trim())
        .all(|l| l.is_empty() || l.starts_with('#') || l == "---" || l == "...")
}

/// The error's message without position (we print our own) and without control
/// characters, which could forge lines in a terminal.
fn message_of(err: &serde_saphyr::Error) -> Cow<'_, str> {
    let err = original(err);
    let msg: Cow<'_, str> = match err {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => Cow::Owned(format!(
            "unknown field `{field}`; allowed fields: {}",
            list(expected)
        )),
        serde_saphyr::Error::SerdeUnknownVariant {
            variant, expected, ..
        } => Cow::Owned(format!(
            "unknown value `{variant}`; expected one of: {}",
            list(expected)
        )),
        serde_saphyr::Error::DuplicateMappingKey { key, .. } => Cow::Owned(match key {
            Some(k) => format!("duplicate key `{k}` (each key may appear once per mapping)"),
            None => "duplicate key (each key may appear once per mapping)".to_string(),
        }),
        serde_saphyr::Error::Budget { breach, .. } => Cow::Owned(format!(
            "the document exceeds a size limit ({breach:?}); anchors and aliases may expand too far"
        )),
        serde_saphyr::Error::MultipleDocuments { .. } => Cow::Borrowed(
            "the file holds more than one YAML document (`---`); a suite file is exactly one",
        ),
        serde_saphyr::Error::Unexpected { expected, .. } => Cow::Owned(format!(
            "invalid type: expected {}",
            expected.trim_end_matches(" start")
        )),
        other => DefaultMessageFormatter.format_message(other),
    };
    if msg.chars().any(char::is_control) {
        Cow::Owned(msg.chars().flat_map(char::escape_debug).collect())
    } else {
        msg
    }
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// SHA-256 over every suite and fixture file (relative path and content, sorted), so a
/// report names exactly what was run.
pub fn suites_hash(project: &Project) -> String {
    let mut files: Vec<(String, std::path::PathBuf)> = Vec::new();
    collect_files(
        &project.suites_dir,
        &project.suites_dir,
        "suites",
        &mut files,
    );
    collect_files(
        &project.fixtures_dir,
        &project.fixtures_dir,
        "fixtures",
        &mut files,
    );
    files.sort();
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for (rel, path) in files {
        h.update(rel.as_bytes());
        h.update([0]);
        h.update(std::fs::read(&path).unwrap_or_default());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

fn collect_files(
    root: &Path,
    dir: &Path,
    label: &str,
    out: &mut Vec<(String, std::path::PathBuf)>,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(root, &p, label, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push((format!("{label}/{}", rel.to_string_lossy()), p));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Result<Parsed<Suite>, Diagnostic> {
        parse_str(Path::new("t.yaml"), text)
    }

    #[test]
    fn alias_bombs_stop_at_the_budget() {
        // "Billion laughs": each level doubles nine-fold; without a budget this would
        // expand to 9^8 strings.
        // The bomb sits in a request's `json`, which accepts any value, so nothing but
        // the budget stops the expansion.
        let mut text = String::from(
            "phase: p\ntitle: t\nrunbook: r\ncases:\n- id: c\n  title: t\n  capability: x\n  effect: read\n  steps:\n  - request:\n      method: POST\n      path: /x\n      json:\n        a0: &a0 [x, x, x, x, x, x, x, x, x]\n",
        );
        for i in 1..=8 {
            let p = i - 1;
            text.push_str(&format!(
                "        a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let d = parse(&text).unwrap_err();
        assert!(d.line > 0, "{d}");
        assert!(d.message.contains("exceeds a size limit"), "{d}");
        assert!(
            d.field_path.starts_with("cases[0].steps[0].request.json"),
            "{d}"
        );
    }

    #[test]
    fn positions_are_worked_out_only_when_a_finding_needs_one() {
        let text = "phase: p\ntitle: t\nrunbook: r\ncases:\n  - id: c\n    title: c\n    capability: cap\n    effect: read\n    steps:\n      - request: {method: GET, path: /x}\n        expect: {status: 200}\n";
        let parsed = parse(text).unwrap();
        assert!(
            !parsed.index.is_built(),
            "a clean parse walked the events twice"
        );
        let suite = parse_suite_str(Path::new("t.yaml"), text).unwrap();
        assert!(
            !suite.index.is_built(),
            "a suite without for_each walked its events twice"
        );
        // Asked, the index still knows where every field is.
        let pos = parsed.index.locate("cases[0].steps[0].request.path");
        assert_eq!((pos.line, pos.column), (10, 38));
        assert!(parsed.index.is_built());
        // A semantic finding (an unknown capability) is still placed at its line.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.yaml"), text).unwrap();
        std::fs::write(
            dir.path().join(CATALOGUE_FILE),
            "capabilities: []\nrequirements: []\n",
        )
        .unwrap();
        let diags = load_project(dir.path(), dir.path()).unwrap_err();
        let d = diags
            .0
            .iter()
            .find(|d| d.field_path == "cases[0].capability")
            .unwrap_or_else(|| panic!("{diags}"));
        assert_eq!(d.line, 7, "{d}");
    }

    #[test]
    fn invalid_utf8_is_reported_at_its_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.yaml");
        std::fs::write(&file, b"phase: p\ntitle: t\nrunbook: \xc3\xa9 \xff bad\n").unwrap();
        let d = parse_file::<Suite>(&file).unwrap_err();
        assert_eq!((d.line, d.column), (3, 12), "{d}");
        assert!(d.message.contains("not UTF-8: invalid byte 0xff"), "{d}");
    }

    #[test]
    fn an_oversized_file_is_refused_before_it_is_parsed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.yaml");
        let f = std::fs::File::create(&file).unwrap();
        // Sparse: the limit is decided by the length, nothing is read or parsed.
        f.set_len(MAX_SUITE_FILE_BYTES + 1).unwrap();
        let d = parse_file::<Suite>(&file).unwrap_err();
        assert!(d.message.contains("larger than the limit"), "{d}");
    }

    #[test]
    fn control_characters_in_messages_are_escaped() {
        let d = parse("phase: p\n\"bad\\u001b[31mkey\": 1\n").unwrap_err();
        assert!(!d.message.contains('\u{1b}'), "{d}");
        assert!(d.message.contains("unknown field"), "{d}");
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = parse(&text);
        }

        #[test]
        fn parsing_yamlish_text_never_panics(
            text in "([a-z_]{1,6}: ?(\\[|\\{|-|&a|\\*a|\"|'|[a-z0-9]{1,4}|\\}|\\]|,)?\n?( {0,4}|\t)){0,30}"
        ) {
            let _ = parse(&text);
        }
    }
}
