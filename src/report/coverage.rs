//! The coverage report: the runbook's command coverage matrix and the requirements
//! catalogue, filled in with this run's results (`coverage.md` and `coverage.json`).
//!
//! A cell or requirement takes the most telling status of the cases behind it:
//! fail > error > pass > skip > disabled, and "no case" when none names it.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use tabled::builder::Builder;
use tabled::settings::Style;

use super::ReportError;
use crate::catalogue::{Catalogue, RequirementKind, Severity};
use crate::outcome::{CaseResult, RunResult, Status};
use crate::redact::Redactor;
use crate::suite::model::Surface;
use crate::verdict::{verdict, Verdict};

/// Shown in a thothctl cell whose cases were skipped because no thothctl was found.
pub const THOTHCTL_ABSENT_NOTE: &str = "not run: thothctl not found";
/// Shown in a thothctl cell whose cases ran with the stand-in, so that no one takes it
/// for a verdict on the vendor's thothctl.
pub const THOTHCTL_STAND_IN_NOTE: &str = "stand-in";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellStatus {
    Fail,
    Error,
    Pass,
    Skip,
    Disabled,
    NoCase,
}

impl CellStatus {
    fn rank(self) -> u8 {
        match self {
            CellStatus::Fail => 0,
            CellStatus::Error => 1,
            CellStatus::Pass => 2,
            CellStatus::Skip => 3,
            CellStatus::Disabled => 4,
            CellStatus::NoCase => 5,
        }
    }

    fn from_status(s: Status) -> Self {
        match s {
            Status::Pass => CellStatus::Pass,
            Status::Fail => CellStatus::Fail,
            Status::Error => CellStatus::Error,
            Status::Skip => CellStatus::Skip,
            Status::Disabled => CellStatus::Disabled,
        }
    }

    /// The most telling status of `cases`.
    pub fn aggregate<'a>(cases: impl IntoIterator<Item = &'a CaseResult>) -> Self {
        cases
            .into_iter()
            .map(|c| CellStatus::from_status(c.status))
            .min_by_key(|s| s.rank())
            .unwrap_or(CellStatus::NoCase)
    }

    pub fn label(self) -> &'static str {
        match self {
            CellStatus::Fail => "FAIL",
            CellStatus::Error => "ERROR",
            CellStatus::Pass => "PASS",
            CellStatus::Skip => "SKIP",
            CellStatus::Disabled => "DISABLED",
            CellStatus::NoCase => "no case",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Cell {
    pub status: CellStatus,
    /// `phase::case` of every case behind the cell.
    pub cases: Vec<String>,
    pub note: Option<String>,
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
    pub cases: Vec<String>,
    /// The catalogue's explanation of why no case can check it.
    pub gap: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct RequirementSummary {
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
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
    let status = CellStatus::aggregate(on_surface.iter().copied());
    // A skipped thothctl cell on a machine without thothctl says so plainly: it must
    // never read as coverage the run did not have.
    let note = if surface != Surface::Thothctl {
        None
    } else if !thothctl_available && status == CellStatus::Skip {
        Some(THOTHCTL_ABSENT_NOTE.to_owned())
    } else if stand_in && !matches!(status, CellStatus::NoCase | CellStatus::Disabled) {
        Some(THOTHCTL_STAND_IN_NOTE.to_owned())
    } else {
        None
    };
    Cell {
        status,
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
            let status = match (CellStatus::aggregate(cases.iter().copied()), &req.gap) {
                (CellStatus::Fail, _) => RequirementStatus::Fail,
                (CellStatus::Error, _) => RequirementStatus::Error,
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
    let cell = |c: Cell| Cell {
        status: c.status,
        cases: reds(c.cases),
        note: c.note.map(red),
    };
    let Coverage {
        run,
        mut verdict,
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
        (None, status) => format!("**{}**", status.label()),
    };
    if !c.cases.is_empty() {
        let _ = write!(text, " ({})", c.cases.join(", "));
    }
    md(&text)
}

fn requirement_status_text(r: &RequirementRow) -> String {
    match (r.status, &r.gap) {
        (RequirementStatus::Gap, _) => "**GAP: no case**".to_owned(),
        (RequirementStatus::ExplainedGap, Some(why)) => format!("GAP (explained): {why}"),
        (RequirementStatus::ExplainedGap, None) => "GAP (explained)".to_owned(),
        (status, _) => {
            let label = match status {
                RequirementStatus::Fail => "FAIL",
                RequirementStatus::Error => "ERROR",
                RequirementStatus::Pass => "PASS",
                RequirementStatus::Skip => "SKIP",
                _ => "DISABLED",
            };
            format!("**{label}**")
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
        "Requirements: {} pass, {} fail, {} error, {} skip, {} disabled, {} explained gap(s), {} unexplained gap(s) ({} total).",
        s.pass, s.fail, s.error, s.skip, s.disabled, s.explained_gaps, s.unexplained_gaps, s.total
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
         - **PASS**: every case behind it passed (or passed alongside skipped ones).\n\
         - **FAIL**: a case found the target breaking a requirement.\n\
         - **ERROR**: the harness or the network broke; no verdict on the target.\n\
         - **SKIP**: not applicable or unsupported on this target (the case says why).\n\
         - **DISABLED**: excluded by a profile or filter.\n\
         - no case: no case covers it.\n\
         - A cell shows its most telling case: FAIL > ERROR > PASS > SKIP > DISABLED.\n\
         - **GAP: no case**: a requirement nothing checks and nothing explains.\n\
         - GAP (explained): the catalogue says why no case can check it.\n",
    );
    out
}
