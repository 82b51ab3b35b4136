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
