//! Fleet load mode: register N run-unique endpoints, check each in, then verify that
//! the tenant's stats and its endpoint list show exactly N more endpoints, all checked
//! in. Reports latency per operation and error counts.
//!
//! Ids are `load-<run_id>-<i>` in environment and fleet `load-<run_id>`, so a run never
//! collides with another on a shared tenant and its endpoints can be listed alone.

pub mod latency;
pub mod pace;
pub mod progress;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use serde_json::Value;

use crate::client::{HttpClient, HttpRequest, HttpResponse, TransportError};
use latency::{Latencies, Op, OpSummary};
use pace::{After, Pace};
use progress::{Progress, ProgressMode};

/// The endpoint the load talks to: tenant base URL and the one credential header.
#[derive(Clone)]
pub struct LoadTarget {
    /// `{govapi_url}/{tenant}`.
    pub tenant_base: String,
    /// e.g. `("authorization", "Bearer ...")`; a secret, never printed.
    pub credential: (String, String),
}

impl std::fmt::Debug for LoadTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadTarget")
            .field("tenant_base", &self.tenant_base)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub endpoints: usize,
    /// Endpoints in flight at once (each: register, then check in).
    pub concurrency: usize,
    /// Global requests per second; None = as fast as the target answers.
    pub rate: Option<f64>,
    /// Fixed run id (tests); random otherwise.
    pub run_id: Option<String>,
    /// `per_page` when listing the run's endpoints back.
    pub page_size: usize,
    /// Attempts per request at most (the first included).
    pub max_attempts: u32,
    pub progress: ProgressMode,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            endpoints: 1000,
            concurrency: 32,
            rate: None,
            run_id: None,
            page_size: 1000,
            max_attempts: 6,
            progress: ProgressMode::Off,
        }
    }
}

/// `total` and `online` of `GET /endpoints/stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FleetCounts {
    pub total: i64,
    pub online: i64,
}

#[derive(Debug, Clone)]
pub struct LoadReport {
    pub run_id: String,
    pub endpoints: usize,
    pub registered: usize,
    pub checked_in: usize,
    pub before: Option<FleetCounts>,
    pub after: Option<FleetCounts>,
    /// The run's endpoints found by paging through the list filtered by environment.
    pub listed: usize,
    /// Of those, how many show a check-in (`last_seen` set).
    pub listed_checked_in: usize,
    pub pages: usize,
    /// Registration plus check-in of every endpoint.
    pub fleet_time: Duration,
    pub wall_time: Duration,
    pub ops: Vec<OpSummary>,
    /// Why the run does not pass; empty = counts exact and no errors.
    pub problems: Vec<String>,
    /// The first request never got an HTTP answer: nothing else was tried.
    pub unreachable: Option<String>,
}

impl LoadReport {
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.unreachable.is_none()
    }
}

pub fn endpoint_id(run_id: &str, i: usize) -> String {
    format!("load-{run_id}-{i}")
}

pub fn environment(run_id: &str) -> String {
    format!("load-{run_id}")
}

/// The runbook's Option B registration body, made run-unique.
fn register_body(run_id: &str, i: usize) -> Vec<u8> {
    let id = endpoint_id(run_id, i);
    let env = environment(run_id);
    format!(
        r#"{{"endpoint_id":"{id}","hostname":"{id}.local","employee_email":"load@example.com","enrollment":"manual","environment":"{env}","fleet_id":"{env}","proxy_version":"0.2.8","agent_ids":["filesystem-safe"]}}"#
    )
    .into_bytes()
}

/// The runbook's check-in body.
const CHECKIN_BODY: &[u8] = br#"{"proxy_version":"0.2.8","agent_ids":["filesystem-safe"],"risk_score":10,"violations_today":0,"sessions_today":1}"#;

struct Ctx {
    client: HttpClient,
    target: LoadTarget,
    pace: Pace,
    lat: Latencies,
    max_attempts: u32,
}

/// Why one operation did not succeed; status-level only, never a body with secrets.
#[derive(Debug, Clone)]
enum OpError {
    Transport(TransportError),
    Status(u16, String),
    /// A 2xx answer of the wrong shape.
    Invalid(String),
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpError::Transport(e) => write!(f, "{e}"),
            OpError::Invalid(e) => write!(f, "{e}"),
            OpError::Status(s, code) if code.is_empty() => write!(f, "status {s}"),
            OpError::Status(s, code) => write!(f, "status {s} ({code})"),
        }
    }
}

impl Ctx {
    /// Sends with pacing and the retry policy of `op`; Ok for a 2xx answer.
    async fn send(
        &self,
        op: Op,
        method: &str,
        url: String,
        body: Option<Vec<u8>>,
    ) -> Result<HttpResponse, OpError> {
        let mut headers = vec![self.target.credential.clone()];
        if body.is_some() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        let req = HttpRequest {
            method: method.into(),
            url,
            headers,
            body,
        };
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            self.pace.wait().await;
            let started = Instant::now();
            let result = self.client.send_unrecorded(&req).await;
            self.lat.sample(op, started.elapsed());
            let resp = match result {
                Ok(r) => r,
                Err(e) => break Err(OpError::Transport(e)),
            };
            if (200..300).contains(&resp.status) {
                break Ok(resp);
            }
            match pace::after(op, resp.status, resp.header("retry-after"), attempt) {
                After::RetryIn(wait) if attempt < self.max_attempts => {
                    self.lat.retry(op);
                    tokio::time::sleep(wait).await;
                }
                _ => break Err(OpError::Status(resp.status, error_code(&resp))),
            }
        };
        if outcome.is_err() {
            self.lat.error(op);
        }
        outcome
    }

    async fn stats(&self) -> Result<FleetCounts, OpError> {
        let url = format!("{}/thoth/endpoints/stats", self.target.tenant_base);
        let resp = self.send(Op::Stats, "GET", url, None).await?;
        let doc: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| OpError::Invalid(format!("stats are not JSON: {e}")))?;
        let field = |name: &str| {
            doc.get(name)
                .and_then(Value::as_i64)
                .ok_or_else(|| OpError::Invalid(format!("stats have no integer `{name}`")))
        };
        Ok(FleetCounts {
            total: field("total")?,
            online: field("online")?,
        })
    }
}

/// The GovAPI `error` code of an error answer, if it has one (short, no secrets).
fn error_code(resp: &HttpResponse) -> String {
    serde_json::from_slice::<Value>(&resp.body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
        .map(|c| c.chars().take(64).collect())
        .unwrap_or_default()
}

/// Counts of the fleet phase, shared by the workers.
#[derive(Default)]
struct FleetTally {
    registered: std::sync::atomic::AtomicUsize,
    checked_in: std::sync::atomic::AtomicUsize,
    /// First few distinct failure messages, for the report.
    first_errors: std::sync::Mutex<Vec<String>>,
}

impl FleetTally {
    fn note(&self, what: String) {
        let mut e = self.first_errors.lock().unwrap_or_else(|e| e.into_inner());
        if e.len() < 5 && !e.contains(&what) {
            e.push(what);
        }
    }
}

/// Runs the load. Never panics on a bad target: everything ends up in the report.
pub async fn run_load(target: LoadTarget, client: HttpClient, opts: &LoadOptions) -> LoadReport {
    let started = Instant::now();
    let run_id = opts.run_id.clone().unwrap_or_else(crate::stamp::new_run_id);
    let ctx = Arc::new(Ctx {
        client,
        target,
        pace: Pace::new(opts.rate),
        lat: Latencies::default(),
        max_attempts: opts.max_attempts.max(1),
    });
    let mut report = LoadReport {
        run_id: run_id.clone(),
        endpoints: opts.endpoints,
        registered: 0,
        checked_in: 0,
        before: None,
        after: None,
        listed: 0,
        listed_checked_in: 0,
        pages: 0,
        fleet_time: Duration::ZERO,
        wall_time: Duration::ZERO,
        ops: Vec::new(),
        problems: Vec::new(),
        unreachable: None,
    };
    match ctx.stats().await {
        Ok(c) => report.before = Some(c),
        Err(OpError::Transport(e @ TransportError::Connect(..))) => {
            report.unreachable = Some(e.to_string());
            report.ops = ctx.lat.summary();
            report.wall_time = started.elapsed();
            return report;
        }
        Err(e) => report
            .problems
            .push(format!("failed to read stats before: {e}")),
    }

    let tally = Arc::new(FleetTally::default());
    let progress = Progress::new(opts.endpoints, opts.progress);
    let (stop_bar, bar_stopped) = tokio::sync::oneshot::channel();
    let bar = tokio::spawn(progress.clone().run_bar(bar_stopped));
    let fleet_started = Instant::now();
    futures::stream::iter(0..opts.endpoints)
        .for_each_concurrent(opts.concurrency.max(1), |i| {
            let (ctx, tally, progress, run_id) =
                (ctx.clone(), tally.clone(), progress.clone(), &run_id);
            async move {
                one_endpoint(&ctx, &tally, run_id, i).await;
                progress.tick();
            }
        })
        .await;
    report.fleet_time = fleet_started.elapsed();
    let _ = stop_bar.send(());
    let _ = bar.await;
    report.registered = tally.registered.load(std::sync::atomic::Ordering::Relaxed);
    report.checked_in = tally.checked_in.load(std::sync::atomic::Ordering::Relaxed);
    for e in tally
        .first_errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        report.problems.push(e.clone());
    }
    if report.registered != opts.endpoints {
        report.problems.push(format!(
            "registered {} of {} endpoints",
            report.registered, opts.endpoints
        ));
    }
    if report.checked_in != opts.endpoints {
        report.problems.push(format!(
            "checked in {} of {} endpoints",
            report.checked_in, opts.endpoints
        ));
    }

    match ctx.stats().await {
        Ok(after) => {
            report.after = Some(after);
            if let Some(before) = report.before {
                check_delta(
                    &mut report.problems,
                    "total",
                    before.total,
                    after.total,
                    opts.endpoints,
                );
                check_delta(
                    &mut report.problems,
                    "online",
                    before.online,
                    after.online,
                    opts.endpoints,
                );
            }
        }
        Err(e) => report
            .problems
            .push(format!("failed to read stats after: {e}")),
    }
    verify_list(&ctx, opts, &mut report).await;
    report.ops = ctx.lat.summary();
    report.wall_time = started.elapsed();
    report
}

fn check_delta(problems: &mut Vec<String>, name: &str, before: i64, after: i64, n: usize) {
    let delta = after - before;
    if delta != n as i64 {
        problems.push(format!(
            "stats {name} grew by {delta} ({before} -> {after}), expected exactly {n}"
        ));
    }
}

/// Register, then check in (only once registered: a check-in of an unknown endpoint is
/// a 404 that would only count the same failure twice).
async fn one_endpoint(ctx: &Ctx, tally: &FleetTally, run_id: &str, i: usize) {
    use std::sync::atomic::Ordering::Relaxed;
    let base = &ctx.target.tenant_base;
    let url = format!("{base}/thoth/endpoints");
    if let Err(e) = ctx
        .send(Op::Register, "POST", url, Some(register_body(run_id, i)))
        .await
    {
        tally.note(format!("failed to register an endpoint: {e}"));
        return;
    }
    tally.registered.fetch_add(1, Relaxed);
    let url = format!("{base}/thoth/endpoints/{}/checkin", endpoint_id(run_id, i));
    match ctx
        .send(Op::Checkin, "POST", url, Some(CHECKIN_BODY.to_vec()))
        .await
    {
        Ok(_) => {
            tally.checked_in.fetch_add(1, Relaxed);
        }
        Err(e) => tally.note(format!("failed to check an endpoint in: {e}")),
    }
}

/// One page of `GET /endpoints`, as far as the verification reads it.
#[derive(Debug, Default, PartialEq)]
struct ListPage {
    data: Vec<ListRow>,
    total: Option<usize>,
    per_page: Option<usize>,
}

/// One row: its id, when a string, and whether `last_seen` is set (not null).
#[derive(Debug, PartialEq)]
struct ListRow {
    endpoint_id: Option<String>,
    checked_in: bool,
}

/// The typed reading: only the three fields and each row's two are kept, the rest of
/// a page (some 700 bytes a row) is skipped without building a `Value` of it.
#[derive(serde::Deserialize)]
struct TypedPage {
    data: Option<Vec<TypedRow>>,
    total: Option<u64>,
    per_page: Option<u64>,
}

#[derive(serde::Deserialize)]
struct TypedRow {
    endpoint_id: Option<String>,
    last_seen: Option<serde::de::IgnoredAny>,
}

impl ListPage {
    /// None when the body is not a JSON object. A page the typed reading refuses (a
    /// field of an unexpected type) is read leniently from a `Value`, as before: a
    /// missing or non-array `data` is no rows, a non-integer count is none, a row
    /// without a string `endpoint_id` is foreign.
    fn parse(body: &[u8]) -> Option<ListPage> {
        if let Ok(page) = serde_json::from_slice::<TypedPage>(body) {
            return Some(ListPage {
                data: page
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|row| ListRow {
                        endpoint_id: row.endpoint_id,
                        checked_in: row.last_seen.is_some(),
                    })
                    .collect(),
                total: page.total.map(|n| n as usize),
                per_page: page.per_page.map(|n| n as usize),
            });
        }
        let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(body) else {
            return None;
        };
        let number = |v: Option<&Value>| v.and_then(Value::as_u64).map(|n| n as usize);
        let rows = match doc.remove("data") {
            Some(Value::Array(rows)) => rows,
            _ => Vec::new(),
        };
        Some(ListPage {
            data: rows
                .iter()
                .map(|row| ListRow {
                    endpoint_id: row
                        .get("endpoint_id")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    checked_in: row.get("last_seen").is_some_and(|v| !v.is_null()),
                })
                .collect(),
            total: number(doc.get("total")),
            per_page: number(doc.get("per_page")),
        })
    }
}

/// Pages through `GET /endpoints?env=load-<run_id>` and checks that it holds exactly the
/// run's endpoints, each once, each checked in.
async fn verify_list(ctx: &Ctx, opts: &LoadOptions, report: &mut LoadReport) {
    let env = environment(&report.run_id);
    let prefix = format!("{env}-");
    let per_page = opts.page_size.max(1);
    // The server may cap `per_page` (a busy tenant does), so paging goes on until the
    // rows seen reach the list's `total`, or a page comes back empty or short; a server
    // that ignores `page` and repeats itself is stopped by the duplicate check below.
    let mut seen: HashSet<String> = HashSet::with_capacity(opts.endpoints);
    let mut duplicates = 0usize;
    let mut foreign = 0usize;
    let mut rows_seen = 0usize;
    let mut page = 0usize;
    loop {
        page += 1;
        let url = format!(
            "{}/thoth/endpoints?env={env}&page={page}&per_page={per_page}",
            ctx.target.tenant_base
        );
        let resp = match ctx.send(Op::List, "GET", url, None).await {
            Ok(r) => r,
            Err(e) => {
                report
                    .problems
                    .push(format!("failed to list endpoints (page {page}): {e}"));
                return;
            }
        };
        report.pages = page;
        let Some(ListPage {
            data: rows,
            total,
            per_page: served_per_page,
        }) = ListPage::parse(&resp.body)
        else {
            report.problems.push(format!(
                "endpoint list page {page} is not {{\"data\":[...]}}"
            ));
            return;
        };
        if rows.is_empty() {
            break;
        }
        let got = rows.len();
        rows_seen += got;
        let mut new_on_page = 0usize;
        for row in rows {
            let id = row.endpoint_id.unwrap_or_default();
            if !id.starts_with(&prefix) {
                foreign += 1;
                continue;
            }
            if !seen.insert(id) {
                duplicates += 1;
            } else {
                new_on_page += 1;
                if row.checked_in {
                    report.listed_checked_in += 1;
                }
            }
        }
        let done = match total {
            Some(total) => rows_seen >= total,
            None => got < served_per_page.unwrap_or(per_page),
        };
        if done || new_on_page == 0 {
            break;
        }
    }
    report.listed = seen.len();
    let n = opts.endpoints;
    if report.listed != n {
        report.problems.push(format!(
            "the list filtered by environment {env} holds {} of the run's {n} endpoints",
            report.listed
        ));
    }
    if report.listed_checked_in != report.listed {
        report.problems.push(format!(
            "{} listed endpoint(s) show no check-in (last_seen)",
            report.listed - report.listed_checked_in
        ));
    }
    if duplicates > 0 {
        report.problems.push(format!(
            "{duplicates} endpoint(s) appear on more than one list page"
        ));
    }
    if foreign > 0 {
        report.problems.push(format!(
            "{foreign} row(s) outside environment {env} in the filtered list"
        ));
    }
}

/// The report as text (the latency table included), for the console.
pub fn render(report: &LoadReport, target_label: &str) -> String {
    let mut out = format!(
        "load: run {}, {} endpoint(s), target {target_label}\n",
        report.run_id, report.endpoints
    );
    if let Some(e) = &report.unreachable {
        out.push_str(&format!("TARGET UNREACHABLE: {e}\n"));
        return out;
    }
    let secs = report.fleet_time.as_secs_f64().max(1e-9);
    let requests = (report.registered + report.checked_in) as f64;
    out.push_str(&format!(
        "registered {}, checked in {} in {:.2} s ({:.0} endpoints/s, {:.0} requests/s); whole run {:.2} s\n",
        report.registered,
        report.checked_in,
        secs,
        report.checked_in as f64 / secs,
        requests / secs,
        report.wall_time.as_secs_f64()
    ));
    out.push_str(&latency::table(&report.ops));
    out.push('\n');
    if let (Some(b), Some(a)) = (report.before, report.after) {
        out.push_str(&format!(
            "stats: total {} -> {} ({:+}), online {} -> {} ({:+}); expected +{}\n",
            b.total,
            a.total,
            a.total - b.total,
            b.online,
            a.online,
            a.online - b.online,
            report.endpoints
        ));
    }
    out.push_str(&format!(
        "list (environment {}, {} page(s)): {} of the run's endpoints, {} checked in\n",
        environment(&report.run_id),
        report.pages,
        report.listed,
        report.listed_checked_in
    ));
    for p in &report.problems {
        out.push_str(&format!("problem: {p}\n"));
    }
    if report.passed() {
        out.push_str("PASSED (exit 0): counts exact, no errors\n");
    } else {
        out.push_str("FAILED (exit 1)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: Option<&str>, checked_in: bool) -> ListRow {
        ListRow {
            endpoint_id: id.map(str::to_string),
            checked_in,
        }
    }

    /// The typed reading of a page says what the `Value` reading said, and a page it
    /// refuses is still read leniently.
    #[test]
    fn a_list_page_is_read_the_same_typed_or_lenient() {
        let typed = br#"{"data":[{"endpoint_id":"a","last_seen":"2026-01-01T00:00:00Z","hostname":"h","extra":{"x":[1,2]}},{"endpoint_id":"b","last_seen":null},{"hostname":"no id"}],"total":3,"page":1,"per_page":2}"#;
        assert_eq!(
            ListPage::parse(typed),
            Some(ListPage {
                data: vec![
                    row(Some("a"), true),
                    row(Some("b"), false),
                    row(None, false)
                ],
                total: Some(3),
                per_page: Some(2),
            })
        );
        // An id that is not a string, a count that is not an integer, a row that is
        // not an object: the typed reading refuses, the lenient one reads what it can.
        let odd = br#"{"data":[{"endpoint_id":7,"last_seen":1},{"endpoint_id":"c","last_seen":"t"},5],"total":"many","per_page":2}"#;
        assert_eq!(
            ListPage::parse(odd),
            Some(ListPage {
                data: vec![row(None, true), row(Some("c"), true), row(None, false)],
                total: None,
                per_page: Some(2),
            })
        );
        assert_eq!(
            ListPage::parse(br#"{"data":null,"total":0}"#),
            Some(ListPage {
                total: Some(0),
                ..ListPage::default()
            })
        );
        assert_eq!(
            ListPage::parse(br#"{"data":"rows"}"#),
            Some(ListPage::default())
        );
        assert_eq!(ListPage::parse(b"[1,2]"), None);
        assert_eq!(ListPage::parse(b"not json"), None);
    }
}
