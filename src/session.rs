//! One run as a library session: what `thoth-conformance run` does between parsing its
//! flags and exiting, so the CLI, the cargo-test harness (`tests/suites.rs`) and the kill
//! matrix (`tests/kill_matrix.rs`) all get the same expectations ledger, live-safety
//! ledger and undo, conformance level, reports and final secret scan.
//!
//! Exit codes are decided here and nowhere else: [`RunError::exit_code`] for a run that
//! never started, [`Outcome::exit_code`] (with its precedence) for one that did.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::ci::shard::Shard;
use crate::ci::Selection;
use crate::client::{ClientOptions, HttpClient};
use crate::conformance::{assess, Level};
use crate::evidence::{open_for_run, EvidenceOptions};
use crate::expectations::{self, Ledger, Stale};
use crate::outcome::{CaseResult, ExitCode, RunResult};
use crate::preflight::{self, PreflightError};
use crate::redact::{scan_for_secrets, Redactor, SecretHit};
use crate::report::progress::{Console, Verbosity};
use crate::report::{console, write_reports_each, ReportPaths};
use crate::runner::{run_project, RunOptions};
use crate::safety::{CleanupReport, Profile};
use crate::suite::filter;
use crate::suite::load::Project;
use crate::target::{Target, TargetKind};
use crate::verdict::Verdict;

/// Everything a run is configured with, resolved (durations parsed, target built).
#[derive(Clone)]
pub struct SessionOptions {
    /// Where junit.xml, coverage.*, results.json and report.html are written.
    pub reports: PathBuf,
    /// The shape of junit.xml (`--junit-dialect`).
    pub junit_dialect: crate::report::junit::JunitDialect,
    pub filters: Vec<String>,
    pub fail_fast: bool,
    pub jobs: usize,
    pub client: ClientOptions,
    pub thothctl_timeout: Duration,
    pub run_timeout: Option<Duration>,
    /// None: `staging` on a live target, `full` on the mock.
    pub profile: Option<Profile>,
    /// The live-safety ledger (default `<reports>/ledger.jsonl`).
    pub ledger: Option<PathBuf>,
    /// The expectations ledger (default `<suites>/expectations.yaml` if present).
    pub expectations: Option<PathBuf>,
    /// `--require`; None: [`Level::default_for`] the target.
    pub require: Option<Level>,
    pub shard: Option<Shard>,
    pub rerun_failed: Option<PathBuf>,
    pub evidence: EvidenceOptions,
    /// Cancelled on Ctrl-C: the run stops, undo and reports still happen.
    pub cancel: CancellationToken,
    /// Fixed run id (tests); random otherwise.
    pub run_id: Option<String>,
    /// Only these phases run (the cargo-test harness's selection); None = all.
    pub phases: Option<std::collections::BTreeSet<String>>,
    /// The run's ledger, opened by the caller (the CLI opens it with the tenant lease
    /// role of its flags, and keeps it for its Ctrl-C handler); None: the session opens
    /// one at `ledger` as the settings' owner.
    pub recorder: Option<Arc<crate::safety::Recorder>>,
}

impl SessionOptions {
    pub fn new(reports: PathBuf) -> Self {
        SessionOptions {
            reports,
            junit_dialect: Default::default(),
            filters: Vec::new(),
            fail_fast: false,
            jobs: 0,
            client: ClientOptions::default(),
            thothctl_timeout: crate::runner::thothctl::DEFAULT_THOTHCTL_TIMEOUT,
            run_timeout: None,
            profile: None,
            ledger: None,
            expectations: None,
            require: None,
            shard: None,
            rerun_failed: None,
            evidence: EvidenceOptions::default(),
            cancel: CancellationToken::new(),
            run_id: None,
            phases: None,
            recorder: None,
        }
    }

    pub fn profile_for(&self, target: &Target) -> Profile {
        self.profile
            .unwrap_or_else(|| Profile::default_for(target.kind == TargetKind::Live))
    }
}

/// Why a run did not start. Nothing was changed on the tenant in any of these.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A flag, file or ledger is wrong.
    #[error("{0}")]
    Config(String),
    /// The filters select nothing: a typo must not read as a green run.
    #[error(
        "the filter {filters} matches no case (`thoth-conformance list` shows them); nothing was sent"
    )]
    NoCaseMatched { filters: String },
    #[error("{0}")]
    Preflight(#[from] PreflightError),
}

impl RunError {
    /// The one map from "did not start" to an exit code.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            RunError::Config(_) | RunError::NoCaseMatched { .. } => ExitCode::ConfigError,
            RunError::Preflight(PreflightError::Config(_)) => ExitCode::ConfigError,
            RunError::Preflight(PreflightError::Unreachable(_)) => ExitCode::TargetUnreachable,
        }
    }
}

/// What a run that started produced.
pub struct Outcome {
    pub result: RunResult,
    pub verdict: Verdict,
    pub stale: Vec<Stale>,
    pub cleanup: Result<CleanupReport, String>,
    /// One line per report that could not be written, with the OS error.
    pub report_errors: Vec<String>,
    pub leaks: Vec<SecretHit>,
    pub paths: ReportPaths,
}

impl Outcome {
    /// The process exit code. Precedence: a leak found by the final secret scan (5) >
    /// cleanup left incomplete on the tenant (6) > a report not written (8) > a stale
    /// expectation (4) > the run's verdict (1, 3, 7 or 0).
    pub fn exit_code(&self) -> ExitCode {
        exit_code(
            &self.verdict,
            &self.stale,
            &self.leaks,
            matches!(&self.cleanup, Ok(c) if c.complete),
            !self.report_errors.is_empty(),
        )
    }
}

/// [`Outcome::exit_code`] from its parts.
pub fn exit_code(
    verdict: &Verdict,
    stale: &[Stale],
    leaks: &[SecretHit],
    cleanup_complete: bool,
    reports_incomplete: bool,
) -> ExitCode {
    if !leaks.is_empty() {
        ExitCode::SecretLeaked
    } else if !cleanup_complete {
        ExitCode::CleanupIncomplete
    } else if reports_incomplete {
        ExitCode::ReportsIncomplete
    } else if !stale.is_empty() {
        ExitCode::StaleExpectation
    } else {
        verdict.exit()
    }
}

/// The summary's last line when `exit` is not the verdict's own exit code: the exit
/// code and why, and the verdict it overrides with the case counts.
pub fn overriding_exit_line(exit: ExitCode, verdict: &Verdict) -> Option<String> {
    if exit == verdict.exit() {
        return None;
    }
    let n = &verdict.counts;
    Some(format!(
        "exit {} ({}) over the verdict {} (exit {}): {}; {} passed, {} failed, {} errored, {} skipped",
        exit as i32,
        exit.meaning(),
        verdict.status.as_str().to_uppercase(),
        verdict.exit_code,
        crate::report::console::terminal_safe(&verdict.message),
        n.pass,
        n.fail,
        n.error,
        n.skip,
    ))
}

/// The checks that need no request: the expectations ledger loads, the filters select
/// a case, the selection (shard, rerun) is valid.
pub fn prepare(project: &Project, opts: &SessionOptions) -> Result<(Ledger, Selection), RunError> {
    let ledger = match expectations::ledger_path(opts.expectations.as_deref(), &project.suites_dir)
    {
        Some(path) => Ledger::load(&path, project).map_err(|diags| {
            RunError::Config(format!(
                "{diags}\nfailed to load the expectations ledger: {} problem(s)",
                diags.len()
            ))
        })?,
        None => Ledger::default(),
    };
    if !opts.filters.is_empty() {
        let any = project.suites.iter().any(|s| {
            s.suite
                .cases
                .iter()
                .any(|c| filter::matches(&opts.filters, &format!("{}::{}", s.suite.phase, c.id)))
        });
        if !any {
            let filters: Vec<String> = opts.filters.iter().map(|f| format!("`{f}`")).collect();
            return Err(RunError::NoCaseMatched {
                filters: filters.join(", "),
            });
        }
    }
    let mut selection = Selection::new(project, opts.shard, opts.rerun_failed.as_deref())
        .map_err(|e| RunError::Config(e.to_string()))?;
    if let Some(only) = &opts.phases {
        selection.phases = Some(match selection.phases.take() {
            Some(p) => p.intersection(only).cloned().collect(),
            None => only.clone(),
        });
    }
    Ok((ledger, selection))
}

/// The preflight (see [`crate::preflight`]): before anything is changed.
pub async fn preflight(
    project: &Project,
    target: &Target,
    opts: &SessionOptions,
    selection: &Selection,
) -> Result<(), RunError> {
    let need = preflight::variables_needed(
        project,
        &opts.filters,
        opts.profile_for(target),
        target,
        selection.phases.as_ref(),
        selection.cases.as_ref(),
    );
    preflight::check_variables(&need, target)?;
    let client =
        HttpClient::new(opts.client.clone()).map_err(|e| RunError::Config(e.to_string()))?;
    preflight::check_credentials(&client, target).await?;
    preflight::check_urls(&client, target).await?;
    Ok(())
}

/// The dry-run plan, with what the run needs at the end.
pub fn plan(project: &Project, target: &Target, opts: &SessionOptions) -> Result<String, RunError> {
    let (_, selection) = prepare(project, opts)?;
    let profile = opts.profile_for(target);
    let run_id = opts.run_id.clone().unwrap_or_else(crate::stamp::new_run_id);
    let mut text =
        crate::safety::plan::render_plan(project, &opts.filters, profile, target, &run_id);
    let need = preflight::variables_needed(
        project,
        &opts.filters,
        profile,
        target,
        selection.phases.as_ref(),
        selection.cases.as_ref(),
    );
    text.push_str("\nthe run needs:\n");
    for line in preflight::needs_lines(&need, target) {
        text.push_str(&format!("  - {line}\n"));
    }
    let level = opts
        .require
        .unwrap_or_else(|| Level::default_for(target.kind.as_str()));
    text.push_str(&format!(
        "  - every requirement at conformance level `{level}` that the selected cases name verified (--require)\n"
    ));
    Ok(text)
}

/// Runs the project against `target`: preflight, run, expectations, undo, reports,
/// secret scan. `console` (the CLI's) shows progress and is scanned with the reports.
pub async fn run(
    project: &Project,
    target: &Target,
    opts: &SessionOptions,
    redactor: &Redactor,
    console: Option<Arc<Console>>,
) -> Result<Outcome, RunError> {
    // The JUnit report's case lines read every suite's YAML again (a few ms a suite,
    // after the run on the critical path): worked out on a thread of its own while the
    // preflight, the lease and the run wait on the network.
    let locating = {
        let project = project.clone();
        tokio::task::spawn_blocking(move || crate::suite::locate::case_locations(&project))
    };
    let started = start(project, target, opts, redactor, &console).await?;
    let ran = execute(project, target, opts, redactor, &console, started).await;
    let locations = match locating.await {
        Ok(l) => l,
        // The thread panicked: this works it out again, and panics here if it must.
        Err(_) => crate::suite::locate::case_locations(project),
    };
    Ok(finish(project, target, opts, redactor, &console, ran, locations).await)
}

/// A line on the console's stderr, where there is a console (the final scan sees it
/// with everything else printed).
fn say(console: &Option<Arc<Console>>, text: &str) {
    if let Some(c) = console {
        c.eprint(text);
    }
}

/// What a run starts from once everything that can refuse it has said yes: the
/// expectations, the selection, the evidence sink, the live-safety ledger and the
/// tenant's settings lease.
struct Started {
    expectations: Ledger,
    selection: Selection,
    run_id: String,
    evidence: Option<Arc<crate::evidence::EvidenceSink>>,
    profile: Profile,
    recorder: Arc<crate::safety::Recorder>,
    today: time::Date,
}

/// What the cases and the undo left, before anything is reported.
struct Ran {
    result: RunResult,
    stale: Vec<Stale>,
    cleanup: Result<CleanupReport, String>,
    evidence: Option<Arc<crate::evidence::EvidenceSink>>,
    profile: Profile,
    recorder: Arc<crate::safety::Recorder>,
}

/// Everything that can refuse the run, before the first case: configuration, the
/// preflight, the ledger and the tenant lease. Nothing here changes the tenant but the
/// lease itself.
async fn start(
    project: &Project,
    target: &Target,
    opts: &SessionOptions,
    redactor: &Redactor,
    console: &Option<Arc<Console>>,
) -> Result<Started, RunError> {
    let (expectations, selection) = prepare(project, opts)?;
    let run_id = opts.run_id.clone().unwrap_or_else(crate::stamp::new_run_id);
    // A bad evidence flag is configuration too: reported before any request.
    let evidence = open_for_run(
        &opts.evidence,
        target,
        project,
        &run_id,
        &opts.client,
        redactor,
    )
    .map_err(|e| RunError::Config(redactor.redact(&e.to_string())))?
    .map(Arc::new);
    preflight(project, target, opts, &selection).await?;
    let today = expectations::today_utc();
    let profile = opts.profile_for(target);
    let ledger_path = opts
        .ledger
        .clone()
        .unwrap_or_else(|| opts.reports.join("ledger.jsonl"));
    let recorder = match &opts.recorder {
        Some(r) => r.clone(),
        None => crate::safety::session::start_ledger(&ledger_path, target, &run_id)
            .map(|l| Arc::new(crate::safety::Recorder::new(l)))
            .map_err(|e| RunError::Config(redactor.redact(&e.to_string())))?,
    };
    // The tenant's settings have one owner (src/safety/lease.rs): taken, or refused with
    // the reason, before anything that changes the tenant is sent.
    crate::safety::session::take_tenant(
        &recorder,
        project,
        &opts.filters,
        profile,
        target,
        &opts.client,
    )
    .await
    .map_err(|why| RunError::Config(redactor.redact(&why)))?;
    if target.thothctl.is_some() {
        // Sweeps what a killed run left (token files, orphaned thothctl children) before
        // this run starts any; an error here resurfaces on each thothctl step.
        let _ = crate::runner::thothctl::workdir::Workdir::get();
    }
    for note in &selection.notes {
        say(console, note);
    }
    for w in &target.warnings {
        // Through the console so the final scan sees it with everything else printed.
        say(console, w);
    }
    Ok(Started {
        expectations,
        selection,
        run_id,
        evidence,
        profile,
        recorder,
        today,
    })
}

/// The cases, then the undo of what they created, whatever happened (pass, fail,
/// Ctrl-C).
async fn execute(
    project: &Project,
    target: &Target,
    opts: &SessionOptions,
    redactor: &Redactor,
    console: &Option<Arc<Console>>,
    started: Started,
) -> Ran {
    let Started {
        expectations: ledger,
        selection,
        run_id,
        evidence,
        profile,
        recorder,
        today,
    } = started;
    let on_case = {
        let console = console.clone();
        let evidence = evidence.clone();
        let ledger = ledger.clone();
        Arc::new(move |case: &CaseResult| {
            // The ledger marks known failures, so the line reads XFAIL, not FAIL.
            let mut case = case.clone();
            ledger.annotate(&mut case, today);
            if let Some(c) = &console {
                c.case_finished(&case);
            }
            if let Some(e) = &evidence {
                e.record(&case);
            }
        })
    };
    let on_case_start = console.clone().map(|c| {
        Arc::new(move |phase: &str, case: &str| c.case_started(phase, case))
            as crate::runner::CaseStartCallback
    });
    let live = console.as_ref().is_some_and(|c| c.mode().live);
    let ticker = live.then(|| {
        let console = console.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                if let Some(c) = &console {
                    c.tick();
                }
            }
        })
    });
    let run_opts = RunOptions {
        filters: opts.filters.clone(),
        fail_fast: opts.fail_fast,
        client: opts.client.clone(),
        thothctl_timeout: opts.thothctl_timeout,
        cancel: opts.cancel.clone(),
        on_case: Some(on_case),
        run_id: Some(run_id),
        phases: selection.phases,
        cases: selection.cases,
        on_case_start,
        profile,
        recorder: Some(recorder.clone()),
        waived: ledger.waived(),
        run_timeout: opts.run_timeout,
        jobs: opts.jobs,
    };
    let mut result = run_project(project, target, &run_opts, redactor).await;
    let stale = ledger.apply(&mut result, today);
    // Undone after the run whatever happened (pass, fail, Ctrl-C).
    let cleanup = crate::safety::session::undo_after_run(&recorder, target, &opts.client).await;
    // Every secret of the run is known by now: the reports below redact and the final
    // scan searches with one automaton, one pass per text (most of a run's CPU before).
    redactor.compact();
    if let Some(t) = ticker {
        t.abort();
    }
    if let Some(c) = &console {
        c.end_live();
    }
    result.shard = opts.shard.map(|s| s.info());
    drop(run_opts);
    Ran {
        result,
        stale,
        cleanup,
        evidence,
        profile,
        recorder,
    }
}

/// The verdict, the reports, the console's summary and the final secret scan: every
/// report that can be written is, whatever happened to the others.
async fn finish(
    project: &Project,
    target: &Target,
    opts: &SessionOptions,
    redactor: &Redactor,
    console: &Option<Arc<Console>>,
    ran: Ran,
    locations: std::collections::BTreeMap<String, crate::suite::locate::Location>,
) -> Outcome {
    let Ran {
        mut result,
        stale,
        cleanup,
        evidence,
        profile,
        recorder,
    } = ran;
    if let Some(sink) = evidence.and_then(Arc::into_inner) {
        let delivery = sink.finish().await;
        for f in &delivery.failures {
            say(console, &format!("warning: {}", redactor.redact(f)));
        }
        result.evidence = Some(delivery);
    }
    let level = opts
        .require
        .unwrap_or_else(|| Level::default_for(target.kind.as_str()));
    result.conformance = Some(assess(
        &result,
        &project.catalogue,
        level,
        opts.require.is_some(),
        &opts.filters,
    ));
    let verdict = crate::verdict::verdict(&result);
    let verbosity = console
        .as_ref()
        .map_or(Verbosity::Quiet, |c| c.mode().verbosity);
    if let Some(c) = &console {
        // The summary table already ends with the verdict line.
        c.print_painted(&console::summary_table(&result, c.mode().color));
    }

    // Every report that can be written is, whatever happened to the others.
    let report_options = crate::report::ReportOptions {
        junit: crate::report::junit::JunitOptions {
            dialect: opts.junit_dialect,
            locations,
        },
        sign_off: crate::report::html::SignOffFacts {
            profile: Some(profile.as_str().to_owned()),
            restore: Some(match &cleanup {
                Ok(report) => crate::report::html::TenantRestore {
                    complete: report.complete,
                    detail: report.render(redactor),
                },
                Err(e) => crate::report::html::TenantRestore {
                    complete: false,
                    detail: format!("cleanup failed: {e}"),
                },
            }),
        },
        cleanup: cleanup.as_ref().ok().cloned(),
    };
    let (paths, report_errors) = off_the_runtime(|| {
        write_reports_each(
            &result,
            &project.catalogue,
            &opts.reports,
            redactor,
            &report_options,
        )
    });
    let failed_paths: Vec<PathBuf> = report_errors.iter().map(|(p, _)| p.clone()).collect();
    let report_errors: Vec<String> = report_errors
        .into_iter()
        .map(|(_, e)| redactor.redact(&e))
        .collect();
    let cleanup_text = match &cleanup {
        Ok(c) => c.render(redactor),
        Err(e) => redactor.redact(&format!("cleanup incomplete: {e}\n")),
    };
    if let Some(c) = &console {
        // --quiet keeps to the summary and verdict unless the tenant was left dirty.
        if verbosity != Verbosity::Quiet || !matches!(&cleanup, Ok(c) if c.complete) {
            c.print(cleanup_text.trim_end_matches('\n'));
        }
        for e in &report_errors {
            c.eprint(&format!("error: {e}"));
        }
        if verbosity != Verbosity::Quiet {
            c.print(&format!("reports: {}", opts.reports.display()));
        }
        for s in &stale {
            c.eprint(&s.to_string());
        }
        // The verdict line is the table's last; when cleanup, a report or a stale
        // expectation sets the exit code instead, the summary ends with both, so exit
        // 6 never hides the cases that failed. (A leak, 5, is found by the scan after.)
        let exit = exit_code(
            &verdict,
            &stale,
            &[],
            matches!(&cleanup, Ok(c) if c.complete),
            !report_errors.is_empty(),
        );
        if let Some(line) = overriding_exit_line(exit, &verdict) {
            c.print(&line);
        }
    }
    let console_out = console.as_ref().map(|c| c.printed()).unwrap_or_default();
    // The ledger holds what the server answered to the settings snapshot: scanned too.
    // A report that could not be written is not scanned (nothing of ours is there).
    let mut scanned: Vec<PathBuf> = paths
        .all()
        .into_iter()
        .filter(|p| !failed_paths.contains(p))
        .collect();
    scanned.push(recorder.ledger.path().to_path_buf());
    scanned.extend(opts.evidence.jsonl.iter().cloned());
    let leaks = off_the_runtime(|| scan_for_secrets(&scanned, &[console_out.as_str()], redactor));
    Outcome {
        result,
        verdict,
        stale,
        cleanup,
        report_errors,
        leaks,
        paths,
    }
}

/// The OS error under a report error, which `Display` of the wrapper leaves out.
pub fn source_of(e: &dyn std::error::Error) -> String {
    let mut parts = Vec::new();
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    if parts.is_empty() {
        "no further cause".to_owned()
    } else {
        parts.join(": ")
    }
}

/// Runs CPU-bound work (rendering and scanning every report: seconds for a large run)
/// without holding a runtime worker: on a multi-threaded runtime the worker hands its
/// other tasks on first. A library caller may run several sessions, and their in-process
/// mocks, on one runtime; a worker blocked in a report would stall their requests past
/// the request timeout (seen in the kill matrix: 32 runs on 2 workers).
fn off_the_runtime<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{Counts, RunStatus};

    #[test]
    fn an_exit_code_over_the_verdict_names_both() {
        let verdict = Verdict {
            status: RunStatus::Failed,
            exit_code: 1,
            message: "5 case(s) failed: the target broke a requirement".into(),
            counts: Counts {
                pass: 48,
                fail: 5,
                error: 25,
                skip: 10,
                disabled: 0,
                total: 88,
            },
        };
        assert_eq!(
            overriding_exit_line(ExitCode::RequirementFailed, &verdict),
            None
        );
        let line = overriding_exit_line(ExitCode::CleanupIncomplete, &verdict).unwrap();
        assert_eq!(
            line,
            "exit 6 (cleanup incomplete) over the verdict FAILED (exit 1): 5 case(s) failed: \
             the target broke a requirement; 48 passed, 5 failed, 25 errored, 10 skipped"
        );
    }
}
