//! The expectations ledger through the CLI against the in-process mock: a known failure
//! that fails is accepted (it does not fail the run; alone in the run nothing passed, so
//! exit 7, never 0), the same entry once the defect is gone makes the run
//! exit 4, an expired waiver exits 4, and an entry naming no case is a config error (2).

use std::path::{Path, PathBuf};
use std::process::Output;

const CASE: &str = "mdm::sync_accepted";
/// Makes `mdm::sync_accepted` fail (see tests/kill_matrix.yaml).
const FAULT: &str = "mdm-sync-refused";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ledger(dir: &Path, kind: &str, case: &str, expires: &str) -> PathBuf {
    let path = dir.join("ledger.yaml");
    std::fs::write(
        &path,
        format!(
            "expectations:\n  - case: {case}\n    kind: {kind}\n    reason: VND-42 sync refused on this tenant\n    owner: platform-team\n    expires: {expires}\n"
        ),
    )
    .unwrap();
    path
}

fn run(dir: &Path, ledger: &Path, fault: Option<&str>) -> Output {
    let reports = dir.join("reports");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_thoth-conformance"));
    cmd.arg("run")
        .arg("--suites")
        .arg(root().join("suites"))
        .arg("--fixtures")
        .arg(root().join("fixtures"))
        .arg("--reports")
        .arg(&reports)
        .arg("--expectations")
        .arg(ledger)
        .arg("--filter")
        .arg(CASE);
    if let Some(f) = fault {
        cmd.arg("--mock-fault").arg(f);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn results_case(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("reports/results.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["run"]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["phase"] == "mdm" && c["case_id"] == "sync_accepted")
        .cloned()
        .unwrap()
}

#[test]
fn a_known_failure_that_fails_is_accepted_and_reported_as_expected() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(dir.path(), "known_failure", CASE, "2099-12-31");
    let out = run(dir.path(), &l, Some(FAULT));
    let shown = text(&out);
    // Not failed (1) by the accepted defect; but the only case did not pass.
    assert_eq!(out.status.code(), Some(7), "{shown}");
    assert!(
        shown.contains("INCOMPLETE (exit 7): no case passed, so nothing was verified"),
        "{shown}"
    );
    assert!(shown.contains("XFAIL"), "{shown}");
    assert!(shown.contains("expected failure: VND-42"), "{shown}");
    let case = results_case(dir.path());
    assert_eq!(case["status"], "fail");
    assert_eq!(case["expectation"]["outcome"], "expected_failure");
    assert_eq!(case["expectation"]["owner"], "platform-team");
    let junit = std::fs::read_to_string(dir.path().join("reports/junit.xml")).unwrap();
    assert!(
        junit.contains(r#".expectation_outcome" value="expected_failure""#),
        "{junit}"
    );
}

#[test]
fn a_known_failure_that_passes_makes_the_run_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(dir.path(), "known_failure", CASE, "2099-12-31");
    let out = run(dir.path(), &l, None);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(4), "{shown}");
    assert!(
        shown.contains(&format!(
            "ledger.yaml:2: stale expectation: known_failure `{CASE}` (owner platform-team): the case passed"
        )),
        "{shown}"
    );
    assert_eq!(
        results_case(dir.path())["expectation"]["outcome"],
        "unexpected_pass"
    );
}

#[test]
fn an_expired_waiver_keeps_the_case_disabled_and_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(dir.path(), "waiver", CASE, "2020-01-31");
    let out = run(dir.path(), &l, None);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(4), "{shown}");
    assert!(shown.contains("expired on 2020-01-31"), "{shown}");
    let case = results_case(dir.path());
    assert_eq!(case["status"], "disabled");
    assert!(
        case["message"]
            .as_str()
            .unwrap()
            .starts_with("waived: VND-42"),
        "{case}"
    );
    assert_eq!(case["expectation"]["expired"], true);
}

#[test]
fn a_live_waiver_disables_the_case_and_the_run_passes() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(dir.path(), "waiver", CASE, "2099-12-31");
    // The fault would make the case fail, but a waived case does not run: nothing
    // fails, and nothing passed either (the only case is waived), so exit 7.
    let out = run(dir.path(), &l, Some(FAULT));
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    assert_eq!(results_case(dir.path())["status"], "disabled");
}

#[test]
fn an_entry_naming_no_case_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(
        dir.path(),
        "known_failure",
        "mdm::no_such_case",
        "2099-12-31",
    );
    let out = run(dir.path(), &l, None);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("ledger.yaml:2:11: expectations[0].case: `mdm::no_such_case` names no case"),
        "{shown}"
    );
    assert!(!dir.path().join("reports").exists(), "nothing ran");
}

#[test]
fn validate_checks_the_ledger_too() {
    let dir = tempfile::tempdir().unwrap();
    let validate = |ledger: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_thoth-conformance"))
            .arg("validate")
            .arg("--suites")
            .arg(root().join("suites"))
            .arg("--fixtures")
            .arg(root().join("fixtures"))
            .arg("--expectations")
            .arg(ledger)
            .output()
            .unwrap()
    };
    let good = ledger(dir.path(), "waiver", CASE, "2099-12-31");
    let out = validate(&good);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("ledger.yaml (1 entries)"),
        "{}",
        text(&out)
    );
    let bad = ledger(dir.path(), "waiver", CASE, "2099-02-30");
    let out = validate(&bad);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("expectations[0].expires: `2099-02-30` is not a date (YYYY-MM-DD)"),
        "{}",
        text(&out)
    );
}
