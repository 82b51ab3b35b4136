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

use crate::mock_bin::mock_binary;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use thoth_conformance::outcome::{RunResult, Status};
use thoth_conformance::redact::Redactor;
use thoth_conformance::session::{self, SessionOptions};
use thoth_conformance::suite::load::{load_project, Project};
use thoth_conformance::target::{MockOptions, Target};
use tokio::sync::Semaphore;

use crate::stand_in;

/// Runs in flight at once, each with its own mock. A run mostly waits (polls of a sync
/// job, a sink), and on the mock target poll timeouts are capped
/// (`target::MOCK_POLL_TIMEOUT_CAP`), so all runs go at once and the matrix takes about
/// as long as its slowest run (a fault that makes a poll time out).
const PARALLEL_RUNS: usize = 16;

/// One budget of runs in flight for every test of this file (they run at once, each
/// on its own runtime): past about this many on a loaded 2-core machine, single
/// requests starve past the client's 10 s timeout and a healthy run reads as broken.
static RUN_SLOTS: Semaphore = Semaphore::const_new(PARALLEL_RUNS);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KillMatrix {
    pub(crate) faults: BTreeMap<String, KilledBy>,
    /// Fault modes of the stand-in thothctl (`THOTHCTL_SIM_FAULT`).
    pub(crate) stand_in_faults: BTreeMap<String, KilledBy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KilledBy {
    pub(crate) why: String,
    pub(crate) fails: Vec<String>,
    /// Cases that must end `error` (a suite setup the fault breaks: its cases are not
    /// run, which is not a verdict of their own); every other case must not error.
    #[serde(default)]
    pub(crate) errors: Vec<String>,
    /// Cases that fail or pass under this fault depending on how the phases interleave
    /// (another phase rewrites what they read meanwhile); `why` says how. Never a case
    /// of `fails`: those must fail on every run.
    #[serde(default)]
    pub(crate) may_fail: Vec<String>,
    /// Set (with `fails: []`) for a fault no shipped case can see yet, saying what will
    /// catch it. Such a fault must fail nothing (checked like any other row) and is
    /// reported as not caught, never counted as caught.
    #[serde(default)]
    pub(crate) awaiting: Option<String>,
    /// Run this fault against a busy tenant (the [`PRE_EXISTING`] endpoints, sorting
    /// either side of the run's) instead of a clean one: a paging fault shows only on a
    /// list longer than a page, and a clean tenant's lists are one page.
    #[serde(default)]
    pub(crate) busy: bool,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn project() -> Project {
    load_project(&root().join("suites"), &root().join("fixtures"))
        .unwrap_or_else(|d| panic!("failed to load the shipped suites:\n{d}"))
}

/// `tests/kill_matrix.yaml`, parsed (also read by `suite_files`).
pub(crate) fn reviewed_matrix() -> KillMatrix {
    let path = root().join("tests/kill_matrix.yaml");
    let text = fs::read_to_string(&path).expect("failed to read tests/kill_matrix.yaml");
    serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("failed to parse kill_matrix.yaml: {e}"))
}

/// How the tenant looks before the run: the page size its lists answer with, and
/// whether it already holds endpoints whose ids sort before and after the run's.
#[derive(Debug, Clone, Copy, Default)]
struct Tenant {
    page_size: Option<usize>,
    busy: bool,
}

/// Endpoints a busy tenant holds before the run: more than a page of 5 on each side of
/// `conformance-canary`.
const PRE_EXISTING: [&str; 14] = [
    "aaa-0", "aaa-1", "aaa-2", "aaa-3", "aaa-4", "aaa-5", "aaa-6", "zzz-0", "zzz-1", "zzz-2",
    "zzz-3", "zzz-4", "zzz-5", "zzz-6",
];

/// Registers [`PRE_EXISTING`] on the tenant at `base` (`{govapi}/{tenant}`), as another
/// team would have.
async fn register_pre_existing(base: &str, token: &str) {
    let client = reqwest::Client::new();
    for id in PRE_EXISTING {
        let body = serde_json::json!({
            "endpoint_id": id, "hostname": format!("{id}.local"), "enrollment": "manual",
            "environment": "prod", "proxy_version": "0.2.8", "status": "active",
        });
        let answer = client
            .post(format!("{base}/thoth/endpoints"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("failed to register {id}: {e}"));
        assert!(
            answer.status().is_success(),
            "registering {id}: {}",
            answer.status()
        );
    }
}

/// One full run of every suite against a fresh mock with these faults, the thothctl
/// cases run by the stand-in (with `stand_in_fault`, if any).
async fn run_against_mock(
    project: &Project,
    faults: &[&str],
    stand_in_fault: Option<&str>,
) -> RunResult {
    run_against(project, faults, stand_in_fault, Tenant::default()).await
}

async fn run_against(
    project: &Project,
    faults: &[&str],
    stand_in_fault: Option<&str>,
    tenant: Tenant,
) -> RunResult {
    let redactor = Redactor::new();
    let options = MockOptions {
        faults: faults.iter().map(|f| f.to_string()).collect(),
        page_size: tenant.page_size,
    };
    let target = Target::start_mock(&options, &redactor)
        .await
        .unwrap_or_else(|e| panic!("failed to start the mock with {faults:?}: {e}"));
    if tenant.busy {
        let token = thoth_conformance::target::exposed(&target.admin_token).expect("a token");
        register_pre_existing(&target.tenant_base(), token).await;
    }
    let mut thothctl = stand_in::stand_in();
    if let Some(f) = stand_in_fault {
        thothctl = thothctl.with_env(thothctl_sim::FAULT_ENV, f);
    }
    let target = target.with_thothctl(Some(thothctl));
    let reports = tempfile::tempdir().expect("a reports directory");
    let opts = session_options(reports.path().to_path_buf());
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
        "{faults:?} {tenant:?}, stand-in fault {stand_in_fault:?}: cleanup incomplete:\n{}",
        match &outcome.cleanup {
            Ok(c) => c.render(&redactor),
            Err(e) => redactor.redact(e),
        }
    );
    outcome.result
}

/// The run's options: the CLI's, with a longer request timeout. Dozens of runs share
/// a 2-core CI machine here, and a mock answer starved past the 10 s default read as a
/// broken tenant (a cleanup request timing out); no fault of the matrix is a slow
/// answer, so the verdicts do not depend on it.
fn session_options(reports: PathBuf) -> SessionOptions {
    let mut opts = SessionOptions::new(reports);
    opts.client.request_timeout = std::time::Duration::from_secs(60);
    opts
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

/// The cases that failed, errored or were skipped, explained: a healthy mock must
/// leave this empty.
fn not_passing(result: &RunResult) -> Vec<String> {
    [Status::Fail, Status::Error, Status::Skip]
        .into_iter()
        .map(|s| explain(result, s))
        .filter(|s| !s.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_mock_passes_every_case() {
    let project = project();
    let result = {
        let _slot = RUN_SLOTS.acquire().await.expect("semaphore closed");
        run_against_mock(&project, &[], None).await
    };
    let bad = not_passing(&result);
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

/// The healthy mock passes every case as a busy tenant answers too: lists capped at 5
/// rows a page, clean and with endpoints that sort before and after the canary (the
/// suites must page to their own rows, and the page walk finds nothing lost or
/// duplicated).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_mock_passes_every_case_when_lists_page() {
    let project = project();
    for tenant in [
        Tenant {
            page_size: Some(5),
            busy: false,
        },
        Tenant {
            page_size: Some(5),
            busy: true,
        },
    ] {
        let result = {
            let _slot = RUN_SLOTS.acquire().await.expect("semaphore closed");
            run_against(&project, &[], None, tenant).await
        };
        let bad = not_passing(&result);
        assert!(
            bad.is_empty(),
            "{tenant:?}: cases that fail, error or skip against a healthy mock:\n{}",
            bad.join("\n")
        );
    }
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
    let mut runs = tokio::task::JoinSet::new();
    for fault in mock_govapi::Fault::ALL {
        let project = Arc::clone(&project);
        let tenant = Tenant {
            page_size: None,
            busy: matrix.faults[fault.name()].busy,
        };
        runs.spawn(async move {
            let _slot = RUN_SLOTS.acquire().await.expect("semaphore closed");
            (
                fault.name(),
                false,
                run_against(&project, &[fault.name()], None, tenant).await,
            )
        });
    }
    for fault in thothctl_sim::Fault::ALL {
        let project = Arc::clone(&project);
        runs.spawn(async move {
            let _slot = RUN_SLOTS.acquire().await.expect("semaphore closed");
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
        let maybe: BTreeSet<String> = reviewed.may_fail.iter().cloned().collect();
        assert!(
            expected.is_disjoint(&maybe),
            "{fault}: a case is both in fails and may_fail"
        );
        let failed: BTreeSet<String> = failed.difference(&maybe).cloned().collect();
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
        let errored = names_with(result, Status::Error);
        let expected_errors: BTreeSet<String> = reviewed.errors.iter().cloned().collect();
        if errored != expected_errors {
            problems.push(format!(
                "{fault}: errored {:?}, reviewed {:?} (an unexpected error is harness breakage, not a verdict):\n{}",
                errored,
                expected_errors,
                explain(result, Status::Error)
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
        "kill matrix, in-process mock: {caught}/{} faults caught (mock and stand-in); not yet caught by any case: {}",
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

/// A mock-govapi process started the way a tenant stand-in is (auth on, two tenants);
/// killed when dropped.
struct MockProcess {
    child: std::process::Child,
    url: String,
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const LIVE_TENANT: &str = "acme";

fn start_mock_binary(fault: Option<&str>, token: &str) -> MockProcess {
    use std::io::BufRead as _;
    let mut cmd = std::process::Command::new(mock_binary());
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--tenant",
        LIVE_TENANT,
        "--tenant",
        "globex",
    ])
    .arg("--admin-token")
    .arg(format!("{LIVE_TENANT}={token}"))
    .args(["--admin-token", "globex=adm_other_tenant_kill_matrix"])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null());
    if let Some(f) = fault {
        cmd.args(["--fault", f]);
    }
    let mut child = cmd.spawn().expect("failed to start mock-govapi");
    let stdout = child.stdout.take().expect("the mock's stdout");
    let mut lines = std::io::BufReader::new(stdout);
    let mut first = String::new();
    lines.read_line(&mut first).expect("the mock's first line");
    // Keep draining its stdout so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in the mock's first line: {first:?}"))
        .trim_end_matches('/')
        .to_owned();
    MockProcess { child, url }
}

/// One run of every suite with `thoth-conformance run --target live`'s target and
/// default profile against a mock-govapi binary with this fault, thothctl cases by the
/// stand-in.
/// `Err` when the run refused to start (a located message, exit 2): a fault that
/// breaks the settings write is seen before anything else, by the tenant lease.
async fn run_against_binary(
    project: &Project,
    fault: Option<&str>,
    busy: bool,
) -> Result<RunResult, String> {
    let dir = tempfile::tempdir().expect("a temp dir");
    let token = format!("adm_kill_matrix_{}", uuid_like());
    let token_file = dir.path().join("token");
    fs::write(&token_file, &token).expect("write the token file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&token_file, fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let mock = tokio::task::spawn_blocking({
        let (fault, token) = (fault.map(str::to_owned), token.clone());
        move || start_mock_binary(fault.as_deref(), &token)
    })
    .await
    .expect("the mock start panicked");
    let u = mock.url.clone();
    if busy {
        register_pre_existing(&format!("{u}/{LIVE_TENANT}"), &token).await;
    }
    let redactor = Redactor::new();
    let opts = thoth_conformance::target::LiveOptions {
        tenant_id: Some(LIVE_TENANT.into()),
        govapi_url: Some(u.clone()),
        api_url: Some(u.clone()),
        auth_token_file: Some(token_file),
        other_tenant_id: Some("globex".into()),
        webhook_url: Some(format!("{u}/__sink/siem")),
        webhook_secret: Some("whsec_kill_matrix_live".into()),
        pam_callback_secret: Some("pamsec_kill_matrix_live".into()),
        sink_url: Some(format!("{u}/__sink")),
        ..Default::default()
    };
    let target = Target::live(&opts, &|_| None, &redactor)
        .unwrap_or_else(|e| panic!("failed to configure the live target: {e}"))
        .with_thothctl(Some(stand_in::stand_in()));
    let opts = session_options(dir.path().join("reports"));
    let outcome = session::run(project, &target, &opts, &redactor, None).await;
    target.shutdown().await;
    drop(mock);
    let outcome = outcome.map_err(|e| redactor.redact(&e.to_string()))?;
    assert!(
        outcome.report_errors.is_empty() && outcome.leaks.is_empty(),
        "live {fault:?}: reports {:?}, leaks {}",
        outcome.report_errors,
        outcome.leaks.len()
    );
    assert!(
        fault.is_some() || matches!(&outcome.cleanup, Ok(c) if c.complete),
        "live, healthy: cleanup incomplete"
    );
    Ok(outcome.result)
}

/// A fresh 32-hex-digit suffix (tokens must differ between runs).
fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:032x}")
}

/// The kill matrix against the mock-govapi binary as a live target (default profile),
/// as the owners judge: the healthy binary fails and errors nothing (asserted); each
/// fault's run is scored, and where it fails cases its row does not name (the mock-only
/// cases are disabled there) or errors, that is printed with the score.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_against_the_mock_binary_as_a_live_target() {
    let matrix = reviewed_matrix();
    let project = Arc::new(project());
    let started = std::time::Instant::now();
    let healthy = {
        let _slot = RUN_SLOTS.acquire().await.expect("semaphore closed");
        run_against_binary(&project, None, false)
            .await
            .unwrap_or_else(|e| panic!("the healthy live run did not start: {e}"))
    };
    let bad: Vec<_> = [Status::Fail, Status::Error]
        .into_iter()
        .map(|s| explain(&healthy, s))
        .filter(|s| !s.is_empty())
        .collect();
    assert!(
        bad.is_empty(),
        "cases that fail or error against the healthy binary as a live target:\n{}",
        bad.join("\n")
    );
    let mut runs = tokio::task::JoinSet::new();
    for fault in mock_govapi::Fault::ALL {
        let project = Arc::clone(&project);
        let busy = matrix.faults[fault.name()].busy;
        runs.spawn(async move {
            let _slot = RUN_SLOTS.acquire().await.expect("semaphore closed");
            (
                fault.name(),
                run_against_binary(&project, Some(fault.name()), busy).await,
            )
        });
    }
    let mut problems = Vec::new();
    let mut caught = Vec::new();
    let mut missed = Vec::new();
    let mut refused = Vec::new();
    while let Some(joined) = runs.join_next().await {
        let (fault, result) = joined.expect("a live kill-matrix run panicked");
        let result = match result {
            Ok(r) => r,
            Err(why) => {
                // Caught before any case: the run refused the tenant, saying why.
                refused.push(format!("{fault} ({why})"));
                continue;
            }
        };
        let row = &matrix.faults[fault];
        let reviewed: BTreeSet<String> = row.fails.iter().chain(&row.may_fail).cloned().collect();
        let failed = names_with(&result, Status::Fail);
        let unexpected: Vec<_> = failed.difference(&reviewed).collect();
        if !unexpected.is_empty() {
            problems.push(format!(
                "{fault}: live run failed cases the row does not name: {unexpected:?}\n{}",
                explain(&result, Status::Fail)
            ));
        }
        let allowed: BTreeSet<String> = row.errors.iter().cloned().collect();
        let errored = names_with(&result, Status::Error);
        if !errored.is_subset(&allowed) {
            problems.push(format!(
                "{fault}: live run errored:\n{}",
                explain(&result, Status::Error)
            ));
        }
        if failed.is_empty() {
            missed.push(fault);
        } else {
            caught.push(fault);
        }
    }
    missed.sort_unstable();
    let total = mock_govapi::Fault::ALL.len();
    refused.sort_unstable();
    println!(
        "kill matrix, mock-govapi binary as a live target (default profile): {}/{total} faults caught ({} by failing cases, {} by the run refusing to start: {}) in {:.0?}; not caught there: {}",
        caught.len() + refused.len(),
        caught.len(),
        refused.len(),
        refused.join("; "),
        started.elapsed(),
        if missed.is_empty() { "none".to_owned() } else { missed.join(", ") }
    );
    // Printed, not asserted: on a loaded 2-core machine a live run (no poll caps, a
    // process per mock) sees starved answers the in-process matrix does not; the
    // healthy live run above is asserted, and the exact matrix is the in-process one.
    if !problems.is_empty() {
        println!(
            "live kill matrix, differences from the reviewed rows:\n{}",
            problems.join("\n")
        );
    }
}
