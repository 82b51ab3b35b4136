//! MDM providers (upsert keyed by `provider`), sync start, and sync job status.
//!
//! A sync job's status is computed from the time since it started: `queued` for the
//! first quarter of `sync_job_duration`, `running` until it has passed, then
//! `succeeded` (or `failed`, e.g. a jamf provider without credentials). Reads update
//! the provider row from its latest job, so no background task is needed.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::created_or_updated;
use crate::auth::Principal;
use crate::auth::Rule;
use crate::clock::Timestamp;
use crate::error::{ApiError, ApiResult};
use crate::extract::{paginate_for, ApiJson, OptionalJson, Page, PageQuery};
use crate::faults::Fault;
use crate::records::{MdmProvider, SyncJob, TenantState};
use crate::routes::Routes;
use crate::secrets::{SecretReadback, Secrets};
use crate::state::AppState;

pub const PROVIDERS: &[&str] = &["jamf", "intune", "kandji", "workspace_one", "custom"];

/// jamf cannot sync without these.
const JAMF_REQUIRED: &[&str] = &["base_url", "client_id", "client_secret"];

pub fn router() -> Routes {
    Routes::new()
        .route("/mdm/providers", Rule::DATA, get(list).post(upsert))
        .route(
            "/mdm/providers/{provider}/sync",
            Rule::ACTION,
            post(start_sync),
        )
        .route("/mdm/sync-jobs/{job_id}", Rule::DATA, get(job))
}

/// Job status at `now`: `(status, finished_at)`.
pub fn job_status(
    state: &AppState,
    job: &SyncJob,
    now: Timestamp,
) -> (&'static str, Option<Timestamp>) {
    let duration = state.config().sync_job_duration;
    let elapsed = now.since(job.created_at);
    if elapsed < duration / 4 {
        ("queued", None)
    } else if elapsed < duration || state.fault(Fault::MdmSyncStuck) {
        ("running", None)
    } else {
        let finished = Some(job.created_at.plus(duration));
        match job.outcome {
            Ok(_) => ("succeeded", finished),
            Err(_) => ("failed", finished),
        }
    }
}

/// A sync job as GET shows it. The fields are the ones the vendor's Terraform provider
/// reads (`mdm_sync_job_data_source.go`, `mdm_sync_resource.go:flattenMDMSync`):
/// `started_at` once running, `completed_at` once done, `updated_at` at the latest
/// transition, and `unassigned_count` (endpoints synced into no fleet; the mock's
/// synced endpoints always land unassigned-free, so 0 [C]). `finished_at` is the
/// mock's older name for `completed_at`, kept for clients that read it.
fn job_json(state: &AppState, job: &SyncJob, now: Timestamp) -> Value {
    let (status, finished_at) = job_status(state, job, now);
    let done = finished_at.is_some();
    let synced = synced_count(state, job);
    let started_at =
        (status != "queued").then(|| job.created_at.plus(state.config().sync_job_duration / 4));
    json!({
        "job_id": job.job_id,
        "provider": job.provider,
        "status": status,
        "synced_endpoints": match (synced, done) { (Some(n), true) => n, _ => 0 },
        "unassigned_count": 0,
        "error": match (&job.outcome, done) { (Err(e), true) => e.as_str(), _ => "" },
        "created_at": job.created_at,
        "started_at": started_at,
        "completed_at": finished_at,
        "updated_at": finished_at.or(started_at).unwrap_or(job.created_at),
        "finished_at": finished_at,
    })
}

/// The endpoints a successful job synced (`None` for a failed one); 0 under
/// `mdm-sync-counts-nothing`.
fn synced_count(state: &AppState, job: &SyncJob) -> Option<u64> {
    let n = *job.outcome.as_ref().ok()?;
    Some(if state.fault(Fault::MdmSyncCountsNothing) {
        0
    } else {
        n
    })
}

/// Brings each provider row up to date with its latest job.
fn refresh_providers(state: &AppState, data: &mut TenantState, now: Timestamp) {
    let TenantState {
        mdm_providers,
        sync_jobs,
        ..
    } = data;
    for row in mdm_providers.values_mut() {
        let Some(job) = row
            .last_sync_job_id
            .as_ref()
            .and_then(|id| sync_jobs.get(id))
        else {
            continue;
        };
        let (status, finished_at) = job_status(state, job, now);
        row.last_sync_status = Some(status.to_string());
        if let Some(finished_at) = finished_at {
            row.last_sync_at = Some(finished_at);
            match &job.outcome {
                Ok(_) => {
                    row.synced_endpoints = synced_count(state, job).unwrap_or(0);
                    row.last_error = None;
                }
                Err(e) => row.last_error = Some(e.clone()),
            }
        }
    }
}

/// The row as GET shows it: every secret-named field hidden, in the config and at the
/// top level (`api_key`, `credential`), by the same rule as every other record kind.
fn row_json(row: &MdmProvider) -> Value {
    // `extra` is flattened into the row, so the one rule covers the operator's
    // top-level fields too.
    let value = serde_json::to_value(row).unwrap_or(Value::Null);
    Secrets::Named.hide(&value, SecretReadback::Mask)
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<Value>>> {
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    refresh_providers(&state, &mut data, now);
    let rows = data.mdm_providers.values().map(row_json).collect();
    paginate_for(&state, rows, page).map(Json)
}

#[derive(Debug, Deserialize)]
struct UpsertBody {
    provider: String,
    name: Option<String>,
    enabled: Option<bool>,
    #[serde(default)]
    config: Map<String, Value>,
    /// Everything else at the top level (the operator's `endpoint_url`, `api_key`).
    #[serde(flatten)]
    extra: Map<String, Value>,
}

async fn upsert(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<UpsertBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if !PROVIDERS.contains(&body.provider.as_str()) {
        return Err(ApiError::bad_request(
            "invalid_provider",
            format!(
                "provider `{}` is not one of {}",
                body.provider,
                PROVIDERS.join(", ")
            ),
        ));
    }
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    let created = !data.mdm_providers.contains_key(&body.provider);
    let row = data
        .mdm_providers
        .entry(body.provider.clone())
        .or_insert_with(|| MdmProvider {
            provider: body.provider.clone(),
            name: body.provider.clone(),
            enabled: true,
            config: Map::new(),
            status: "active".into(),
            last_sync_at: None,
            last_sync_status: None,
            last_sync_job_id: None,
            last_error: None,
            synced_endpoints: 0,
            created_at: now,
            updated_at: now,
            extra: Map::new(),
        });
    let policy = state.config().secret_readback;
    let mut config = Value::Object(body.config);
    Secrets::Named.keep(&mut config, &Value::Object(row.config.clone()), policy);
    row.config = match config {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    // Server-owned row fields are not the client's to set.
    const OWNED: [&str; 8] = [
        "status",
        "last_sync_at",
        "last_sync_status",
        "last_sync_job_id",
        "last_error",
        "synced_endpoints",
        "created_at",
        "updated_at",
    ];
    let mut extra = body.extra;
    extra.retain(|key, _| !OWNED.contains(&key.as_str()));
    let mut extra = Value::Object(extra);
    Secrets::Named.keep(&mut extra, &Value::Object(row.extra.clone()), policy);
    if let Value::Object(extra) = extra {
        row.extra.extend(extra);
    }
    if let Some(name) = body.name.filter(|n| !n.is_empty()) {
        row.name = name;
    }
    row.enabled = body.enabled.unwrap_or(row.enabled);
    row.status = if row.enabled { "active" } else { "disabled" }.into();
    row.updated_at = now;
    let status = created_or_updated(created);
    Ok((status, Json(row_json(row))))
}

#[derive(Debug, Deserialize)]
struct ProviderPath {
    provider: String,
}

async fn start_sync(
    State(state): State<AppState>,
    principal: Principal,
    Path(path): Path<ProviderPath>,
    OptionalJson(_body): OptionalJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    let Some(row) = data.mdm_providers.get(&path.provider) else {
        return Err(ApiError::not_found(
            "provider_not_found",
            format!("no MDM provider `{}` is configured", path.provider),
        ));
    };
    if !row.enabled {
        return Err(ApiError::conflict(
            "provider_disabled",
            format!("MDM provider `{}` is disabled", path.provider),
        ));
    }
    if state.fault(Fault::MdmSyncRefused) {
        return Err(ApiError::unavailable(
            "sync_unavailable",
            "the MDM sync service is unavailable",
        ));
    }
    let missing: Vec<&str> = if row.provider == "jamf" {
        JAMF_REQUIRED
            .iter()
            .copied()
            .filter(|k| {
                row.config
                    .get(*k)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
            })
            .collect()
    } else {
        Vec::new()
    };
    let outcome = if missing.is_empty() {
        Ok(data
            .endpoints
            .values()
            .filter(|e| e.enrollment.eq_ignore_ascii_case(&path.provider))
            .count() as u64)
    } else {
        Err(format!("jamf config is missing {}", missing.join(", ")))
    };
    let job = SyncJob {
        job_id: format!("job_{}", uuid::Uuid::new_v4().simple()),
        provider: path.provider.clone(),
        created_at: now,
        outcome,
    };
    let body = job_json(&state, &job, now);
    if let Some(row) = data.mdm_providers.get_mut(&path.provider) {
        row.last_sync_job_id = Some(job.job_id.clone());
        row.last_sync_status = Some("queued".into());
        row.updated_at = now;
    }
    data.sync_jobs.insert(job.job_id.clone(), job);
    Ok((StatusCode::ACCEPTED, Json(body)))
}

#[derive(Debug, Deserialize)]
struct JobPath {
    job_id: String,
}

async fn job(
    State(state): State<AppState>,
    principal: Principal,
    Path(path): Path<JobPath>,
) -> ApiResult<Json<Value>> {
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    refresh_providers(&state, &mut data, now);
    data.sync_jobs
        .get(&path.job_id)
        .map(|job| Json(job_json(&state, job, now)))
        .ok_or_else(|| {
            ApiError::not_found("job_not_found", format!("no sync job `{}`", path.job_id))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_named_field_of_a_row_is_hidden() {
        let config: Map<String, Value> = serde_json::from_value(json!({
            "base_url": "https://jamf", "client_id": "id", "client_secret": "s3",
            "api_key": "k", "credential": "c", "nested": {"api_token": "t"}
        }))
        .unwrap();
        let now = crate::clock::Timestamp::default();
        let row = MdmProvider {
            provider: "jamf".into(),
            name: "jamf".into(),
            enabled: true,
            config,
            status: "active".into(),
            last_sync_at: None,
            last_sync_status: None,
            last_sync_job_id: None,
            last_error: None,
            synced_endpoints: 0,
            created_at: now,
            updated_at: now,
            // The operator's top-level fields are hidden by the same rule.
            extra: serde_json::from_value(
                json!({"endpoint_url": "https://kandji", "api_key": "top"}),
            )
            .unwrap(),
        };
        let shown = row_json(&row);
        let text = shown.to_string();
        for secret in ["\"s3\"", "\"k\"", "\"c\"", "\"t\"", "\"top\""] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(shown["config"]["client_id"], "id");
    }
}
