//! The reports as files: snapshots of their exact content, a parse-back of the JUnit,
//! and a canary run full of planted secrets.

mod canary;
mod coverage;
use crate::fixture;
mod html;

use std::collections::HashSet;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use thoth_conformance::redact::Redactor;
use thoth_conformance::report::coverage::{build_coverage, render_json, render_markdown};
use thoth_conformance::report::junit::render_junit;
use thoth_conformance::report::{read_results, write_reports, ReportError, ReportPaths};

#[test]
fn junit_snapshot() {
    let xml = render_junit(&fixture::run(), &Redactor::new()).unwrap();
    insta::assert_snapshot!("junit.xml", xml);
}

#[test]
fn coverage_markdown_snapshot() {
    let cov = build_coverage(&fixture::run(), &fixture::catalogue(), &Redactor::new());
    insta::assert_snapshot!("coverage.md", render_markdown(&cov));
}

#[test]
fn coverage_json_snapshot() {
    let cov = build_coverage(&fixture::run(), &fixture::catalogue(), &Redactor::new());
    insta::assert_snapshot!("coverage.json", render_json(&cov).unwrap());
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name).unwrap().map(|a| {
        a.normalized_value(XmlVersion::Implicit1_0)
            .unwrap()
            .into_owned()
    })
}

/// What a JUnit consumer sees: every testcase with the element that gives its outcome.
#[derive(Debug, Default)]
struct Parsed {
    suites: Vec<(String, String)>,            // (name, tests attribute)
    cases: Vec<(String, String, String)>,     // (name, classname, outcome element or "pass")
    totals: (String, String, String, String), // tests, failures, errors on <testsuites>, skipped summed over <testsuite>s
    failure_types: Vec<String>,
}

fn parse_junit(xml: &str) -> Parsed {
    let mut reader = Reader::from_str(xml);
    let mut parsed = Parsed::default();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testsuites" => {
                    parsed.totals = (
                        attr(&e, "tests").unwrap(),
                        attr(&e, "failures").unwrap(),
                        attr(&e, "errors").unwrap(),
                        // junit-10.xsd has no `skipped` on the root: the suites count them.
                        "0".into(),
                    );
                    assert_eq!(attr(&e, "skipped"), None, "<testsuites skipped>");
                }
                b"testsuite" => {
                    let skipped: u64 = attr(&e, "skipped").unwrap().parse().unwrap();
                    let so_far: u64 = parsed.totals.3.parse().unwrap();
                    parsed.totals.3 = (so_far + skipped).to_string();
                    parsed
                        .suites
                        .push((attr(&e, "name").unwrap(), attr(&e, "tests").unwrap()))
                }
                b"testcase" => parsed.cases.push((
                    attr(&e, "name").unwrap(),
                    attr(&e, "classname").unwrap(),
                    "pass".into(),
                )),
                outcome @ (b"failure" | b"error" | b"skipped") => {
                    let case = parsed.cases.last_mut().expect("outcome inside a testcase");
                    case.2 = String::from_utf8(outcome.to_vec()).unwrap();
                    if outcome == b"failure" {
                        parsed.failure_types.push(attr(&e, "type").unwrap());
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    parsed
}

#[test]
fn junit_parses_back_with_unique_names_and_the_right_outcomes() {
    let run = fixture::run();
    let parsed = parse_junit(&render_junit(&run, &Redactor::new()).unwrap());
    let names: HashSet<&str> = parsed.cases.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        names.len(),
        run.cases.len(),
        "names unique: {:?}",
        parsed.cases
    );
    assert_eq!(
        parsed.suites,
        vec![
            ("bootstrap".to_owned(), "2".to_owned()),
            ("scoped_keys".to_owned(), "1".to_owned()),
            ("pam".to_owned(), "1".to_owned()),
            ("webhook".to_owned(), "1".to_owned()),
        ]
    );
    let outcome = |name: &str| {
        parsed
            .cases
            .iter()
            .find(|c| c.0 == name)
            .map(|c| (c.1.as_str(), c.2.as_str()))
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(
        outcome("bootstrap::settings_upsert_api"),
        ("bootstrap", "pass")
    );
    assert_eq!(
        outcome("bootstrap::bootstrap_flags"),
        ("bootstrap", "skipped")
    );
    assert_eq!(
        outcome("scoped_keys::authorize_out_of_scope"),
        ("scoped_keys", "failure")
    );
    assert_eq!(outcome("pam::replay_ignored"), ("pam", "error"));
    assert_eq!(outcome("webhook::test_delivery"), ("webhook", "skipped"));
    assert_eq!(parsed.failure_types, vec!["requirement_failed".to_owned()]);
    assert_eq!(
        parsed.totals,
        (
            "5".to_owned(),
            "1".to_owned(),
            "1".to_owned(),
            "2".to_owned()
        )
    );
}

#[test]
fn duplicate_case_names_get_a_suffix_instead_of_folding() {
    let mut run = fixture::run();
    let dup = run.cases[0].clone();
    run.cases.push(dup);
    let parsed = parse_junit(&render_junit(&run, &Redactor::new()).unwrap());
    let names: HashSet<&str> = parsed.cases.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(names.len(), run.cases.len());
    assert!(
        names.contains("bootstrap::settings_upsert_api (2)"),
        "{names:?}"
    );
}

#[test]
fn write_reports_creates_the_directory_and_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/reports");
    let paths = write_reports(
        &fixture::run(),
        &fixture::catalogue(),
        &out,
        &Redactor::new(),
    )
    .unwrap();
    assert_eq!(paths, ReportPaths::in_dir(&out));
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "coverage.json",
            "coverage.md",
            "junit.xml",
            "report.html",
            "results.json"
        ]
    );
    // A second run replaces the files whole.
    write_reports(
        &fixture::run(),
        &fixture::catalogue(),
        &out,
        &Redactor::new(),
    )
    .unwrap();
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 5);
}

#[test]
fn write_reports_into_a_file_path_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = write_reports(
        &fixture::run(),
        &fixture::catalogue(),
        &file,
        &Redactor::new(),
    )
    .unwrap_err();
    assert!(matches!(err, ReportError::CreateDir { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("create report directory"),
        "{err}"
    );
}

#[test]
fn results_round_trip_through_read_results() {
    let dir = tempfile::tempdir().unwrap();
    let run = fixture::run();
    let paths = write_reports(&run, &fixture::catalogue(), dir.path(), &Redactor::new()).unwrap();
    let back = read_results(&paths.results).unwrap();
    assert_eq!(
        serde_json::to_value(&back).unwrap(),
        serde_json::to_value(&run).unwrap()
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&paths.results).unwrap()).unwrap();
    assert_eq!(file["verdict"]["exit_code"], 1);
    assert_eq!(file["verdict"]["status"], "failed");
    assert_eq!(file["verdict"]["counts"]["total"], 5);
}

#[test]
fn read_results_names_a_wrong_schema_and_bad_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.json");
    std::fs::write(
        &path,
        r#"{"schema":"thoth-conformance/results/v0","run":{}}"#,
    )
    .unwrap();
    let err = read_results(&path).unwrap_err();
    assert!(err.to_string().contains("results/v0"), "{err}");
    std::fs::write(&path, "{not json").unwrap();
    assert!(matches!(
        read_results(&path),
        Err(ReportError::Parse { .. })
    ));
    let missing = dir.path().join("missing.json");
    assert!(matches!(
        read_results(&missing),
        Err(ReportError::Read { .. })
    ));
}
