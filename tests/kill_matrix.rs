//! The kill matrix: proof that the shipped suites catch every defect mode of the mock.
//!
//! 1. Against a healthy in-process mock, with the stand-in thothctl, every case passes
//!    (the thothctl cases included); none fails, errors or is skipped. A suite that
//!    fails on a correct target would make every fault look "caught".
//! 2. Against a mock started with exactly one fault, the set of failing cases equals the
//!    reviewed list in `tests/kill_matrix.yaml`, and nothing errors (an error is the
//!    harness's breakage, not a verdict on the target).
//! 3. The same for each fault mode of the stand-in (`stand_in_faults`), on a healthy
//!    mock: a thothctl that lies is caught by exactly the thothctl cases that check it.
//!
//! Runs go through the library session (`thoth_conformance::session`), the same path as
//! `thoth-conformance run`: expectations ledger, live-safety ledger and undo, reports
//! and the final secret scan included, and each run must come out clean on all of them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use thoth_conformance::outcome::{RunResult, Status};
use thoth_conformance::redact::Redactor;
use thoth_conformance::safety::undo::CleanupOutcome;
use thoth_conformance::session::{self, SessionOptions};
use thoth_conformance::suite::load::{load_project, Project};
use thoth_conformance::target::{MockOptions, Target};
use tokio::sync::Semaphore;

mod stand_in;

/// Runs in flight at once, each with its own mock. A run mostly waits (polls of a sync
/// job, a sink), and on the mock target poll timeouts are capped
/// (`target::MOCK_POLL_TIMEOUT_CAP`), so all runs go at once and the matrix takes about
/// as long as its slowest run (a fault that makes a poll time out).
const PARALLEL_RUNS: usize = 32;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KillMatrix {
    faults: BTreeMap<String, KilledBy>,
    /// Fault modes of the stand-in thothctl (`THOTHCTL_SIM_FAULT`).
    stand_in_faults: BTreeMap<String, KilledBy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KilledBy {
    why: String,
    fails: Vec<String>,
    /// Set (with `fails: []`) for a fault no shipped case can see yet, saying what will
    /// catch it. Such a fault must fail nothing (checked like any other row) and is
    /// reported as not caught, never counted as caught.
    #[serde(default)]
    awaiting: Option<String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn project() -> Project {
    load_project(&root().join("suites"), &root().join("fixtures"))
        .unwrap_or_else(|d| panic!("failed to load the shipped suites:\n{d}"))
}

fn reviewed_matrix() -> KillMatrix {
    let path = root().join("tests/kill_matrix.yaml");
    let text = fs::read_to_string(&path).expect("failed to read tests/kill_matrix.yaml");
    serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("failed to parse kill_matrix.yaml: {e}"))
}

/// One full run of every suite against a fresh mock with these faults, the thothctl
/// cases run by the stand-in (with `stand_in_fault`, if any).
async fn run_against_mock(
    project: &Project,
    faults: &[&str],
    stand_in_fault: Option<&str>,
) -> RunResult {
    let redactor = Redactor::new();
    let options = MockOptions {
        faults: faults.iter().map(|f| f.to_string()).collect(),
    };
    let target = Target::start_mock(&options, &redactor)
        .await
        .unwrap_or_else(|e| panic!("failed to start the mock with {faults:?}: {e}"));
    let mut thothctl = stand_in::stand_in();
    if let Some(f) = stand_in_fault {
        thothctl = thothctl.with_env(thothctl_sim::FAULT_ENV, f);
    }
    let target = target.with_thothctl(Some(thothctl));
    let reports = tempfile::tempdir().expect("a reports directory");
    let opts = SessionOptions::new(reports.path().to_path_buf());
    let outcome = session::run(project, &target, &opts, &redactor, None)
        .await
        .unwrap_or_else(|e| panic!("the run with {faults:?} did not start: {e}"));
    target.shutdown().await;
    // What the CLI adds must hold under every fault too: the reports are written, no
    // secret is in them, and the tenant is left as found.
    assert!(
        outcome.report_errors.is_empty() && outcome.leaks.is_empty(),
        "{faults:?}: reports {:?}, leaks {:?}",
        outcome.report_errors,
        outcome
            .leaks
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
    );
    // Cleanup is asserted on the healthy mock: a fault may break the undo routes too
    // (e.g. `hold-allow-after-deny` leaves records behind; to be reviewed per fault).
    assert!(
        !faults.is_empty() || matches!(&outcome.cleanup, Ok(c) if c.complete),
        "{faults:?} (stand-in fault {stand_in_fault:?}): cleanup incomplete: {:#?}",
        outcome.cleanup.as_ref().map(|c| c
            .entries
            .iter()
            .filter(|e| !matches!(
                e.outcome,
                CleanupOutcome::Undone | CleanupOutcome::AlreadyUndone
            ))
            .collect::<Vec<_>>())
    );
    outcome.result
}

fn names_with(result: &RunResult, status: Status) -> BTreeSet<String> {
    result
        .cases
        .iter()
        .filter(|c| c.status == status)
        .map(|c| c.full_name())
        .collect()
}

/// "phase::case: message" for every case with this status, for assertion messages.
fn explain(result: &RunResult, status: Status) -> String {
    result
        .cases
        .iter()
        .filter(|c| c.status == status)
        .map(|c| {
            format!(
                "  {}: {}",
                c.full_name(),
                c.message.as_deref().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_mock_passes_every_case() {
    let project = project();
    let result = run_against_mock(&project, &[], None).await;
    let bad: Vec<_> = [Status::Fail, Status::Error, Status::Skip]
        .into_iter()
        .map(|s| explain(&result, s))
        .filter(|s| !s.is_empty())
        .collect();
    assert!(
        bad.is_empty(),
        "cases that fail, error or skip against a healthy mock with the stand-in thothctl:\n{}",
        bad.join("\n")
    );
    let thothctl_cases = result
        .cases
        .iter()
        .filter(|c| c.surface == thoth_conformance::suite::model::Surface::Thothctl)
        .count();
    assert!(
        thothctl_cases >= 14,
        "only {thothctl_cases} thothctl cases ran"
    );
    assert!(
        !names_with(&result, Status::Pass).is_empty(),
        "no case ran at all"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_fails_exactly_the_reviewed_cases() {
    let matrix = reviewed_matrix();
    let known: BTreeSet<&str> = mock_govapi::Fault::ALL.iter().map(|f| f.name()).collect();
    let listed: BTreeSet<&str> = matrix.faults.keys().map(String::as_str).collect();
    assert_eq!(
        listed, known,
        "kill_matrix.yaml must list exactly the mock's fault modes"
    );
    let known_sim: BTreeSet<&str> = thothctl_sim::Fault::ALL.iter().map(|f| f.name()).collect();
    let listed_sim: BTreeSet<&str> = matrix.stand_in_faults.keys().map(String::as_str).collect();
    assert_eq!(
        listed_sim, known_sim,
        "kill_matrix.yaml stand_in_faults must list exactly the stand-in's fault modes"
    );

    let project = Arc::new(project());
    let permits = Arc::new(Semaphore::new(PARALLEL_RUNS));
    let mut runs = tokio::task::JoinSet::new();
    for fault in mock_govapi::Fault::ALL {
        let (project, permits) = (Arc::clone(&project), Arc::clone(&permits));
        runs.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore closed");
            (
                fault.name(),
                false,
                run_against_mock(&project, &[fault.name()], None).await,
            )
        });
    }
    for fault in thothctl_sim::Fault::ALL {
        let (project, permits) = (Arc::clone(&project), Arc::clone(&permits));
        runs.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore closed");
            (
                fault.name(),
                true,
                run_against_mock(&project, &[], Some(fault.name())).await,
            )
        });
    }

    let mut problems = Vec::new();
    let mut caught = 0;
    let mut results = Vec::new();
    while let Some(joined) = runs.join_next().await {
        results.push(joined.expect("a kill-matrix run panicked"));
    }
    results.sort_by_key(|(name, sim, _)| (*sim, *name));
    // Time to red, printed (never asserted: the machine is shared): when the first case
    // failed, and when the run ended with its verdict.
    for (fault, sim, result) in &results {
        let red = first_failure_after_start(result).map_or_else(
            || "never".to_owned(),
            |d| format!("{:.2} s", d.as_secs_f64()),
        );
        println!(
            "time to red: {}{fault}: first failing case done at {red}, run ended at {:.2} s",
            if *sim { "stand-in " } else { "" },
            result.duration_ms as f64 / 1000.0
        );
    }
    for (fault, sim, result) in &results {
        let failed = names_with(result, Status::Fail);
        if !failed.is_empty() {
            caught += 1;
        }
        let reviewed = if *sim {
            &matrix.stand_in_faults[*fault]
        } else {
            &matrix.faults[*fault]
        };
        let expected: BTreeSet<String> = reviewed.fails.iter().cloned().collect();
        if failed != expected {
            problems.push(format!(
                "{fault} (reviewed: {}): expected to fail {:?}\n  but failed {:?}\n  missing: {:?}\n  unexpected: {:?}\n{}",
                reviewed.why,
                expected,
                failed,
                expected.difference(&failed).collect::<Vec<_>>(),
                failed.difference(&expected).collect::<Vec<_>>(),
                explain(result, Status::Fail),
            ));
        }
        let errors = explain(result, Status::Error);
        if !errors.is_empty() {
            problems.push(format!(
                "{fault}: cases errored (harness breakage, not a verdict):\n{errors}"
            ));
        }
    }
    let awaiting: Vec<String> = matrix
        .faults
        .iter()
        .filter_map(|(name, row)| row.awaiting.as_ref().map(|why| format!("{name} ({why})")))
        .collect();
    for (name, row) in &matrix.faults {
        if row.awaiting.is_some() && !row.fails.is_empty() {
            problems.push(format!(
                "{name}: a row with `awaiting` must have `fails: []`; drop `awaiting` once cases catch it"
            ));
        }
    }
    println!(
        "kill matrix: {caught}/{} faults caught; not yet caught by any case: {}",
        results.len(),
        if awaiting.is_empty() {
            "none".to_owned()
        } else {
            awaiting.join(", ")
        }
    );
    assert!(
        problems.is_empty(),
        "kill matrix differs from tests/kill_matrix.yaml:\n{}",
        problems.join("\n")
    );
    assert_eq!(
        caught + awaiting.len(),
        results.len(),
        "every fault must be caught by at least one case (or be marked `awaiting`)"
    );
}

/// From the run's start to the end of its first failing case.
fn first_failure_after_start(result: &RunResult) -> Option<std::time::Duration> {
    use time::format_description::well_known::Rfc3339;
    let at = |s: &str| time::OffsetDateTime::parse(s, &Rfc3339).ok();
    let start = at(&result.started_at)?;
    result
        .cases
        .iter()
        .filter(|c| c.status == Status::Fail)
        .filter_map(|c| {
            let done = at(&c.started_at)? + time::Duration::milliseconds(c.duration_ms as i64);
            std::time::Duration::try_from(done - start).ok()
        })
        .min()
}
