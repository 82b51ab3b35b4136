//! `--jobs`: phases without an `after` relation run at once, at most `jobs` of them.
//!
//! Proven without timing: the server answers `/thoth/meet/<n>` only when two requests
//! are at the rendezvous together, so two phases both pass exactly when
//! they were in flight at the same time.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use common::*;
use thoth_conformance::outcome::Status;
use thoth_conformance::retry::RetryPolicy;
use thoth_conformance::runner::{effective_jobs, RunOptions};
use tokio::sync::watch;

/// Longest wait at the rendezvous; the phase that waits alone gets 504 after it.
const RENDEZVOUS: Duration = Duration::from_secs(3);

/// Requests at the rendezvous now; one that gives up leaves (a barrier would count it).
async fn meet(State(here): State<Arc<watch::Sender<usize>>>) -> StatusCode {
    here.send_modify(|n| *n += 1);
    let mut seen = here.subscribe();
    let met = tokio::time::timeout(RENDEZVOUS, seen.wait_for(|n| *n >= 2)).await;
    if met.is_ok() {
        StatusCode::OK
    } else {
        here.send_modify(|n| *n -= 1);
        StatusCode::GATEWAY_TIMEOUT
    }
}

async fn rendezvous_server() -> String {
    let (here, _) = watch::channel(0usize);
    let app = axum::Router::new()
        .route("/acme/thoth/meet", get(meet))
        .fallback(|| async { StatusCode::OK })
        .with_state(Arc::new(here));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn meeting_phase(phase: &str) -> thoth_conformance::suite::model::Suite {
    suite(&format!(
        "phase: {phase}\ntitle: t\nrunbook: r\ncases:\n  - id: meet\n    title: meet\n    capability: cap\n    effect: read\n    steps:\n      - request: {{method: GET, path: /thoth/meet}}\n        expect: {{status: 200}}\n"
    ))
}

async fn run_with_jobs(jobs: usize) -> Vec<Status> {
    let base = rendezvous_server().await;
    let f = target_at(&base);
    // The 504 of a lone phase is the answer being tested, not a transient: retrying it
    // (4 sends, 3 s each) only made the one-job run take 28 s.
    let mut opts = RunOptions {
        jobs,
        ..quick_opts()
    };
    opts.client.retry = RetryPolicy::never();
    let r = run(&f, vec![meeting_phase("a"), meeting_phase("b")], &opts).await;
    r.cases.iter().map(|c| c.status).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_phases_are_in_flight_together() {
    assert_eq!(run_with_jobs(2).await, [Status::Pass, Status::Pass]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_job_runs_phases_one_after_the_other() {
    // Alone at the rendezvous, each phase gets 504: they never overlapped.
    assert_eq!(run_with_jobs(1).await, [Status::Fail, Status::Fail]);
}

#[test]
fn zero_jobs_means_one_per_core() {
    assert!(effective_jobs(0) >= 1);
    assert_eq!(effective_jobs(3), 3);
}
