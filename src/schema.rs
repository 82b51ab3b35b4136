//! JSON Schemas of the files people write by hand: suites (`suites/*.yaml`) and the
//! requirements catalogue (`suites/requirements.yaml`).
//!
//! Generated from the very types the loader deserializes into, so an editor that
//! validates against `schemas/*.schema.json` (yaml-language-server, via a first-line
//! `# yaml-language-server: $schema=../schemas/suite.schema.json`) can never disagree
//! with the harness about what a suite may contain. The committed files are checked
//! against a fresh generation by `tests/schemas.rs`.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::Value;

use crate::catalogue::Catalogue;
use crate::suite::model::Suite;

/// Where the suite schema is committed, relative to the repository root.
pub const SUITE_SCHEMA_PATH: &str = "schemas/suite.schema.json";
/// Where the catalogue schema is committed, relative to the repository root.
pub const REQUIREMENTS_SCHEMA_PATH: &str = "schemas/requirements.schema.json";

fn schema_for<T: JsonSchema>(title: &str, description: &str) -> Value {
    // Draft-07 rather than schemars' default 2020-12: it is the draft every
    // yaml-language-server and IDE plugin in use understands.
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<T>();
    let mut value = schema.to_value();
    if let Some(root) = value.as_object_mut() {
        root.insert("title".into(), Value::from(title));
        root.insert("description".into(), Value::from(description));
    }
    value
}

/// The schema of one suite file (`suites/<phase>.yaml`).
pub fn suite_json_schema() -> Value {
    schema_for::<Suite>(
        "thoth-conformance suite",
        "One runbook phase of the Thoth headless E2E runbook as data: its cases, \
         their steps and what must hold after each step.",
    )
}

/// The schema of the requirements catalogue (`suites/requirements.yaml`).
pub fn requirements_json_schema() -> Value {
    schema_for::<Catalogue>(
        "thoth-conformance requirements catalogue",
        "Every acceptance line and fail criterion of the runbook with a stable ID, and \
         the capabilities (rows of the coverage matrix) they belong to.",
    )
}

/// The committed form of a schema: pretty JSON with a final newline, so the file
/// diffs line by line when a suite type changes.
pub fn render_schema(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_else(|_| {
        // A `Value` always serializes; this branch only satisfies the type.
        String::from("{}")
    });
    text.push('\n');
    text
}
