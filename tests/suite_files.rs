//! Static cross-checks of the shipped `suites/`, `fixtures/` and `tests/kill_matrix.yaml`
//! against each other and against the shared suite model: every file parses with
//! unknown fields rejected, every reference (requirement, capability, needs, fixture,
//! placeholder, capture, replayed step, kill-matrix case) resolves, and the catalogue
//! is fully accounted for (each requirement is checked by a case or carries a gap).
//!
//! These run without a target, so a broken suite file fails `cargo test` before any
//! run could trip over it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json_path::JsonPath;
use thoth_conformance::catalogue::Catalogue;
use thoth_conformance::suite::model::{Capture, JsonAssert, Step, Suite};

/// Target variables the engine provides (docs/interfaces.md §3).
const TARGET_VARS: &[&str] = &[
    "run_id",
    "tenant",
    "other_tenant",
    "govapi_url",
    "webhook_url",
    "webhook_secret",
    "webhook_sink",
    "pam_callback_secret",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load_suites() -> Vec<(PathBuf, Suite)> {
    let mut files: Vec<PathBuf> = fs::read_dir(root().join("suites"))
        .expect("failed to read suites/")
        .map(|e| e.expect("failed to read suites/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .filter(|p| p.file_name().is_some_and(|n| n != "requirements.yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).expect("failed to read suite file");
            let suite: Suite = serde_saphyr::from_str(&text)
                .unwrap_or_else(|e| panic!("failed to parse {}: {e}", path.display()));
            (path, suite)
        })
        .collect()
}

fn load_catalogue() -> Catalogue {
    let path = root().join("suites/requirements.yaml");
    let text = fs::read_to_string(&path).expect("failed to read the catalogue");
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("failed to parse catalogue: {e}"))
}

/// `{{name}}` placeholders in a string (names trimmed).
fn placeholders(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .unwrap_or_else(|| panic!("unclosed placeholder in {s:?}"));
        out.push(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
    out
}

/// Every string inside a JSON value (keys included).
fn strings_in(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|i| strings_in(i, out)),
        serde_json::Value::Object(map) => map.iter().for_each(|(k, i)| {
            out.push(k.clone());
            strings_in(i, out)
        }),
        _ => {}
    }
}

fn all_steps(suite: &Suite) -> Vec<&Step> {
    let mut steps: Vec<&Step> = suite.setup.iter().chain(&suite.cleanup).collect();
    for case in &suite.cases {
        steps.extend(case.steps.iter().chain(&case.cleanup));
    }
    steps
}

fn asserts_of(step: &Step) -> Vec<&JsonAssert> {
    let mut asserts: Vec<&JsonAssert> = step.expect.json.iter().collect();
    if let Some(ev) = &step.eventually {
        asserts.extend(&ev.fail_if);
    }
    asserts
}

/// Every templated string a step carries, with a label for messages.
fn templated_strings(step: &Step) -> Vec<String> {
    let mut out = Vec::new();
    for req in [&step.request, &step.admin].into_iter().flatten() {
        out.push(req.path.clone());
        out.extend(req.query.values().cloned());
        out.extend(req.headers.values().cloned());
        out.extend(req.body.clone());
        if let Some(json) = &req.json {
            strings_in(json, &mut out);
        }
        if let Some(file) = &req.body_file {
            let text = fs::read_to_string(root().join("fixtures").join(file))
                .unwrap_or_else(|e| panic!("failed to read fixture {file}: {e}"));
            out.push(text);
        }
    }
    if let Some(cb) = &step.pam_callback {
        out.extend([
            cb.approval_id.clone(),
            cb.request_id.clone(),
            cb.decision.clone(),
        ]);
        out.extend(cb.secret.clone());
    }
    if let Some(sw) = &step.sink_wait {
        out.push(sw.sink.clone());
        out.extend(sw.secret.clone());
    }
    if let Some(t) = &step.thothctl {
        out.extend(t.args.iter().cloned());
    }
    out.extend(step.expect.body_not_contains.iter().cloned());
    out.extend(step.expect.headers.values().cloned());
    for a in asserts_of(step) {
        out.push(a.path.clone());
        out.extend(a.matches.clone());
        for v in [&a.equals, &a.not_equals, &a.contains]
            .into_iter()
            .flatten()
        {
            strings_in(v, &mut out);
        }
    }
    out
}

fn capture_names(suite: &Suite) -> BTreeSet<String> {
    all_steps(suite)
        .iter()
        .flat_map(|s| s.capture.keys().cloned())
        .collect()
}

#[test]
fn every_suite_parses_and_its_references_resolve() {
    let catalogue = load_catalogue();
    let requirement_ids: BTreeSet<&str> = catalogue
        .requirements
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    let capability_ids: BTreeSet<&str> = catalogue
        .capabilities
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    let suites = load_suites();
    let phases: BTreeSet<&str> = suites.iter().map(|(_, s)| s.phase.as_str()).collect();
    assert_eq!(phases.len(), suites.len(), "phase names must be unique");

    for (path, suite) in &suites {
        let file = path.file_stem().unwrap().to_string_lossy();
        assert_eq!(
            suite.phase,
            file,
            "{}: phase must equal the file name",
            path.display()
        );
        for after in &suite.after {
            assert!(
                phases.contains(after.as_str()),
                "{}: after names unknown phase {after}",
                suite.phase
            );
        }
        let mut seen = BTreeSet::new();
        for case in &suite.cases {
            let name = format!("{}::{}", suite.phase, case.id);
            assert!(seen.insert(case.id.as_str()), "{name}: duplicate case id");
            assert!(
                !case.requirements.is_empty(),
                "{name}: names no requirement"
            );
            for r in &case.requirements {
                assert!(
                    requirement_ids.contains(r.as_str()),
                    "{name}: unknown requirement {r}"
                );
            }
            assert!(
                capability_ids.contains(case.capability.as_str()),
                "{name}: unknown capability"
            );
            for need in &case.needs {
                assert!(
                    seen.contains(need.as_str()) && need != &case.id,
                    "{name}: needs {need}, which is not an earlier case"
                );
            }
            assert!(!case.steps.is_empty(), "{name}: has no steps");
        }
    }
}

#[test]
fn every_step_has_exactly_one_action_and_valid_json_paths() {
    for (_, suite) in load_suites() {
        for step in all_steps(&suite) {
            let actions = [
                step.request.is_some(),
                step.admin.is_some(),
                step.pam_callback.is_some(),
                step.sink_wait.is_some(),
                step.thothctl.is_some(),
            ];
            let label = format!("{}: step {:?}", suite.phase, step.name);
            assert_eq!(
                actions.iter().filter(|a| **a).count(),
                1,
                "{label}: needs exactly one action"
            );
            if let Some(req) = step.request.as_ref().or(step.admin.as_ref()) {
                let bodies = [
                    req.json.is_some(),
                    req.body.is_some(),
                    req.body_file.is_some(),
                ];
                assert!(
                    bodies.iter().filter(|b| **b).count() <= 1,
                    "{label}: more than one body"
                );
                assert!(
                    req.path.starts_with('/') || req.path.starts_with("{{govapi_url}}/"),
                    "{label}: path must start with / or {{{{govapi_url}}}}/"
                );
                if step.retry.is_some() {
                    assert!(
                        req.method.is_idempotent(),
                        "{label}: retry on a non-idempotent method"
                    );
                }
            }
            let captured: Vec<String> = step
                .capture
                .values()
                .filter_map(|c| match c {
                    Capture::Path(p) => Some(p.clone()),
                    Capture::Spec(s) => s.path.clone(),
                })
                .collect();
            let paths = asserts_of(step)
                .into_iter()
                .map(|a| a.path.clone())
                .chain(captured);
            for path in paths {
                // Placeholders are replaced by a plain word, as a run would.
                let mut concrete = path.clone();
                for name in placeholders(&path) {
                    concrete = concrete.replace(&format!("{{{{{name}}}}}"), "x");
                }
                JsonPath::parse(&concrete)
                    .unwrap_or_else(|e| panic!("{label}: bad JSONPath {path:?}: {e}"));
            }
        }
    }
}

#[test]
fn every_placeholder_delta_and_replay_is_defined() {
    for (_, suite) in load_suites() {
        let mut known: BTreeSet<String> = TARGET_VARS.iter().map(|s| s.to_string()).collect();
        known.extend(suite.vars.keys().cloned());
        let captures = capture_names(&suite);
        known.extend(captures.iter().cloned());
        let step_names: BTreeSet<String> = all_steps(&suite)
            .iter()
            .filter_map(|s| s.name.clone())
            .collect();
        let mut strings: Vec<String> = suite.vars.values().cloned().collect();
        for step in all_steps(&suite) {
            strings.extend(templated_strings(step));
            for a in asserts_of(step) {
                if let Some(delta) = &a.delta {
                    assert!(
                        captures.contains(&delta.var),
                        "{}: delta var {} is never captured",
                        suite.phase,
                        delta.var
                    );
                }
            }
            if let Some(replayed) = step
                .pam_callback
                .as_ref()
                .and_then(|c| c.replay_of.as_ref())
            {
                assert!(
                    step_names.contains(replayed),
                    "{}: replay_of names no step: {replayed}",
                    suite.phase
                );
            }
        }
        for s in strings {
            for name in placeholders(&s) {
                assert!(
                    name.starts_with("env.") || known.contains(&name),
                    "{}: placeholder {{{{{name}}}}} is not a target variable, suite var or capture",
                    suite.phase
                );
            }
        }
    }
}

#[test]
fn fixtures_exist_and_json_fixtures_parse_after_templating() {
    for (_, suite) in load_suites() {
        for step in all_steps(&suite) {
            let Some(file) = step
                .request
                .as_ref()
                .or(step.admin.as_ref())
                .and_then(|r| r.body_file.clone())
            else {
                continue;
            };
            let path = root().join("fixtures").join(&file);
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: fixture {file}: {e}", suite.phase));
            if file.ends_with(".json") {
                let mut concrete = text.clone();
                for name in placeholders(&text) {
                    concrete = concrete.replace(&format!("{{{{{name}}}}}"), "x");
                }
                serde_json::from_str::<serde_json::Value>(&concrete)
                    .unwrap_or_else(|e| panic!("{}: fixture {file} is not JSON: {e}", suite.phase));
            }
        }
    }
}

#[test]
fn thothctl_file_arguments_name_shipped_fixtures() {
    for (_, suite) in load_suites() {
        for step in all_steps(&suite) {
            let Some(t) = &step.thothctl else { continue };
            for arg in t.args.iter().filter(|a| a.starts_with("fixtures/")) {
                assert!(
                    root().join(arg).is_file(),
                    "{}: thothctl argument {arg} is not a file",
                    suite.phase
                );
            }
        }
    }
}

#[test]
fn catalogue_is_fully_accounted_for() {
    let catalogue = load_catalogue();
    let suites = load_suites();
    let runbook_rows = catalogue
        .capabilities
        .iter()
        .filter(|c| c.runbook_row)
        .count();
    assert_eq!(
        runbook_rows, 10,
        "the runbook's coverage matrix has exactly 10 rows"
    );

    let mut ids = BTreeSet::new();
    for r in &catalogue.requirements {
        assert!(ids.insert(r.id.as_str()), "duplicate requirement {}", r.id);
    }
    let mut referenced: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut capabilities_used = BTreeSet::new();
    for (_, suite) in &suites {
        for case in &suite.cases {
            capabilities_used.insert(case.capability.as_str());
            for r in &case.requirements {
                referenced
                    .entry(r.as_str())
                    .or_default()
                    .push(format!("{}::{}", suite.phase, case.id));
            }
        }
    }
    for r in &catalogue.requirements {
        match (&r.gap, referenced.get(r.id.as_str())) {
            (None, None) => panic!("requirement {} has no case and no gap", r.id),
            (Some(_), Some(cases)) => panic!(
                "requirement {} has a gap but cases check it: {cases:?}",
                r.id
            ),
            _ => {}
        }
    }
    for c in &catalogue.capabilities {
        assert!(
            capabilities_used.contains(c.id.as_str()),
            "capability {} has no case",
            c.id
        );
    }
}

/// `tests/kill_matrix.yaml`: fault name -> the `phase::case` names expected to fail.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KillMatrix {
    faults: BTreeMap<String, KilledBy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KilledBy {
    why: String,
    fails: Vec<String>,
}

#[test]
fn kill_matrix_names_existing_cases_and_catches_every_fault() {
    let text = fs::read_to_string(root().join("tests/kill_matrix.yaml"))
        .expect("failed to read the kill matrix");
    let matrix: KillMatrix = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("failed to parse kill matrix: {e}"));
    let cases: BTreeSet<String> = load_suites()
        .iter()
        .flat_map(|(_, s)| {
            s.cases
                .iter()
                .map(move |c| format!("{}::{}", s.phase, c.id))
        })
        .collect();
    for (fault, killed) in &matrix.faults {
        assert!(
            !killed.why.trim().is_empty(),
            "fault {fault}: say why it is caught"
        );
        assert!(
            !killed.fails.is_empty(),
            "fault {fault} is caught by no case"
        );
        for name in &killed.fails {
            assert!(cases.contains(name), "fault {fault}: unknown case {name}");
        }
    }
}
