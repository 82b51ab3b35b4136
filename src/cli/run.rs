//! `thoth-conformance run`: flags and the target; the run itself, reports, cleanup and
//! the exit code are the library's session (`crate::session`).

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::Args;

use super::{config_error, load, LiveArgs, ProjectArgs, TargetArg};
use crate::client::ClientOptions;
use crate::evidence::EvidenceOptions;
use crate::outcome::ExitCode;
use crate::redact::Redactor;
use crate::report::progress::{Console, ConsoleMode, Verbosity};
use crate::session::{self, SessionOptions};
use crate::signing::Schemes;
use crate::suite::duration::parse_duration;
use crate::target::{known_faults, LiveOptions, MockOptions, Target, TargetKind};
use crate::thothctl::{resolve, StandInUse};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Where junit.xml, coverage.md, coverage.json and results.json are written.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// junit.xml's shape: `jenkins` validates against Jenkins' junit-10.xsd (Jenkins,
    /// xunit, GitLab, junitparser); `github` adds file/line, timestamp and properties on
    /// each testcase for the GitHub JUnit actions' annotations.
    #[arg(long, value_enum, default_value_t = crate::report::junit::JunitDialect::Jenkins)]
    pub junit_dialect: crate::report::junit::JunitDialect,
    /// `mock` starts the bundled mock in-process; `live` uses the THOTH_* env vars or flags.
    #[arg(long, value_enum, default_value = "mock")]
    pub target: TargetArg,
    /// Start the mock with this defect mode (repeatable).
    #[arg(long = "mock-fault", value_name = "NAME")]
    pub mock_faults: Vec<String>,
    /// Start the mock with lists that answer at most N rows per page.
    #[arg(long = "mock-page-size", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub mock_page_size: Option<u64>,
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
    /// The thothctl binary (default: `thothctl` on PATH, else the stand-in where
    /// --thothctl-stand-in allows it). A real thothctl always wins over the stand-in.
    #[arg(long, value_name = "PATH")]
    pub thothctl: Option<PathBuf>,
    /// When the stand-in `thothctl-sim` (built beside this binary) runs the thothctl
    /// cases if no real thothctl is found: auto = on the mock target only.
    #[arg(long, value_enum, default_value_t = StandInUse::Auto, value_name = "WHEN")]
    pub thothctl_stand_in: StandInUse,
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
    pub safety: super::safety::SafetyArgs,
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
    /// Conformance level: every requirement of this severity or above that the selected
    /// cases name must be verified (all its cases pass), else the run ends INCOMPLETE
    /// (exit 7). Default: `critical` on a live target, `none` on the mock.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub require: Option<crate::conformance::Level>,
    #[command(flatten)]
    pub bundle: super::bundle::BundleArgs,
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
                page_size: args
                    .mock_page_size
                    .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            };
            Target::start_mock(&opts, redactor).await.map_err(|e| {
                if matches!(e, crate::target::TargetError::UnknownFault { .. }) {
                    eprintln!("known faults: {}", known_faults().join(", "));
                }
                config_error(e)
            })?
        }
        TargetArg::Live => {
            if !args.mock_faults.is_empty() || args.mock_page_size.is_some() {
                return Err(config_error(
                    "--mock-fault and --mock-page-size only apply to --target mock",
                ));
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
    let kind = match args.target {
        TargetArg::Mock => TargetKind::Mock,
        TargetArg::Live => TargetKind::Live,
    };
    let thothctl = resolve(
        args.thothctl.as_deref(),
        kind == TargetKind::Mock,
        args.thothctl_stand_in,
    );
    Ok(target.with_schemes(schemes).with_thothctl(thothctl))
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
    // A bad signing key is found before anything is sent, not after the run.
    if let Err(e) = args.bundle.check_key() {
        return config_error(e);
    }
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
    let profile = args.safety.profile_for(&target);
    // A read-only audit cannot verify what needs a write: it says which level it holds
    // itself to rather than reading INCOMPLETE for requirements it chose not to test.
    if profile == crate::safety::Profile::ReadOnly
        && target.kind == crate::target::TargetKind::Live
        && args.require.is_none()
    {
        target.shutdown().await;
        return config_error(
            "--profile read-only: state the conformance level the audit is held to with \
             --require (critical|high|all|none); the default `critical` cannot be met \
             without the cases that write",
        );
    }
    let opts = SessionOptions {
        filters: args
            .filter_args
            .iter()
            .chain(&args.filters)
            .cloned()
            .collect(),
        fail_fast: args.fail_fast,
        jobs: args.jobs,
        client,
        thothctl_timeout,
        run_timeout,
        profile: Some(profile),
        ledger: args.safety.ledger.clone(),
        expectations: args.expectations.clone(),
        require: args.require,
        shard: args.shard,
        rerun_failed: args.rerun_failed.clone(),
        evidence: EvidenceOptions {
            jsonl: args.evidence_jsonl.clone(),
            webhook: args.evidence_webhook.clone(),
            shard: args.shard.map(|s| s.to_string()),
        },
        junit_dialect: args.junit_dialect,
        ..SessionOptions::new(args.reports.clone())
    };
    if args.safety.dry_run {
        let code = match session::plan(&project, &target, &opts) {
            Ok(plan) => {
                print!(
                    "{}",
                    crate::report::console::terminal_safe(&redactor.redact(&plan))
                );
                ExitCode::Passed as i32
            }
            Err(e) => report_error(&e, &redactor),
        };
        target.shutdown().await;
        return code;
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
    let total = match crate::ci::Selection::new(&project, args.shard, args.rerun_failed.as_deref())
    {
        Ok(s) => s.count(&project),
        Err(e) => {
            target.shutdown().await;
            return config_error(e);
        }
    };
    let console = Console::new(mode, &redactor, total);
    // What needs no request is checked before the ledger file is opened, so a bad
    // expectations ledger or a filter that matches nothing leaves nothing behind.
    if let Err(e) = session::prepare(&project, &opts) {
        let code = report_error(&e, &redactor);
        target.shutdown().await;
        return code;
    }
    let run_id = crate::stamp::new_run_id();
    let recorder = match args.safety.start(&args.reports, &target, &run_id) {
        Ok(r) => r,
        Err(e) => {
            target.shutdown().await;
            return config_error(redactor.redact(&e.to_string()));
        }
    };
    let opts = SessionOptions {
        run_id: Some(run_id),
        recorder: Some(recorder.clone()),
        ..opts
    };
    let ctrl_c = {
        let cancel = opts.cancel.clone();
        // Registered before the run starts, so an early Ctrl-C is never lost.
        let mut interrupts = match Interrupts::new() {
            Ok(i) => i,
            Err(e) => return config_error(format!("failed to listen for Ctrl-C: {e}")),
        };
        let recorder = recorder.clone();
        let abort_wait = request_timeout;
        tokio::spawn(async move {
            if interrupts.recv().await {
                eprintln!("interrupted: stopping, the reports will still be written (Ctrl-C again to abort now)");
                cancel.cancel();
            }
            // Cleanup still runs after the first Ctrl-C or SIGTERM; a second one means
            // "now", but not between a create and its ledger record.
            if interrupts.recv().await {
                let _held = recorder.quiesce(abort_wait).await;
                eprintln!("aborted: no reports written; finish with `thoth-conformance cleanup --ledger {}`", recorder.ledger.path().display());
                std::process::exit(130);
            }
        })
    };
    let outcome = session::run(&project, &target, &opts, &redactor, Some(console)).await;
    ctrl_c.abort();
    target.shutdown().await;
    match outcome {
        Ok(o) => {
            for h in &o.leaks {
                eprintln!("secret leak: {h}");
            }
            if o.leaks.is_empty() {
                let mut ledgers = vec![recorder.ledger.path().to_path_buf()];
                ledgers.extend(crate::expectations::ledger_path(
                    args.expectations.as_deref(),
                    &project.suites_dir,
                ));
                let evidence = super::bundle::RunEvidence {
                    result: &o.result,
                    project: &project,
                    reports: o.paths.all(),
                    ledgers,
                    config: super::bundle::effective_config(args, profile.as_str(), &o.result),
                };
                if let Err(e) = args.bundle.write(&evidence, &redactor) {
                    eprintln!("error: failed to write the bundle: {}", redactor.redact(&e));
                    return ExitCode::ReportsIncomplete as i32;
                }
                if let Some(b) = &args.bundle.bundle {
                    println!("bundle: {}", b.display());
                }
            } else if args.bundle.bundle.is_some() {
                eprintln!("bundle not written: a secret leaked into the reports (see above)");
            }
            o.exit_code() as i32
        }
        Err(e) => report_error(&e, &redactor),
    }
}

/// Prints why the run did not start and returns its exit code.
fn report_error(e: &session::RunError, redactor: &Redactor) -> i32 {
    eprintln!("error: {}", redactor.redact(&e.to_string()));
    e.exit_code() as i32
}

/// Ctrl-C and SIGTERM (what `docker stop`, Kubernetes and CI runners send) as one
/// stream. On Unix the handlers are installed when this is created (not when first
/// awaited), so a signal that arrives while the run starts up is not lost.
struct Interrupts {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Interrupts {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Interrupts {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Interrupts {})
        }
    }

    async fn recv(&mut self) -> bool {
        #[cfg(unix)]
        {
            tokio::select! {
                s = self.int.recv() => s.is_some(),
                s = self.term.recv() => s.is_some(),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
    }
}
