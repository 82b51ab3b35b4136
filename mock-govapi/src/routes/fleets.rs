//! Fleets (`T/fleets`), as the vendor's Terraform provider manages them: `CreateFleet`
//! (POST, not retried) then `GetFleet`; `UpdateFleet` (PUT `T/fleets/{id}`, the whole
//! plan) then `GetFleet`; `DeleteFleet` (404 tolerated); `ListFleets` reads `data[]`
//! once and filters `status`, `region`, `provider` itself (`fleets_data_source.go`).
//! A fleet-scoped API key must name one of these (`routes::api_keys`).
//!
//! [C]: a client may choose the `fleet_id` on create (Terraform never does; the
//! server makes one otherwise), PUT replaces every writable field (what Terraform
//! sends is its whole plan, so a field it leaves out is one the user unset), and
//! DELETE answers the id it removed.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::auth::Principal;
use crate::auth::Rule;
use crate::clock::Timestamp;
use crate::error::{ApiError, ApiResult};
use crate::extract::{paginate_for, ApiJson, Page, PageQuery};
use crate::records::{Fleet, TenantState};
use crate::routes::Routes;
use crate::state::AppState;

/// Fleet statuses in the vendor's schema ("active, paused, deploying, error").
pub const FLEET_STATUSES: &[&str] = &["active", "paused", "deploying", "error"];
/// Rollout strategies in the vendor's schema ("canary or staged").
pub const ROLLOUT_STRATEGIES: &[&str] = &["canary", "staged"];

/// Fields the server owns: sent by a client, they are dropped rather than kept as
/// unknown fields that would shadow the real values.
const SERVER_OWNED: &[&str] = &[
    "fleet_id",
    "fleet_code",
    "drift_pct",
    "drifted_endpoint_count",
    "endpoint_count",
    "compliance_pct",
    "last_deployed_at",
    "last_deployed_version",
    "created_at",
    "updated_at",
    "tenant_id",
];

pub fn router() -> Routes {
    Routes::new()
        .route("/fleets", Rule::DATA, get(list).post(create))
        .route(
            "/fleets/{fleet_id}",
            Rule::DATA,
            get(get_one).put(update).delete(remove),
        )
}

#[derive(Debug, Deserialize)]
struct FleetBody {
    /// Only read on create [C].
    fleet_id: Option<String>,
    name: Option<String>,
    region: Option<String>,
    policy_id: Option<String>,
    policy_name: Option<String>,
    status: Option<String>,
    rollout_strategy: Option<String>,
    rollout_pct: Option<i64>,
    provider: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct FleetPath {
    fleet_id: String,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_fleet", message)
}

pub fn fleet_not_found(id: &str) -> ApiError {
    ApiError::not_found("fleet_not_found", format!("fleet `{id}` does not exist"))
}

/// A fleet id a client may choose: letters, digits and `_ - . :`, at most 128.
fn plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// Trimmed, with empty meaning absent.
fn text(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The writable fields of `body`, checked; `id` and the timestamps come from the caller.
fn fleet_from(
    body: FleetBody,
    id: String,
    created_at: Timestamp,
    now: Timestamp,
) -> Result<Fleet, ApiError> {
    let name = text(body.name).ok_or_else(|| invalid("name must be given and not empty"))?;
    let status = text(body.status).unwrap_or_else(|| "active".into());
    if !FLEET_STATUSES.contains(&status.as_str()) {
        return Err(invalid(format!(
            "status `{status}` is not one of {}",
            FLEET_STATUSES.join(", ")
        )));
    }
    let rollout_strategy = text(body.rollout_strategy);
    if let Some(s) = &rollout_strategy {
        if !ROLLOUT_STRATEGIES.contains(&s.as_str()) {
            return Err(invalid(format!(
                "rollout_strategy `{s}` is not one of {}",
                ROLLOUT_STRATEGIES.join(", ")
            )));
        }
    }
    let rollout_pct = body.rollout_pct.unwrap_or(0);
    if !(0..=100).contains(&rollout_pct) {
        return Err(invalid(format!(
            "rollout_pct {rollout_pct} is not between 0 and 100"
        )));
    }
    let mut extra = body.extra;
    extra.retain(|k, _| !SERVER_OWNED.contains(&k.as_str()));
    Ok(Fleet {
        fleet_code: fleet_code(&id),
        fleet_id: id,
        name,
        region: text(body.region),
        policy_id: text(body.policy_id),
        policy_name: text(body.policy_name),
        status,
        rollout_strategy,
        rollout_pct,
        provider: text(body.provider),
        created_at,
        updated_at: now,
        extra,
    })
}

/// A short code derived from the id [C] (the vendor's is server-made, format unknown).
fn fleet_code(id: &str) -> String {
    let tail: String = id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("FLT-{}", tail.to_ascii_uppercase())
}

fn endpoint_counts(data: &TenantState) -> HashMap<&str, u64> {
    let mut counts = HashMap::new();
    for endpoint in data.endpoints.values() {
        if let Some(fleet) = endpoint.fleet_id.as_deref() {
            *counts.entry(fleet).or_insert(0) += 1;
        }
    }
    counts
}

fn row_json(fleet: &Fleet, endpoint_count: u64) -> Value {
    let mut row = json!(fleet);
    row["endpoint_count"] = json!(endpoint_count);
    row["drift_pct"] = json!(0.0);
    row["drifted_endpoint_count"] = json!(0);
    row["compliance_pct"] = json!(0.0);
    row["last_deployed_at"] = Value::Null;
    row["last_deployed_version"] = Value::Null;
    row
}

fn one_row(data: &TenantState, id: &str) -> Result<Value, ApiError> {
    let fleet = data.fleets.get(id).ok_or_else(|| fleet_not_found(id))?;
    let count = data
        .endpoints
        .values()
        .filter(|e| e.fleet_id.as_deref() == Some(id))
        .count() as u64;
    Ok(row_json(fleet, count))
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<Value>>> {
    let rows: Vec<Value> = {
        let data = state.tenant(&principal.tenant)?;
        let counts = endpoint_counts(&data);
        data.fleets
            .values()
            .map(|f| row_json(f, counts.get(f.fleet_id.as_str()).copied().unwrap_or(0)))
            .collect()
    };
    Ok(Json(paginate_for(&state, rows, page)?))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<FleetBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = match text(body.fleet_id.clone()) {
        Some(id) if plain_id(&id) => id,
        Some(id) => {
            return Err(invalid(format!(
                "fleet_id `{id}` must be 1 to 128 letters, digits or `_ - . :`"
            )))
        }
        None => format!("flt-{}", uuid::Uuid::new_v4().simple()),
    };
    let now = state.now();
    let fleet = fleet_from(body, id.clone(), now, now)?;
    let mut data = state.tenant(&principal.tenant)?;
    if data.fleets.contains_key(&id) {
        return Err(ApiError::conflict(
            "fleet_exists",
            format!("fleet `{id}` already exists"),
        ));
    }
    data.fleets.insert(id.clone(), fleet);
    Ok((StatusCode::CREATED, Json(one_row(&data, &id)?)))
}

async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(path): Path<FleetPath>,
) -> ApiResult<Json<Value>> {
    let data = state.tenant(&principal.tenant)?;
    Ok(Json(one_row(&data, &path.fleet_id)?))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(path): Path<FleetPath>,
    ApiJson(body): ApiJson<FleetBody>,
) -> ApiResult<Json<Value>> {
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    let created_at = data
        .fleets
        .get(&path.fleet_id)
        .ok_or_else(|| fleet_not_found(&path.fleet_id))?
        .created_at;
    let fleet = fleet_from(body, path.fleet_id.clone(), created_at, now)?;
    data.fleets.insert(path.fleet_id.clone(), fleet);
    Ok(Json(one_row(&data, &path.fleet_id)?))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(path): Path<FleetPath>,
) -> ApiResult<Json<Value>> {
    let mut data = state.tenant(&principal.tenant)?;
    data.fleets
        .remove(&path.fleet_id)
        .ok_or_else(|| fleet_not_found(&path.fleet_id))?;
    Ok(Json(json!({"fleet_id": path.fleet_id, "deleted": true})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_codes_come_from_the_id_tail() {
        assert_eq!(fleet_code("flt-0123456789abcdef"), "FLT-ABCDEF");
        assert_eq!(fleet_code("a-b"), "FLT-AB");
    }

    #[test]
    fn chosen_ids_are_plain() {
        assert!(plain_id("fleet-a.1:x_y"));
        for bad in ["", "../x", "a/b", "a b", &"x".repeat(129)] {
            assert!(!plain_id(bad), "{bad:?}");
        }
    }
}
