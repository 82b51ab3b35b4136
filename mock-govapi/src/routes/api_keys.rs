//! Scoped API keys: create (plaintext shown once, only its SHA-256 kept), list, authorize
//! (the real scope and permission decision), revoke, and the usage metrics the
//! vendor's Terraform `thoth_api_key_metrics` data source reads.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::Json;
use rand::distr::Alphanumeric;
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Rule;
use crate::auth::{Principal, PrincipalKind};
use crate::clock::Timestamp;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::faults::Fault;
use crate::records::{ApiKey, KeyAuthorization, Permission, ScopeLevel, TenantState};
use crate::routes::Routes;
use crate::scope::scope_allows;
use crate::signing::{constant_time_eq, sha256_hex};
use crate::state::AppState;

/// Random characters after `thoth_` (~238 bits).
const KEY_RANDOM_CHARS: usize = 40;
/// Characters of the key shown as its `prefix`.
const PREFIX_CHARS: usize = 12;

pub fn router() -> Routes {
    Routes::new()
        .route("/api-keys", Rule::DATA, get(list).post(create))
        .route("/api-keys/metrics", Rule::DATA, get(metrics))
        .route("/api-keys/{key_id}", Rule::DATA, delete(revoke))
        .route(
            "/api-keys/{key_id}/authorize",
            Rule::ACTION,
            post(authorize),
        )
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_api_key_request", message)
}

fn parse_scope(level: &str) -> Result<ScopeLevel, ApiError> {
    serde_json::from_value(Value::String(level.to_string())).map_err(|_| {
        invalid(format!(
            "scope_level `{level}` is not one of organization, fleet, endpoint, agent"
        ))
    })
}

fn parse_permission(name: &str) -> Result<Permission, ApiError> {
    serde_json::from_value(Value::String(name.to_string())).map_err(|_| {
        invalid(format!(
            "permission `{name}` is not one of read, write, execute"
        ))
    })
}

fn row_json(key: &ApiKey, now: Timestamp) -> Value {
    json!({
        "key_id": key.key_id,
        "name": key.name,
        "prefix": key.prefix,
        "scope_level": key.scope_level,
        "scope_target_id": key.scope_target_id,
        "permissions": key.permissions,
        "created_at": key.created_at,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
        "last_used_at": key.last_used_at,
        "active": key.is_active(now),
    })
}

async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Value>> {
    let now = state.now();
    let data = state.tenant(&principal.tenant)?;
    let rows: Vec<Value> = data.api_keys.values().map(|k| row_json(k, now)).collect();
    Ok(Json(json!({ "api_keys": rows })))
}

#[derive(Debug, Deserialize)]
struct CreateBody {
    /// Optional, as in the vendor's Terraform resource (`scoped_api_key_resource.go:
    /// Create`); a key created without one is listed with an empty name [C].
    name: Option<String>,
    #[serde(default = "organization")]
    scope_level: String,
    scope_target_id: Option<String>,
    #[serde(default)]
    permissions: Vec<String>,
    ttl_seconds: Option<u64>,
}

fn organization() -> String {
    "organization".into()
}

fn new_key_material() -> String {
    let random: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(KEY_RANDOM_CHARS)
        .map(char::from)
        .collect();
    format!("thoth_{random}")
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = match body.name.as_deref().map(str::trim) {
        None => String::new(),
        Some("") => return Err(invalid("name, when given, must not be empty")),
        Some(name) => name.to_string(),
    };
    let scope_level = parse_scope(&body.scope_level)?;
    let target = body.scope_target_id.filter(|t| !t.trim().is_empty());
    if scope_level != ScopeLevel::Organization && target.is_none() {
        return Err(invalid(format!(
            "scope_level {} needs a scope_target_id",
            body.scope_level
        )));
    }
    if body.permissions.is_empty() {
        return Err(invalid(
            "permissions must name at least one of read, write, execute",
        ));
    }
    let permissions = body
        .permissions
        .iter()
        .map(|p| parse_permission(p))
        .collect::<Result<BTreeSet<_>, _>>()?;
    if body.ttl_seconds == Some(0) {
        return Err(invalid("ttl_seconds must be positive"));
    }
    // A key must not mint a key with more rights than it has itself.
    if matches!(principal.kind, PrincipalKind::ApiKey { .. })
        && !permissions.is_subset(&principal.permissions)
        && !state.fault(Fault::KeyEscalationAllowed)
    {
        return Err(ApiError::forbidden(
            "permission_escalation",
            "an API key cannot create a key with permissions it does not hold",
        ));
    }
    let now = state.now();
    let expires_at = body
        .ttl_seconds
        .map(|ttl| now.plus(std::time::Duration::from_secs(ttl)));
    let plaintext = new_key_material();
    let key = ApiKey {
        key_id: format!("key_{}", uuid::Uuid::new_v4().simple()),
        name,
        prefix: plaintext.chars().take(PREFIX_CHARS).collect(),
        key_hash: sha256_hex(plaintext.as_bytes()),
        scope_level,
        scope_target_id: target.map(|t| t.trim().to_string()),
        permissions,
        created_at: now,
        // The fault answers the expiry but does not keep it, so the key never expires.
        expires_at: expires_at.filter(|_| !state.fault(Fault::KeyTtlIgnored)),
        revoked_at: None,
        last_used_at: None,
    };
    let mut answer = row_json(&key, now);
    answer["api_key"] = Value::String(plaintext);
    answer["expires_at"] = json!(expires_at);
    let mut data = state.tenant(&principal.tenant)?;
    // A fleet key must name a fleet of this tenant: a key scoped to nothing that
    // exists would authorize nothing, or whatever fleet later takes the id.
    if let (ScopeLevel::Fleet, Some(fleet)) = (key.scope_level, key.scope_target_id.as_deref()) {
        if !data.fleets.contains_key(fleet) {
            return Err(ApiError::bad_request(
                "fleet_not_found",
                format!("scope_target_id `{fleet}`: fleet does not exist"),
            ));
        }
    }
    data.api_keys.insert(key.key_id.clone(), key);
    Ok((StatusCode::CREATED, Json(answer)))
}

#[derive(Debug, Deserialize)]
struct KeyPath {
    key_id: String,
}

fn key_not_found(id: &str) -> ApiError {
    ApiError::not_found("api_key_not_found", format!("no API key `{id}`"))
}

async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(path): Path<KeyPath>,
) -> ApiResult<Json<Value>> {
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    let key = data
        .api_keys
        .get_mut(&path.key_id)
        .ok_or_else(|| key_not_found(&path.key_id))?;
    // Revoking twice is fine (clients retry DELETE); the first time stays recorded.
    let revoked_at = key.revoked_at.unwrap_or(now);
    if !state.fault(Fault::RevokedKeyValid) {
        key.revoked_at = Some(revoked_at);
    }
    Ok(Json(json!({
        "key_id": key.key_id,
        "revoked": true,
        "revoked_at": revoked_at,
    })))
}

#[derive(Debug, Deserialize)]
struct AuthorizeBody {
    api_key: String,
    permission: String,
    resource_type: String,
    resource_id: String,
}

/// The authorize decision for `key`, presented as `request.api_key`.
fn decide(
    state: &AppState,
    data: &TenantState,
    key: &ApiKey,
    request: &AuthorizeBody,
    permission: Permission,
    now: Timestamp,
) -> Value {
    let (resource_type, resource_id) =
        (request.resource_type.as_str(), request.resource_id.as_str());
    let matches = constant_time_eq(
        sha256_hex(request.api_key.as_bytes()).as_bytes(),
        key.key_hash.as_bytes(),
    );
    let expired = key.is_expired(now);
    let valid = matches && key.revoked_at.is_none() && !expired;
    let permission_allowed = state.fault(Fault::KeyPermissionIgnored)
        || (valid && key.permissions.contains(&permission));
    // The fault's regression: the target id is compared, the resource type is not.
    let same_id = state.fault(Fault::KeyScopeLevelIgnored)
        && key.scope_target_id.as_deref() == Some(resource_id);
    let scope_allowed = state.fault(Fault::KeyScopeIgnored)
        || (valid && same_id)
        || (valid
            && scope_allows(
                key.scope_level,
                key.scope_target_id.as_deref(),
                resource_type,
                resource_id,
                |id| {
                    data.endpoints
                        .get(id)
                        .and_then(|e| e.fleet_id.as_deref().map(str::to_owned))
                },
            ));
    json!({
        "valid": valid,
        "permission_allowed": permission_allowed,
        "scope_allowed": scope_allowed,
        "expired": expired,
        "revoked": key.revoked_at.is_some(),
        "scope_level": key.scope_level,
        "scope_target_id": key.scope_target_id,
        "validated_at": now,
    })
}

async fn authorize(
    State(state): State<AppState>,
    principal: Principal,
    Path(path): Path<KeyPath>,
    ApiJson(body): ApiJson<AuthorizeBody>,
) -> ApiResult<Json<Value>> {
    let permission = parse_permission(&body.permission)?;
    if body.resource_type.trim().is_empty() {
        return Err(invalid("resource_type must not be empty"));
    }
    let started = std::time::Instant::now();
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    let key = data
        .api_keys
        .get(&path.key_id)
        .ok_or_else(|| key_not_found(&path.key_id))?;
    let answer = decide(&state, &data, key, &body, permission, now);
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    note_authorization(&mut data, now, latency_ms);
    Ok(Json(answer))
}

/// The window `GET /api-keys/metrics` counts over ("trailing 24h" in the vendor's
/// schema).
const METRICS_WINDOW_HOURS: u64 = 24;

/// Keeps the authorize decisions of the trailing 24 hours only, so the record stays
/// bounded however long the mock runs.
fn note_authorization(data: &mut TenantState, now: Timestamp, latency_ms: f64) {
    let since = crate::gov::window_start(now, METRICS_WINDOW_HOURS);
    while data
        .key_authorizations
        .front()
        .is_some_and(|a| a.at < since)
    {
        data.key_authorizations.pop_front();
    }
    data.key_authorizations.push_back(KeyAuthorization {
        at: now,
        latency_ms,
    });
}

/// `GET /api-keys/metrics` (Terraform `client.go:GetAPIKeyMetrics`, retried; the data
/// source reads `key_usage_24h`, `red_team_tests` (int), `avg_latency_ms` (float),
/// `active_sdk_keys` (int)). What the mock counts [C]: `key_usage_24h` = authorize
/// decisions in the trailing 24 h, `avg_latency_ms` = their mean time in the mock,
/// `active_sdk_keys` = active keys holding `execute` (what the SDK's `/v1/enforce`
/// needs), `red_team_tests` = 0 (the mock runs none).
async fn metrics(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Value>> {
    let now = state.now();
    let data = state.tenant(&principal.tenant)?;
    let since = crate::gov::window_start(now, METRICS_WINDOW_HOURS);
    let recent: Vec<&KeyAuthorization> = data
        .key_authorizations
        .iter()
        .filter(|a| a.at >= since)
        .collect();
    let avg_latency_ms = if recent.is_empty() {
        0.0
    } else {
        recent.iter().map(|a| a.latency_ms).sum::<f64>() / recent.len() as f64
    };
    let active_sdk_keys = data
        .api_keys
        .values()
        .filter(|k| k.is_active(now) && k.permissions.contains(&Permission::Execute))
        .count();
    Ok(Json(json!({
        "key_usage_24h": recent.len(),
        "red_team_tests": 0,
        "avg_latency_ms": avg_latency_ms,
        "active_sdk_keys": active_sdk_keys,
        "window_hours": METRICS_WINDOW_HOURS,
        "generated_at": now,
    })))
}
