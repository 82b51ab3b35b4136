//! `junit.xml` as its consumers read it: Jenkins' `junit-10.xsd` (taken from pytest's
//! sdist by scripts/test.sh, never re-typed), junitparser (PyPI) and xunit-viewer's
//! parser (npm). Each is installed by scripts/test.sh under target/; a developer machine
//! without them skips with a message, CI fails.

#[allow(dead_code)]
use crate::fixture;
use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use thoth_conformance::redact::Redactor;
use thoth_conformance::report::junit::{render_junit_with, JunitDialect, JunitOptions};
use thoth_conformance::suite::locate::Location;

const INSTALL: &str = "bash scripts/test.sh installs it under target/ci-tools";
const JUNIT_10: &str = "target/ci-tools/junit-10.xsd";
const JUNITPARSER: &str = "target/ci-tools/junit-venv/bin/python";
const XUNIT_VIEWER: &str = "target/ci-tools/xunit-viewer/node_modules/xunit-viewer";

fn options(dialect: JunitDialect) -> JunitOptions {
    let at = |file: &str, line| Location {
        file: file.into(),
        line,
    };
    JunitOptions {
        dialect,
        locations: BTreeMap::from([
            (
                "bootstrap::settings_upsert_api".into(),
                at("suites/bootstrap.yaml", 7),
            ),
            (
                "scoped_keys::authorize_out_of_scope".into(),
                at("suites/scoped_keys.yaml", 42),
            ),
            ("pam::replay_ignored".into(), at("suites/pam.yaml", 13)),
        ]),
    }
}

fn render(dialect: JunitDialect) -> String {
    render_junit_with(&fixture::run(), &Redactor::new(), &options(dialect)).unwrap()
}

fn write(xml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, xml).unwrap();
    (dir, file)
}

fn validate(xsd: &Path, xml: &str) -> Result<(), String> {
    let xmllint = support::find_on_path(&["xmllint"]).expect("xmllint on PATH");
    support::xmllint_validate(&xmllint, xsd, xml)
}

fn junit_10(test: &str) -> Option<PathBuf> {
    support::required_tool(test, &["xmllint"], "apt-get install libxml2-utils")?;
    support::required_file(test, JUNIT_10, INSTALL)
}

#[test]
fn the_default_dialect_validates_against_jenkins_junit_10_xsd() {
    let Some(xsd) = junit_10("the_default_dialect_validates_against_jenkins_junit_10_xsd") else {
        return;
    };
    // The schema is pytest's copy of Jenkins' file, not ours.
    let text = std::fs::read_to_string(&xsd).unwrap();
    assert!(
        text.contains("Gregory Boissinot"),
        "{JUNIT_10} is not junit-10.xsd"
    );
    validate(&xsd, &render(JunitDialect::Jenkins))
        .unwrap_or_else(|e| panic!("the jenkins dialect fails junit-10.xsd:\n{e}"));

    // Hostile text and redaction keep it valid.
    let redactor = Redactor::new();
    redactor.add_secret("tok-J10-secret-1").unwrap();
    let mut run = fixture::run();
    run.cases[2].title = "]]><x>&\"'</x>".into();
    run.cases[2].message = Some("tok-J10-secret-1 <failure/> \u{7f} ]]>".into());
    run.cases[2].steps[1].exchanges[0].response_body = Some("\u{1b}[31m </system-out>".into());
    let xml = render_junit_with(&run, &redactor, &options(JunitDialect::Jenkins)).unwrap();
    assert!(!xml.contains("tok-J10-secret-1"));
    validate(&xsd, &xml).unwrap_or_else(|e| panic!("hostile strings break junit-10.xsd:\n{e}"));
}

#[test]
fn junit_10_xsd_rejects_what_the_github_dialect_adds_and_nothing_else() {
    // The negative control: the downloaded schema is strict where the issue saw the old
    // report fail, so the pass above means something.
    let Some(xsd) = junit_10("junit_10_xsd_rejects_what_the_github_dialect_adds_and_nothing_else")
    else {
        return;
    };
    let github = render(JunitDialect::Github);
    assert!(
        github.contains(" file=\"suites/scoped_keys.yaml\" line=\"42\""),
        "{github}"
    );
    let errors = validate(&xsd, &github).expect_err("junit-10.xsd accepted file/line");
    for line in errors.lines().filter(|l| l.contains("error")) {
        assert!(
            ["'file'", "'line'", "'timestamp'", "properties"]
                .iter()
                .any(|a| line.contains(a)),
            "the github dialect fails junit-10.xsd for something else: {line}"
        );
    }
    // And it is valid against the project's schema, which allows those extensions.
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/junit.xsd");
    validate(&ours, &github).unwrap_or_else(|e| panic!("github dialect vs junit.xsd:\n{e}"));
}

fn run_json(mut cmd: Command) -> Value {
    let out = cmd.output().expect("failed to start the consumer");
    assert!(
        out.status.success(),
        "consumer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("consumer printed JSON")
}

fn support_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support")
        .join(name)
}

/// The expected failure line of the fixture's failing and erroring cases.
const FAIL_MESSAGE: &str = "[RB-P1A-02] POST /conformance/thoth/api-keys/k1/authorize: step 2 \
                            `authorize other endpoint`: expected $.scope_allowed == false, got true";
const ERROR_MESSAGE: &str =
    "[RB-P4-02] POST /conformance/thoth/pam/callback: step 1 `send callback`: connection refused";

#[test]
fn junitparser_reads_counts_names_outcomes_messages_and_requirements() {
    let test = "junitparser_reads_counts_names_outcomes_messages_and_requirements";
    let Some(python) = support::required_file(test, JUNITPARSER, INSTALL) else {
        return;
    };
    for dialect in [JunitDialect::Jenkins, JunitDialect::Github] {
        let (_dir, file) = write(&render(dialect));
        let mut cmd = Command::new(&python);
        cmd.arg(support_file("junit_consumers.py")).arg(&file);
        let suites = run_json(cmd);
        let suites = suites.as_array().unwrap();
        let names: Vec<&str> = suites.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["bootstrap", "scoped_keys", "pam", "webhook"],
            "{dialect:?}"
        );
        let count = |k: &str| suites.iter().map(|s| s[k].as_u64().unwrap()).sum::<u64>();
        assert_eq!(
            (
                count("tests"),
                count("failures"),
                count("errors"),
                count("skipped")
            ),
            (5, 1, 1, 2),
            "{dialect:?}"
        );
        let case = |name: &str| {
            suites
                .iter()
                .flat_map(|s| s["cases"].as_array().unwrap())
                .find(|c| c["name"] == name)
                .unwrap_or_else(|| panic!("{name} missing"))
                .clone()
        };
        let only = |name: &str| {
            let c = case(name);
            let r = c["results"].as_array().unwrap();
            assert!(r.len() <= 1, "{name}: {r:?}");
            r.first().cloned()
        };
        assert_eq!(
            only("bootstrap::settings_upsert_api"),
            None,
            "a pass has no result"
        );
        let fail = only("scoped_keys::authorize_out_of_scope").unwrap();
        assert_eq!(fail["kind"], "failure");
        assert_eq!(fail["type"], "requirement_failed");
        assert_eq!(fail["message"], FAIL_MESSAGE);
        let text = fail["text"].as_str().unwrap();
        assert!(text.contains("requirements: RB-P1A-02 (FAIL"), "{text}");
        assert!(text.contains("case: suites/scoped_keys.yaml:42"), "{text}");
        let err = only("pam::replay_ignored").unwrap();
        assert_eq!(
            (err["kind"].as_str(), err["message"].as_str()),
            (Some("error"), Some(ERROR_MESSAGE))
        );
        let skip = only("bootstrap::bootstrap_flags").unwrap();
        assert_eq!(skip["kind"], "skipped");
        assert_eq!(skip["message"], "requires thothctl: thothctl not found");
        let disabled = only("webhook::test_delivery").unwrap();
        assert_eq!(disabled["kind"], "skipped");
        assert!(disabled["message"]
            .as_str()
            .unwrap()
            .starts_with("disabled: "));

        let keys = &suites[1]["properties"];
        match dialect {
            // Where junitparser reaches a case's requirements: its suite's properties.
            JunitDialect::Jenkins => {
                assert_eq!(
                    keys["scoped_keys::authorize_out_of_scope.requirements"],
                    "RB-P1A-02"
                );
                assert_eq!(
                    keys["scoped_keys::authorize_out_of_scope.file"],
                    "suites/scoped_keys.yaml:42"
                );
                assert!(keys["requirement.RB-P1A-02"]
                    .as_str()
                    .unwrap()
                    .starts_with("FAIL"));
                assert_eq!(
                    case("scoped_keys::authorize_out_of_scope")["file"],
                    Value::Null
                );
            }
            JunitDialect::Github => {
                let c = case("scoped_keys::authorize_out_of_scope");
                assert_eq!(
                    (c["file"].as_str(), c["line"].as_str()),
                    (Some("suites/scoped_keys.yaml"), Some("42"))
                );
                assert_eq!(
                    case("webhook::test_delivery")["file"],
                    Value::Null,
                    "no location known"
                );
            }
        }
    }
}

#[test]
fn xunit_viewer_shows_every_case_with_its_status_and_message() {
    let test = "xunit_viewer_shows_every_case_with_its_status_and_message";
    let Some(node) = support::required_tool(test, &["node", "nodejs"], "apt-get install nodejs")
    else {
        return;
    };
    let Some(viewer) = support::required_file(test, XUNIT_VIEWER, INSTALL) else {
        return;
    };
    for dialect in [JunitDialect::Jenkins, JunitDialect::Github] {
        let (_dir, file) = write(&render(dialect));
        let mut cmd = Command::new(&node);
        cmd.arg(support_file("xunit_viewer.mjs"))
            .arg(&viewer)
            .arg(&file);
        let suites = run_json(cmd);
        let tests: Vec<&Value> = suites
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["tests"].as_array().unwrap())
            .collect();
        let status = |name: &str| {
            let t = tests
                .iter()
                .find(|t| t["name"] == name)
                .unwrap_or_else(|| panic!("{dialect:?}: {name} missing from {tests:?}"));
            (
                t["status"].as_str().unwrap().to_owned(),
                t["messages"].clone(),
            )
        };
        assert_eq!(tests.len(), 5, "{dialect:?}");
        assert_eq!(status("bootstrap::settings_upsert_api").0, "passed");
        assert_eq!(status("bootstrap::bootstrap_flags").0, "skipped");
        assert_eq!(status("webhook::test_delivery").0, "skipped");
        let (s, messages) = status("scoped_keys::authorize_out_of_scope");
        assert_eq!(s, "failure");
        assert!(
            messages
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == FAIL_MESSAGE),
            "{messages}"
        );
        let (s, messages) = status("pam::replay_ignored");
        assert_eq!(s, "error");
        assert!(
            messages
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == ERROR_MESSAGE),
            "{messages}"
        );
    }
}

/// A whole `run` writes each case's file and line into the github dialect's JUnit (the
/// lines are worked out beside the run, `session::run`): every case of the built-in
/// suites at the line of its `- id:`.
#[test]
fn a_run_writes_each_cases_file_and_line() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let reports = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_thoth-conformance"))
        .current_dir(&root)
        .args([
            "run",
            "--target",
            "mock",
            "--thothctl-stand-in",
            "off",
            "-q",
        ])
        .args(["--junit-dialect", "github", "--reports"])
        .arg(reports.path())
        .env("CI", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let junit = std::fs::read_to_string(reports.path().join("junit.xml")).unwrap();
    let mut checked = 0;
    for file in ["suites/scoped_keys.yaml", "suites/bootstrap.yaml"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let phase = Path::new(file).file_stem().unwrap().to_string_lossy();
        for (i, line) in text.lines().enumerate() {
            let Some(id) = line.trim_start().strip_prefix("- id: ") else {
                continue;
            };
            if !line.starts_with("  - id: ") {
                continue; // a step's or a nested list's id, not a case
            }
            let testcase = junit
                .split("<testcase ")
                .find(|t| t.starts_with(&format!("name=\"{phase}::{}\"", id.trim())))
                .unwrap_or_else(|| panic!("no testcase {id} in:\n{junit}"));
            let at = format!(" file=\"{file}\" line=\"{}\"", i + 1);
            assert!(
                testcase.split('>').next().unwrap().contains(&at),
                "{id}: expected{at} in <testcase {}",
                testcase.split('>').next().unwrap()
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} cases checked");
}
