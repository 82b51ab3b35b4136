//! `load`: exact counts against a healthy mock, a failing verdict when check-ins do not
//! reach the stats, 429 + Retry-After handling and forced paging with the mock's
//! realism switches, and the CLI's exit codes.

use clap::Parser as _;
use thoth_conformance::cli::load::credential_of;
use thoth_conformance::cli::{dispatch, Cli};
use thoth_conformance::client::{ClientOptions, HttpClient};
use thoth_conformance::load::latency::Op;
use thoth_conformance::load::{run_load, LoadOptions, LoadReport, LoadTarget};
use thoth_conformance::redact::Redactor;
use thoth_conformance::target::{MockOptions, Target};

fn client() -> HttpClient {
    HttpClient::new(ClientOptions::default()).expect("build the HTTP client")
}

/// An in-process mock with `faults` on, and the load's view of its tenant.
async fn mock_with(faults: &[&str]) -> (Target, LoadTarget) {
    let redactor = Redactor::new();
    let opts = MockOptions {
        faults: faults.iter().map(|f| f.to_string()).collect(),
        ..MockOptions::default()
    };
    let target = Target::start_mock(&opts, &redactor)
        .await
        .expect("start mock");
    let load_target = LoadTarget {
        tenant_base: target.tenant_base(),
        credential: credential_of(&target).expect("mock has a credential"),
    };
    (target, load_target)
}

async fn load_against_mock(faults: &[&str], endpoints: usize) -> LoadReport {
    let (target, load_target) = mock_with(faults).await;
    let opts = LoadOptions {
        endpoints,
        concurrency: 8,
        page_size: 64,
        ..LoadOptions::default()
    };
    let report = run_load(load_target, client(), &opts).await;
    target.shutdown().await;
    report
}

/// The load counts answers and reports none, so it must not record an `Exchange` per
/// request (a copy, a hash and a redaction of each body, list pages of hundreds of
/// kilobytes among them); a plain `send` on the same client still records one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_records_no_exchanges() {
    let (target, load_target) = mock_with(&[]).await;
    let opts = LoadOptions {
        endpoints: 40,
        concurrency: 4,
        page_size: 16,
        ..LoadOptions::default()
    };
    let http = client();
    let report = run_load(load_target.clone(), http.clone(), &opts).await;
    assert!(report.passed(), "{:?}", report.problems);
    assert_eq!(report.pages, 3);
    assert_eq!(http.exchanges_recorded(), 0, "the load recorded exchanges");
    let req = thoth_conformance::client::HttpRequest {
        method: "GET".into(),
        url: format!("{}/thoth/endpoints/stats", load_target.tenant_base),
        headers: vec![load_target.credential.clone()],
        body: None,
    };
    let (exchange, result) = http.send(&req).await;
    assert_eq!(result.expect("stats answer").status, 200);
    assert_eq!(exchange.status, Some(200));
    assert_eq!(http.exchanges_recorded(), 1);
    target.shutdown().await;
}

fn op(report: &LoadReport, op: Op) -> &thoth_conformance::load::latency::OpSummary {
    report
        .ops
        .iter()
        .find(|s| s.op == op)
        .expect("every op is summarised")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_mock_shows_exactly_n_more_endpoints() {
    let r = load_against_mock(&[], 200).await;
    assert!(r.passed(), "problems: {:?}", r.problems);
    assert_eq!((r.registered, r.checked_in), (200, 200));
    let (before, after) = (r.before.unwrap(), r.after.unwrap());
    assert_eq!(after.total - before.total, 200);
    assert_eq!(after.online - before.online, 200);
    assert_eq!((r.listed, r.listed_checked_in), (200, 200));
    assert_eq!(r.pages, 4, "200 rows at 64 per page");
    assert_eq!(op(&r, Op::Register).count, 200);
    assert_eq!(op(&r, Op::Checkin).errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_ins_missing_from_the_stats_fail_the_load() {
    let r = load_against_mock(&["checkin-ignores-stats"], 200).await;
    assert!(!r.passed());
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("stats online grew by 0")),
        "{:?}",
        r.problems
    );
    assert!(
        r.problems.iter().any(|p| p.contains("show no check-in")),
        "{:?}",
        r.problems
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_requests_are_retried_after_retry_after_and_pages_are_followed() {
    let mut config = mock_govapi::MockConfig::dev_default();
    // Every 25th request is refused with 429 `Retry-After: 1`; lists serve 30 rows a page
    // whatever the client asks.
    config.realism.rate_limit_every = Some(25);
    config.realism.page_size = Some(30);
    let mock = mock_govapi::spawn(config).await.expect("start mock");
    let target = LoadTarget {
        tenant_base: format!("{}/{}", mock.base_url, mock_govapi::DEV_TENANT),
        credential: (
            "authorization".into(),
            format!("Bearer {}", mock_govapi::DEV_ADMIN_TOKEN),
        ),
    };
    let opts = LoadOptions {
        endpoints: 100,
        concurrency: 8,
        page_size: 1000,
        ..LoadOptions::default()
    };
    let r = run_load(target, client(), &opts).await;
    mock.shutdown().await;
    assert!(r.passed(), "problems: {:?}", r.problems);
    assert_eq!((r.listed, r.listed_checked_in), (100, 100));
    assert!(
        r.pages >= 4,
        "forced 30-row pages were followed: {} page(s)",
        r.pages
    );
    let retries: u64 = r.ops.iter().map(|s| s.retries).sum();
    let errors: u64 = r.ops.iter().map(|s| s.errors).sum();
    assert!(
        retries > 0,
        "the mock refused some requests, none were retried"
    );
    assert_eq!(errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_without_retries_left_counts_as_errors() {
    let mut config = mock_govapi::MockConfig::dev_default();
    config.realism.rate_limit_every = Some(5);
    let mock = mock_govapi::spawn(config).await.expect("start mock");
    let target = LoadTarget {
        tenant_base: format!("{}/{}", mock.base_url, mock_govapi::DEV_TENANT),
        credential: (
            "authorization".into(),
            format!("Bearer {}", mock_govapi::DEV_ADMIN_TOKEN),
        ),
    };
    let opts = LoadOptions {
        endpoints: 20,
        concurrency: 4,
        max_attempts: 1,
        ..LoadOptions::default()
    };
    let r = run_load(target, client(), &opts).await;
    mock.shutdown().await;
    assert!(!r.passed());
    let errors: u64 = r.ops.iter().map(|s| s.errors).sum();
    assert!(errors > 0);
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("status 429 (rate_limited)")),
        "{:?}",
        r.problems
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_exits_0_on_exact_counts_and_1_otherwise() {
    let ok = Cli::parse_from(["thoth-conformance", "load", "--endpoints", "40", "--quiet"]);
    assert_eq!(dispatch(ok).await, 0);
    let broken = Cli::parse_from([
        "thoth-conformance",
        "load",
        "--endpoints",
        "40",
        "--quiet",
        "--mock-fault",
        "checkin-ignores-stats",
    ]);
    assert_eq!(dispatch(broken).await, 1);
    let bad = Cli::parse_from(["thoth-conformance", "load", "--endpoints", "0"]);
    assert_eq!(dispatch(bad).await, 2);
}
