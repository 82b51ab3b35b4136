//! `thoth-conformance run`: flags, target, the run itself, reports, cleanup and the
//! final exit code.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::{config_error, load, LiveArgs, ProjectArgs, TargetArg};
use crate::ci::Selection;
use crate::client::ClientOptions;
use crate::evidence::{open_for_run, EvidenceOptions};
use crate::expectations::{self, Ledger, Stale};
use crate::outcome::ExitCode;
use crate::redact::{scan_for_secrets, Redactor, SecretHit};
use crate::report::progress::{Console, ConsoleMode, Verbosity};
use crate::report::{console, write_reports};
use crate::runner::{run_project, RunOptions};
use crate::signing::Schemes;
use crate::suite::duration::parse_duration;
use crate::target::{find_thothctl, known_faults, LiveOptions, MockOptions, Target};
use crate::verdict::Verdict;

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Where junit.xml, coverage.md, coverage.json and results.json are written.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// `mock` starts the bundled mock in-process; `live` uses the THOTH_* env vars or flags.
    #[arg(long, value_enum, default_value = "mock")]
    pub target: TargetArg,
    /// Start the mock with this defect mode (repeatable).
    #[arg(long = "mock-fault", value_name = "NAME")]
    pub mock_faults: Vec<String>,
    /// Run only cases whose `phase::case` contains this (or matches this glob).
    #[arg(value_name = "FILTER")]
    pub filter_args: Vec<String>,
    /// Same as the positional FILTER (repeatable).
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Stop after the first fail or error; the rest is reported as disabled.
    #[arg(long)]
    pub fail_fast: bool,
    /// Independent phases (no `after` between them) run at once, at most this many;
    /// 0 = the number of cores.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub jobs: usize,
    /// The thothctl binary (default: found on PATH).
    #[arg(long, value_name = "PATH")]
    pub thothctl: Option<PathBuf>,
    /// Per thothctl invocation; the process is killed after it.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub thothctl_timeout: String,
    #[command(flatten)]
    pub live: LiveArgs,
    /// YAML with the PAM and webhook signature schemes (see src/signing.rs).
    #[arg(long, value_name = "FILE")]
    pub target_config: Option<PathBuf>,
    /// Live: a second tenant for isolation cases (else THOTH_OTHER_TENANT_ID).
    #[arg(long)]
    pub other_tenant_id: Option<String>,
    /// Base URL of a SIEM sink whose deliveries can be read (`GET <url>/<name>`).
    #[arg(long, value_name = "URL")]
    pub sink_url: Option<String>,
    /// Name of the sink behind THOTH_WEBHOOK_URL (default `siem`).
    #[arg(long, value_name = "NAME")]
    pub sink_name: Option<String>,
    #[command(flatten)]
    pub safety: crate::safety::cli::SafetyArgs,
    /// Run only shard I of N: whole phases, balanced by case count (see src/ci/shard.rs).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<crate::ci::shard::Shard>,
    /// Re-run only the cases that failed or errored in this results.json, with the
    /// cases they need; the rest is left out of this run's reports.
    #[arg(long, value_name = "RESULTS")]
    pub rerun_failed: Option<PathBuf>,
    /// Write one JSON event per case to this file (JSON lines, redacted).
    #[arg(long, value_name = "FILE")]
    pub evidence_jsonl: Option<PathBuf>,
    /// POST each case's event to this URL, signed with the webhook scheme and secret.
    #[arg(long, value_name = "URL")]
    pub evidence_webhook: Option<String>,
    /// Print only the summary table and the verdict.
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print the redacted transcript of every failing or erroring case.
    #[arg(long, short)]
    pub verbose: bool,
    /// Ledger of known failures and waivers (default: `<suites>/expectations.yaml` if
    /// present). A known failure that passes, or an expired entry, exits 4.
    #[arg(long, value_name = "FILE")]
    pub expectations: Option<PathBuf>,
    /// Time budget of the whole run (e.g. 15m); cases not finished by then end `error`.
    #[arg(long, value_name = "DURATION")]
    pub run_timeout: Option<String>,
}

async fn build_target(args: &RunArgs, redactor: &Redactor) -> Result<Target, i32> {
    let schemes = match &args.target_config {
        Some(path) => Schemes::load(path).map_err(config_error)?,
        None => Schemes::default(),
    };
    let target = match args.target {
        TargetArg::Mock => {
            let opts = MockOptions {
                faults: args.mock_faults.clone(),
            };
            Target::start_mock(&opts, redactor).await.map_err(|e| {
                if matches!(e, crate::target::TargetError::UnknownFault { .. }) {
                    eprintln!("known faults: {}", known_faults().join(", "));
                }
                config_error(e)
            })?
        }
        TargetArg::Live => {
            if !args.mock_faults.is_empty() {
                return Err(config_error("--mock-fault only applies to --target mock"));
            }
            let opts = LiveOptions {
                other_tenant_id: args.other_tenant_id.clone(),
                sink_url: args.sink_url.clone(),
                sink_name: args.sink_name.clone(),
                ..args.live.live_options()
            };
            Target::live(&opts, &|k| std::env::var(k).ok(), redactor).map_err(config_error)?
        }
    };
    if let Some(p) = &args.thothctl {
        if !p.is_file() {
            target.shutdown().await;
            return Err(config_error(format!(
                "--thothctl {}: no such file",
                p.display()
            )));
        }
    }
    Ok(target
        .with_schemes(schemes)
        .with_thothctl(find_thothctl(args.thothctl.as_deref())))
}

pub(super) async fn run(args: &RunArgs) -> i32 {
    let parse = |flag: &str, v: &str| {
        parse_duration(v).map_err(|e| config_error(format!("{flag} {v}: {e}")))
    };
    let (request_timeout, thothctl_timeout) = match (
        parse("--request-timeout", &args.live.request_timeout),
        parse("--thothctl-timeout", &args.thothctl_timeout),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let run_timeout = match &args.run_timeout {
        Some(v) => match parse("--run-timeout", v) {
            Ok(d) => Some(d),
            Err(code) => return code,
        },
        None => None,
    };
    let project = match load(&args.project) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let ledger = match expectations::ledger_path(args.expectations.as_deref(), &args.project.suites)
    {
        Some(path) => match Ledger::load(&path, &project) {
            Ok(l) => l,
            Err(diags) => {
                eprintln!("{diags}");
                return config_error(format!(
                    "failed to load the expectations ledger: {} problem(s)",
                    diags.len()
                ));
            }
        },
        None => Ledger::default(),
    };
    let today = expectations::today_utc();
    let client = ClientOptions {
        request_timeout,
        ca_cert: args.live.ca_cert.clone(),
        ..ClientOptions::default()
    };
    if let Err(e) = crate::runner::check_client(&client) {
        return config_error(e);
    }
    let redactor = Redactor::new();
    let target = match build_target(args, &redactor).await {
        Ok(t) => t,
        Err(code) => return code,
    };
    let filters: Vec<String> = args
        .filter_args
        .iter()
        .chain(&args.filters)
        .cloned()
        .collect();
    let profile = args.safety.profile_for(&target);
    let run_id = crate::runner::new_run_id();
    if args.safety.dry_run {
        let plan = crate::safety::plan::render_plan(&project, &filters, profile, &target, &run_id);
        print!("{}", console::terminal_safe(&redactor.redact(&plan)));
        target.shutdown().await;
        return 0;
    }
    let recorder = match args.safety.start(&args.reports, &target, &run_id) {
        Ok(r) => r,
        Err(e) => {
            target.shutdown().await;
            return config_error(redactor.redact(&e.to_string()));
        }
    };

    let selection = match Selection::new(&project, args.shard, args.rerun_failed.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            target.shutdown().await;
            return config_error(e);
        }
    };
    for note in &selection.notes {
        eprintln!("{note}");
    }
    let verbosity = match (args.quiet, args.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    let mode = ConsoleMode::detect(
        std::io::stdout().is_terminal(),
        &|k| std::env::var(k).ok(),
        verbosity,
    );
    let total = selection.count(&project);
    let console = Console::new(mode, &redactor, total);
    let evidence_opts = EvidenceOptions {
        jsonl: args.evidence_jsonl.clone(),
        webhook: args.evidence_webhook.clone(),
        shard: args.shard.map(|s| s.to_string()),
    };
    let evidence = match open_for_run(
        &evidence_opts,
        &target,
        &project,
        &run_id,
        &client,
        &redactor,
    ) {
        Ok(e) => e.map(Arc::new),
        Err(e) => {
            target.shutdown().await;
            return config_error(redactor.redact(&e.to_string()));
        }
    };
    for w in &target.warnings {
        // Through the console so the final scan sees it with everything else printed.
        console.eprint(w);
    }
    let cancel = tokio_util::sync::CancellationToken::new();
    let ctrl_c = {
        let cancel = cancel.clone();
        // Registered before the run starts, so an early Ctrl-C is never lost.
        let mut interrupts = match Interrupts::new() {
            Ok(i) => i,
            Err(e) => return config_error(format!("failed to listen for Ctrl-C: {e}")),
        };
        tokio::spawn(async move {
            if interrupts.recv().await {
                eprintln!("interrupted: stopping, the reports will still be written (Ctrl-C again to abort now)");
                cancel.cancel();
            }
            // Cleanup still runs after the first Ctrl-C; a second one means "now".
            if interrupts.recv().await {
                eprintln!("aborted: no reports written");
                std::process::exit(130);
            }
        })
    };
    let on_case = {
        let console = console.clone();
        let evidence = evidence.clone();
        let ledger = ledger.clone();
        Arc::new(move |case: &crate::outcome::CaseResult| {
            // The ledger marks known failures, so the line reads XFAIL, not FAIL.
            let mut case = case.clone();
            ledger.annotate(&mut case, today);
            console.case_finished(&case);
            if let Some(e) = &evidence {
                e.record(&case);
            }
        })
    };
    let on_case_start = {
        let console = console.clone();
        Arc::new(move |phase: &str, case: &str| console.case_started(phase, case))
    };
    let ticker = mode.live.then(|| {
        let console = console.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                console.tick();
            }
        })
    });
    let opts = RunOptions {
        filters,
        fail_fast: args.fail_fast,
        client: client.clone(),
        thothctl_timeout,
        cancel,
        on_case: Some(on_case),
        run_id: Some(run_id),
        phases: selection.phases,
        cases: selection.cases,
        on_case_start: Some(on_case_start),
        profile,
        recorder: Some(recorder.clone()),
        waived: ledger.waived(),
        run_timeout,
        jobs: args.jobs,
    };
    let mut result = run_project(&project, &target, &opts, &redactor).await;
    let stale = ledger.apply(&mut result, today);
    // Undone after the run whatever happened (pass, fail, Ctrl-C); a second Ctrl-C
    // still aborts at once and leaves the ledger for `cleanup --ledger`.
    let cleanup = crate::safety::cli::undo_after_run(&recorder, &target, &client).await;
    ctrl_c.abort();
    if let Some(t) = ticker {
        t.abort();
    }
    console.end_live();
    target.shutdown().await;
    result.shard = args.shard.map(|s| s.info());
    drop(opts);
    if let Some(sink) = evidence.and_then(Arc::into_inner) {
        let delivery = sink.finish().await;
        for f in &delivery.failures {
            eprintln!("warning: {}", console::terminal_safe(&redactor.redact(f)));
        }
        result.evidence = Some(delivery);
    }

    // The summary table already ends with the verdict line.
    console.print_painted(&console::summary_table(&result, mode.color));
    let verdict = crate::verdict::verdict(&result);

    let paths = match write_reports(&result, &project.catalogue, &args.reports, &redactor) {
        Ok(p) => p,
        Err(e) => return config_error(redactor.redact(&format!("failed to write reports: {e}"))),
    };
    let cleanup_text = match &cleanup {
        Ok(c) => c.render(&redactor),
        Err(e) => redactor.redact(&format!("cleanup incomplete: {e}\n")),
    };
    // --quiet keeps to the summary and verdict unless the tenant was left dirty.
    if verbosity != Verbosity::Quiet || !matches!(&cleanup, Ok(c) if c.complete) {
        console.print(cleanup_text.trim_end_matches('\n'));
    }
    if let Err(e) =
        crate::safety::cli::add_cleanup_block(&paths, &result, cleanup.as_ref().ok(), &redactor)
    {
        return config_error(redactor.redact(&format!("failed to write reports: {e}")));
    }
    if verbosity != Verbosity::Quiet {
        console.print(&format!("reports: {}", args.reports.display()));
    }
    for s in &stale {
        console.eprint(&s.to_string());
    }
    let console_out = console.printed();
    // The ledger holds what the server answered to the settings snapshot: scanned too.
    let mut scanned = paths.all();
    scanned.push(recorder.ledger.path().to_path_buf());
    scanned.extend(args.evidence_jsonl.iter().cloned());
    let hits = scan_for_secrets(&scanned, &[console_out.as_str()], &redactor);
    for h in &hits {
        eprintln!("secret leak: {h}");
    }
    let cleanup_complete = matches!(&cleanup, Ok(c) if c.complete);
    final_exit_code(&verdict, &stale, &hits, cleanup_complete)
}

/// The process exit code: a leak found by the final secret scan (5) outranks cleanup
/// left incomplete on the tenant (6), which outranks a stale expectations entry (4),
/// which outranks the run's own verdict (0, 1 or 3).
pub fn final_exit_code(
    verdict: &Verdict,
    stale: &[Stale],
    leaks: &[SecretHit],
    cleanup_complete: bool,
) -> i32 {
    if !leaks.is_empty() {
        ExitCode::SecretLeaked as i32
    } else if !cleanup_complete {
        ExitCode::CleanupIncomplete as i32
    } else if !stale.is_empty() {
        ExitCode::StaleExpectation as i32
    } else {
        verdict.exit_code
    }
}

/// Ctrl-C as a stream. On Unix the handler is installed when this is created (not when
/// first awaited), so a signal that arrives while the run starts up is not lost.
struct Interrupts {
    #[cfg(unix)]
    inner: tokio::signal::unix::Signal,
}

impl Interrupts {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            let inner = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
            Ok(Interrupts { inner })
        }
        #[cfg(not(unix))]
        {
            Ok(Interrupts {})
        }
    }

    async fn recv(&mut self) -> bool {
        #[cfg(unix)]
        {
            self.inner.recv().await.is_some()
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
    }
}
