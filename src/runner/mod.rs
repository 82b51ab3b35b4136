//! Running a loaded project against a target: phases in `after` order (independent ones
//! concurrently), cases in file order inside a phase, with fail-fast, Ctrl-C and name
//! filters. Whatever happens, every case of the project ends up in the [`RunResult`]
//! with a status and a reason, so the reports are always complete.

pub mod attempt;
pub mod case;
pub mod expect;
pub mod poll;
pub mod schedule;
pub mod sink;
pub mod step;
pub mod thothctl;
pub mod work;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::client::{ClientError, ClientOptions, HttpClient, HttpRequest};
use crate::outcome::{CaseResult, RunResult, Status, StepResult};
use crate::redact::Redactor;
use crate::safety::plan::{planned_kinds, suite_plan, Decision};
use crate::safety::profile::cleanup_allowed;
use crate::safety::{Profile, Recorder};
use crate::stamp::{new_run_id, now_rfc3339};
use crate::suite::load::suites_hash;
use crate::suite::load::{LoadedSuite, Project};
use crate::suite::model::Case;
use crate::target::Target;
use crate::template::{render, Vars};
use attempt::{CaseState, StepEnv};
use case::{not_run, run_case, run_cleanup, run_steps};

/// Called once per finished case, in completion order (console progress).
pub type CaseCallback = Arc<dyn Fn(&CaseResult) + Send + Sync>;
/// Called with `(phase, case_id)` when a case starts running (live progress line).
pub type CaseStartCallback = Arc<dyn Fn(&str, &str) + Send + Sync>;

#[derive(Clone)]
pub struct RunOptions {
    /// Substrings or globs (`*`, `?`) on `phase::case`; empty runs everything.
    pub filters: Vec<String>,
    pub fail_fast: bool,
    pub client: ClientOptions,
    pub thothctl_timeout: Duration,
    /// Cancelled on Ctrl-C: the running step stops, the rest is marked, reports follow.
    pub cancel: CancellationToken,
    pub on_case: Option<CaseCallback>,
    /// Fixed run id (tests); random 8 hex chars otherwise.
    pub run_id: Option<String>,
    /// Only these phases run at all (others are left out of the result); None = all.
    pub phases: Option<BTreeSet<String>>,
    /// Which cases may touch the tenant (src/safety/profile.rs); `Full` by default.
    pub profile: Profile,
    /// The run's ledger: when set, the tenant is snapshotted before the first mutation
    /// and every `creates` is recorded as it happens (the caller undoes them).
    pub recorder: Option<Arc<Recorder>>,
    /// Only these `phase::case` run at all (others are left out of the result, not
    /// disabled; phases without one are left out whole); None = all. `--rerun-failed`.
    pub cases: Option<BTreeSet<String>>,
    pub on_case_start: Option<CaseStartCallback>,
    /// `phase::case` → reason: waived by the expectations ledger, reported disabled.
    pub waived: BTreeMap<String, String>,
    /// The whole run's time budget: when it runs out the running step stops and every
    /// case not finished ends `error` "run time budget exhausted". None = no limit.
    pub run_timeout: Option<Duration>,
    /// Phases in flight at once (those without an `after` relation between them);
    /// 0 = the number of cores.
    pub jobs: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            filters: Vec::new(),
            fail_fast: false,
            client: ClientOptions::default(),
            thothctl_timeout: thothctl::DEFAULT_THOTHCTL_TIMEOUT,
            cancel: CancellationToken::new(),
            on_case: None,
            run_id: None,
            phases: None,
            profile: Profile::Full,
            recorder: None,
            cases: None,
            on_case_start: None,
            waived: BTreeMap::new(),
            run_timeout: None,
            jobs: 0,
        }
    }
}

/// How many phases run at once for `jobs` (0 = one per core, at least 1).
pub fn effective_jobs(jobs: usize) -> usize {
    if jobs > 0 {
        return jobs;
    }
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The reason every unfinished case gets when `run_timeout` runs out.
pub const BUDGET_EXHAUSTED: &str = "run time budget exhausted";

/// Why the run stopped early; the first reason wins.
#[derive(Default)]
struct Stop(Mutex<Option<String>>);

impl Stop {
    fn set(&self, why: &str) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if g.is_none() {
            *g = Some(why.to_string());
        }
    }
    fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Cases a stop keeps from running: disabled when the user stopped the run (Ctrl-C,
/// fail-fast), `error` when the time budget ran out, because then the cases were meant
/// to run and give no verdict.
fn not_reached_status(why: &str) -> Status {
    if why == BUDGET_EXHAUSTED {
        Status::Error
    } else {
        Status::Disabled
    }
}

struct RunCtx<'a> {
    target: &'a Target,
    client: HttpClient,
    redactor: &'a Redactor,
    fixtures_dir: &'a Path,
    opts: &'a RunOptions,
    run_id: String,
    stop: Stop,
    /// Never cancelled: cleanup still runs after Ctrl-C.
    cleanup_token: CancellationToken,
    /// What steps race: Ctrl-C (a child of `opts.cancel`) or the run's time budget.
    step_token: CancellationToken,
    budget_spent: AtomicBool,
}

impl RunCtx<'_> {
    fn env<'b>(&'b self, cancel: &'b CancellationToken) -> StepEnv<'b> {
        StepEnv {
            target: self.target,
            client: &self.client,
            redactor: self.redactor,
            fixtures_dir: self.fixtures_dir,
            thothctl_timeout: self.opts.thothctl_timeout,
            cancel,
            recorder: self.opts.recorder.as_deref(),
            phase: "",
            poll_timed_out: None,
        }
    }

    fn stopped(&self) -> Option<String> {
        if self.opts.cancel.is_cancelled() {
            self.stop.set("interrupted (Ctrl-C)");
        }
        if self.budget_spent.load(Ordering::SeqCst) {
            self.stop.set(BUDGET_EXHAUSTED);
        }
        self.stop.get()
    }

    fn finished(&self, r: &CaseResult) {
        if self.opts.fail_fast && matches!(r.status, Status::Fail | Status::Error) {
            self.stop.set("fail-fast");
        }
        if let Some(cb) = &self.opts.on_case {
            cb(r);
        }
    }
}

/// Runs the project. Never fails: problems become `error` cases with reasons.
pub async fn run_project(
    project: &Project,
    target: &Target,
    opts: &RunOptions,
    redactor: &Redactor,
) -> RunResult {
    let started_at = now_rfc3339();
    let started = Instant::now();
    let run_id = opts.run_id.clone().unwrap_or_else(new_run_id);
    let suites: Vec<&LoadedSuite> = project
        .suites
        .iter()
        .filter(|s| {
            opts.phases
                .as_ref()
                .is_none_or(|p| p.contains(&s.suite.phase))
                && !phase_cases(opts, s).is_empty()
        })
        .collect();
    let mut result = RunResult {
        run_id: run_id.clone(),
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        suites_hash: suites_hash(project),
        target: target.info(),
        started_at,
        finished_at: String::new(),
        duration_ms: 0,
        cases: Vec::new(),
        interrupted: None,
        shard: None,
        evidence: None,
        conformance: None,
    };
    let client = match HttpClient::new(opts.client.clone()) {
        Ok(c) => c,
        Err(e) => {
            result.cases = all_cases(opts, &suites, Status::Error, &e.to_string());
            result.interrupted = Some(e.to_string());
            return finish(result, started);
        }
    };
    let ctx = RunCtx {
        target,
        client,
        redactor,
        fixtures_dir: &project.fixtures_dir,
        opts,
        run_id,
        stop: Stop::default(),
        cleanup_token: CancellationToken::new(),
        step_token: opts.cancel.child_token(),
        budget_spent: AtomicBool::new(false),
    };
    // The budget includes the probe; cleanup keeps its own token and still runs.
    let budget = async {
        match opts.run_timeout {
            Some(limit) => {
                tokio::time::sleep(limit.saturating_sub(started.elapsed())).await;
                ctx.budget_spent.store(true, Ordering::SeqCst);
                ctx.step_token.cancel();
            }
            None => std::future::pending().await,
        }
    };
    tokio::pin!(budget);
    let mut budget_done = false;
    if let Some(probe) = probe(&ctx).await {
        let why = format!(
            "target unreachable: {}",
            probe.message.clone().unwrap_or_default()
        );
        for s in &suites {
            for c in phase_cases(opts, s) {
                let mut r = not_run(&s.suite.phase, c, Status::Error, why.clone());
                r.steps.push(probe.clone());
                ctx.finished(&r);
                result.cases.push(r);
            }
        }
        result.interrupted = Some(why);
        return finish(result, started);
    }
    if let Some(rec) = &opts.recorder {
        // Before the first mutation: what the planned steps may change, as it is now.
        let kinds = planned_kinds(project, &opts.filters, opts.profile, target);
        if let Err(e) = rec.snapshot(&ctx.client, target, &kinds).await {
            let why = e.to_string();
            result.cases = all_cases(opts, &suites, Status::Error, &why);
            result.cases.iter().for_each(|r| ctx.finished(r));
            result.interrupted = Some(why);
            return finish(result, started);
        }
    }

    let order: HashMap<&str, usize> = suites
        .iter()
        .enumerate()
        .map(|(i, s)| (s.suite.phase.as_str(), i))
        .collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut started_phases: BTreeSet<&str> = BTreeSet::new();
    let mut by_phase: Vec<(usize, Vec<CaseResult>)> = Vec::new();
    let mut running = FuturesUnordered::new();
    let jobs = effective_jobs(opts.jobs);
    let start_order = schedule::start_order(&suites);
    loop {
        for s in &start_order {
            let s = *s;
            if running.len() >= jobs {
                break;
            }
            let phase = s.suite.phase.as_str();
            let ready = !started_phases.contains(phase)
                && s.suite
                    .after
                    .iter()
                    .all(|dep| done.contains(dep.as_str()) || !order.contains_key(dep.as_str()));
            if ready {
                started_phases.insert(phase);
                let ctx = &ctx;
                running.push(async move { (phase, run_phase(ctx, s).await) });
            }
        }
        let next = if budget_done {
            running.next().await
        } else {
            tokio::select! {
                next = running.next() => next,
                _ = &mut budget => {
                    // Steps now stop; phases not yet started mark their cases at once.
                    budget_done = true;
                    continue;
                }
            }
        };
        match next {
            Some((phase, cases)) => {
                done.insert(phase);
                by_phase.push((order[phase], cases));
            }
            None => break,
        }
    }
    // A cycle in `after` leaves phases that never became ready (the loader rejects
    // cycles; this keeps the result complete even so).
    for s in &suites {
        if !started_phases.contains(s.suite.phase.as_str()) {
            let cases = phase_cases(opts, s)
                .into_iter()
                .map(|c| {
                    not_run(
                        &s.suite.phase,
                        c,
                        Status::Error,
                        "phase ordering cycle in `after`",
                    )
                })
                .collect();
            by_phase.push((order[s.suite.phase.as_str()], cases));
        }
    }
    by_phase.sort_by_key(|(i, _)| *i);
    result.cases = by_phase.into_iter().flat_map(|(_, c)| c).collect();
    result.interrupted = ctx.stopped();
    finish(result, started)
}

fn finish(mut result: RunResult, started: Instant) -> RunResult {
    result.finished_at = now_rfc3339();
    result.duration_ms = started.elapsed().as_millis() as u64;
    result
}

fn all_cases(
    opts: &RunOptions,
    suites: &[&LoadedSuite],
    status: Status,
    why: &str,
) -> Vec<CaseResult> {
    suites
        .iter()
        .flat_map(|s| {
            phase_cases(opts, s)
                .into_iter()
                .map(|c| not_run(&s.suite.phase, c, status, why))
        })
        .collect()
}

/// The cases of `s` this run holds at all (see [`RunOptions::cases`]), in file order.
fn phase_cases<'s>(opts: &RunOptions, s: &'s LoadedSuite) -> Vec<&'s Case> {
    s.suite
        .cases
        .iter()
        .filter(|c| {
            opts.cases
                .as_ref()
                .is_none_or(|set| set.contains(&format!("{}::{}", s.suite.phase, c.id)))
        })
        .collect()
}

/// One unauthenticated GET of the GovAPI root: only a transport failure counts, any
/// HTTP answer (even 404) proves the target is there.
async fn probe(ctx: &RunCtx<'_>) -> Option<StepResult> {
    let req = HttpRequest {
        method: "GET".into(),
        url: format!("{}/", ctx.target.govapi_url),
        headers: Vec::new(),
        body: None,
    };
    let started = Instant::now();
    let (exchange, result) = ctx.client.send(&req).await;
    let err = result.err()?;
    Some(StepResult {
        name: "reachability probe".into(),
        status: Status::Error,
        message: Some(err.to_string()),
        attempts: 1,
        exchanges: vec![exchange],
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// The phase's starting variables: target variables, `run_id`, then suite `vars`.
fn phase_vars(ctx: &RunCtx<'_>, s: &LoadedSuite) -> Result<Vars, String> {
    let mut vars = Vars::new();
    for (name, value) in ctx.target.template_vars(&ctx.run_id) {
        vars.set(name, value);
    }
    for (name, text) in &s.suite.vars {
        let value = render(text, &vars).map_err(|e| format!("suite vars.{name}: {e}"))?;
        vars.set(name, Value::String(value));
    }
    Ok(vars)
}

async fn run_phase(ctx: &RunCtx<'_>, s: &LoadedSuite) -> Vec<CaseResult> {
    let phase = s.suite.phase.as_str();
    // A shard or a rerun selects cases (the others are left out, not disabled); filters
    // and the profile then decide before anything is sent (same rules as --dry-run).
    let cases = phase_cases(ctx.opts, s);
    let mut plan = suite_plan(&s.suite, &ctx.opts.filters, ctx.opts.profile, ctx.target);
    if let Some(rec) = &ctx.opts.recorder {
        plan = rec.guard(ctx.opts.profile, &s.suite, plan);
    }
    let excluded = |c: &Case| {
        let i = s.suite.cases.iter().position(|x| x.id == c.id)?;
        match &plan[i] {
            Decision::Disabled(why) => Some(why.clone()),
            _ => None,
        }
    };
    let selected: Vec<bool> = cases.iter().map(|c| excluded(c).is_none()).collect();
    let mut out = Vec::with_capacity(cases.len());
    let emit = |r: CaseResult, out: &mut Vec<CaseResult>| {
        ctx.finished(&r);
        out.push(r);
    };
    if !selected.iter().any(|s| *s) {
        for c in &cases {
            let why = excluded(c).unwrap_or_default();
            emit(not_run(phase, c, Status::Disabled, why), &mut out);
        }
        return out;
    }
    if let Some(why) = ctx.stopped() {
        for c in &cases {
            emit(
                not_run(phase, c, not_reached_status(&why), why.clone()),
                &mut out,
            );
        }
        return out;
    }
    let mut vars = match phase_vars(ctx, s) {
        Ok(v) => v,
        Err(e) => {
            for c in &cases {
                emit(not_run(phase, c, Status::Error, e.clone()), &mut out);
            }
            return out;
        }
    };
    let poll_timed_out = AtomicBool::new(false);
    let mut env = ctx.env(&ctx.step_token);
    let mut cleanup_env = ctx.env(&ctx.cleanup_token);
    env.phase = phase;
    env.poll_timed_out = Some(&poll_timed_out);
    cleanup_env.phase = phase;
    let mut setup_state = CaseState::default();
    let (setup_steps, setup_failure) =
        run_steps(&env, &s.suite.setup, &mut setup_state, &mut vars).await;
    let mut earlier: HashMap<String, Status> = HashMap::new();
    for (i, c) in cases.iter().enumerate() {
        let r = if !selected[i] {
            not_run(phase, c, Status::Disabled, excluded(c).unwrap_or_default())
        } else if let Some(why) = ctx.opts.waived.get(&format!("{phase}::{}", c.id)) {
            not_run(phase, c, Status::Disabled, why.clone())
        } else if let Some(why) = ctx.stopped() {
            not_run(phase, c, not_reached_status(&why), why)
        } else if let Some((_, why)) = &setup_failure {
            let mut r = not_run(
                phase,
                c,
                Status::Error,
                format!("suite setup failed: {why}"),
            );
            r.steps = setup_steps.clone();
            r
        } else {
            if let Some(cb) = &ctx.opts.on_case_start {
                cb(phase, &c.id);
            }
            let mut r = run_case(&env, &cleanup_env, phase, c, &mut vars, &earlier).await;
            // The step only knows it was cancelled; say by what.
            if r.status == Status::Error && ctx.budget_spent.load(Ordering::SeqCst) {
                if let Some(m) = r.message.as_mut().filter(|m| m.ends_with("interrupted")) {
                    m.push_str(&format!(" ({BUDGET_EXHAUSTED})"));
                }
            }
            r
        };
        earlier.insert(c.id.clone(), r.status);
        emit(r, &mut out);
    }
    // Under read-only nothing was created, so cleanup steps that write are left out.
    let suite_cleanup: Vec<_> = s
        .suite
        .cleanup
        .iter()
        .filter(|st| cleanup_allowed(ctx.opts.profile, st))
        .cloned()
        .collect();
    if !suite_cleanup.is_empty() {
        // Suite cleanup has no case of its own: it is reported with the last case that
        // ran, apart from its steps, so it never changes a verdict.
        let mut cleanup =
            run_cleanup(&cleanup_env, &suite_cleanup, &mut setup_state, &mut vars).await;
        for r in &mut cleanup {
            r.name = format!("suite cleanup: {}", r.name);
        }
        let ran = out
            .iter()
            .rposition(|r| !matches!(r.status, Status::Disabled | Status::Skip));
        if let Some(last) = ran.or(out.len().checked_sub(1)) {
            out[last].cleanup.extend(cleanup);
        }
    }
    out
}

/// Builds the HTTP client once up front, so a bad `--ca-cert` is a configuration error
/// (exit 2) before anything is sent, not an error on every case.
pub fn check_client(opts: &ClientOptions) -> Result<(), ClientError> {
    HttpClient::new(opts.clone()).map(|_| ())
}
