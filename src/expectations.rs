//! The expectations ledger: known failures and waivers, each with a reason, an owner and
//! an expiry date, so a red case can be accepted for a while without the acceptance
//! outliving its reason.
//!
//! ```yaml
//! expectations:
//!   - case: scoped_keys::authorize_out_of_scope   # phase::case
//!     kind: known_failure        # runs; its fail does not fail the run
//!     reason: "VND-1234: scope check missing on /authorize"
//!     owner: platform-team
//!     expires: 2026-12-31        # last day the entry holds (UTC)
//!     requirement: R-KEYS-003    # optional: the requirement it concerns
//!   - case: browser::isolation_headers
//!     kind: waiver               # does not run at all: disabled with the reason
//!     reason: "no browser isolation on this tenant tier"
//!     owner: qa
//!     expires: 2027-01-31
//! ```
//!
//! The ledger cannot go stale quietly: a known failure that passes, or any entry past
//! its date, makes the run exit 4 ([`crate::outcome::ExitCode::StaleExpectation`]) naming
//! the entry. An entry naming a case the suites do not hold is a configuration error
//! (exit 2), reported like any suite problem: file, line, column and field path.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use time::Date;

use crate::outcome::{
    CaseResult, ExpectationKind, ExpectationNote, ExpectationOutcome, RunResult, Status,
};
use crate::suite::diag::{Diagnostic, Diagnostics};
use crate::suite::load::{parse_file, Project, DEFAULT_EXPECTATIONS_FILE};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LedgerFile {
    expectations: Vec<RawEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    case: String,
    kind: ExpectationKind,
    reason: String,
    owner: String,
    expires: String,
    #[serde(default)]
    requirement: Option<String>,
}

/// One validated entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `phase::case`.
    pub case: String,
    pub kind: ExpectationKind,
    pub reason: String,
    pub owner: String,
    pub expires: Date,
    pub requirement: Option<String>,
    /// 1-based line of the entry in the ledger, for messages.
    pub line: u64,
}

impl Entry {
    fn note(&self, outcome: ExpectationOutcome, today: Date) -> ExpectationNote {
        ExpectationNote {
            kind: self.kind,
            outcome,
            reason: self.reason.clone(),
            owner: self.owner.clone(),
            expires: self.expires.to_string(),
            requirement: self.requirement.clone(),
            expired: self.is_expired(today),
        }
    }

    /// `expires` is the last day the entry holds.
    pub fn is_expired(&self, today: Date) -> bool {
        today > self.expires
    }
}

/// A loaded, validated ledger.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

/// Why an entry makes the run exit 4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaleWhy {
    /// A known failure passed: the defect is fixed, or the case no longer tests it.
    Passed,
    /// Past its `expires` date.
    Expired(Date),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub path: PathBuf,
    pub line: u64,
    pub case: String,
    pub kind: ExpectationKind,
    pub owner: String,
    pub why: StaleWhy,
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: stale expectation: {} `{}` (owner {}): ",
            self.path.display(),
            self.line,
            self.kind.as_str(),
            self.case,
            self.owner
        )?;
        match &self.why {
            StaleWhy::Passed => f.write_str(
                "the case passed; remove the entry (or fix the case if it no longer tests the defect)",
            ),
            StaleWhy::Expired(d) => write!(
                f,
                "expired on {d}; fix the case, or renew the entry with a new date and reason"
            ),
        }
    }
}

fn diag(
    path: &Path,
    parsed_index: &crate::suite::source_index::SourceIndex,
    field: &str,
    message: String,
) -> Diagnostic {
    let pos = parsed_index.locate(field);
    Diagnostic {
        file: path.to_path_buf(),
        line: pos.line,
        column: pos.column,
        field_path: field.to_string(),
        message,
    }
}

pub fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), format).ok()
}

impl Ledger {
    /// Loads the ledger at `path` and checks it against the loaded project: every entry
    /// names an existing case once, has a reason and an owner, a real date, and (when
    /// given) a requirement the case covers.
    pub fn load(path: &Path, project: &Project) -> Result<Ledger, Diagnostics> {
        let parsed = parse_file::<LedgerFile>(path).map_err(|d| Diagnostics(vec![d]))?;
        let index = &parsed.index;
        let cases: BTreeMap<String, &[String]> = project
            .suites
            .iter()
            .flat_map(|s| {
                s.suite.cases.iter().map(move |c| {
                    (
                        format!("{}::{}", s.suite.phase, c.id),
                        c.requirements.as_slice(),
                    )
                })
            })
            .collect();
        let mut diags = Diagnostics::default();
        let mut seen = HashSet::new();
        let mut entries = Vec::new();
        for (i, raw) in parsed.value.expectations.iter().enumerate() {
            let field = |f: &str| format!("expectations[{i}].{f}");
            let mut push = |f: &str, m: String| diags.push(diag(path, index, &field(f), m));
            let requirements = cases.get(raw.case.trim());
            match requirements {
                None if !raw.case.contains("::") => {
                    push("case", format!("`{}` is not `phase::case`", raw.case))
                }
                None => push(
                    "case",
                    format!(
                        "`{}` names no case of the suites; remove the entry or fix the name \
                         (`thoth-conformance list` shows every case)",
                        raw.case
                    ),
                ),
                Some(_) if !seen.insert(raw.case.trim().to_string()) => push(
                    "case",
                    format!("`{}` is named by an earlier entry too; keep one", raw.case),
                ),
                Some(_) => {}
            }
            if raw.reason.trim().is_empty() {
                push(
                    "reason",
                    "is empty; say why the case is expected to fail".into(),
                );
            }
            if raw.owner.trim().is_empty() {
                push("owner", "is empty; name who answers for the entry".into());
            }
            let expires = parse_date(&raw.expires);
            if expires.is_none() {
                push(
                    "expires",
                    format!("`{}` is not a date (YYYY-MM-DD)", raw.expires),
                );
            }
            if let (Some(req), Some(covered)) = (&raw.requirement, requirements) {
                if !covered.iter().any(|r| r == req) {
                    push(
                        "requirement",
                        format!(
                            "`{req}` is not among the requirements of `{}` ({})",
                            raw.case,
                            covered.join(", ")
                        ),
                    );
                }
            }
            if let Some(expires) = expires {
                entries.push(Entry {
                    case: raw.case.trim().to_string(),
                    kind: raw.kind,
                    reason: raw.reason.trim().to_string(),
                    owner: raw.owner.trim().to_string(),
                    expires,
                    requirement: raw.requirement.clone(),
                    line: index.locate(&format!("expectations[{i}]")).line,
                });
            }
        }
        if diags.is_empty() {
            Ok(Ledger {
                path: path.to_path_buf(),
                entries,
            })
        } else {
            diags.sort();
            Err(diags)
        }
    }

    /// `phase::case` → why it is disabled, for every waiver (expired ones included: an
    /// expired waiver still keeps its case from running, and makes the run exit 4).
    pub fn waived(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .filter(|e| e.kind == ExpectationKind::Waiver)
            .map(|e| {
                (
                    e.case.clone(),
                    format!(
                        "waived: {} (owner {}, until {})",
                        e.reason, e.owner, e.expires
                    ),
                )
            })
            .collect()
    }

    fn entry_for(&self, case: &CaseResult) -> Option<&Entry> {
        let name = case.full_name();
        self.entries.iter().find(|e| e.case == name)
    }

    /// Notes on `case` what its entry (if any) made of it.
    pub fn annotate(&self, case: &mut CaseResult, today: Date) {
        let Some(entry) = self.entry_for(case) else {
            return;
        };
        let outcome = match (entry.kind, case.status) {
            (ExpectationKind::Waiver, _) => ExpectationOutcome::Waived,
            (ExpectationKind::KnownFailure, Status::Fail) => ExpectationOutcome::ExpectedFailure,
            (ExpectationKind::KnownFailure, Status::Pass) => ExpectationOutcome::UnexpectedPass,
            (ExpectationKind::KnownFailure, _) => ExpectationOutcome::Inconclusive,
        };
        case.expectation = Some(entry.note(outcome, today));
    }

    /// Annotates every case of the run and returns the stale entries (a known failure
    /// that passed; any entry past its date), which make the run exit 4.
    pub fn apply(&self, run: &mut RunResult, today: Date) -> Vec<Stale> {
        for case in &mut run.cases {
            self.annotate(case, today);
        }
        let mut stale = Vec::new();
        for entry in &self.entries {
            let stale_entry = |why| Stale {
                path: self.path.clone(),
                line: entry.line,
                case: entry.case.clone(),
                kind: entry.kind,
                owner: entry.owner.clone(),
                why,
            };
            let passed = entry.kind == ExpectationKind::KnownFailure
                && run
                    .cases
                    .iter()
                    .any(|c| c.full_name() == entry.case && c.status == Status::Pass);
            if passed {
                stale.push(stale_entry(StaleWhy::Passed));
            }
            if entry.is_expired(today) {
                stale.push(stale_entry(StaleWhy::Expired(entry.expires)));
            }
        }
        stale
    }
}

/// Today's date in UTC, which is what `expires` is compared with.
pub fn today_utc() -> Date {
    time::OffsetDateTime::now_utc().date()
}

/// The ledger to use: the explicit file (which must exist), else
/// `<suites>/expectations.yaml` when present, else none.
pub fn ledger_path(explicit: Option<&Path>, suites_dir: &Path) -> Option<PathBuf> {
    match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => {
            let default = suites_dir.join(DEFAULT_EXPECTATIONS_FILE);
            default.is_file().then_some(default)
        }
    }
}

#[cfg(test)]
mod tests;
