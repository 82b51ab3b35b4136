//! `/__admin`: inspect and steer the mock (no auth, loopback only).

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Rule;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::faults::Fault;
use crate::routes::endpoints::{upsert_endpoint, RegisterBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .route("/__admin/reset", Rule::OPEN, post(reset))
        .route(
            "/__admin/journal",
            Rule::OPEN,
            get(journal).delete(clear_journal),
        )
        .route("/__admin/faults", Rule::OPEN, get(faults).put(set_faults))
        .route("/__admin/clock", Rule::OPEN, post(advance_clock))
        .route(
            "/__admin/tenants/{tenant}/state",
            Rule::OPEN,
            get(tenant_state),
        )
        .route("/__admin/tenants/{tenant}/seed", Rule::OPEN, post(seed))
}

async fn reset(State(state): State<AppState>) -> StatusCode {
    state.reset();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
struct JournalQuery {
    #[serde(default)]
    since: u64,
}

async fn journal(State(state): State<AppState>, Query(q): Query<JournalQuery>) -> Json<Value> {
    Json(json!({ "data": state.journal().since(q.since) }))
}

async fn clear_journal(State(state): State<AppState>) -> StatusCode {
    state.journal().clear();
    StatusCode::NO_CONTENT
}

fn faults_body(state: &AppState) -> Json<Value> {
    let names: Vec<&str> = state.faults().iter().map(Fault::name).collect();
    Json(json!({ "faults": names }))
}

async fn faults(State(state): State<AppState>) -> Json<Value> {
    faults_body(&state)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsBody {
    faults: Vec<String>,
}

async fn set_faults(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<FaultsBody>,
) -> ApiResult<Json<Value>> {
    let faults = body
        .faults
        .iter()
        .map(|name| {
            name.parse::<Fault>()
                .map_err(|err| ApiError::bad_request("unknown_fault", err.to_string()))
        })
        .collect::<Result<BTreeSet<_>, _>>()?;
    state.set_faults(faults);
    Ok(faults_body(&state))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    advance_ms: u64,
}

/// Moves the mock's clock forward, so a suite can see a sync job finish or an endpoint
/// go stale without waiting.
async fn advance_clock(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ClockBody>,
) -> Json<Value> {
    state.advance_clock(std::time::Duration::from_millis(body.advance_ms));
    Json(json!({ "now": state.now() }))
}

async fn tenant_state(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Value>> {
    let data = state.tenant(&tenant)?;
    serde_json::to_value(&*data).map(Json).map_err(|err| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            format!("serialise tenant state: {err}"),
        )
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedBody {
    #[serde(default)]
    endpoints: Vec<RegisterBody>,
    #[serde(default)]
    decisions: Vec<Value>,
}

/// Seeds endpoints (all or none: a bad one leaves the tenant unchanged), then runs the
/// decisions through [`seed_decisions`].
async fn seed(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<SeedBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let count = body.endpoints.len();
    {
        let mut data = state.tenant(&tenant)?;
        let mut staged = data.clone();
        let now = state.now();
        for (index, endpoint) in body.endpoints.into_iter().enumerate() {
            upsert_endpoint(&mut staged, endpoint, now).map_err(|mut err| {
                err.message = format!("endpoints[{index}]: {}", err.message);
                err
            })?;
        }
        *data = staged;
    }
    let decisions = seed_decisions(&state, &tenant, body.decisions).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "endpoints": count, "decisions": decisions })),
    ))
}

/// The `decisions` part of a seed, through the governance decision simulator.
async fn seed_decisions(
    state: &AppState,
    tenant: &str,
    decisions: Vec<Value>,
) -> ApiResult<Vec<Value>> {
    let outcomes = crate::routes::decisions::simulate(state, tenant, decisions, true).await?;
    Ok(outcomes
        .iter()
        .map(|outcome| serde_json::to_value(outcome).unwrap_or(Value::Null))
        .collect())
}
