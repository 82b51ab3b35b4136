//! The ledger's life around a run, for the CLI and for library users: open it before the
//! run (refusing to overwrite one a crashed live run left unfinished), undo it after the
//! run, and `cleanup --ledger` after a crash.

use std::path::Path;

use super::lease::LeaseError;
use super::ledger::{now, Begin, Claimed, Ledger, LedgerError};
use super::record::{RecordError, Recorder};
use super::undo::{undo_pending, CleanupReport};
use super::Profile;
use crate::client::{ClientOptions, HttpClient};
use crate::target::{Target, TargetKind};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(
        "failed to start: the ledger {path} holds {pending} record(s) a previous run against {url} (tenant {tenant}) did not undo; finish it with `thoth-conformance cleanup --ledger {path}` or choose another --ledger"
    )]
    Unfinished {
        path: String,
        pending: usize,
        url: String,
        tenant: String,
    },
    #[error(
        "failed to clean up: the ledger {path} is for tenant `{ledger}` at {ledger_url}, the target is tenant `{target}` at {target_url}"
    )]
    WrongTarget {
        path: String,
        ledger: String,
        ledger_url: String,
        target: String,
        target_url: String,
    },
    #[error(
        "failed to clean up: the ledger {0} is from an in-process mock, which ended with its run"
    )]
    MockLedger(String),
    #[error(
        "failed to start: {path} is not a ledger this harness can read ({message}); it is kept as it is: move it away or choose another --ledger"
    )]
    Unreadable { path: String, message: String },
    #[error("failed to start: {0}")]
    Config(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Starts the run's ledger at `path`. A previous ledger of a live target with records
/// not yet undone is never overwritten (its run crashed: the tenant is not clean).
pub fn start_ledger(path: &Path, target: &Target, run_id: &str) -> Result<Ledger, SessionError> {
    // Locked before it is read: a second run on the same path fails here (InUse)
    // instead of interleaving lines with this one.
    let claimed = Claimed::open(path)?;
    match &claimed.previous {
        Ok(Some(old)) => {
            let pending = old.pending().len();
            if old.begin.target_kind == TargetKind::Live.as_str() && pending > 0 {
                return Err(SessionError::Unfinished {
                    path: path.display().to_string(),
                    pending,
                    url: old.begin.govapi_url.clone(),
                    tenant: old.begin.tenant.clone(),
                });
            }
        }
        Ok(None) => {}
        // Not ours to throw away: it may be a crashed run's ledger cut in the middle.
        Err(e) => {
            return Err(SessionError::Unreadable {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        }
    }
    Ok(claimed.start(Begin {
        run_id: run_id.to_string(),
        target_kind: target.kind.as_str().to_string(),
        govapi_url: target.govapi_url.clone(),
        tenant: target.tenant.clone(),
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        at: now(),
    })?)
}

/// Undoes what the run's ledger holds (read back from its file, the source of truth).
pub async fn finish_ledger(
    ledger: &Ledger,
    target: &Target,
    client: &HttpClient,
) -> Result<CleanupReport, SessionError> {
    let replay = super::ledger::Replay::read(ledger.path())?;
    Ok(undo_pending(ledger, &replay, target, client).await)
}

/// `cleanup --ledger FILE`: finishes a crashed run's cleanup against `target`, which must
/// be the tenant the ledger was written for.
pub async fn cleanup_ledger(
    path: &Path,
    target: &Target,
    client: &HttpClient,
) -> Result<CleanupReport, SessionError> {
    let (ledger, replay) = Ledger::open_append(path)?;
    let b = &replay.begin;
    if b.target_kind == TargetKind::Mock.as_str() {
        return Err(SessionError::MockLedger(path.display().to_string()));
    }
    if b.tenant != target.tenant || b.govapi_url.trim_end_matches('/') != target.govapi_url {
        return Err(SessionError::WrongTarget {
            path: path.display().to_string(),
            ledger: b.tenant.clone(),
            ledger_url: b.govapi_url.clone(),
            target: target.tenant.clone(),
            target_url: target.govapi_url.clone(),
        });
    }
    Ok(undo_pending(&ledger, &replay, target, client).await)
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

pub async fn reachable(client: &HttpClient, target: &Target) -> bool {
    super::call::tenant_call(client, target, "GET", crate::govapi::SETTINGS, None)
        .await
        .is_ok()
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
