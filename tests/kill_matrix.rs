//! The kill matrix: proof that the shipped suites catch every defect mode of the mock.
//!
//! 1. Against a healthy in-process mock, every case passes or is skipped for a missing
//!    feature (thothctl); none fails or errors. A suite that fails on a correct target
//!    would make every fault look "caught".
//! 2. Against a mock started with exactly one fault, the set of failing cases equals the
//!    reviewed list in `tests/kill_matrix.yaml`, and nothing errors (an error is the
//!    harness's breakage, not a verdict on the target).
//!
//! Runs go through the runner's library API, the same path as `thoth-conformance run`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use thoth_conformance::outcome::{RunResult, Status};
use thoth_conformance::redact::Redactor;
use thoth_conformance::runner::{run_project, RunOptions};
use thoth_conformance::suite::load::{load_project, Project};
use thoth_conformance::target::{MockOptions, Target};
use tokio::sync::Semaphore;

/// Runs in flight at once, each with its own mock. A run mostly waits (polls of a sync
/// job, a sink), and on the mock target poll timeouts are capped
/// (`target::MOCK_POLL_TIMEOUT_CAP`), so all runs go at once and the matrix takes about
/// as long as its slowest run (a fault that makes a poll time out).
const PARALLEL_RUNS: usize = 32;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KillMatrix {
    faults: BTreeMap<String, KilledBy>,
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

/// One full run of every suite against a fresh mock with these faults.
async fn run_against_mock(project: &Project, faults: &[&str]) -> RunResult {
    let redactor = Redactor::new();
    let options = MockOptions {
        faults: faults.iter().map(|f| f.to_string()).collect(),
    };
    let target = Target::start_mock(&options, &redactor)
        .await
        .unwrap_or_else(|e| panic!("failed to start the mock with {faults:?}: {e}"));
    let result = run_project(project, &target, &RunOptions::default(), &redactor).await;
    target.shutdown().await;
    result
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
    let result = run_against_mock(&project, &[]).await;
    let bad: Vec<_> = [Status::Fail, Status::Error]
        .into_iter()
        .map(|s| explain(&result, s))
        .filter(|s| !s.is_empty())
        .collect();
    assert!(
        bad.is_empty(),
        "cases that fail or error against a healthy mock:\n{}",
        bad.join("\n")
    );
    for case in result.cases.iter().filter(|c| c.status == Status::Skip) {
        let reason = case.message.as_deref().unwrap_or("");
        assert!(
            reason.contains("thothctl"),
            "{} was skipped on a healthy mock for another reason than a missing thothctl: {reason}",
            case.full_name()
        );
    }
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

    let project = Arc::new(project());
    let permits = Arc::new(Semaphore::new(PARALLEL_RUNS));
    let mut runs = tokio::task::JoinSet::new();
    for fault in mock_govapi::Fault::ALL {
        let (project, permits) = (Arc::clone(&project), Arc::clone(&permits));
        runs.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore closed");
            (
                fault.name(),
                run_against_mock(&project, &[fault.name()]).await,
            )
        });
    }

    let mut problems = Vec::new();
    let mut caught = 0;
    let mut results = Vec::new();
    while let Some(joined) = runs.join_next().await {
        results.push(joined.expect("a kill-matrix run panicked"));
    }
    results.sort_by_key(|(name, _)| *name);
    for (fault, result) in &results {
        let failed = names_with(result, Status::Fail);
        if !failed.is_empty() {
            caught += 1;
        }
        let reviewed = &matrix.faults[*fault];
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
