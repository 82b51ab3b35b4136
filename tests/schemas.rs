//! The committed JSON Schemas (`schemas/*.schema.json`) are exactly what the suite types
//! generate, and they carry the rules an editor needs to catch a typo.

use std::path::Path;

use serde_json::Value;
use thoth_conformance::schema::{
    render_schema, requirements_json_schema, suite_json_schema, REQUIREMENTS_SCHEMA_PATH,
    SUITE_SCHEMA_PATH,
};

const REGENERATE: &str = "UPDATE_SCHEMAS=1 cargo test --test integration schemas::";

fn check_committed(relative: &str, schema: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let fresh = render_schema(schema);
    if std::env::var("UPDATE_SCHEMAS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
        eprintln!("regenerated {relative}");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("failed to read {relative} ({e}); generate it with `{REGENERATE}` and commit it")
    });
    assert!(
        committed == fresh,
        "{relative} is stale: the suite or catalogue types changed since it was generated. \
         Regenerate it with `{REGENERATE}` and commit it."
    );
}

#[test]
fn committed_suite_schema_is_up_to_date() {
    check_committed(SUITE_SCHEMA_PATH, &suite_json_schema());
}

#[test]
fn committed_requirements_schema_is_up_to_date() {
    check_committed(REQUIREMENTS_SCHEMA_PATH, &requirements_json_schema());
}

fn definition<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema["definitions"]
        .get(name)
        .unwrap_or_else(|| panic!("no definition `{name}` in {schema:#}"))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

/// The enum values of a unit-variant enum, whichever way the generator spelled it.
fn enum_values(def: &Value) -> Vec<String> {
    if let Some(values) = def.get("enum") {
        return strings(values).into_iter().map(str::to_owned).collect();
    }
    def["oneOf"]
        .as_array()
        .unwrap_or_else(|| panic!("neither enum nor oneOf: {def:#}"))
        .iter()
        .flat_map(|v| match v.get("const") {
            Some(c) => vec![c.as_str().unwrap().to_owned()],
            None => strings(&v["enum"]).into_iter().map(str::to_owned).collect(),
        })
        .collect()
}

#[test]
fn suite_schema_is_draft_07_and_rejects_unknown_fields() {
    let s = suite_json_schema();
    // yaml-language-server and most IDE plugins understand draft-07.
    assert_eq!(s["$schema"], "http://json-schema.org/draft-07/schema#");
    let required = strings(&s["required"]);
    for field in ["phase", "title", "runbook", "cases"] {
        assert!(
            required.contains(&field),
            "{field} not required: {required:?}"
        );
    }
    // deny_unknown_fields must reach the editor, or a typo validates there and fails
    // only at run time.
    assert_eq!(s["additionalProperties"], false);
    for name in [
        "Case",
        "Step",
        "Request",
        "Expect",
        "JsonAssert",
        "PamCallback",
    ] {
        assert_eq!(
            definition(&s, name)["additionalProperties"],
            false,
            "{name} accepts unknown fields"
        );
    }
}

#[test]
fn suite_schema_says_a_step_has_exactly_one_action() {
    let s = suite_json_schema();
    let kinds: Vec<String> = definition(&s, "Step")["oneOf"]
        .as_array()
        .expect("Step has a oneOf")
        .iter()
        .map(|alt| strings(&alt["required"]).concat())
        .collect();
    assert_eq!(
        kinds,
        ["request", "admin", "pam_callback", "sink_wait", "thothctl"],
        "the schema's step kinds differ from the loader's"
    );
}

#[test]
fn suite_schema_spells_enums_as_suites_do() {
    let s = suite_json_schema();
    assert_eq!(
        enum_values(definition(&s, "Method")),
        ["GET", "POST", "PUT", "PATCH", "DELETE"]
    );
    assert_eq!(
        enum_values(definition(&s, "Effect")),
        ["read", "mutate", "external"]
    );
    assert_eq!(enum_values(definition(&s, "Surface")), ["api", "thothctl"]);
    assert_eq!(
        enum_values(definition(&s, "Feature")),
        ["mock_admin", "sink", "thothctl", "other_tenant", "enforcer"]
    );
    assert_eq!(enum_values(definition(&s, "Base")), ["govapi", "enforcer"]);
    // Field documentation becomes the editor's hover text.
    let phase = &s["properties"]["phase"]["description"];
    assert!(
        phase.as_str().unwrap().contains("phase::case"),
        "no description on `phase`: {phase}"
    );
}

#[test]
fn requirements_schema_knows_severities_and_kinds() {
    let s = requirements_json_schema();
    assert_eq!(s["additionalProperties"], false);
    assert_eq!(strings(&s["required"]), ["capabilities", "requirements"]);
    assert_eq!(
        enum_values(definition(&s, "Severity")),
        ["critical", "high", "medium", "low"]
    );
    assert_eq!(
        enum_values(definition(&s, "RequirementKind")),
        ["acceptance", "fail_criterion", "checklist", "security"]
    );
    let req = definition(&s, "Requirement");
    assert_eq!(req["additionalProperties"], false);
    let required = strings(&req["required"]);
    for field in ["id", "text", "source", "severity", "kind"] {
        assert!(
            required.contains(&field),
            "{field} not required: {required:?}"
        );
    }
}
