//! The run's verdict: which exit code a [`RunResult`] earns on its own.
//!
//! The rules, in order:
//! 1. Any case `fail` → exit 1 ([`ExitCode::RequirementFailed`]): the target broke a
//!    requirement, whatever else happened.
//! 2. No fail, some `error`, and the target looks **unreachable** → exit 3
//!    ([`ExitCode::TargetUnreachable`]). Unreachable means all of:
//!    - no case passed (a single pass proves the target answered);
//!    - every errored case made at least one exchange (steps or cleanup), and every
//!      exchange of every errored case ended in a transport error before any status
//!      line came back (connection refused, DNS, TLS, timeout: nothing came back).
//!
//!    An errored case with no exchange at all (a harness error before anything was
//!    sent) is not evidence of an unreachable target, so it makes the run exit 1.
//! 3. No fail, some `error`, target not unreachable → exit 1, with a message saying
//!    the errors are the harness's or the network's, not a verdict on the target.
//! 4. Only pass, skip and disabled, but no case passed (or no case at all) → exit 7
//!    ([`ExitCode::Incomplete`]): nothing ran is not a pass.
//! 5. Only pass, skip and disabled, and a requirement at the run's conformance level
//!    (`--require`, [`crate::outcome::Conformance`]) not verified → exit 7, naming them.
//! 6. Otherwise → exit 0.
//!
//! Decided elsewhere, in one place (`crate::session::exit_code`): 2 (suite or
//! configuration error: nothing was sent), 4 (stale expectations and expired waivers),
//! 5 (the final secret scan found a leak), 6 (cleanup incomplete: the ledger's undo left
//! records on the tenant, see docs/live-safety.md) and 8 (a report could not be
//! written), which override this verdict. An interrupted run (Ctrl-C) keeps the code
//! its finished cases earned; the message says the run was cut short.

use serde::{Deserialize, Serialize};

use crate::outcome::{CaseResult, ExitCode, RunResult, Status};

/// Case counts by status, with stable field names for `results.json` and `coverage.json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
    pub disabled: usize,
    pub total: usize,
}

impl Counts {
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a CaseResult>) -> Self {
        let mut counts = Counts::default();
        for case in cases {
            counts.add(case.status);
        }
        counts
    }

    pub fn add(&mut self, status: Status) {
        match status {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Error => self.error += 1,
            Status::Skip => self.skip += 1,
            Status::Disabled => self.disabled += 1,
        }
        self.total += 1;
    }

    pub fn get(&self, status: Status) -> usize {
        match status {
            Status::Pass => self.pass,
            Status::Fail => self.fail,
            Status::Error => self.error,
            Status::Skip => self.skip,
            Status::Disabled => self.disabled,
        }
    }
}

/// The outcome of the run as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Passed,
    Failed,
    Errored,
    Unreachable,
    /// Nothing failed, but the run did not verify what it had to.
    Incomplete,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Passed => "passed",
            RunStatus::Failed => "failed",
            RunStatus::Errored => "errored",
            RunStatus::Unreachable => "unreachable",
            RunStatus::Incomplete => "incomplete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Verdict {
    pub status: RunStatus,
    /// The process exit code (see the module documentation for the rules).
    pub exit_code: i32,
    /// One line a human reads first.
    pub message: String,
    pub counts: Counts,
}

impl Verdict {
    pub fn exit(&self) -> ExitCode {
        match self.status {
            RunStatus::Passed => ExitCode::Passed,
            RunStatus::Failed | RunStatus::Errored => ExitCode::RequirementFailed,
            RunStatus::Unreachable => ExitCode::TargetUnreachable,
            RunStatus::Incomplete => ExitCode::Incomplete,
        }
    }
}

fn all_exchanges_are_transport_errors(case: &CaseResult) -> bool {
    let mut exchanges = case
        .steps
        .iter()
        .chain(&case.cleanup)
        .flat_map(|step| &step.exchanges)
        .peekable();
    // An exchange that broke after the status line arrived (reset or stall in the body,
    // body over the cap) proves the target answered: not "unreachable".
    exchanges.peek().is_some()
        && exchanges.all(|x| x.transport_error.is_some() && x.status.is_none())
}

/// Decides the run's verdict from its cases alone.
pub fn verdict(run: &RunResult) -> Verdict {
    let counts = Counts::of(&run.cases);
    // Fails the expectations ledger records as known do not fail the run (a known
    // failure that passes does, through exit 4, decided by the caller).
    let expected = run.cases.iter().filter(|c| c.is_expected_failure()).count();
    let unexpected_fail = counts.fail - expected;
    let (status, mut message) = if unexpected_fail > 0 {
        (
            RunStatus::Failed,
            format!("{unexpected_fail} case(s) failed: the target broke a requirement"),
        )
    } else if counts.error > 0 {
        let unreachable = counts.pass == 0
            && run
                .cases
                .iter()
                .filter(|c| c.status == Status::Error)
                .all(all_exchanges_are_transport_errors);
        if unreachable {
            (
                RunStatus::Unreachable,
                format!(
                    "target unreachable: every request of the {} errored case(s) failed \
                     in transport and no case passed",
                    counts.error
                ),
            )
        } else {
            (
                RunStatus::Errored,
                format!(
                    "{} case(s) errored: the harness or the network broke, so these cases \
                     give no verdict on the target",
                    counts.error
                ),
            )
        }
    } else if counts.pass == 0 {
        (
            RunStatus::Incomplete,
            format!(
                "no case passed, so nothing was verified ({} skipped, {} disabled)",
                counts.skip, counts.disabled
            ),
        )
    } else if let Some(c) = run
        .conformance
        .as_ref()
        .filter(|c| !c.unverified.is_empty())
    {
        let ids: Vec<&str> = c.unverified.iter().map(|u| u.id.as_str()).collect();
        (
            RunStatus::Incomplete,
            format!(
                "{} case(s) passed and none failed, but {} of {} requirement(s) at conformance \
                 level `{}` were not verified: {}",
                counts.pass,
                c.unverified.len(),
                c.judged,
                c.level,
                ids.join(", ")
            ),
        )
    } else {
        (
            RunStatus::Passed,
            format!("all {} run case(s) passed", counts.pass),
        )
    };
    if expected > 0 {
        message.push_str(&format!(
            " ({expected} expected failure(s) recorded in the expectations ledger)"
        ));
    }
    if let Some(why) = &run.interrupted {
        message.push_str(&format!(" (run cut short: {why})"));
    }
    let mut v = Verdict {
        status,
        exit_code: 0,
        message,
        counts,
    };
    v.exit_code = v.exit() as i32;
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{Exchange, StepResult, TargetInfo};
    use crate::suite::model::{Effect, Surface};

    fn exchange(transport_error: bool) -> Exchange {
        Exchange {
            request_line: "GET http://127.0.0.1:9/acme/thoth/settings".into(),
            status: (!transport_error).then_some(500),
            transport_error: transport_error.then(|| "connection refused".into()),
            ..Exchange::default()
        }
    }

    fn case(id: &str, status: Status, exchanges: Vec<Exchange>) -> CaseResult {
        CaseResult {
            phase: "p".into(),
            case_id: id.into(),
            title: id.into(),
            status,
            message: None,
            requirements: vec![],
            capability: "c".into(),
            surface: Surface::Api,
            effect: Effect::Read,
            steps: vec![StepResult {
                name: "s".into(),
                status,
                message: None,
                attempts: 1,
                exchanges,
                duration_ms: 1,
            }],
            cleanup: vec![],
            duration_ms: 1,
            started_at: "2026-01-01T00:00:00Z".into(),
            expectation: None,
        }
    }

    #[test]
    fn expected_failures_do_not_fail_the_run() {
        use crate::outcome::{ExpectationKind, ExpectationNote, ExpectationOutcome};
        let mut known = case("known", Status::Fail, vec![exchange(false)]);
        known.expectation = Some(ExpectationNote {
            kind: ExpectationKind::KnownFailure,
            outcome: ExpectationOutcome::ExpectedFailure,
            reason: "VND-1".into(),
            owner: "qa".into(),
            expires: "2099-01-01".into(),
            requirement: None,
            expired: false,
        });
        let ok = case("ok", Status::Pass, vec![exchange(false)]);
        let v = verdict(&run(vec![known.clone(), ok.clone()]));
        assert_eq!(v.exit_code, 0, "{}", v.message);
        assert!(v.message.contains("1 expected failure(s)"), "{}", v.message);
        assert_eq!(v.counts.fail, 1, "counts still show the fail");
        let other = case("other", Status::Fail, vec![exchange(false)]);
        let v = verdict(&run(vec![known, ok, other]));
        assert_eq!(v.exit_code, 1);
        assert!(v.message.starts_with("1 case(s) failed"), "{}", v.message);
    }

    fn run(cases: Vec<CaseResult>) -> RunResult {
        RunResult {
            run_id: "0badc0de".into(),
            harness_version: "0.1.0".into(),
            suites_hash: "h".into(),
            target: TargetInfo {
                kind: "mock".into(),
                base_url: "http://127.0.0.1:1".into(),
                tenant: "conformance".into(),
                mock_faults: vec![],
                surfaces: vec![Surface::Api],
                thothctl: None,
            },
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: "2026-01-01T00:00:01Z".into(),
            duration_ms: 1000,
            cases,
            interrupted: None,
            shard: None,
            evidence: None,
            conformance: None,
        }
    }

    #[test]
    fn passes_skips_and_disabled_exit_zero() {
        let v = verdict(&run(vec![
            case("a", Status::Pass, vec![exchange(false)]),
            case("b", Status::Skip, vec![]),
            case("c", Status::Disabled, vec![]),
        ]));
        // No conformance level assessed: the cases alone decide.
        assert_eq!((v.status, v.exit_code), (RunStatus::Passed, 0));
        assert_eq!(
            (
                v.counts.pass,
                v.counts.skip,
                v.counts.disabled,
                v.counts.total
            ),
            (1, 1, 1, 3)
        );
    }

    #[test]
    fn a_run_with_no_pass_is_incomplete_never_zero() {
        for cases in [vec![], vec![case("s", Status::Skip, vec![])]] {
            let v = verdict(&run(cases));
            assert_eq!((v.status, v.exit_code), (RunStatus::Incomplete, 7));
            assert!(v.message.starts_with("no case passed"), "{}", v.message);
        }
    }

    #[test]
    fn an_unverified_requirement_at_the_level_is_incomplete() {
        use crate::outcome::{Conformance, Level, Unverified};
        let mut r = run(vec![case("a", Status::Pass, vec![exchange(false)])]);
        r.conformance = Some(Conformance {
            level: Level::Critical,
            explicit: false,
            judged: 2,
            unverified: vec![Unverified {
                id: "RB-P4-02".into(),
                severity: crate::catalogue::Severity::Critical,
                state: "SKIP 0/1".into(),
                why: vec![],
            }],
        });
        let v = verdict(&r);
        assert_eq!((v.status, v.exit_code), (RunStatus::Incomplete, 7));
        assert!(
            v.message.ends_with(
                "1 of 2 requirement(s) at conformance level `critical` were not verified: RB-P4-02"
            ),
            "{}",
            v.message
        );
        r.conformance.as_mut().unwrap().unverified.clear();
        assert_eq!(verdict(&r).exit_code, 0);
    }

    #[test]
    fn any_fail_exits_one_even_with_transport_errors() {
        let v = verdict(&run(vec![
            case("a", Status::Fail, vec![exchange(false)]),
            case("b", Status::Error, vec![exchange(true)]),
        ]));
        assert_eq!((v.status, v.exit_code), (RunStatus::Failed, 1));
    }

    #[test]
    fn only_transport_errors_and_no_pass_is_unreachable() {
        let v = verdict(&run(vec![
            case("a", Status::Error, vec![exchange(true), exchange(true)]),
            case("b", Status::Error, vec![exchange(true)]),
            case("c", Status::Skip, vec![]),
        ]));
        assert_eq!((v.status, v.exit_code), (RunStatus::Unreachable, 3));
    }

    #[test]
    fn a_pass_means_the_target_was_reachable() {
        let v = verdict(&run(vec![
            case("a", Status::Error, vec![exchange(true)]),
            case("b", Status::Pass, vec![exchange(false)]),
        ]));
        assert_eq!((v.status, v.exit_code), (RunStatus::Errored, 1));
    }

    #[test]
    fn an_answered_exchange_means_the_target_was_reachable() {
        let v = verdict(&run(vec![case(
            "a",
            Status::Error,
            vec![exchange(true), exchange(false)],
        )]));
        assert_eq!((v.status, v.exit_code), (RunStatus::Errored, 1));
    }

    #[test]
    fn an_error_before_any_exchange_is_not_unreachable() {
        let v = verdict(&run(vec![
            case("a", Status::Error, vec![exchange(true)]),
            case("b", Status::Error, vec![]),
        ]));
        assert_eq!((v.status, v.exit_code), (RunStatus::Errored, 1));
    }

    #[test]
    fn interruption_is_named_in_the_message() {
        let mut r = run(vec![case("a", Status::Pass, vec![exchange(false)])]);
        r.interrupted = Some("Ctrl-C".into());
        let v = verdict(&r);
        assert_eq!(v.exit_code, 0);
        assert!(v.message.contains("Ctrl-C"), "{}", v.message);
    }
}
