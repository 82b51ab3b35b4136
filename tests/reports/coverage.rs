//! Aggregation rules of the coverage report, beyond what the snapshots show.

use thoth_conformance::outcome::Status;
use thoth_conformance::redact::Redactor;
use thoth_conformance::report::coverage::{
    build_coverage, render_markdown, CellStatus, RequirementStatus, THOTHCTL_ABSENT_NOTE,
};
use thoth_conformance::suite::model::Surface;

use crate::fixture;

#[test]
fn a_cell_passes_only_when_every_case_ran_and_passed() {
    use Status::*;
    for (statuses, expected) in [
        (vec![Pass, Fail, Skip], CellStatus::Fail),
        (vec![Pass, Error, Disabled], CellStatus::Error),
        (vec![Skip, Pass, Disabled], CellStatus::Partial),
        (vec![Pass, Pass], CellStatus::Pass),
        (vec![Disabled, Skip], CellStatus::Skip),
        (vec![Disabled], CellStatus::Disabled),
        (vec![], CellStatus::NoCase),
    ] {
        let mut run = fixture::run();
        run.cases = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut c = run.cases[0].clone();
                c.case_id = format!("c{i}");
                c.status = *s;
                c
            })
            .collect();
        let cov = build_coverage(&run, &fixture::catalogue(), &Redactor::new());
        let row = cov
            .matrix
            .iter()
            .find(|r| r.capability == "tenant_settings")
            .unwrap();
        assert_eq!(row.api.status, expected, "{statuses:?}");
        assert_eq!(row.api.cases.len(), statuses.len());
        let req = cov
            .requirements
            .iter()
            .find(|r| r.id == "RB-P1-01")
            .unwrap();
        let expected_req = match expected {
            CellStatus::Fail => RequirementStatus::Fail,
            CellStatus::Error => RequirementStatus::Error,
            CellStatus::Partial => RequirementStatus::Partial,
            CellStatus::Pass => RequirementStatus::Pass,
            CellStatus::Skip => RequirementStatus::Skip,
            CellStatus::Disabled => RequirementStatus::Disabled,
            CellStatus::NoCase => RequirementStatus::Gap,
        };
        assert_eq!(req.status, expected_req, "{statuses:?}");
    }
}

#[test]
fn the_thothctl_note_appears_only_when_thothctl_is_absent() {
    let mut run = fixture::run();
    let absent = build_coverage(&run, &fixture::catalogue(), &Redactor::new());
    let row = |c: &thoth_conformance::report::coverage::Coverage| {
        c.matrix
            .iter()
            .find(|r| r.capability == "tenant_settings")
            .unwrap()
            .thothctl
            .clone()
    };
    assert_eq!(row(&absent).note.as_deref(), Some(THOTHCTL_ABSENT_NOTE));
    assert_ne!(row(&absent).status, CellStatus::Pass);

    run.target.surfaces.push(Surface::Thothctl);
    let present = build_coverage(&run, &fixture::catalogue(), &Redactor::new());
    assert_eq!(row(&present).status, CellStatus::Skip);
    assert_eq!(row(&present).note, None);
}

#[test]
fn gaps_are_counted_and_runbook_rows_come_first() {
    let cov = build_coverage(&fixture::run(), &fixture::catalogue(), &Redactor::new());
    let s = &cov.requirement_summary;
    assert_eq!((s.total, s.unexplained_gaps, s.explained_gaps), (7, 2, 1));
    assert_eq!(s.unexplained_gap_ids, ["SEC-07", "RB-P5-04"]);
    let flags: Vec<bool> = cov.matrix.iter().map(|r| r.runbook_row).collect();
    assert_eq!(flags, [true, true, true, true, true, false]);
    assert!(render_markdown(&cov).contains("**2 of 7 requirement(s) have no case"));
}

#[test]
fn unknown_capabilities_and_requirements_are_shown_not_dropped() {
    let mut run = fixture::run();
    run.cases[0].capability = "browser_governance".into();
    run.cases[0].requirements.push("XX-99".into());
    let cov = build_coverage(&run, &fixture::catalogue(), &Redactor::new());
    let last = cov.matrix.last().unwrap();
    assert_eq!(
        (last.capability.as_str(), last.in_catalogue),
        ("browser_governance", false)
    );
    assert_eq!(last.api.status, CellStatus::Pass);
    assert_eq!(cov.requirement_summary.unknown_requirement_ids, ["XX-99"]);
    let md = render_markdown(&cov);
    assert!(md.contains("browser_governance (not in catalogue)"));
    assert!(md.contains("does not list: XX-99"));
}
