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
use super::model::Suite;
use super::source_index::{Pos, SourceIndex};
use super::validate;
use crate::catalogue::Catalogue;

/// The catalogue's file name inside the suites directory; never loaded as a suite.
pub const CATALOGUE_FILE: &str = "requirements.yaml";

/// One suite file, parsed and validated.
#[derive(Debug, Clone)]
pub struct LoadedSuite {
    pub path: PathBuf,
    pub suite: Suite,
}

/// Everything a run needs from disk, all of it validated.
#[derive(Debug, Clone)]
pub struct Project {
    /// Sorted by file name, so runs and reports are stable.
    pub suites: Vec<LoadedSuite>,
    pub catalogue: Catalogue,
    pub fixtures_dir: PathBuf,
    pub suites_dir: PathBuf,
}

/// A parsed document together with where its fields are.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    pub path: PathBuf,
    pub value: T,
    pub index: SourceIndex,
}

/// Loads every `*.yaml` in `suites_dir` except `requirements.yaml` (the catalogue) and
/// validates all of it. Every file is parsed even when an earlier one failed, so one run
/// shows the first parse error of each broken file; semantic checks run on every file
/// that parsed, and all their findings are reported.
pub fn load_project(suites_dir: &Path, fixtures_dir: &Path) -> Result<Project, Diagnostics> {
    let mut diags = Diagnostics::default();

    let files = match suite_files(suites_dir) {
        Ok(f) => f,
        Err(d) => return Err(Diagnostics(vec![d])),
    };
    if files.is_empty() {
        diags.push(whole_file(
            suites_dir,
            format!("find suites: no `*.yaml` files besides `{CATALOGUE_FILE}`"),
        ));
    }

    let catalogue = parse_file::<Catalogue>(&suites_dir.join(CATALOGUE_FILE));
    let mut suites = Vec::new();
    for file in files {
        match parse_file::<Suite>(&file) {
            Ok(p) => suites.push(p),
            Err(d) => diags.push(d),
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
            suites_dir: suites_dir.to_path_buf(),
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
        if name.ends_with(".yaml") && name != CATALOGUE_FILE && !name.starts_with('.') {
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

/// Reads and parses one file.
pub fn parse_file<T: DeserializeOwned>(path: &Path) -> Result<Parsed<T>, Diagnostic> {
    let bytes = fs::read(path).map_err(|e| whole_file(path, format!("read file: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| whole_file(path, format!("read file: not UTF-8 ({e})")))?;
    parse_str(path, &text)
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
    let index = SourceIndex::build(text);
    if !index.contains("") && only_comments(text) {
        return Err(whole_file(
            path,
            "parse file: it is empty (expected a YAML mapping)".to_string(),
        ));
    }

    let mut field_path = String::new();
    let result = serde_saphyr::with_deserializer_from_str_with_options(text, options(), |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            field_path = e.path().to_string();
            e.into_inner()
        })
    });
    match result {
        Ok(value) => Ok(Parsed {
            path: path.to_path_buf(),
            value,
            index,
        }),
        Err(err) => {
            // serde_path_to_error writes "." for the root.
            if field_path == "." {
                field_path.clear();
            }
            let err = err.without_snippet();
            let pos = err
                .location()
                .filter(|l| l.line() > 0)
                .map(|l| Pos {
                    line: l.line(),
                    column: l.column(),
                })
                .unwrap_or_else(|| index.locate(&field_path));
            Err(Diagnostic {
                file: path.to_path_buf(),
                line: pos.line,
                column: pos.column,
                field_path,
                message: message_of(err).into_owned(),
            })
        }
    }
}

fn only_comments(text: &str) -> bool {
    text.lines()
        .map(|l| l.trim_start_matches('\u{feff}').trim())
        .all(|l| l.is_empty() || l.starts_with('#') || l == "---" || l == "...")
}

/// The error's message without position (we print our own) and without control
/// characters, which could forge lines in a terminal.
fn message_of(err: &serde_saphyr::Error) -> Cow<'_, str> {
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
