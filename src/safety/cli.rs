//! The command-line side of live safety: `run --profile/--dry-run/--ledger` and the
//! `cleanup --ledger FILE` subcommand. Kept here so `src/cli/` only wires them in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::lease::LeaseError;
use super::record::{RecordError, Recorder, SettingsRole};
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
    /// Live: this run is one shard of a group whose `thoth-conformance prepare
    /// --lease-group GROUP` owns the tenant's settings (snapshot and restore); the run
    /// checks that lease and restores no settings itself. Without it a run owns them.
    #[arg(long, value_name = "GROUP", env = "THOTH_LEASE_GROUP")]
    pub lease_group: Option<String>,
    /// Live: how long this run's own lease on the tenant holds (a later run refuses
    /// until it expires or is released).
    #[arg(long, default_value = "180m", value_name = "DURATION")]
    pub lease_ttl: String,
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
        let ttl = crate::suite::duration::parse_duration(&self.lease_ttl)
            .map_err(|e| SessionError::Config(format!("--lease-ttl {}: {e}", self.lease_ttl)))?;
        let role = match &self.lease_group {
            Some(g) => SettingsRole::Member { group: g.clone() },
            None => SettingsRole::Owner { group: None, ttl },
        };
        let ledger = start_ledger(&self.ledger_path(reports), target, run_id)?;
        Ok(Arc::new(Recorder::with_role(ledger, role)))
    }
}

/// Before the run: takes care of the tenant's settings by role (owner: the lease and
/// the snapshot; member: the group's lease), so a run that may not touch the tenant
/// refuses before it sends anything that changes it. `Err` is the message for exit 2;
/// a tenant that cannot be reached is left to the run's own probe (exit 3).
pub async fn take_tenant(
    recorder: &Recorder,
    project: &crate::suite::load::Project,
    filters: &[String],
    profile: Profile,
    target: &Target,
    client: &ClientOptions,
) -> Result<(), String> {
    let kinds = super::plan::planned_kinds(project, filters, profile, target);
    if !kinds.contains(&crate::suite::model::ResourceKind::Settings) {
        return Ok(());
    }
    let client = HttpClient::new(client.clone()).map_err(|e| e.to_string())?;
    match recorder.take_settings(&client, target).await {
        Ok(()) => Ok(()),
        Err(RecordError::Lease(LeaseError::Read(_)) | RecordError::Snapshot { .. })
            if !reachable(&client, target).await =>
        {
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

async fn reachable(client: &HttpClient, target: &Target) -> bool {
    super::record::tenant_call(client, target, "GET", "/thoth/settings", None)
        .await
        .is_ok()
}

/// Flags of `prepare`.
#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// The group the shards will name with `run --lease-group` (e.g. the CI run id).
    #[arg(long, value_name = "GROUP", env = "THOTH_LEASE_GROUP")]
    pub lease_group: String,
    /// How long the lease holds: the whole gate (build, shards, restore).
    #[arg(long, default_value = "180m", value_name = "DURATION")]
    pub lease_ttl: String,
    /// Where the restore is recorded (default: <reports>/ledger.jsonl); after the shards,
    /// `thoth-conformance cleanup --ledger FILE` restores the settings.
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    #[command(flatten)]
    pub live: LiveArgs,
}

/// `thoth-conformance prepare`: takes the tenant for a group of shards (the lease, and
/// the original settings in the ledger). 0 when taken, 2 when refused or misconfigured
/// (nothing changed), 3 when the tenant cannot be reached, 6 when the lease could not
/// be confirmed (the ledger's restore is pending).
pub async fn prepare(args: &PrepareArgs) -> i32 {
    let config_error = |msg: String| {
        eprintln!("error: {msg}");
        ExitCode::ConfigError as i32
    };
    let ttl = match crate::suite::duration::parse_duration(&args.lease_ttl) {
        Ok(t) => t,
        Err(e) => return config_error(format!("--lease-ttl {}: {e}", args.lease_ttl)),
    };
    let client_options = match args.live.client_options() {
        Ok(o) => o,
        Err(e) => return config_error(e),
    };
    let redactor = Redactor::new();
    let target = match Target::live(
        &args.live.live_options(),
        &|k| std::env::var(k).ok(),
        &redactor,
    ) {
        Ok(t) => t,
        Err(e) => return config_error(e.to_string()),
    };
    let client = match HttpClient::new(client_options) {
        Ok(c) => c,
        Err(e) => return config_error(e.to_string()),
    };
    let path = args
        .ledger
        .clone()
        .unwrap_or_else(|| args.reports.join("ledger.jsonl"));
    let run_id = crate::runner::new_run_id();
    let ledger = match start_ledger(&path, &target, &run_id) {
        Ok(l) => l,
        Err(e) => return config_error(redactor.redact(&e.to_string())),
    };
    let recorder = Recorder::with_role(
        ledger,
        SettingsRole::Owner {
            group: Some(args.lease_group.clone()),
            ttl,
        },
    );
    match recorder.take_settings(&client, &target).await {
        Ok(()) => {
            println!(
                "{}",
                redactor.redact(&format!(
                    "prepared: tenant `{}` is held for lease group `{}` (run {run_id}) until {}; after the shards restore it with `thoth-conformance cleanup --ledger {}`",
                    target.tenant,
                    args.lease_group,
                    recorder.lease().map(|l| l.expires_at).unwrap_or_default(),
                    path.display()
                ))
            );
            0
        }
        Err(e) => {
            eprintln!("error: {}", redactor.redact(&e.to_string()));
            let pending = super::ledger::Replay::read(&path)
                .map(|r| r.pending().len())
                .unwrap_or(0);
            if pending > 0 {
                eprintln!(
                    "the ledger {} holds the restore: run `thoth-conformance cleanup --ledger {}`",
                    path.display(),
                    path.display()
                );
                ExitCode::CleanupIncomplete as i32
            } else if !reachable(&client, &target).await {
                ExitCode::TargetUnreachable as i32
            } else {
                ExitCode::ConfigError as i32
            }
        }
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
