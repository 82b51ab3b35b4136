//! `for_each`: a case written once and expanded, when the file is loaded, into one
//! ordinary case per row of values (docs/suite-format.md, "One case per row: `for_each`").
//!
//! ```yaml
//! cases:
//!   - for_each:
//!       - { id: bad_signature_rejected, send: { <<: *signed, tamper: signature } }
//!       - { id: wrong_secret_rejected, send: { <<: *signed, secret: other } }
//!     case:
//!       id: "{{each.id}}"
//!       steps:
//!         - { name: callback, pam_callback: "{{each.send}}", expect: *invalid_signature }
//! ```
//!
//! A string that is exactly `{{each.NAME}}` becomes the row's value, whatever its type
//! (a list, a mapping, a number); `{{each.NAME}}` inside a longer string is replaced by
//! the row's value as text, so that value must be a string, number or boolean. Only
//! values of `case` are replaced, never keys, and nothing else in the file. Every row
//! must give every name `case` uses and use every name it gives, and the expanded ids
//! must be unused: otherwise the file does not load (exit 2), with the position and field
//! path of the problem in the file as written.
//!
//! The expansion works on the document as plain data (anchors and merge keys already
//! resolved by serde-saphyr); the loader then reads the expanded document into the
//! model as any file (`load::parse_suite_str`), and its [`SourceIndex`] carries [`Rename`]s so that every later finding
//! (a type error, an unknown variable) points into the `for_each` entry it came from.
//! A file without a `for_each` entry is parsed exactly as before.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value};

use super::diag::Diagnostic;
use super::model::Case;
use super::source_index::{Rename, SourceIndex};

/// A `cases` entry as written, for the JSON Schema: a `for_each` entry when it has that
/// key, else a case. Said with `if`/`then`/`else` rather than `anyOf`, so an editor
/// names a case's misspelt field instead of "not valid under any of the schemas".
pub struct CaseEntry;

impl JsonSchema for CaseEntry {
    fn schema_name() -> Cow<'static, str> {
        "CaseEntry".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let for_each = generator.subschema_for::<ForEachEntry>();
        let case = generator.subschema_for::<Case>();
        json_schema!({
            "if": { "type": "object", "required": [FOR_EACH] },
            "then": for_each,
            "else": case,
        })
    }
}

/// One case written once and expanded into one case per row of `for_each`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ForEachEntry {
    /// The rows: value names (letters, digits, `_`) to values, one case each.
    #[schemars(length(min = 1))]
    for_each: Vec<BTreeMap<String, Value>>,
    /// The case, where a string `{{each.NAME}}` is the row's value (of any type) and
    /// `{{each.NAME}}` inside a longer string is it as text. Checked as a case once
    /// expanded.
    case: Map<String, Value>,
}

/// The key that makes a `cases` entry a `for_each` entry.
pub const FOR_EACH: &str = "for_each";
/// The case written once, beside `for_each`.
pub const CASE: &str = "case";
/// `{{each.NAME}}`: a value of the current row.
const EACH_PREFIX: &str = "each.";

/// The document (`doc`, read from `path` as plain data; `index` of its text) with its
/// `for_each` entries expanded: as JSON text to read into the model, and the index that
/// places that text's fields where they were written.
pub fn expand_document(
    path: &Path,
    doc: Value,
    index: SourceIndex,
) -> Result<(String, SourceIndex), Diagnostic> {
    let (doc, renames) = expand(doc).map_err(|(field_path, message)| {
        let pos = index.locate(&field_path);
        Diagnostic {
            file: path.to_path_buf(),
            line: pos.line,
            column: pos.column,
            field_path,
            message,
        }
    })?;
    let json = serde_json::to_string(&doc).expect("a JSON value serializes");
    Ok((json, index.with_renames(renames)))
}

/// True when a `cases` entry of the document holds `for_each`.
pub fn has_for_each(index: &SourceIndex) -> bool {
    (0..)
        .map(|i| format!("cases[{i}]"))
        .take_while(|c| index.contains(c))
        .any(|c| index.contains(&format!("{c}.{FOR_EACH}")))
}

/// A problem: the field path where it was written, and what is wrong.
type Problem = (String, String);

/// The document with every `for_each` entry replaced by its cases, and where each
/// expanded case was written.
fn expand(mut doc: Value) -> Result<(Value, Vec<Rename>), Problem> {
    let Some(Value::Array(entries)) = doc.get_mut("cases").map(std::mem::take) else {
        // Not a list: reading the document into the model says so.
        return Ok((doc, Vec::new()));
    };
    let mut cases = Vec::new();
    let mut renames = Vec::new();
    // Case id → where it was written, to refuse an expanded id that is already taken.
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let source = format!("cases[{i}]");
        let is_for_each = entry.as_object().is_some_and(|m| m.contains_key(FOR_EACH));
        if !is_for_each {
            if let Some(id) = entry.get("id").and_then(Value::as_str) {
                ids.entry(id.to_string()).or_insert_with(|| source.clone());
            }
            renames.push(Rename {
                from: format!("cases[{}]", cases.len()),
                to: source,
                note: None,
            });
            cases.push(entry);
            continue;
        }
        let (rows, template) = entry_parts(entry, &source)?;
        for (j, row) in rows.into_iter().enumerate() {
            let row_path = format!("{source}.{FOR_EACH}[{j}]");
            let from = format!("cases[{}]", cases.len());
            let mut expansion = Expansion {
                row: &row,
                row_path: &row_path,
                used: BTreeSet::new(),
                whole: Vec::new(),
            };
            let case = expansion.value(&template, &format!("{source}.{CASE}"), "")?;
            if let Some(unused) = row.keys().find(|k| !expansion.used.contains(k.as_str())) {
                return Err((
                    format!("{row_path}.{unused}"),
                    format!(
                        "`{unused}` is never used: `{CASE}` has no `{{{{each.{unused}}}}}` (misspelt here or there?)"
                    ),
                ));
            }
            let id = case.get("id").and_then(Value::as_str).map(str::to_string);
            let note = match &id {
                Some(id) => format!("{row_path}, case `{id}`"),
                None => row_path.clone(),
            };
            if let Some(id) = id {
                if let Some(first) = ids.get(&id) {
                    let written = expansion
                        .whole
                        .iter()
                        .find(|(rel, _)| rel == ".id")
                        .map_or(format!("{source}.{CASE}.id"), |(_, key)| {
                            format!("{row_path}.{key}")
                        });
                    return Err((
                        written,
                        format!(
                            "case id `{id}` (from {row_path}) is already used by {first}; each row must expand to its own id"
                        ),
                    ));
                }
                ids.insert(id, row_path.clone());
            }
            renames.push(Rename {
                from: from.clone(),
                to: format!("{source}.{CASE}"),
                note: Some(note.clone()),
            });
            for (rel, key) in &expansion.whole {
                renames.push(Rename {
                    from: format!("{from}{rel}"),
                    to: format!("{row_path}.{key}"),
                    note: Some(note.clone()),
                });
            }
            cases.push(case);
        }
    }
    doc["cases"] = Value::Array(cases);
    Ok((doc, renames))
}

/// A `for_each` entry's rows and its case, each of the right shape.
fn entry_parts(entry: Value, source: &str) -> Result<(Vec<Map<String, Value>>, Value), Problem> {
    let Value::Object(mut entry) = entry else {
        unreachable!("only mappings hold `for_each`")
    };
    if let Some(other) = entry.keys().find(|k| *k != FOR_EACH && *k != CASE) {
        return Err((
            format!("{source}.{other}"),
            format!(
                "unknown field `{other}`; a `{FOR_EACH}` entry holds only `{FOR_EACH}` (the rows) and `{CASE}` (the case written once)"
            ),
        ));
    }
    let Some(template) = entry.remove(CASE) else {
        return Err((
            source.to_string(),
            format!("missing field `{CASE}`: the case to write once per row of `{FOR_EACH}`"),
        ));
    };
    if !template.is_object() {
        return Err((
            format!("{source}.{CASE}"),
            format!(
                "invalid type: expected a mapping (a case), found {}",
                kind(&template)
            ),
        ));
    }
    let rows_path = format!("{source}.{FOR_EACH}");
    let rows = match entry.remove(FOR_EACH) {
        Some(Value::Array(rows)) if !rows.is_empty() => rows,
        Some(Value::Array(_)) => {
            return Err((
                rows_path,
                "`for_each` is empty: give at least one row".to_string(),
            ))
        }
        other => {
            return Err((
                rows_path,
                format!(
                    "invalid type: expected a list of rows, found {}",
                    kind(other.as_ref().unwrap_or(&Value::Null))
                ),
            ))
        }
    };
    rows.into_iter()
        .enumerate()
        .map(|(j, row)| match row {
            Value::Object(row) => {
                if let Some(bad) = row.keys().find(|k| !is_name(k)) {
                    return Err((
                        format!("{rows_path}[{j}].{bad}"),
                        format!("`{bad}` is not a value name (letters, digits and `_`, not first a digit)"),
                    ));
                }
                Ok(row)
            }
            other => Err((
                format!("{rows_path}[{j}]"),
                format!(
                    "invalid type: expected a row (a mapping of value names to values), found {}",
                    kind(&other)
                ),
            )),
        })
        .collect::<Result<_, _>>()
        .map(|rows| (rows, template))
}

/// One row applied to the case.
struct Expansion<'a> {
    row: &'a Map<String, Value>,
    row_path: &'a str,
    /// The row's names the case used.
    used: BTreeSet<String>,
    /// Field paths (relative to the case) that are a whole row value, and its name.
    whole: Vec<(String, String)>,
}

impl Expansion<'_> {
    /// `template` (written at `path`; at `rel` inside the case) with the row filled in.
    fn value(&mut self, template: &Value, path: &str, rel: &str) -> Result<Value, Problem> {
        Ok(match template {
            Value::String(s) => self.string(s, path, rel)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(n, v)| self.value(v, &format!("{path}[{n}]"), &format!("{rel}[{n}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    if k.contains("{{") {
                        return Err((
                            format!("{path}.{k}"),
                            "only values are filled in from `for_each`, not keys".to_string(),
                        ));
                    }
                    let v = self.value(v, &format!("{path}.{k}"), &format!("{rel}.{k}"))?;
                    out.insert(k.clone(), v);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    fn lookup(&mut self, name: &str, path: &str) -> Result<&Value, Problem> {
        self.used.insert(name.to_string());
        self.row.get(name).ok_or_else(|| {
            let given: Vec<String> = self.row.keys().map(|k| format!("`{k}`")).collect();
            (
                path.to_string(),
                format!(
                    "`{{{{each.{name}}}}}`: {} has no `{name}` (it gives {})",
                    self.row_path,
                    given.join(", ")
                ),
            )
        })
    }

    fn string(&mut self, s: &str, path: &str, rel: &str) -> Result<Value, Problem> {
        let found = each_placeholders(s);
        if found.is_empty() {
            return Ok(Value::String(s.to_string()));
        }
        // Exactly one placeholder and nothing else: the row's value as it is.
        if let [(start, end, name)] = found.as_slice() {
            if *start == 0 && *end == s.len() {
                let v = self.lookup(name, path)?.clone();
                self.whole.push((rel.to_string(), name.clone()));
                return Ok(v);
            }
        }
        let mut out = String::new();
        let mut last = 0;
        for (start, end, name) in &found {
            out.push_str(&s[last..*start]);
            let row_path = self.row_path.to_string();
            match self.lookup(name, path)? {
                Value::String(v) => out.push_str(v),
                v @ (Value::Number(_) | Value::Bool(_)) => out.push_str(&v.to_string()),
                other => {
                    return Err((
                        format!("{row_path}.{name}"),
                        format!(
                            "invalid type: `{{{{each.{name}}}}}` sits inside a longer string at {path}, so it needs a string, number or boolean, found {}",
                            kind(other)
                        ),
                    ))
                }
            }
            last = *end;
        }
        out.push_str(&s[last..]);
        Ok(Value::String(out))
    }
}

/// `(start, end, NAME)` of each `{{each.NAME}}` (whitespace inside the braces allowed,
/// as for every placeholder) in `s`.
fn each_placeholders(s: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = s[from..].find("{{").map(|o| from + o) {
        let Some(close) = s[open..].find("}}").map(|c| open + c) else {
            break;
        };
        let inner = s[open + 2..close].trim();
        if let Some(name) = inner.strip_prefix(EACH_PREFIX) {
            out.push((open, close + 2, name.to_string()));
        }
        from = close + 2;
    }
    out
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::load::parse_suite_str;
    use crate::suite::model::Suite;
    use crate::suite::source_index::Parsed;

    const ROWS: &str = "\
phase: p
title: t
runbook: r
templates:
  get: &get { method: GET, path: /x }
cases:
  - id: first
    title: t
    capability: c
    effect: read
    steps: [{ name: s, request: *get }]
  - for_each:
      - { id: a_one, status: 200, reqs: [R-1] }
      - { id: b_two, status: 404, reqs: [R-1, R-2] }
    case:
      id: \"{{each.id}}\"
      title: \"case {{ each.id }} answers {{each.status}}\"
      requirements: \"{{each.reqs}}\"
      capability: c
      effect: read
      vars: { v: \"x-{{each.id}}\" }
      steps: [{ name: s, request: *get, expect: { status: \"{{each.status}}\" } }]
  - id: last
    title: t
    capability: c
    effect: read
    steps: [{ name: s, request: *get }]
";

    const WRITTEN_OUT: &str = "\
phase: p
title: t
runbook: r
templates:
  get: &get { method: GET, path: /x }
cases:
  - id: first
    title: t
    capability: c
    effect: read
    steps: [{ name: s, request: *get }]
  - id: a_one
    title: case a_one answers 200
    requirements: [R-1]
    capability: c
    effect: read
    vars: { v: x-a_one }
    steps: [{ name: s, request: *get, expect: { status: 200 } }]
  - id: b_two
    title: case b_two answers 404
    requirements: [R-1, R-2]
    capability: c
    effect: read
    vars: { v: x-b_two }
    steps: [{ name: s, request: *get, expect: { status: 404 } }]
  - id: last
    title: t
    capability: c
    effect: read
    steps: [{ name: s, request: *get }]
";

    fn parse(text: &str) -> Result<Parsed<Suite>, Diagnostic> {
        parse_suite_str(Path::new("t.yaml"), text)
    }

    #[test]
    fn rows_expand_to_the_cases_written_out() {
        let expanded = parse(ROWS).unwrap();
        let written = parse(WRITTEN_OUT).unwrap();
        assert_eq!(
            serde_json::to_value(&expanded.value).unwrap(),
            serde_json::to_value(&written.value).unwrap()
        );
    }

    #[test]
    fn expanded_cases_point_into_their_row_and_the_case() {
        let ix = parse(ROWS).unwrap().index;
        // The id is the row's value: it points at the row.
        assert_eq!(ix.source_path("cases[2].id"), "cases[1].for_each[1].id");
        assert_eq!(ix.locate("cases[2].id").line, 14);
        // The rest is the case as written once.
        assert_eq!(
            ix.source_path("cases[2].steps[0]"),
            "cases[1].case.steps[0]"
        );
        // Cases after the entry keep their own place.
        assert_eq!(ix.source_path("cases[3].id"), "cases[2].id");
        assert_eq!(ix.locate("cases[3].id").line, 23);
    }

    fn error(text: &str) -> Diagnostic {
        parse(text).expect_err("must not load")
    }

    #[test]
    fn a_name_the_row_lacks_is_an_error_at_its_use() {
        let d = error(&ROWS.replace("x-{{each.id}}", "x-{{each.idd}}"));
        assert_eq!(d.field_path, "cases[1].case.vars.v");
        assert_eq!(d.line, 21);
        assert!(d.message.contains("for_each[0] has no `idd`"), "{d}");
    }

    #[test]
    fn a_name_no_case_field_uses_is_an_error_at_the_row() {
        let d = error(&ROWS.replace("{ id: b_two,", "{ id: b_two, extra: 1,"));
        assert_eq!(d.field_path, "cases[1].for_each[1].extra");
        assert!(d.message.contains("never used"), "{d}");
    }

    #[test]
    fn an_expanded_id_already_taken_is_an_error_at_the_row() {
        let d = error(&ROWS.replace("{ id: b_two,", "{ id: first,"));
        assert_eq!(d.field_path, "cases[1].for_each[1].id");
        assert_eq!(d.line, 14);
        assert!(d.message.contains("already used by cases[0]"), "{d}");
    }

    #[test]
    fn a_row_value_of_the_wrong_type_is_an_error_at_the_row() {
        // A number where the model wants a list of requirement ids.
        let d = error(&ROWS.replace("reqs: [R-1, R-2]", "reqs: 7"));
        assert_eq!(d.field_path, "cases[1].for_each[1].reqs");
        assert_eq!(d.line, 14);
        assert!(d.message.contains("case `b_two`"), "{d}");
        // A mapping inside a longer string.
        let d = error(&ROWS.replace("id: a_one", "id: {x: 1}"));
        assert_eq!(d.field_path, "cases[1].for_each[0].id");
        assert!(d.message.contains("inside a longer string"), "{d}");
    }

    #[test]
    fn a_misshapen_entry_is_an_error() {
        let d = error(&ROWS.replace("    case:\n", "    cases:\n"));
        assert_eq!(d.field_path, "cases[1].cases");
        let d = error(&ROWS.replace(
            "      - { id: a_one, status: 200, reqs: [R-1] }\n",
            "      - a_one\n",
        ));
        assert_eq!(d.field_path, "cases[1].for_each[0]");
        assert!(d.message.contains("expected a row"), "{d}");
    }

    #[test]
    fn a_file_without_for_each_reads_as_written() {
        let p = parse(WRITTEN_OUT).unwrap();
        assert_eq!(p.index.source_path("cases[2].id"), "cases[2].id");
    }
}
