//! `--rerun-failed results.json`: which cases to run again.
//!
//! The cases that failed or errored last time, plus every case of the same phase they
//! `need`, transitively (a case only runs when its needs passed in the same run, and
//! it may use their captures). The phase's `setup` runs as always. Everything else is
//! left out of the new run (not disabled), so its reports hold only what was re-run.

use std::collections::BTreeSet;

use crate::outcome::{RunResult, Status};
use crate::suite::load::Project;

/// What to re-run: the `phase::case` names, and the failed names the suites on disk no
/// longer have (reported, not fatal: the suite may have been fixed by renaming).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RerunSelection {
    pub cases: BTreeSet<String>,
    pub failed: Vec<String>,
    pub unknown: Vec<String>,
}

pub fn select(project: &Project, previous: &RunResult) -> RerunSelection {
    let mut sel = RerunSelection::default();
    for case in &previous.cases {
        if !matches!(case.status, Status::Fail | Status::Error) {
            continue;
        }
        let name = case.full_name();
        sel.failed.push(name.clone());
        let Some(suite) = project.suites.iter().find(|s| s.suite.phase == case.phase) else {
            sel.unknown.push(name);
            continue;
        };
        if !suite.suite.cases.iter().any(|c| c.id == case.case_id) {
            sel.unknown.push(name);
            continue;
        }
        let mut todo = vec![case.case_id.clone()];
        while let Some(id) = todo.pop() {
            if !sel.cases.insert(format!("{}::{id}", case.phase)) {
                continue;
            }
            if let Some(c) = suite.suite.cases.iter().find(|c| c.id == id) {
                todo.extend(c.needs.iter().cloned());
            }
        }
    }
    sel
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{CaseResult, TargetInfo};
    use crate::suite::load::LoadedSuite;
    use crate::suite::model::{Effect, Suite, Surface};

    fn result(phase: &str, id: &str, status: Status) -> CaseResult {
        CaseResult {
            phase: phase.into(),
            case_id: id.into(),
            title: id.into(),
            status,
            message: None,
            requirements: vec![],
            capability: "x".into(),
            surface: Surface::Api,
            effect: Effect::Read,
            steps: vec![],
            cleanup: vec![],
            duration_ms: 0,
            started_at: String::new(),
            expectation: None,
        }
    }

    #[test]
    fn failed_and_errored_cases_with_their_needs_transitively() {
        let yaml = "phase: p\ntitle: t\nrunbook: r\ncases:\n\
            - { id: a, title: t, capability: x, effect: read, steps: [] }\n\
            - { id: b, title: t, capability: x, effect: read, needs: [a], steps: [] }\n\
            - { id: c, title: t, capability: x, effect: read, needs: [b], steps: [] }\n\
            - { id: d, title: t, capability: x, effect: read, steps: [] }\n\
            - { id: e, title: t, capability: x, effect: read, needs: [a], steps: [] }\n";
        let suite: Suite = serde_saphyr::from_str(yaml).unwrap();
        let mut project = crate::ci::testing::project(&[]);
        project.suites = vec![LoadedSuite {
            path: "p.yaml".into(),
            suite,
        }];
        let previous = RunResult {
            run_id: "r".into(),
            harness_version: "0".into(),
            suites_hash: "h".into(),
            target: TargetInfo {
                kind: "mock".into(),
                base_url: String::new(),
                tenant: "t".into(),
                mock_faults: vec![],
                surfaces: vec![],
                thothctl: None,
            },
            started_at: String::new(),
            finished_at: String::new(),
            duration_ms: 0,
            cases: vec![
                result("p", "a", Status::Pass),
                result("p", "b", Status::Pass),
                result("p", "c", Status::Fail),
                result("p", "d", Status::Error),
                result("p", "e", Status::Skip),
                result("gone", "x", Status::Fail),
            ],
            interrupted: None,
            shard: None,
            evidence: None,
            conformance: None,
        };
        let sel = select(&project, &previous);
        let want: BTreeSet<String> = ["p::a", "p::b", "p::c", "p::d"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(sel.cases, want);
        assert_eq!(sel.failed, ["p::c", "p::d", "gone::x"]);
        assert_eq!(sel.unknown, ["gone::x"]);
    }
}
