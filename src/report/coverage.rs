//! The coverage report: the runbook's command coverage matrix and the requirements
//! catalogue, filled in with this run's results (`coverage.md` and `coverage.json`).
//!
//! A cell or requirement is PASS only when every case behind it ran and passed; the
//! rules are [`crate::conformance::Tally`]'s (FAIL names the failing case, PARTIAL n/m
//! lists what did not run and why).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use tabled::builder::Builder;
use tabled::settings::Style;

use super::ReportError;
use crate::catalogue::{Catalogue, RequirementKind, Severity};
pub use crate::conformance::{CellStatus, NotRun, Tally};
use crate::outcome::{CaseResult, RunResult};
use crate::redact::Redactor;
use crate::suite::model::Surface;
use crate::verdict::{verdict, Verdict};

/// Shown in a thothctl cell whose cases were skipped because no thothctl was found.
pub const THOTHCTL_ABSENT_NOTE: &str = "not run: thothctl not found";
/// Shown in a thothctl cell whose cases ran with the stand-in, so that no one takes it
/// for a verdict on the vendor's thothctl.
pub const THOTHCTL_STAND_IN_NOTE: &str = "stand-in";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Cell {
    pub status: CellStatus,
    /// Cases behind the cell that ran and passed, of `total`.
    pub passed: usize,
    pub total: usize,
    /// `phase::case` of the cases that failed.
    pub failed: Vec<String>,
    /// Cases that did not run to a verdict, with the reason.
    pub not_run: Vec<NotRun>,
    /// `phase::case` of every case behind the cell.
    pub cases: Vec<String>,
    pub note: Option<String>,
}

impl Cell {
    fn tally(&self) -> Tally {
        Tally {
            status: self.status,
            passed: self.passed,
            total: self.total,
            failed: self.failed.clone(),
            not_run: self.not_run.clone(),
        }
    }

    /// `PASS`, `PARTIAL 3/16`, `FAIL: phase::case`, ...
    pub fn label(&self) -> String {
        self.tally().label()
    }

    /// `phase::case (status: reason)` for each case that did not run to a verdict.
    pub fn not_run_lines(&self) -> Vec<String> {
        self.tally().not_run_lines()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct MatrixRow {
    pub capability: String,
    pub title: String,
    /// A row of the runbook's own matrix (as opposed to one this project adds).
    pub runbook_row: bool,
    /// False for a capability some case names that the catalogue does not list.
    pub in_catalogue: bool,
    pub thothctl: Cell,
    pub api: Cell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequirementStatus {
    Fail,
    Error,
    /// Some of its cases passed, the others were skipped or disabled: not verified.
    Partial,
    Pass,
    Skip,
    Disabled,
    /// No case names it and the catalogue does not say why.
    Gap,
    /// No case names it; the catalogue explains why none can.
    ExplainedGap,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RequirementRow {
    pub id: String,
    pub text: String,
    pub severity: Severity,
    pub kind: RequirementKind,
    pub source: String,
    pub status: RequirementStatus,
    /// Cases behind it that ran and passed, of `total`.
    pub passed: usize,
    pub total: usize,
    pub failed: Vec<String>,
    pub not_run: Vec<NotRun>,
    pub cases: Vec<String>,
    /// The catalogue's explanation of why no case can check it.
    pub gap: Option<String>,
}

impl RequirementRow {
    /// `PASS`, `PARTIAL 3/16`, `FAIL: phase::case`, ... (gaps are rendered apart).
    pub fn label(&self) -> String {
        Tally {
            status: match self.status {
                RequirementStatus::Fail => CellStatus::Fail,
                RequirementStatus::Error => CellStatus::Error,
                RequirementStatus::Partial => CellStatus::Partial,
                RequirementStatus::Pass => CellStatus::Pass,
                RequirementStatus::Skip => CellStatus::Skip,
                RequirementStatus::Disabled => CellStatus::Disabled,
                _ => CellStatus::NoCase,
            },
            passed: self.passed,
            total: self.total,
            failed: self.failed.clone(),
            not_run: Vec::new(),
        }
        .label()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct RequirementSummary {
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    /// Some cases passed, others did not run: not verified.
    pub partial: usize,
    pub skip: usize,
    pub disabled: usize,
    pub explained_gaps: usize,
    /// Requirements no case checks and no gap text explains: the number to drive to 0.
    pub unexplained_gaps: usize,
    pub unexplained_gap_ids: Vec<String>,
    /// Requirement IDs that cases name but the catalogue does not list.
    pub unknown_requirement_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RunMeta {
    pub run_id: String,
    pub harness_version: String,
    pub suites_hash: String,
    pub target_kind: String,
    pub base_url: String,
    pub tenant: String,
    pub mock_faults: Vec<String>,
    pub thothctl_available: bool,
    /// Which thothctl ran (path, `--version`, stand-in or real); None = none found.
    #[serde(default)]
    pub thothctl: Option<crate::thothctl::ThothctlInfo>,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    pub interrupted: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Coverage {
    pub run: RunMeta,
    pub verdict: Verdict,
    /// The `--require` level and the requirements it left unverified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conformance: Option<crate::outcome::Conformance>,
    pub matrix: Vec<MatrixRow>,
    pub requirements: Vec<RequirementRow>,
    pub requirement_summary: RequirementSummary,
}

/// The run's thothctl as the report headers state it.
pub fn thothctl_line(r: &RunMeta) -> String {
    match (&r.thothctl, r.thothctl_available) {
        (Some(info), _) => info.describe(),
        (None, true) => "found".into(),
        (None, false) => "not found (thothctl cells not run)".into(),
    }
}

fn cell(cases: &[&CaseResult], surface: Surface, thothctl_available: bool, stand_in: bool) -> Cell {
    let on_surface: Vec<&CaseResult> = cases
        .iter()
        .copied()
        .filter(|c| c.surface == surface)
        .collect();
    let t = Tally::of(on_surface.iter().copied());
    // A skipped thothctl cell on a machine without thothctl says so plainly: it must
    // never read as coverage the run did not have.
    let note = if surface != Surface::Thothctl {
        None
    } else if !thothctl_available && t.status == CellStatus::Skip {
        Some(THOTHCTL_ABSENT_NOTE.to_owned())
    } else if stand_in && !matches!(t.status, CellStatus::NoCase | CellStatus::Disabled) {
        Some(THOTHCTL_STAND_IN_NOTE.to_owned())
    } else {
        None
    };
    Cell {
        status: t.status,
        passed: t.passed,
        total: t.total,
        failed: t.failed,
        not_run: t.not_run,
        cases: on_surface.iter().map(|c| c.full_name()).collect(),
        note,
    }
}

/// Builds the coverage data; every string from the run or catalogue is redacted.
pub fn build_coverage(run: &RunResult, catalogue: &Catalogue, redactor: &Redactor) -> Coverage {
    let thothctl_available = run.target.surfaces.contains(&Surface::Thothctl);
    let stand_in = run.target.thothctl.as_ref().is_some_and(|t| t.stand_in);
    let mut by_capability: HashMap<&str, Vec<&CaseResult>> = HashMap::new();
    let mut by_requirement: HashMap<&str, Vec<&CaseResult>> = HashMap::new();
    for case in &run.cases {
        by_capability
            .entry(&case.capability)
            .or_default()
            .push(case);
        for req in &case.requirements {
            by_requirement.entry(req).or_default().push(case);
        }
    }

    // Runbook rows first, each group in catalogue order; then capabilities only cases
    // name, in the order they first appear.
    let mut rows: Vec<(String, String, bool, bool)> = catalogue
        .capabilities
        .iter()
        .filter(|c| c.runbook_row)
        .chain(catalogue.capabilities.iter().filter(|c| !c.runbook_row))
        .map(|c| (c.id.clone(), c.title.clone(), c.runbook_row, true))
        .collect();
    for case in &run.cases {
        if !rows.iter().any(|r| r.0 == case.capability) {
            let id = case.capability.clone();
            rows.push((id.clone(), id, false, false));
        }
    }
    let none = Vec::new();
    let matrix = rows
        .into_iter()
        .map(|(id, title, runbook_row, in_catalogue)| {
            let cases = by_capability.get(id.as_str()).unwrap_or(&none);
            MatrixRow {
                thothctl: cell(cases, Surface::Thothctl, thothctl_available, stand_in),
                api: cell(cases, Surface::Api, thothctl_available, stand_in),
                capability: id,
                title,
                runbook_row,
                in_catalogue,
            }
        })
        .collect();

    let mut summary = RequirementSummary::default();
    let requirements = catalogue
        .requirements
        .iter()
        .map(|req| {
            let cases = by_requirement.get(req.id.as_str()).unwrap_or(&none);
            let t = Tally::of(cases.iter().copied());
            let status = match (t.status, &req.gap) {
                (CellStatus::Fail, _) => RequirementStatus::Fail,
                (CellStatus::Error, _) => RequirementStatus::Error,
                (CellStatus::Partial, _) => RequirementStatus::Partial,
                (CellStatus::Pass, _) => RequirementStatus::Pass,
                (CellStatus::Skip, _) => RequirementStatus::Skip,
                (CellStatus::Disabled, _) => RequirementStatus::Disabled,
                (CellStatus::NoCase, Some(_)) => RequirementStatus::ExplainedGap,
                (CellStatus::NoCase, None) => RequirementStatus::Gap,
            };
            summary.total += 1;
            match status {
                RequirementStatus::Fail => summary.fail += 1,
                RequirementStatus::Error => summary.error += 1,
                RequirementStatus::Partial => summary.partial += 1,
                RequirementStatus::Pass => summary.pass += 1,
                RequirementStatus::Skip => summary.skip += 1,
                RequirementStatus::Disabled => summary.disabled += 1,
                RequirementStatus::ExplainedGap => summary.explained_gaps += 1,
                RequirementStatus::Gap => {
                    summary.unexplained_gaps += 1;
                    summary.unexplained_gap_ids.push(req.id.clone());
                }
            }
            RequirementRow {
                id: req.id.clone(),
                text: req.text.clone(),
                severity: req.severity,
                kind: req.kind,
                source: req.source.clone(),
                status,
                passed: t.passed,
                total: t.total,
                failed: t.failed,
                not_run: t.not_run,
                cases: cases.iter().map(|c| c.full_name()).collect(),
                gap: req.gap.clone(),
            }
        })
        .collect();
    let known: BTreeSet<&str> = catalogue
        .requirements
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    let mut unknown: Vec<String> = by_requirement
        .keys()
        .filter(|id| !known.contains(*id))
        .map(|id| id.to_string())
        .collect();
    unknown.sort();
    summary.unknown_requirement_ids = unknown;

    let coverage = Coverage {
        run: RunMeta {
            run_id: run.run_id.clone(),
            harness_version: run.harness_version.clone(),
            suites_hash: run.suites_hash.clone(),
            target_kind: run.target.kind.clone(),
            base_url: run.target.base_url.clone(),
            tenant: run.target.tenant.clone(),
            mock_faults: run.target.mock_faults.clone(),
            thothctl_available,
            thothctl: run.target.thothctl.clone(),
            started_at: run.started_at.clone(),
            finished_at: run.finished_at.clone(),
            duration_ms: run.duration_ms,
            interrupted: run.interrupted.clone(),
        },
        verdict: verdict(run),
        conformance: run.conformance.clone(),
        matrix,
        requirements,
        requirement_summary: summary,
    };
    redact_coverage(coverage, redactor)
}

/// Redacts every string field; enums stay as they are, so a secret that happens to
/// spell part of a status cannot corrupt one.
fn redact_coverage(c: Coverage, r: &Redactor) -> Coverage {
    let red = |s: String| r.redact(&s);
    let reds = |v: Vec<String>| v.into_iter().map(|s| r.redact(&s)).collect::<Vec<_>>();
    let not_run = |v: Vec<NotRun>| {
        v.into_iter()
            .map(|n| NotRun {
                case: r.redact(&n.case),
                status: n.status,
                reason: r.redact(&n.reason),
            })
            .collect::<Vec<_>>()
    };
    let cell = |c: Cell| Cell {
        status: c.status,
        passed: c.passed,
        total: c.total,
        failed: reds(c.failed),
        not_run: not_run(c.not_run),
        cases: reds(c.cases),
        note: c.note.map(red),
    };
    let Coverage {
        run,
        mut verdict,
        conformance,
        matrix,
        requirements,
        requirement_summary,
    } = c;
    verdict.message = red(verdict.message);
    Coverage {
        run: RunMeta {
            run_id: red(run.run_id),
            harness_version: red(run.harness_version),
            suites_hash: red(run.suites_hash),
            target_kind: red(run.target_kind),
            base_url: red(run.base_url),
            tenant: red(run.tenant),
            mock_faults: reds(run.mock_faults),
            thothctl_available: run.thothctl_available,
            thothctl: run.thothctl.map(|t| crate::thothctl::ThothctlInfo {
                path: red(t.path),
                version: red(t.version),
                stand_in: t.stand_in,
                found_by: red(t.found_by),
            }),
            started_at: red(run.started_at),
            finished_at: red(run.finished_at),
            duration_ms: run.duration_ms,
            interrupted: run.interrupted.map(red),
        },
        verdict,
        conformance: conformance.map(|mut c| {
            for u in &mut c.unverified {
                u.why = reds(std::mem::take(&mut u.why));
                u.state = r.redact(&u.state);
            }
            c
        }),
        matrix: matrix
            .into_iter()
            .map(|m| MatrixRow {
                capability: red(m.capability),
                title: red(m.title),
                runbook_row: m.runbook_row,
                in_catalogue: m.in_catalogue,
                thothctl: cell(m.thothctl),
                api: cell(m.api),
            })
            .collect(),
        requirements: requirements
            .into_iter()
            .map(|q| RequirementRow {
                id: red(q.id),
                text: red(q.text),
                severity: q.severity,
                kind: q.kind,
                source: red(q.source),
                status: q.status,
                passed: q.passed,
                total: q.total,
                failed: reds(q.failed),
                not_run: not_run(q.not_run),
                cases: reds(q.cases),
                gap: q.gap.map(red),
            })
            .collect(),
        requirement_summary: RequirementSummary {
            unexplained_gap_ids: reds(requirement_summary.unexplained_gap_ids),
            unknown_requirement_ids: reds(requirement_summary.unknown_requirement_ids),
            ..requirement_summary
        },
    }
}

/// `coverage.json`: the same data as the markdown, stable field names.
pub fn render_json(coverage: &Coverage) -> Result<String, ReportError> {
    let mut text = serde_json::to_string_pretty(coverage).map_err(|source| ReportError::Json {
        name: "coverage.json",
        source,
    })?;
    text.push('\n');
    Ok(text)
}

/// A table cell: pipes escaped and line breaks flattened, which would otherwise end the
/// markdown row.
fn md(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace("\r\n", " ")
        .replace(['\n', '\r'], " ")
}

fn cell_text(c: &Cell) -> String {
    // A note replaces the status label: "SKIP" would read as a considered verdict.
    let mut text = match (&c.note, c.status) {
        (Some(note), _) => note.clone(),
        (None, CellStatus::NoCase) => "no case".to_owned(),
        (None, _) => format!("**{}**", c.label()),
    };
    if !c.cases.is_empty() {
        let _ = write!(text, " ({})", c.cases.join(", "));
    }
    let not_run = c.not_run_lines();
    if !not_run.is_empty() && c.note.is_none() {
        let _ = write!(text, "; not verified: {}", not_run.join("; "));
    }
    md(&text)
}

fn requirement_status_text(r: &RequirementRow) -> String {
    match (r.status, &r.gap) {
        (RequirementStatus::Gap, _) => "**GAP: no case**".to_owned(),
        (RequirementStatus::ExplainedGap, Some(why)) => format!("GAP (explained): {why}"),
        (RequirementStatus::ExplainedGap, None) => "GAP (explained)".to_owned(),
        (_, _) => {
            let mut text = format!("**{}**", r.label());
            if !r.not_run.is_empty() {
                let lines: Vec<String> = r
                    .not_run
                    .iter()
                    .map(|n| format!("{} ({}: {})", n.case, n.status.as_str(), n.reason))
                    .collect();
                let _ = write!(text, "; not verified: {}", lines.join("; "));
            }
            text
        }
    }
}

fn snake(v: &impl Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `coverage.md`.
pub fn render_markdown(c: &Coverage) -> String {
    let mut out = String::new();
    let v = &c.verdict;
    let _ = writeln!(out, "# Thoth conformance coverage\n");
    let _ = writeln!(
        out,
        "**Verdict: {} (exit {})**: {}\n",
        v.status.as_str().to_uppercase(),
        v.exit_code,
        v.message
    );
    let _ = writeln!(
        out,
        "Cases: {} pass, {} fail, {} error, {} skip, {} disabled ({} total).\n",
        v.counts.pass,
        v.counts.fail,
        v.counts.error,
        v.counts.skip,
        v.counts.disabled,
        v.counts.total
    );
    if let Some(level) = &c.conformance {
        let _ = writeln!(
            out,
            "Conformance level: `{}`{}; {} requirement(s) judged, {} not verified.\n",
            level.level,
            if level.explicit {
                ""
            } else {
                " (the target's default)"
            },
            level.judged,
            level.unverified.len()
        );
        for line in level.lines() {
            let _ = writeln!(out, "- **not verified**: {line}");
        }
        if !level.unverified.is_empty() {
            out.push('\n');
        }
    }
    let r = &c.run;
    let _ = writeln!(out, "- Run: `{}`, harness {}", r.run_id, r.harness_version);
    let _ = writeln!(
        out,
        "- Target: {} `{}`, tenant `{}`",
        r.target_kind, r.base_url, r.tenant
    );
    if !r.mock_faults.is_empty() {
        let _ = writeln!(out, "- Mock faults: {}", r.mock_faults.join(", "));
    }
    let _ = writeln!(out, "- thothctl: {}", thothctl_line(r));
    let _ = writeln!(out, "- Suites hash: `{}`", r.suites_hash);
    let _ = writeln!(
        out,
        "- Started {}, finished {} ({} ms)",
        r.started_at, r.finished_at, r.duration_ms
    );
    if let Some(why) = &r.interrupted {
        let _ = writeln!(out, "- **Run cut short: {why}**");
    }

    let s = &c.requirement_summary;
    let _ = writeln!(out, "\n## Requirement gaps\n");
    if s.unexplained_gaps > 0 {
        let _ = writeln!(
            out,
            "**{} of {} requirement(s) have no case and no explained gap:** {}\n",
            s.unexplained_gaps,
            s.total,
            s.unexplained_gap_ids.join(", ")
        );
    } else {
        let _ = writeln!(out, "Every requirement has a case or an explained gap.\n");
    }
    let _ = writeln!(
        out,
        "Requirements: {} pass, {} fail, {} error, {} partial, {} skip, {} disabled, {} explained gap(s), {} unexplained gap(s) ({} total).",
        s.pass, s.fail, s.error, s.partial, s.skip, s.disabled, s.explained_gaps, s.unexplained_gaps, s.total
    );
    if !s.unknown_requirement_ids.is_empty() {
        let _ = writeln!(
            out,
            "\nCases name requirement IDs the catalogue does not list: {}",
            s.unknown_requirement_ids.join(", ")
        );
    }

    let _ = writeln!(out, "\n## Command coverage matrix\n");
    let mut b = Builder::default();
    b.push_record(["Capability", "Runbook row", "thothctl", "GovAPI/API"]);
    for row in &c.matrix {
        let title = if row.in_catalogue {
            row.title.clone()
        } else {
            format!("{} (not in catalogue)", row.title)
        };
        b.push_record([
            md(&title),
            if row.runbook_row { "yes" } else { "" }.to_owned(),
            cell_text(&row.thothctl),
            cell_text(&row.api),
        ]);
    }
    let _ = writeln!(out, "{}", b.build().with(Style::markdown()));

    let _ = writeln!(out, "\n## Requirements\n");
    let mut b = Builder::default();
    b.push_record([
        "ID",
        "Severity",
        "Kind",
        "Status",
        "Cases",
        "Requirement",
        "Source",
    ]);
    for req in &c.requirements {
        b.push_record([
            md(&req.id),
            snake(&req.severity),
            snake(&req.kind),
            md(&requirement_status_text(req)),
            md(&req.cases.join(", ")),
            md(&req.text),
            md(&req.source),
        ]);
    }
    let _ = writeln!(out, "{}", b.build().with(Style::markdown()));

    out.push_str(
        "\n## Legend\n\n\
         - **PASS**: every case behind it ran and passed.\n\
         - **FAIL: phase::case**: that case found the target breaking a requirement.\n\
         - **ERROR n/m**: a case errored (the harness or the network broke; no verdict on the target); n of m passed.\n\
         - **PARTIAL n/m**: n of its m cases passed, the others were skipped or disabled (listed with why): not verified.\n\
         - **SKIP 0/m**: none passed; not applicable or unsupported on this target (the case says why).\n\
         - **DISABLED 0/m**: every case excluded by a profile, filter or waiver.\n\
         - no case: no case covers it.\n\
         - **GAP: no case**: a requirement nothing checks and nothing explains.\n\
         - GAP (explained): the catalogue says why no case can check it.\n",
    );
    out
}
