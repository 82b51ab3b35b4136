//! The command-line side of live safety: `run --profile/--dry-run/--ledger`, and the
//! `prepare` and `cleanup --ledger FILE` subcommands. What they do lives in
//! [`crate::safety`]; this file parses flags, prints and picks the exit code.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::LiveArgs;
use crate::client::HttpClient;
use crate::outcome::ExitCode;
use crate::redact::Redactor;
use crate::safety::record::{Recorder, SettingsRole};
use crate::safety::session::{cleanup_ledger, reachable, start_ledger, SessionError};
use crate::safety::Profile;
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
    let run_id = crate::stamp::new_run_id();
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
            let pending = crate::safety::Replay::read(&path)
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
