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

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The suite files, the catalogue last.
fn suite_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(repo().join("suites"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() > 5, "suites/ holds {files:?}");
    files
}

/// `docs/interfaces.md`: suite files start with the modeline that points an editor
/// (yaml-language-server) at the schema, the catalogue at its own.
#[test]
fn every_suite_file_starts_with_its_schema_modeline() {
    for file in suite_files() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let schema = if name == "requirements.yaml" {
            REQUIREMENTS_SCHEMA_PATH
        } else {
            SUITE_SCHEMA_PATH
        };
        let want = format!(
            "# yaml-language-server: $schema=../{}",
            schema.trim_start_matches("./")
        );
        let text = std::fs::read_to_string(&file).unwrap();
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(
            first, want,
            "suites/{name}: the first line is not the modeline"
        );
        let named = first.split_once("$schema=").unwrap().1;
        assert!(
            file.parent().unwrap().join(named).is_file(),
            "suites/{name}: the modeline names {named}, which does not exist"
        );
    }
}

fn yaml_as_json(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}"))
}

fn suite_validator() -> jsonschema::Validator {
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join(SUITE_SCHEMA_PATH)).unwrap())
            .unwrap();
    jsonschema::validator_for(&committed).expect("the committed suite schema compiles")
}

/// What an editor shows (the committed schema, by a JSON Schema validator) and what
/// `thoth-conformance validate` says agree: every shipped suite passes both, and one typo
/// (an unknown case field) fails both, each naming the field.
#[test]
fn the_schema_rejects_the_typo_validate_rejects() {
    let validator = suite_validator();
    for file in suite_files() {
        if file.ends_with("requirements.yaml") {
            continue;
        }
        let doc = yaml_as_json(&std::fs::read_to_string(&file).unwrap());
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{} passes `validate` but not its schema:\n{}",
            file.display(),
            errors.join("\n")
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let suites = dir.path().join("suites");
    std::fs::create_dir(&suites).unwrap();
    for file in suite_files() {
        std::fs::copy(&file, suites.join(file.file_name().unwrap())).unwrap();
    }
    let mdm = suites.join("mdm.yaml");
    let text = std::fs::read_to_string(&mdm).unwrap();
    let typo = text.replacen("    requirements: [", "    requirement: [", 1);
    assert_ne!(
        typo, text,
        "mdm.yaml has no case `requirements` to misspell"
    );
    std::fs::write(&mdm, &typo).unwrap();
    let line = typo
        .lines()
        .position(|l| l.starts_with("    requirement: ["))
        .unwrap()
        + 1;

    let errors: Vec<String> = validator
        .iter_errors(&yaml_as_json(&typo))
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("'requirement'")),
        "the schema accepts the typo: {errors:?}"
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_thoth-conformance"))
        .args(["validate", "--suites"])
        .arg(&suites)
        .arg("--fixtures")
        .arg(repo().join("fixtures"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "validate: {stderr}");
    assert!(
        stderr.contains(&format!("mdm.yaml:{line}:")) && stderr.contains("requirement"),
        "validate does not name the file, line {line} and field: {stderr}"
    );
}

/// The same agreement for a `for_each` entry: the schema knows it (the shipped
/// `pam_callback.yaml` passes it, above), and a misspelt `case` fails the schema and
/// the loader alike.
#[test]
fn the_schema_rejects_the_for_each_typo_the_loader_rejects() {
    let file = repo().join("suites/pam_callback.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let typo = text.replacen("\n    case:\n", "\n    cases:\n", 1);
    assert_ne!(
        typo, text,
        "pam_callback.yaml has no for_each `case` to misspell"
    );
    let errors: Vec<String> = suite_validator()
        .iter_errors(&yaml_as_json(&typo))
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("'cases'")),
        "the schema accepts the typo: {errors:?}"
    );
    let d = thoth_conformance::suite::load::parse_suite_str(&file, &typo).unwrap_err();
    assert!(
        d.field_path.ends_with(".cases") && d.message.contains("unknown field `cases`"),
        "{d}"
    );
}
