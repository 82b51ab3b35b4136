//! What a run produced: the verdict of every case, with the evidence behind it.
//!
//! The runner builds these; every report (JUnit, coverage, results.json, console) is a
//! view of a [`RunResult`]. Nothing in here has been redacted yet: reports pass every
//! string through [`crate::redact::Redactor`] on the way out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalogue::Severity;
use crate::redact::{recut_passed, BodyCut};
use crate::suite::model::{Effect, Surface};

/// The verdict of one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every step's expectations held.
    Pass,
    /// The target broke a requirement.
    Fail,
    /// The harness or the network broke: no verdict on the target.
    Error,
    /// Not applicable or unsupported here (the reason says why).
    Skip,
    /// Excluded by a profile or filter.
    Disabled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skip => "skip",
            Status::Disabled => "disabled",
        }
    }
}

/// Process exit codes, as documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ExitCode {
    Passed = 0,
    RequirementFailed = 1,
    ConfigError = 2,
    TargetUnreachable = 3,
    StaleExpectation = 4,
    SecretLeaked = 5,
    /// The run (or `cleanup --ledger`) could not undo everything it created on the
    /// tenant; the ledger says what is left.
    CleanupIncomplete = 6,
    /// Nothing failed, but the run did not verify what it had to: no case passed, or a
    /// requirement at the `--require` level was not verified.
    Incomplete = 7,
    /// A report could not be written (the run itself happened: requests were sent).
    ReportsIncomplete = 8,
}

impl ExitCode {
    /// Every exit code the binary uses, in order.
    pub const ALL: [ExitCode; 9] = [
        ExitCode::Passed,
        ExitCode::RequirementFailed,
        ExitCode::ConfigError,
        ExitCode::TargetUnreachable,
        ExitCode::StaleExpectation,
        ExitCode::SecretLeaked,
        ExitCode::CleanupIncomplete,
        ExitCode::Incomplete,
        ExitCode::ReportsIncomplete,
    ];

    /// How the README's exit-code table begins each row (a test compares the two).
    pub fn meaning(self) -> &'static str {
        match self {
            ExitCode::Passed => "passed",
            ExitCode::RequirementFailed => "a requirement failed",
            ExitCode::ConfigError => "usage or configuration error",
            ExitCode::TargetUnreachable => "target unreachable",
            ExitCode::StaleExpectation => "stale expectation",
            ExitCode::SecretLeaked => "a secret was found in an output",
            ExitCode::CleanupIncomplete => "cleanup incomplete",
            ExitCode::Incomplete => "incomplete",
            ExitCode::ReportsIncomplete => "a report could not be written",
        }
    }
}

/// One HTTP exchange (or thothctl invocation), as sent and received.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Exchange {
    /// "GET https://.../thoth/settings" or "thothctl api-keys list ...".
    pub request_line: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    /// HTTP status or process exit code; None when nothing came back.
    pub status: Option<i64>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    /// Transport-level error, if the exchange did not complete.
    pub transport_error: Option<String>,
    pub duration_ms: u64,
    /// What the harness did about this exchange, e.g. that it retried after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What storing cut from `request_body` and `response_body`, so a later cut (a
    /// passed case's, [`CaseResult::cut_passed_bodies`]) still notes the original body.
    /// Not written: the note at the end of a cut body says the same.
    #[serde(skip)]
    pub request_cut: Option<BodyCut>,
    #[serde(skip)]
    pub response_cut: Option<BodyCut>,
}

impl Exchange {
    /// Stores `text` as the request body the way a run stores every body
    /// ([`crate::redact::stored_body`]), noting what the cut took.
    pub fn store_request_body(&mut self, text: &str) {
        let (body, cut) = crate::redact::stored_body(text);
        self.request_body = Some(body);
        self.request_cut = cut;
    }

    /// Stores `text` as the response body, as [`Exchange::store_request_body`] does.
    pub fn store_response_body(&mut self, text: &str) {
        let (body, cut) = crate::redact::stored_body(text);
        self.response_body = Some(body);
        self.response_cut = cut;
    }

    /// Cuts both bodies to what a passed case keeps
    /// ([`crate::redact::MAX_PASSED_BODY_BYTES`]).
    fn cut_for_a_pass(&mut self) {
        for (body, cut) in [
            (&mut self.request_body, &mut self.request_cut),
            (&mut self.response_body, &mut self.response_cut),
        ] {
            if let Some(body) = body {
                recut_passed(body, cut);
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StepResult {
    pub name: String,
    pub status: Status,
    /// Why it did not pass: which assertion, expected vs actual.
    pub message: Option<String>,
    /// How many times the action was sent (polling, retries).
    pub attempts: u32,
    pub exchanges: Vec<Exchange>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CaseResult {
    pub phase: String,
    pub case_id: String,
    pub title: String,
    pub status: Status,
    /// For fail/error: the first failing step and why; for skip/disabled: the reason.
    pub message: Option<String>,
    pub requirements: Vec<String>,
    pub capability: String,
    pub surface: Surface,
    pub effect: Effect,
    pub steps: Vec<StepResult>,
    /// Cleanup steps, reported apart: they never change the case's verdict.
    pub cleanup: Vec<StepResult>,
    pub duration_ms: u64,
    /// RFC 3339.
    pub started_at: String,
    /// The expectations-ledger entry that names this case, and what became of it.
    /// Absent from older `results.json` files and for cases the ledger does not name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expectation: Option<ExpectationNote>,
}

/// What the expectations ledger says about a case (see `crate::expectations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectationKind {
    /// The case runs; its fail does not fail the run, its pass does (the entry is stale).
    KnownFailure,
    /// The case does not run at all (disabled, with the reason).
    Waiver,
}

impl ExpectationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectationKind::KnownFailure => "known_failure",
            ExpectationKind::Waiver => "waiver",
        }
    }
}

/// How a ledger entry met the case it names in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectationOutcome {
    /// A known failure failed, as recorded: it does not fail the run.
    ExpectedFailure,
    /// A known failure passed: the entry is stale and the run exits 4.
    UnexpectedPass,
    /// A waived case, not run.
    Waived,
    /// A known failure that ended neither pass nor fail (error, skip, disabled).
    Inconclusive,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ExpectationNote {
    pub kind: ExpectationKind,
    pub outcome: ExpectationOutcome,
    pub reason: String,
    pub owner: String,
    /// YYYY-MM-DD, the last day the entry holds.
    pub expires: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<String>,
    /// Set when the entry is past its date: the run exits 4.
    #[serde(default)]
    pub expired: bool,
}

impl CaseResult {
    /// A fail the expectations ledger recorded as known: it does not fail the run.
    pub fn is_expected_failure(&self) -> bool {
        self.status == Status::Fail
            && self
                .expectation
                .as_ref()
                .is_some_and(|e| e.outcome == ExpectationOutcome::ExpectedFailure)
    }

    /// Cuts the stored bodies of a passed case's steps to
    /// [`crate::redact::MAX_PASSED_BODY_BYTES`] each. The lists the suites read grow with everything the run created, so
    /// keeping the run's full cap of each made `results.json` (and the run's memory)
    /// grow with the square of the cases, for answers nobody needs whole once the case
    /// passed. A case that did not pass keeps its bodies, and so does a step that did
    /// not pass in the cleanup of one that did: a failure must stay diagnosable.
    pub fn cut_passed_bodies(&mut self) {
        if self.status != Status::Pass {
            return;
        }
        for step in self.steps.iter_mut().chain(self.cleanup.iter_mut()) {
            if step.status == Status::Pass {
                step.exchanges.iter_mut().for_each(Exchange::cut_for_a_pass);
            }
        }
    }

    /// `phase::case`, unique across a run.
    pub fn full_name(&self) -> String {
        format!("{}::{}", self.phase, self.case_id)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TargetInfo {
    /// "mock" or "live".
    pub kind: String,
    pub base_url: String,
    pub tenant: String,
    /// Fault modes the in-process mock was started with.
    #[serde(default)]
    pub mock_faults: Vec<String>,
    /// Surfaces available on this target (`api`, and `thothctl` when found).
    pub surfaces: Vec<Surface>,
    /// Which thothctl ran the thothctl cases: path, `--version`, stand-in or real.
    #[serde(default)]
    pub thothctl: Option<crate::thothctl::ThothctlInfo>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RunResult {
    pub run_id: String,
    pub harness_version: String,
    /// SHA-256 over the suite and fixture files, so evidence names what was run.
    pub suites_hash: String,
    pub target: TargetInfo,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    pub cases: Vec<CaseResult>,
    /// Set when the run was cut short (Ctrl-C, --fail-fast, unreachable target).
    pub interrupted: Option<String>,
    /// Which shard of a `--shard I/N` run this is; absent for a whole (or merged) run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// What became of the per-case evidence events (`--evidence-jsonl`,
    /// `--evidence-webhook`); never part of the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceDelivery>,
    /// The conformance level the run was held to and what it left unverified; absent
    /// when the caller did not assess it (older results files, library runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conformance: Option<Conformance>,
}

/// `--shard I/N`: this run holds the phases assigned to shard `index` (1-based) of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub struct ShardInfo {
    pub index: u32,
    pub total: u32,
}

/// Where the run's evidence events went and which deliveries failed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct EvidenceDelivery {
    /// The `--evidence-jsonl` file, if any.
    pub jsonl: Option<String>,
    /// The `--evidence-webhook` URL, if any.
    pub webhook: Option<String>,
    /// Events produced (one per case).
    pub events: usize,
    /// Webhook deliveries answered with 2xx.
    pub delivered: usize,
    /// One line per failed delivery or write, "failed to ..." style.
    pub failures: Vec<String>,
}

impl RunResult {
    pub fn counts(&self) -> BTreeMap<Status, usize> {
        let mut m = BTreeMap::new();
        for c in &self.cases {
            *m.entry(c.status).or_insert(0) += 1;
        }
        m
    }
}

/// `--require`: which requirements must be verified for the run to be green.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Every critical requirement the selected cases name.
    Critical,
    /// Critical and high.
    High,
    /// Every severity.
    All,
    /// None: the verdict is the cases' alone.
    None,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Critical => "critical",
            Level::High => "high",
            Level::All => "all",
            Level::None => "none",
        }
    }

    /// Whether a requirement of `severity` must be verified at this level.
    pub fn covers(self, severity: Severity) -> bool {
        match self {
            Level::Critical => severity == Severity::Critical,
            Level::High => matches!(severity, Severity::Critical | Severity::High),
            Level::All => true,
            Level::None => false,
        }
    }

    /// The level when `--require` is not given: a live acceptance run must verify every
    /// critical requirement it selects; the bundled mock is the harness's own check
    /// (thothctl cases skip there without the binary), so it requires none.
    pub fn default_for(target_kind: &str) -> Level {
        if target_kind == "live" {
            Level::Critical
        } else {
            Level::None
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A requirement at or above the level that the run did not verify.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Unverified {
    pub id: String,
    pub severity: Severity,
    /// The requirement's aggregate, e.g. `PARTIAL 1/3`.
    pub state: String,
    /// `phase::case (status: reason)` of each case behind it that did not pass.
    pub why: Vec<String>,
}

/// The level the run was held to and what it left unverified (in `results.json`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Conformance {
    pub level: Level,
    /// Whether the level was given (`--require`) or the target's default.
    pub explicit: bool,
    /// Requirements at the level that the selected cases name.
    pub judged: usize,
    pub unverified: Vec<Unverified>,
}

impl Conformance {
    /// One line per unverified requirement, for the console and the reports.
    pub fn lines(&self) -> Vec<String> {
        self.unverified
            .iter()
            .map(|u| {
                let sev = serde_json::to_value(u.severity)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let mut line = format!("{} ({sev}): {}", u.id, u.state);
                if !u.why.is_empty() {
                    line.push_str(&format!("; not verified: {}", u.why.join("; ")));
                }
                line
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::{MAX_PASSED_BODY_BYTES, MAX_STORED_BODY_BYTES};

    fn step(status: Status, body: &str) -> StepResult {
        let (response_body, response_cut) = crate::redact::stored_body(body);
        StepResult {
            name: "s".into(),
            status,
            message: None,
            attempts: 1,
            exchanges: vec![Exchange {
                request_line: "GET /x".into(),
                request_body: Some(body.to_owned()),
                response_body: Some(response_body),
                response_cut,
                ..Exchange::default()
            }],
            duration_ms: 0,
        }
    }

    fn case(status: Status, steps: Vec<StepResult>, cleanup: Vec<StepResult>) -> CaseResult {
        CaseResult {
            phase: "p".into(),
            case_id: "c".into(),
            title: "t".into(),
            status,
            message: None,
            requirements: Vec::new(),
            capability: "c".into(),
            surface: Surface::Api,
            effect: Effect::Read,
            steps,
            cleanup,
            duration_ms: 0,
            started_at: String::new(),
            expectation: None,
        }
    }

    fn sizes(steps: &[StepResult]) -> Vec<usize> {
        steps
            .iter()
            .flat_map(|s| &s.exchanges)
            .flat_map(|x| [&x.request_body, &x.response_body])
            .map(|b| b.as_deref().map_or(0, str::len))
            .collect()
    }

    #[test]
    fn a_passed_case_keeps_small_bodies_and_a_failed_one_its_full_cap() {
        let list = "x".repeat(3 * MAX_STORED_BODY_BYTES);
        let page = "y".repeat(20 * 1024);
        let mut passed = case(
            Status::Pass,
            vec![step(Status::Pass, &list), step(Status::Pass, &page)],
            vec![step(Status::Fail, &page)],
        );
        passed.cut_passed_bodies();
        for n in sizes(&passed.steps) {
            assert!(n < MAX_PASSED_BODY_BYTES + 200, "{n}");
        }
        let note = passed.steps[0].exchanges[0].response_body.clone().unwrap();
        assert!(
            note.contains(&format!("{} bytes, sha256 ", list.len())),
            "{note}"
        );
        // A cleanup step that failed is what someone will debug.
        assert_eq!(sizes(&passed.cleanup), vec![page.len(), page.len()]);

        for status in [Status::Fail, Status::Error] {
            let mut failed = case(
                status,
                vec![step(Status::Pass, &list), step(status, &page)],
                vec![],
            );
            failed.cut_passed_bodies();
            let response = failed.steps[0].exchanges[0]
                .response_body
                .as_deref()
                .unwrap();
            assert!(response.starts_with(&list[..MAX_STORED_BODY_BYTES]));
            assert_eq!(sizes(&failed.steps)[2..], [page.len(), page.len()]);
        }
    }
}
