//! `thoth-conformance bench`: how long the release gate takes, measured against the
//! ways to do the same work, all in one run so the figures compare on the same machine:
//!
//! - the harness: every suite against a fresh in-process mock, N times;
//! - the runbook as done today: `scripts/runbook-curl.sh` (curl + jq + openssl, the
//!   same requests and checks for the main phases) against a fresh mock, N times;
//! - the cost of one request: a raw reqwest GET loop against the mock (the loopback
//!   floor) and the same GETs as steps through the engine (templating, the transcript,
//!   JSON expectations); the difference is the harness's per-request overhead.
//!
//! Request counts come from the mock's journal (every GovAPI request, not the mock's
//! own admin and sink calls), so both sides are counted the same way.

mod curl;
pub mod floor;
pub mod live;
pub mod process;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::outcome::{CaseResult, Status};
use crate::redact::Redactor;
use crate::runner::{run_project, RunOptions};
use crate::suite::load::{LoadedSuite, Project};
use crate::target::{MockOptions, Target};

pub use curl::{missing_tools, run_script_once, ScriptRun};

/// One timed full run of something.
#[derive(Debug, Clone, Copy)]
pub struct Timed {
    pub wall: Duration,
    /// GovAPI requests the mock's journal saw.
    pub requests: u64,
    pub passed: bool,
}

impl Timed {
    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// The median of the walls (the lower middle one for an even count).
pub fn median(runs: &[Timed]) -> Option<Timed> {
    let mut sorted = runs.to_vec();
    sorted.sort_by_key(|t| t.wall);
    sorted.get(sorted.len().checked_sub(1)? / 2).copied()
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("failed to start the mock: {0}")]
    Mock(String),
    #[error("failed to read the mock's journal: {0}")]
    Journal(String),
    #[error("failed to send a baseline request: {0}")]
    Baseline(String),
    /// Against a `mock-govapi` binary as a live target (`bench --mock-binary`).
    #[error("failed to {0}")]
    Live(String),
}

/// The highest journal sequence number: how many GovAPI requests the mock has seen.
pub async fn journal_count(admin_root: &str) -> Result<u64, BenchError> {
    let url = format!("{admin_root}/__admin/journal?since=0");
    let err = |e: &dyn std::fmt::Display| BenchError::Journal(e.to_string());
    let doc: Value = reqwest::get(&url)
        .await
        .map_err(|e| err(&e))?
        .json()
        .await
        .map_err(|e| err(&e))?;
    Ok(doc["data"]
        .as_array()
        .and_then(|rows| rows.iter().filter_map(|r| r["seq"].as_u64()).max())
        .unwrap_or(0))
}

/// One full run of every suite against a fresh in-process mock; the wall time covers
/// the run only (not starting the mock), like the script's. The cases' results tell
/// the floor which work the run did ([`floor::work_as_run`]).
pub async fn harness_once(project: &Project) -> Result<(Timed, Vec<CaseResult>), BenchError> {
    let redactor = Redactor::new();
    let target = Target::start_mock(&MockOptions::default(), &redactor)
        .await
        .map_err(|e| BenchError::Mock(e.to_string()))?;
    let started = Instant::now();
    let result = run_project(project, &target, &RunOptions::default(), &redactor).await;
    let wall = started.elapsed();
    let admin = target.admin_url.clone().unwrap_or_default();
    let requests = journal_count(&admin).await;
    target.shutdown().await;
    let passed = !result
        .cases
        .iter()
        .any(|c| matches!(c.status, Status::Fail | Status::Error));
    Ok((
        Timed {
            wall,
            requests: requests?,
            passed,
        },
        result.cases,
    ))
}

/// Per-request cost: the loopback floor and the same request through the engine.
#[derive(Debug, Clone, Copy)]
pub struct RequestCost {
    pub requests: usize,
    pub raw: Duration,
    pub engine: Duration,
}

impl RequestCost {
    /// Engine time per request above the raw round trip (zero if below: noise).
    pub fn overhead(&self) -> Duration {
        self.engine.saturating_sub(self.raw)
    }
}

/// `n` sequential `GET /thoth/endpoints/stats`: first with a bare reqwest client, then as
/// `n` steps of one case run by the engine (each with a status and two JSON checks).
pub async fn request_cost(n: usize) -> Result<RequestCost, BenchError> {
    let redactor = Redactor::new();
    let target = Target::start_mock(&MockOptions::default(), &redactor)
        .await
        .map_err(|e| BenchError::Mock(e.to_string()))?;
    let url = format!("{}/thoth/endpoints/stats", target.tenant_base());
    let token = crate::target::exposed(&target.admin_token)
        .unwrap_or_default()
        .to_owned();
    let raw = raw_round_trips(&url, &token, n).await;
    // An empty directory: the run hashes its suites and fixtures directories.
    let empty = tempfile::tempdir().map_err(|e| BenchError::Mock(e.to_string()))?;
    let engine = async {
        let project = stats_loop_project(n, empty.path());
        let started = Instant::now();
        run_project(&project, &target, &RunOptions::default(), &redactor).await;
        started.elapsed()
    }
    .await;
    target.shutdown().await;
    let raw = raw?;
    let per = |d: Duration, count: usize| d / u32::try_from(count.max(1)).unwrap_or(u32::MAX);
    Ok(RequestCost {
        requests: n,
        raw: per(raw, n),
        // The engine also sends its reachability probe (which opens the connection).
        engine: per(engine, n + 1),
    })
}

/// The time of `n` sequential authenticated GETs of `url` with a bare reqwest client,
/// on one connection: a warm-up request opens it first, as the engine's client also
/// reuses one. An error status counts as a failed baseline.
pub async fn raw_round_trips(url: &str, token: &str, n: usize) -> Result<Duration, BenchError> {
    let client = reqwest::Client::new();
    let send = || async {
        let resp = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| BenchError::Baseline(e.to_string()))?;
        resp.bytes()
            .await
            .map_err(|e| BenchError::Baseline(e.to_string()))
    };
    send().await?;
    let started = Instant::now();
    for _ in 0..n {
        send().await?;
    }
    Ok(started.elapsed())
}

/// A project of one case with `steps` identical stats GETs.
fn stats_loop_project(steps: usize, dir: &Path) -> Project {
    let mut yaml = String::from(
        "phase: bench\ntitle: request cost\nrunbook: bench\ncases:\n  - id: stats_loop\n    title: stats loop\n    capability: endpoint_inventory\n    effect: read\n    steps:\n",
    );
    for _ in 0..steps {
        yaml.push_str(
            "      - request: {method: GET, path: /thoth/endpoints/stats}\n        expect: {status: 200, json: [{path: \"$.total\", gte: 0}, {path: \"$.online\", gte: 0}]}\n",
        );
    }
    let suite = serde_saphyr::from_str(&yaml).expect("the built-in bench suite parses");
    Project {
        suites: vec![LoadedSuite {
            path: "bench.yaml".into(),
            suite,
        }],
        catalogue: crate::catalogue::Catalogue {
            capabilities: Vec::new(),
            requirements: Vec::new(),
        },
        fixtures_dir: dir.to_path_buf(),
        suites_dir: dir.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Timed {
        Timed {
            wall: Duration::from_millis(ms),
            requests: 100,
            passed: true,
        }
    }

    #[test]
    fn median_of_walls() {
        assert_eq!(
            median(&[t(30), t(10), t(20)]).unwrap().wall,
            Duration::from_millis(20)
        );
        assert_eq!(
            median(&[t(40), t(10)]).unwrap().wall,
            Duration::from_millis(10)
        );
        assert!(median(&[]).is_none());
        assert_eq!(t(500).requests_per_second(), 200.0);
    }

    #[test]
    fn the_request_cost_suite_parses_with_every_step() {
        let p = stats_loop_project(3, Path::new("."));
        assert_eq!(p.suites[0].suite.cases[0].steps.len(), 3);
    }
}
