use super::*;
use crate::catalogue::Catalogue;
use crate::suite::load::LoadedSuite;
use crate::suite::model::Suite;
use time::macros::date;

fn project() -> Project {
    let suite: Suite = serde_saphyr::from_str(
        "phase: keys\ntitle: t\nrunbook: r\ncases:\n  - {id: a, title: t, capability: c, effect: read, requirements: [R-1], steps: [{request: {method: GET, path: /x}}]}\n  - {id: b, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /x}}]}\n",
    )
    .unwrap();
    Project {
        suites: vec![LoadedSuite {
            path: PathBuf::from("keys.yaml"),
            suite,
        }],
        catalogue: Catalogue {
            capabilities: Vec::new(),
            requirements: Vec::new(),
        },
        fixtures_dir: PathBuf::new(),
        suites_dir: PathBuf::new(),
    }
}

fn load(text: &str) -> Result<Ledger, Diagnostics> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("expectations.yaml");
    std::fs::write(&path, text).unwrap();
    Ledger::load(&path, &project())
}

const GOOD: &str = "expectations:\n  - case: keys::a\n    kind: known_failure\n    reason: VND-1\n    owner: qa\n    expires: 2026-12-31\n    requirement: R-1\n  - case: keys::b\n    kind: waiver\n    reason: not on this tier\n    owner: ops\n    expires: 2027-01-31\n";

fn case(id: &str, status: Status) -> CaseResult {
    CaseResult {
        phase: "keys".into(),
        case_id: id.into(),
        title: id.into(),
        status,
        message: None,
        requirements: vec![],
        capability: "c".into(),
        surface: crate::suite::model::Surface::Api,
        effect: crate::suite::model::Effect::Read,
        steps: vec![],
        cleanup: vec![],
        duration_ms: 0,
        started_at: String::new(),
        expectation: None,
    }
}

fn run(cases: Vec<CaseResult>) -> RunResult {
    RunResult {
        run_id: "r".into(),
        harness_version: "0".into(),
        suites_hash: "h".into(),
        target: crate::outcome::TargetInfo {
            kind: "mock".into(),
            base_url: String::new(),
            tenant: String::new(),
            mock_faults: vec![],
            surfaces: vec![],
            thothctl: None,
        },
        started_at: String::new(),
        finished_at: String::new(),
        duration_ms: 0,
        cases,
        interrupted: None,
        shard: None,
        evidence: None,
        conformance: None,
    }
}

#[test]
fn a_valid_ledger_loads_with_lines_and_waivers() {
    let l = load(GOOD).unwrap();
    assert_eq!(l.entries.len(), 2);
    assert_eq!(l.entries[0].line, 2);
    assert_eq!(l.entries[1].line, 8);
    assert_eq!(l.entries[0].expires, date!(2026 - 12 - 31));
    let w = l.waived();
    assert_eq!(
        w.get("keys::b").map(String::as_str),
        Some("waived: not on this tier (owner ops, until 2027-01-31)")
    );
    assert!(!w.contains_key("keys::a"));
}

#[test]
fn an_unknown_case_is_a_diagnostic_with_position_and_field_path() {
    let d = load(&GOOD.replace("keys::b", "keys::nope")).unwrap_err();
    assert_eq!(d.len(), 1, "{d}");
    let d = &d.0[0];
    assert_eq!(d.field_path, "expectations[1].case");
    assert_eq!((d.line, d.column), (8, 11), "{d}");
    assert!(d.message.contains("names no case"), "{d}");
}

#[test]
fn bad_dates_duplicates_empty_fields_and_foreign_requirements_are_reported() {
    let text = "expectations:\n  - {case: keys::a, kind: known_failure, reason: '', owner: ' ', expires: 2026-13-01, requirement: R-9}\n  - {case: keys::a, kind: waiver, reason: r, owner: o, expires: 2026-01-01}\n  - {case: nocolons, kind: waiver, reason: r, owner: o, expires: 2026-01-01}\n";
    let d = load(text).unwrap_err();
    let fields: Vec<&str> = d.iter().map(|d| d.field_path.as_str()).collect();
    assert_eq!(
        fields,
        [
            "expectations[0].reason",
            "expectations[0].owner",
            "expectations[0].expires",
            "expectations[0].requirement",
            "expectations[1].case",
            "expectations[2].case"
        ],
        "{d}"
    );
    assert!(d.iter().all(|d| d.line > 0), "{d}");
}

#[test]
fn unknown_fields_and_kinds_are_parse_diagnostics() {
    let d = load(&GOOD.replace("kind: waiver", "kind: maybe")).unwrap_err();
    assert!(d.0[0].message.contains("known_failure"), "{d}");
    assert_eq!(d.0[0].line, 9);
    let d = load(&GOOD.replace("owner: qa", "owner: qa\n    ticket: x")).unwrap_err();
    assert!(d.0[0].message.contains("unknown field"), "{d}");
}

#[test]
fn a_failing_known_failure_is_expected_and_not_stale() {
    let l = load(GOOD).unwrap();
    let mut r = run(vec![case("a", Status::Fail), case("b", Status::Disabled)]);
    let stale = l.apply(&mut r, date!(2026 - 11 - 24));
    assert!(stale.is_empty(), "{stale:?}");
    assert!(r.cases[0].is_expected_failure());
    let note = r.cases[1].expectation.as_ref().unwrap();
    assert_eq!(note.outcome, ExpectationOutcome::Waived);
    assert!(!note.expired);
}

#[test]
fn a_passing_known_failure_is_stale() {
    let l = load(GOOD).unwrap();
    let mut r = run(vec![case("a", Status::Pass), case("b", Status::Disabled)]);
    let stale = l.apply(&mut r, date!(2026 - 11 - 24));
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].why, StaleWhy::Passed);
    let shown = stale[0].to_string();
    assert!(
        shown.contains(":2: stale expectation: known_failure `keys::a`"),
        "{shown}"
    );
    assert_eq!(
        r.cases[0].expectation.as_ref().unwrap().outcome,
        ExpectationOutcome::UnexpectedPass
    );
}

#[test]
fn entries_expire_the_day_after_their_date() {
    let l = load(GOOD).unwrap();
    let mut r = run(vec![case("a", Status::Fail), case("b", Status::Disabled)]);
    assert!(l.apply(&mut r, date!(2026 - 12 - 31)).is_empty());
    let stale = l.apply(&mut r, date!(2027 - 01 - 01));
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].why, StaleWhy::Expired(date!(2026 - 12 - 31)));
    let stale = l.apply(&mut r, date!(2027 - 02 - 01));
    assert_eq!(stale.len(), 2, "the waiver expires too");
    assert!(r.cases[1].expectation.as_ref().unwrap().expired);
}

#[test]
fn an_errored_known_failure_is_inconclusive_and_counts_as_error() {
    let l = load(GOOD).unwrap();
    let mut r = run(vec![case("a", Status::Error)]);
    assert!(l.apply(&mut r, date!(2026 - 11 - 24)).is_empty());
    assert_eq!(
        r.cases[0].expectation.as_ref().unwrap().outcome,
        ExpectationOutcome::Inconclusive
    );
    assert!(!r.cases[0].is_expected_failure());
}

#[test]
fn the_default_ledger_is_used_only_when_present() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(ledger_path(None, dir.path()), None);
    std::fs::write(dir.path().join(DEFAULT_EXPECTATIONS_FILE), GOOD).unwrap();
    assert_eq!(
        ledger_path(None, dir.path()),
        Some(dir.path().join(DEFAULT_EXPECTATIONS_FILE))
    );
    let explicit = dir.path().join("other.yaml");
    assert_eq!(ledger_path(Some(&explicit), dir.path()), Some(explicit));
}
