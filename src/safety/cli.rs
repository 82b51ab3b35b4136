//! The command-line side of live safety: `run --profile/--dry-run/--ledger` and the
//! `cleanup --ledger FILE` subcommand. Kept here so `src/cli.rs` only wires them in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::record::Recorder;
use super::session::{cleanup_ledger, finish_ledger, start_ledger, SessionError};
use super::{CleanupReport, Profile};
use crate::client::{ClientOptions, HttpClient};
use crate::outcome::{ExitCode, RunResult};
use crate::redact::Redactor;
use crate::report::results::render_results_with_cleanup;
use crate::report::{write_atomic, ReportPaths};
use crate::suite::duration::parse_duration;
use crate::target::{LiveOptions, Target, TargetKind};

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
    /// The ledger a run left behind (e.g. reports/ledger.jsonl).
    #[arg(long, value_name = "FILE")]
    pub ledger: PathBuf,
    /// Tenant id (else THOTH_TENANT_ID); must be the ledger's.
    #[arg(long)]
    pub tenant_id: Option<String>,
    /// Apex domain, for https://grid.<tenant>.<apex> (else THOTH_APEX_DOMAIN).
    #[arg(long)]
    pub apex_domain: Option<String>,
    /// GovAPI base URL, https unless loopback (else THOTH_GOVAPI_URL).
    #[arg(long)]
    pub govapi_url: Option<String>,
    /// File holding the admin bearer token (else THOTH_ADMIN_BEARER_TOKEN_FILE).
    #[arg(long, value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,
    /// Org API key (else THOTH_API_KEY or THOTH_ORG_API_KEY; prefer the env var).
    #[arg(long)]
    pub org_api_key: Option<String>,
    /// Extra root certificate (PEM) for a tenant behind a private CA.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Per HTTP request (e.g. 10s).
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub request_timeout: String,
}

/// `thoth-conformance cleanup`: 0 when nothing is left to undo, 6 otherwise, 2 on bad
/// configuration.
pub async fn cleanup(args: &CleanupArgs) -> i32 {
    let config_error = |msg: String| {
        eprintln!("error: {msg}");
        ExitCode::ConfigError as i32
    };
    let request_timeout = match parse_duration(&args.request_timeout) {
        Ok(d) => d,
        Err(e) => return config_error(format!("--request-timeout {}: {e}", args.request_timeout)),
    };
    let redactor = Redactor::new();
    let opts = LiveOptions {
        tenant_id: args.tenant_id.clone(),
        apex_domain: args.apex_domain.clone(),
        govapi_url: args.govapi_url.clone(),
        auth_token_file: args.auth_token_file.clone(),
        org_api_key: args.org_api_key.clone(),
        ..LiveOptions::default()
    };
    let target = match Target::live(&opts, &|k| std::env::var(k).ok(), &redactor) {
        Ok(t) => t,
        Err(e) => return config_error(e.to_string()),
    };
    let client = match HttpClient::new(ClientOptions {
        request_timeout,
        ca_cert: args.ca_cert.clone(),
        ..ClientOptions::default()
    }) {
        Ok(c) => c,
        Err(e) => return config_error(e.to_string()),
    };
    match cleanup_ledger(&args.ledger, &target, &client).await {
        Ok(report) => {
            print!("{}", report.render(&redactor));
            if report.complete {
                0
            } else {
                ExitCode::CleanupIncomplete as i32
            }
        }
        Err(e) => config_error(redactor.redact(&e.to_string())),
    }
}
