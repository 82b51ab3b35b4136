//! The command-line side of live safety: `run --profile/--dry-run/--ledger` and the
//! `cleanup --ledger FILE` subcommand. Kept here so `src/cli/` only wires them in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::record::Recorder;
use super::session::{cleanup_ledger, finish_ledger, start_ledger, SessionError};
use super::{CleanupReport, Profile};
use crate::cli::LiveArgs;
use crate::client::{ClientOptions, HttpClient};
use crate::outcome::{ExitCode, RunResult};
use crate::redact::Redactor;
use crate::report::results::render_results_with_cleanup;
use crate::report::{write_atomic, ReportPaths};
use crate::target::{Target, TargetKind};

/// Flags of `run` about what may touch the tenant.
#[derive(Debug, Clone, Args)]
pub struct SafetyArgs {
    /// Which cases may touch the tenant: `read-only` (only cases that send nothing but
    /// GETs), `staging` (everything the ledger can undo; default for --target live),
    /// `full` (everything; default for the mock).
    #[arg(long, value_enum, value_name = "PROFILE")]
    pub profile: Option<Profile>,
    /// Print the plan (each case: would run / disabled / skipped and why, and the
    /// requests it would send) and send nothing at all; exit 0.
    #[arg(long)]
    pub dry_run: bool,
    /// Where created records are logged as they are created (default: <reports>/ledger.jsonl).
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
}

impl SafetyArgs {
    pub fn profile_for(&self, target: &Target) -> Profile {
        self.profile
            .unwrap_or_else(|| Profile::default_for(target.kind == TargetKind::Live))
    }

    pub fn ledger_path(&self, reports: &Path) -> PathBuf {
        self.ledger
            .clone()
            .unwrap_or_else(|| reports.join("ledger.jsonl"))
    }

    /// Opens the run's ledger.
    pub fn start(
        &self,
        reports: &Path,
        target: &Target,
        run_id: &str,
    ) -> Result<Arc<Recorder>, SessionError> {
        let ledger = start_ledger(&self.ledger_path(reports), target, run_id)?;
        Ok(Arc::new(Recorder::new(ledger)))
    }
}

/// Undoes the run's ledger with a client of its own (the run's may be mid-cancel).
pub async fn undo_after_run(
    recorder: &Recorder,
    target: &Target,
    client: &ClientOptions,
) -> Result<CleanupReport, String> {
    let client = HttpClient::new(client.clone()).map_err(|e| e.to_string())?;
    finish_ledger(&recorder.ledger, target, &client)
        .await
        .map_err(|e| e.to_string())
}

/// Rewrites results.json with the `cleanup` block.
pub fn add_cleanup_block(
    paths: &ReportPaths,
    run: &RunResult,
    cleanup: Option<&CleanupReport>,
    redactor: &Redactor,
) -> Result<(), crate::report::ReportError> {
    let text = render_results_with_cleanup(run, cleanup, redactor)?;
    write_atomic(&paths.results, text.as_bytes())
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// The ledger a run left behind (e.g. reports/ledger.jsonl); --tenant-id must be its tenant.
    #[arg(long, value_name = "FILE")]
    pub ledger: PathBuf,
    // The tenant must be the ledger's: `cleanup_ledger` refuses any other.
    #[command(flatten)]
    pub live: LiveArgs,
}

/// `thoth-conformance cleanup`: 0 when nothing is left to undo, 6 otherwise, 2 on bad
/// configuration.
pub async fn cleanup(args: &CleanupArgs) -> i32 {
    let config_error = |msg: String| {
        eprintln!("error: {}", crate::report::console::terminal_safe(&msg));
        ExitCode::ConfigError as i32
    };
    let client_options = match args.live.client_options() {
        Ok(o) => o,
        Err(e) => return config_error(e),
    };
    let redactor = Redactor::new();
    let opts = args.live.live_options();
    let target = match Target::live(&opts, &|k| std::env::var(k).ok(), &redactor) {
        Ok(t) => t,
        Err(e) => return config_error(e.to_string()),
    };
    let client = match HttpClient::new(client_options) {
        Ok(c) => c,
        Err(e) => return config_error(e.to_string()),
    };
    match cleanup_ledger(&args.ledger, &target, &client).await {
        Ok(report) => {
            print!(
                "{}",
                crate::report::console::terminal_safe(&report.render(&redactor))
            );
            if report.complete {
                0
            } else {
                ExitCode::CleanupIncomplete as i32
            }
        }
        Err(e) => config_error(redactor.redact(&e.to_string())),
    }
}
