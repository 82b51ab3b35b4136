//! What the run verified: the honest aggregate of the cases behind a requirement or a
//! matrix cell ([`Tally`]), and the conformance level (`--require`) a run must meet
//! ([`Level`], [`assess`]).
//!
//! A requirement or cell is PASS only when every case behind it ran and passed. Any
//! fail makes it FAIL (naming the case), any error ERROR; some passes with the rest
//! skipped or disabled make it PARTIAL n/m, with every case that did not run and why.
//! Nothing that was not verified reads as PASS.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;
use crate::outcome::{CaseResult, RunResult, Status};
pub use crate::outcome::{Conformance, Level, Unverified};
use crate::suite::filter;

/// The aggregate status of the cases behind a requirement or a matrix cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellStatus {
    /// A case found the target breaking a requirement.
    Fail,
    /// A case errored: the harness or the network broke, no verdict from it.
    Error,
    /// Some cases passed, the others were skipped or disabled.
    Partial,
    /// Every case behind it ran and passed.
    Pass,
    /// None passed; some were skipped.
    Skip,
    /// Every case was disabled.
    Disabled,
    /// No case names it.
    NoCase,
}

impl CellStatus {
    pub fn label(self) -> &'static str {
        match self {
            CellStatus::Fail => "FAIL",
            CellStatus::Error => "ERROR",
            CellStatus::Partial => "PARTIAL",
            CellStatus::Pass => "PASS",
            CellStatus::Skip => "SKIP",
            CellStatus::Disabled => "DISABLED",
            CellStatus::NoCase => "no case",
        }
    }
}

/// A case behind a requirement or cell that did not run to a verdict, and why.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct NotRun {
    /// `phase::case`.
    pub case: String,
    pub status: Status,
    pub reason: String,
}

/// How the cases behind one requirement or cell ended.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Tally {
    pub status: CellStatus,
    /// Cases that ran and passed.
    pub passed: usize,
    /// Every case behind it.
    pub total: usize,
    /// `phase::case` of the cases that failed.
    #[serde(default)]
    pub failed: Vec<String>,
    /// Cases that errored, were skipped or disabled, with the reason.
    #[serde(default)]
    pub not_run: Vec<NotRun>,
}

impl Tally {
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a CaseResult>) -> Self {
        let mut t = Tally {
            status: CellStatus::NoCase,
            passed: 0,
            total: 0,
            failed: Vec::new(),
            not_run: Vec::new(),
        };
        let mut seen = BTreeSet::new();
        for c in cases {
            t.total += 1;
            seen.insert(c.status);
            match c.status {
                Status::Pass => t.passed += 1,
                Status::Fail => t.failed.push(c.full_name()),
                s => t.not_run.push(NotRun {
                    case: c.full_name(),
                    status: s,
                    reason: c
                        .message
                        .as_deref()
                        .and_then(|m| m.lines().next())
                        .unwrap_or("no reason given")
                        .to_owned(),
                }),
            }
        }
        t.status = if t.total == 0 {
            CellStatus::NoCase
        } else if !t.failed.is_empty() {
            CellStatus::Fail
        } else if seen.contains(&Status::Error) {
            CellStatus::Error
        } else if t.passed == t.total {
            CellStatus::Pass
        } else if t.passed > 0 {
            CellStatus::Partial
        } else if seen.contains(&Status::Skip) {
            CellStatus::Skip
        } else {
            CellStatus::Disabled
        };
        t
    }

    /// `PASS`, `PARTIAL 3/16`, `FAIL: phase::case`, `SKIP 0/2`, `no case`.
    pub fn label(&self) -> String {
        match self.status {
            CellStatus::Pass => "PASS".to_owned(),
            CellStatus::NoCase => "no case".to_owned(),
            CellStatus::Fail => format!("FAIL: {}", self.failed.join(", ")),
            s => format!("{} {}/{}", s.label(), self.passed, self.total),
        }
    }

    /// One line per case that did not run to a verdict: `phase::case (skip: why)`.
    pub fn not_run_lines(&self) -> Vec<String> {
        self.not_run
            .iter()
            .map(|n| format!("{} ({}: {})", n.case, n.status.as_str(), n.reason))
            .collect()
    }
}

/// Holds the run to `level`: every catalogue requirement at the level that a case the
/// filters select names (a filter or shard that leaves a requirement out entirely does
/// not judge it) must have every one of its cases pass.
pub fn assess(
    run: &RunResult,
    catalogue: &Catalogue,
    level: Level,
    explicit: bool,
    filters: &[String],
) -> Conformance {
    let mut by_req: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
    let mut selected: BTreeSet<&str> = BTreeSet::new();
    for c in &run.cases {
        let chosen = filter::matches(filters, &c.full_name());
        for r in &c.requirements {
            by_req.entry(r).or_default().push(c);
            if chosen {
                selected.insert(r);
            }
        }
    }
    let mut judged = 0;
    let mut unverified = Vec::new();
    for req in &catalogue.requirements {
        if !level.covers(req.severity) || !selected.contains(req.id.as_str()) {
            continue;
        }
        judged += 1;
        let tally = Tally::of(by_req[req.id.as_str()].iter().copied());
        if tally.status != CellStatus::Pass {
            let mut why = tally.not_run_lines();
            why.extend(tally.failed.iter().map(|f| format!("{f} (fail)")));
            unverified.push(Unverified {
                id: req.id.clone(),
                severity: req.severity,
                state: tally.label(),
                why,
            });
        }
    }
    Conformance {
        level,
        explicit,
        judged,
        unverified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Severity;
    use crate::suite::model::{Effect, Surface};

    fn case(id: &str, status: Status, why: Option<&str>) -> CaseResult {
        CaseResult {
            phase: "p".into(),
            case_id: id.into(),
            title: id.into(),
            status,
            message: why.map(Into::into),
            requirements: vec!["R-1".into()],
            capability: "c".into(),
            surface: Surface::Api,
            effect: Effect::Read,
            steps: vec![],
            cleanup: vec![],
            duration_ms: 1,
            started_at: String::new(),
            expectation: None,
        }
    }

    #[test]
    fn pass_only_when_every_case_ran_and_passed() {
        use Status::*;
        let t = |v: &[(Status, Option<&str>)]| {
            let cases: Vec<CaseResult> = v
                .iter()
                .enumerate()
                .map(|(i, (s, w))| case(&format!("c{i}"), *s, *w))
                .collect();
            Tally::of(&cases).label()
        };
        assert_eq!(t(&[(Pass, None), (Pass, None)]), "PASS");
        assert_eq!(t(&[(Pass, None), (Skip, Some("needs x"))]), "PARTIAL 1/2");
        assert_eq!(
            t(&[(Pass, None), (Disabled, Some("profile"))]),
            "PARTIAL 1/2"
        );
        assert_eq!(t(&[(Pass, None), (Fail, Some("bad"))]), "FAIL: p::c1");
        assert_eq!(t(&[(Pass, None), (Error, Some("reset"))]), "ERROR 1/2");
        assert_eq!(t(&[(Skip, Some("a")), (Disabled, Some("b"))]), "SKIP 0/2");
        assert_eq!(t(&[(Disabled, Some("b"))]), "DISABLED 0/1");
        assert_eq!(t(&[]), "no case");
        let cases = [
            case("a", Pass, None),
            case("b", Skip, Some("needs x\nmore")),
        ];
        assert_eq!(Tally::of(&cases).not_run_lines(), ["p::b (skip: needs x)"]);
    }

    #[test]
    fn levels_cover_severities_at_or_above() {
        use Severity::*;
        assert!(Level::Critical.covers(Critical) && !Level::Critical.covers(High));
        assert!(Level::High.covers(High) && !Level::High.covers(Medium));
        assert!(Level::All.covers(Low) && !Level::None.covers(Critical));
        assert_eq!(Level::default_for("live"), Level::Critical);
        assert_eq!(Level::default_for("mock"), Level::None);
    }
}
