//! Endpoint registration, check-ins, listing and fleet statistics.
//!
//! Definitions used by `GET /endpoints/stats` (over the endpoints the caller may see):
//! - `online`: last check-in within `online_window`; `stale`: every other endpoint
//!   (never checked in, or not recently), so `online + stale == total`;
//! - `managed`: enrolled through an MDM (`jamf`, `intune`, `kandji`, `workspace_one`,
//!   `mdm`); `unmanaged`: every other enrollment (e.g. `manual`);
//! - `quarantined`: `status == "quarantined"`; `at_risk`: `risk_score >= 70`;
//! - `latest_version`: highest `proxy_version` seen; `proxy_outdated`: endpoints
//!   reporting a lower one.

use std::cmp::Ordering;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::created_or_updated;
use crate::auth::Principal;
use crate::auth::Rule;
use crate::clock::Timestamp;
use crate::endpoint_index::ListKey;
use crate::error::{ApiError, ApiResult};
use crate::extract::{page_window_for, ApiJson, OptionalJson, PageQuery};
use crate::faults::Fault;
use crate::records::{Checkin, Endpoint, EndpointStatus, NoRuntime, PendingCheckin, TenantState};
use crate::routes::Routes;
use crate::scope::scope_allows;
use crate::shared::Shared;
use crate::state::AppState;

pub const MANAGED_ENROLLMENTS: &[&str] = &["jamf", "intune", "kandji", "workspace_one", "mdm"];
pub const AT_RISK_SCORE: f64 = 70.0;

/// Fields the server owns: a client sending them must not shadow the real values
/// (unknown fields are kept and returned, so they would otherwise overwrite these).
const SERVER_OWNED: &[&str] = &[
    "last_seen",
    "registered_at",
    "created_at",
    "updated_at",
    "runtime_auth_mode",
    "identity_binding_user",
    "managed_runtime_key_id",
    "online",
    "managed",
];

pub fn router() -> Routes {
    Routes::new()
        .route(
            "/endpoints",
            Rule::DATA.scope_checked_by_handler(),
            get(list).post(register),
        )
        .route(
            "/endpoints/stats",
            Rule::DATA.scope_checked_by_handler(),
            get(stats),
        )
        .route(
            "/endpoints/{endpoint_id}",
            Rule::DATA.scope_checked_by_handler(),
            get(get_one),
        )
        .route(
            "/endpoints/{endpoint_id}/checkin",
            Rule::ACTION.scope_checked_by_handler(),
            post(checkin),
        )
        .route(
            "/endpoints/{endpoint_id}/quarantine",
            Rule::DATA.scope_checked_by_handler(),
            post(quarantine),
        )
}

/// Registration body; fields the mock does not know are kept in `extra`.
#[derive(Debug, Clone, Deserialize)]
pub struct RegisterBody {
    pub endpoint_id: String,
    pub hostname: String,
    pub employee_email: Option<String>,
    pub enrollment: Option<String>,
    pub environment: Option<String>,
    pub proxy_version: Option<String>,
    pub agent_ids: Option<Vec<String>>,
    pub os: Option<String>,
    pub fleet_id: Option<String>,
    pub risk_score: Option<f64>,
    pub violations_today: Option<u64>,
    pub sessions_today: Option<u64>,
    pub status: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_endpoint", message)
}

fn validate_id(id: &str) -> Result<(), ApiError> {
    let ok_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if id.is_empty() || id.len() > 128 || !ok_chars {
        return Err(invalid(format!(
            "endpoint_id `{id}` must be 1-128 characters of letters, digits, - _ . :"
        )));
    }
    Ok(())
}

fn validate_risk(score: Option<f64>) -> Result<(), ApiError> {
    match score {
        Some(s) if !(0.0..=100.0).contains(&s) => {
            Err(invalid(format!("risk_score {s} is not within 0-100")))
        }
        _ => Ok(()),
    }
}

/// Registers or updates an endpoint; `Ok(true)` when it was new. Shared with the
/// admin seed route.
pub fn upsert_endpoint(
    data: &mut TenantState,
    body: RegisterBody,
    now: Timestamp,
) -> Result<bool, ApiError> {
    validate_id(&body.endpoint_id)?;
    if body.hostname.trim().is_empty() {
        return Err(invalid("hostname must not be empty"));
    }
    validate_risk(body.risk_score)?;
    let status =
        match &body.status {
            None => None,
            Some(status) => Some(EndpointStatus::parse(status).ok_or_else(|| {
                invalid(format!("status `{status}` is not active or quarantined"))
            })?),
        };
    let created = !data.endpoints.contains_key(body.endpoint_id.as_str());
    data.endpoint_lists.touch();
    let strings = &mut data.strings;
    let row = match data.endpoints.entry(Shared::from(body.endpoint_id)) {
        std::collections::btree_map::Entry::Occupied(row) => row.into_mut(),
        std::collections::btree_map::Entry::Vacant(slot) => {
            let endpoint_id = slot.key().clone();
            slot.insert(Box::new(Endpoint {
                endpoint_id,
                hostname: String::new(),
                employee_email: None,
                enrollment: strings.intern("manual"),
                environment: None,
                proxy_version: None,
                agent_ids: Vec::new(),
                os: None,
                fleet_id: None,
                risk_score: 0.0,
                violations_today: 0,
                sessions_today: 0,
                status: EndpointStatus::Active,
                last_seen: None,
                registered_at: now,
                created_at: now,
                updated_at: now,
                runtime_auth_mode: NoRuntime,
                identity_binding_user: NoRuntime,
                managed_runtime_key_id: NoRuntime,
                extra: Map::new(),
                pending_checkins: Vec::new(),
            }))
        }
    };
    row.hostname = body.hostname;
    let mut keep = |new: Option<String>, old: &mut Option<Shared>| {
        if let Some(new) = new {
            *old = Some(strings.intern(&new));
        }
    };
    keep(body.employee_email, &mut row.employee_email);
    keep(body.environment, &mut row.environment);
    keep(body.proxy_version, &mut row.proxy_version);
    keep(body.os, &mut row.os);
    keep(body.fleet_id, &mut row.fleet_id);
    if let Some(enrollment) = body.enrollment.filter(|e| !e.is_empty()) {
        row.enrollment = strings.intern(&enrollment);
    }
    if let Some(agent_ids) = body.agent_ids {
        row.agent_ids = strings.intern_all(&agent_ids);
    }
    row.risk_score = body.risk_score.unwrap_or(row.risk_score);
    row.violations_today = body.violations_today.unwrap_or(row.violations_today);
    row.sessions_today = body.sessions_today.unwrap_or(row.sessions_today);
    if let Some(status) = status {
        row.status = status;
    }
    row.extra.extend(
        body.extra
            .into_iter()
            .filter(|(key, _)| !SERVER_OWNED.contains(&key.as_str())),
    );
    row.updated_at = now;
    Ok(created)
}

fn apply_checkin(row: &mut Endpoint, c: PendingCheckin) {
    if let Some(v) = c.proxy_version {
        row.proxy_version = Some(v);
    }
    if let Some(ids) = c.agent_ids {
        row.agent_ids = ids;
    }
    row.risk_score = c.risk_score.unwrap_or(row.risk_score);
    row.violations_today = c.violations_today.unwrap_or(row.violations_today);
    row.sessions_today = c.sessions_today.unwrap_or(row.sessions_today);
    row.last_seen = Some(c.received_at);
    row.updated_at = c.visible_at;
}

/// Makes this endpoint's check-ins whose lag has passed visible.
fn apply_due_checkins_of(row: &mut Endpoint, now: Timestamp) {
    if row.pending_checkins.is_empty() {
        return;
    }
    let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut row.pending_checkins)
        .into_iter()
        .partition(|p| p.visible_at <= now);
    row.pending_checkins = later;
    for pending in due {
        apply_checkin(row, pending);
    }
}

/// Makes check-ins whose lag has passed visible, for every endpoint. O(endpoints): only
/// the routes that read every row anyway (list, stats) call it; a check-in or a single
/// read touches its own row, so a fleet of 100k check-ins stays linear overall.
fn apply_due_checkins(data: &mut TenantState, now: Timestamp) {
    for row in data.endpoints.values_mut() {
        apply_due_checkins_of(row, now);
    }
}

pub fn is_managed(row: &Endpoint) -> bool {
    MANAGED_ENROLLMENTS
        .iter()
        .any(|m| row.enrollment.eq_ignore_ascii_case(m))
}

fn is_online(state: &AppState, row: &Endpoint, now: Timestamp) -> bool {
    row.last_seen
        .is_some_and(|seen| now.since(seen) <= state.config().online_window)
}

/// An endpoint as the API shows it: the row and its two derived flags, `online` and
/// `managed`. The fields are declared in the order of their names, the order the answers
/// had when they were built as a `serde_json::Value` (whose objects sort their keys), so
/// a row without extra fields serialises straight to the same bytes with no tree built;
/// one with extras goes through a `Value` to sort them in
/// (`tests::a_shown_row_is_the_sorted_object`).
#[derive(Serialize)]
struct Shown<'a> {
    agent_ids: &'a [Shared],
    created_at: Timestamp,
    employee_email: &'a Option<Shared>,
    endpoint_id: &'a Shared,
    enrollment: &'a Shared,
    environment: &'a Option<Shared>,
    fleet_id: &'a Option<Shared>,
    hostname: &'a str,
    identity_binding_user: NoRuntime,
    last_seen: Option<Timestamp>,
    managed: bool,
    managed_runtime_key_id: NoRuntime,
    online: bool,
    os: &'a Option<Shared>,
    proxy_version: &'a Option<Shared>,
    registered_at: Timestamp,
    #[serde(serialize_with = "crate::records::score::serialize")]
    risk_score: f64,
    runtime_auth_mode: NoRuntime,
    sessions_today: u64,
    status: EndpointStatus,
    updated_at: Timestamp,
    violations_today: u64,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

fn shown<'a>(state: &AppState, row: &'a Endpoint, now: Timestamp) -> Shown<'a> {
    Shown {
        agent_ids: &row.agent_ids,
        created_at: row.created_at,
        employee_email: &row.employee_email,
        endpoint_id: &row.endpoint_id,
        enrollment: &row.enrollment,
        environment: &row.environment,
        fleet_id: &row.fleet_id,
        hostname: &row.hostname,
        identity_binding_user: row.identity_binding_user,
        last_seen: row.last_seen,
        managed: is_managed(row),
        managed_runtime_key_id: row.managed_runtime_key_id,
        online: is_online(state, row, now),
        os: &row.os,
        proxy_version: &row.proxy_version,
        registered_at: row.registered_at,
        risk_score: row.risk_score,
        runtime_auth_mode: row.runtime_auth_mode,
        sessions_today: row.sessions_today,
        status: row.status,
        updated_at: row.updated_at,
        violations_today: row.violations_today,
        extra: &row.extra,
    }
}

/// The row as a JSON tree (for the list page, which is one).
fn row_json(state: &AppState, row: &Endpoint, now: Timestamp) -> Value {
    serde_json::to_value(shown(state, row, now)).unwrap_or(Value::Null)
}

/// A JSON answer already serialised: built while the tenant is locked, sent after.
pub struct JsonBytes(Vec<u8>);

impl IntoResponse for JsonBytes {
    fn into_response(self) -> axum::response::Response {
        (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            self.0,
        )
            .into_response()
    }
}

/// One endpoint's answer body.
fn row_body(state: &AppState, row: &Endpoint, now: Timestamp) -> JsonBytes {
    let view = shown(state, row, now);
    let bytes = if row.extra.is_empty() {
        serde_json::to_vec(&view)
    } else {
        serde_json::to_value(view).and_then(|sorted| serde_json::to_vec(&sorted))
    };
    JsonBytes(bytes.unwrap_or_else(|_| b"null".to_vec()))
}

/// Orders version strings by their numeric dot-separated parts (`0.2.10 > 0.2.9`),
/// ignoring a leading `v` and any pre-release or build suffix.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn key(v: &str) -> Vec<u64> {
        v.trim()
            .trim_start_matches(['v', 'V'])
            .split(['-', '+'])
            .next()
            .unwrap_or("")
            .split('.')
            .map(|part| part.parse().unwrap_or(0))
            .collect()
    }
    let (ka, kb) = (key(a), key(b));
    let len = ka.len().max(kb.len());
    let pad = |mut k: Vec<u64>| {
        k.resize(len, 0);
        k
    };
    pad(ka).cmp(&pad(kb))
}

fn visible<'a>(
    principal: &'a Principal,
    data: &'a TenantState,
) -> impl Iterator<Item = &'a Endpoint> {
    data.endpoints
        .values()
        .map(|row| &**row)
        .filter(move |row| principal.covers("endpoint", &row.endpoint_id, data))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    env: Option<String>,
    fleet_id: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> ApiResult<axum::response::Response> {
    let now = state.now();
    let mut guard = state.tenant(&principal.tenant)?;
    let data = &mut *guard;
    let key = ListKey {
        scope_level: principal.scope_level,
        scope_target_id: principal.scope_target_id.clone(),
        env: query.env.clone(),
        fleet_id: query.fleet_id.clone(),
    };
    let selects = |row: &Endpoint, data: &TenantState| {
        principal.covers("endpoint", &row.endpoint_id, data)
            && query
                .env
                .as_ref()
                .is_none_or(|env| row.environment.as_deref() == Some(env.as_str()))
            && query
                .fleet_id
                .as_ref()
                .is_none_or(|f| row.fleet_id.as_deref() == Some(f.as_str()))
    };
    // The filtered ids come from the index (built once per change of the fleet), and
    // only the page's rows are read, brought up to date and rendered: paging through a
    // fleet of n costs n rows in all, not n per page.
    let mut page_ids = Vec::new();
    let mut window = None;
    for attempt in 0..2 {
        // Taken out for the build, so the filter can read the tenant (scope by fleet).
        let mut lists = std::mem::take(&mut data.endpoint_lists);
        let ids = lists.ids(&data.endpoints, key.clone(), |row| selects(row, data));
        data.endpoint_lists = lists;
        let w = page_window_for(&state, ids.len(), query.page)?;
        page_ids = ids[w.rows.clone()].to_vec();
        window = Some(w);
        // A row changed behind the index's back (a route that did not touch it): the
        // list is rebuilt once rather than served stale.
        let fresh = page_ids
            .iter()
            .all(|id| data.endpoints.get(id).is_some_and(|row| selects(row, data)));
        if fresh || attempt == 1 {
            break;
        }
        data.endpoint_lists.touch();
    }
    let rows = page_ids
        .iter()
        .filter_map(|id| {
            let row = data.endpoints.get_mut(id)?;
            apply_due_checkins_of(row, now);
            Some(row_json(&state, row, now))
        })
        .collect();
    let page = window.expect("the loop runs at least once").with(rows);
    if state.fault(Fault::EmptyListNull) && page.data.is_empty() {
        let mut shown = serde_json::to_value(&page).unwrap_or(Value::Null);
        shown["data"] = Value::Null;
        return Ok(Json(shown).into_response());
    }
    Ok(Json(page).into_response())
}

async fn register(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<RegisterBody>,
) -> ApiResult<(StatusCode, JsonBytes)> {
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    // A new endpoint is not in state yet, so a fleet key is checked against the fleet
    // the body claims.
    let fleet = data
        .endpoints
        .get(body.endpoint_id.as_str())
        .and_then(|e| e.fleet_id.as_deref().map(str::to_owned))
        .or_else(|| body.fleet_id.clone());
    if !scope_allows(
        principal.scope_level,
        principal.scope_target_id.as_deref(),
        "endpoint",
        &body.endpoint_id,
        |_| fleet.clone(),
    ) {
        return Err(ApiError::forbidden(
            "scope_denied",
            format!(
                "the API key's scope does not cover endpoint `{}`",
                body.endpoint_id
            ),
        ));
    }
    let id = body.endpoint_id.clone();
    let created = upsert_endpoint(&mut data, body, now)?;
    let row = row_body(&state, &data.endpoints[id.as_str()], now);
    let status = created_or_updated(created);
    Ok((status, row))
}

#[derive(Debug, Deserialize)]
struct EndpointPath {
    endpoint_id: String,
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found("endpoint_not_found", format!("no endpoint `{id}`"))
}

async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(path): Path<EndpointPath>,
) -> ApiResult<JsonBytes> {
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    let row = own_row(&principal, &mut data, &path.endpoint_id, now)?;
    Ok(row_body(&state, row, now))
}

/// The caller's endpoint `id` with its due check-ins applied; 403 outside the key's
/// scope, 404 when unknown.
fn own_row<'a>(
    principal: &Principal,
    data: &'a mut TenantState,
    id: &str,
    now: Timestamp,
) -> Result<&'a mut Endpoint, ApiError> {
    principal.require_covers("endpoint", id, data)?;
    let row = data.endpoints.get_mut(id).ok_or_else(|| not_found(id))?;
    apply_due_checkins_of(row, now);
    Ok(row)
}

async fn checkin(
    State(state): State<AppState>,
    principal: Principal,
    Path(path): Path<EndpointPath>,
    OptionalJson(body): OptionalJson<Checkin>,
) -> ApiResult<Json<Accepted>> {
    validate_risk(body.risk_score)?;
    let now = state.now();
    let lag = std::time::Duration::from_millis(state.config().realism.checkin_lag_ms);
    let mut guard = state.tenant(&principal.tenant)?;
    let data = &mut *guard;
    principal.require_covers("endpoint", &path.endpoint_id, data)?;
    let row = data
        .endpoints
        .get_mut(path.endpoint_id.as_str())
        .ok_or_else(|| not_found(&path.endpoint_id))?;
    if !state.fault(Fault::CheckinIgnoresStats) {
        let strings = &mut data.strings;
        let pending = PendingCheckin {
            received_at: now,
            visible_at: now.plus(lag),
            proxy_version: body.proxy_version.map(|v| strings.intern(&v)),
            agent_ids: body.agent_ids.map(|ids| strings.intern_all(&ids)),
            risk_score: body.risk_score,
            violations_today: body.violations_today,
            sessions_today: body.sessions_today,
        };
        apply_due_checkins_of(row, now);
        // Without lag (the default) the check-in is visible at once: applied here, it
        // never takes a queue allocation. Behind others still pending, it waits its turn.
        if pending.visible_at <= now && row.pending_checkins.is_empty() {
            apply_checkin(row, pending);
        } else {
            row.pending_checkins.push(pending);
        }
    }
    Ok(Json(Accepted {
        endpoint_id: path.endpoint_id,
        received_at: now,
        status: "accepted",
    }))
}

/// A check-in's answer; fields in the order of their names, as the answer always had.
#[derive(Serialize)]
struct Accepted {
    endpoint_id: String,
    received_at: Timestamp,
    status: &'static str,
}

/// `POST /endpoints/{id}/quarantine` (Terraform `client.go:QuarantineEndpoint`, no
/// body): the endpoint row with `status: "quarantined"`. Registering the id again
/// upserts it back with the status the body gives.
async fn quarantine(
    State(state): State<AppState>,
    principal: Principal,
    Path(path): Path<EndpointPath>,
) -> ApiResult<JsonBytes> {
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    let row = own_row(&principal, &mut data, &path.endpoint_id, now)?;
    row.status = EndpointStatus::Quarantined;
    row.updated_at = now;
    Ok(row_body(&state, row, now))
}

/// `GET /endpoints/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EndpointStats {
    pub total: u64,
    pub managed: u64,
    pub unmanaged: u64,
    pub online: u64,
    pub quarantined: u64,
    pub stale: u64,
    pub at_risk: u64,
    pub proxy_outdated: u64,
    pub latest_version: Option<String>,
}

fn compute_stats(state: &AppState, rows: &[&Endpoint], now: Timestamp) -> EndpointStats {
    let latest = rows
        .iter()
        .filter_map(|r| r.proxy_version.as_deref())
        .max_by(|a, b| compare_versions(a, b))
        .map(str::to_string);
    let mut stats = EndpointStats {
        latest_version: latest.clone(),
        ..EndpointStats::default()
    };
    let managed_uncounted = state.fault(Fault::StatsManagedUncounted);
    let online_swapped = state.fault(Fault::StatsOnlineSwapped);
    for row in rows.iter().copied() {
        stats.total += 1;
        if is_managed(row) && !managed_uncounted {
            stats.managed += 1;
        } else if !state.fault(Fault::StatsInconsistent) {
            stats.unmanaged += 1;
        }
        if is_online(state, row, now) != online_swapped {
            stats.online += 1;
        } else {
            stats.stale += 1;
        }
        stats.quarantined += u64::from(row.status == EndpointStatus::Quarantined);
        stats.at_risk += u64::from(row.risk_score >= AT_RISK_SCORE);
        if let (Some(v), Some(latest)) = (&row.proxy_version, &latest) {
            stats.proxy_outdated += u64::from(compare_versions(v, latest) == Ordering::Less);
        }
    }
    stats
}

async fn stats(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<EndpointStats>> {
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    apply_due_checkins(&mut data, now);
    let rows: Vec<&Endpoint> = visible(&principal, &data).collect();
    Ok(Json(compute_stats(&state, &rows, now)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(compare_versions("0.2.10", "0.2.9"), Ordering::Greater);
        assert_eq!(compare_versions("v0.2.8", "0.2.8"), Ordering::Equal);
        assert_eq!(compare_versions("0.3", "0.2.9"), Ordering::Greater);
        assert_eq!(compare_versions("1.0.0-rc1", "0.9.9"), Ordering::Greater);
    }

    fn register(data: &mut TenantState, id: &str, env: &str) {
        let body = serde_json::from_value(json!({
            "endpoint_id": id, "hostname": "h", "environment": env,
        }))
        .unwrap();
        upsert_endpoint(data, body, Timestamp::default()).unwrap();
    }

    fn key(env: &str) -> ListKey {
        ListKey {
            scope_level: crate::records::ScopeLevel::Organization,
            scope_target_id: None,
            env: Some(env.into()),
            fleet_id: None,
        }
    }

    /// What a row's answer was before it was typed: the row as a `Value` (sorted keys,
    /// extras among them) with `online` and `managed` set.
    fn as_value_was(state: &AppState, row: &Endpoint, now: Timestamp) -> String {
        let mut value = serde_json::to_value(row).unwrap();
        value["online"] = is_online(state, row, now).into();
        value["managed"] = is_managed(row).into();
        value.to_string()
    }

    /// The typed answer is byte for byte the sorted object clients and snapshots saw:
    /// with every field set, with none, and with extra fields to sort in.
    #[test]
    fn a_shown_row_is_the_sorted_object() {
        let state = AppState::new(crate::MockConfig::dev_default());
        let mut data = TenantState::default();
        let now = state.now();
        let full = json!({"endpoint_id": "ep-1", "hostname": "h1", "employee_email": "a@b",
            "enrollment": "jamf", "environment": "prod", "proxy_version": "0.2.8",
            "agent_ids": ["x", "y"], "os": "macos", "fleet_id": "f1", "risk_score": 42.5,
            "violations_today": 3, "sessions_today": 4, "status": "quarantined"});
        let bare = json!({"endpoint_id": "ep-2", "hostname": "h2"});
        let extras = json!({"endpoint_id": "ep-3", "hostname": "h3", "zz_last": [1],
            "aa_first": {"k": "v"}, "m_mid": null, "online": "not the server's"});
        for body in [full, bare, extras] {
            let id = body["endpoint_id"].as_str().unwrap().to_owned();
            upsert_endpoint(&mut data, serde_json::from_value(body).unwrap(), now).unwrap();
            let row = data.endpoints.get_mut(id.as_str()).unwrap();
            for checked_in in [false, true] {
                if checked_in {
                    row.last_seen = Some(now);
                }
                let typed = String::from_utf8(row_body(&state, row, now).0).unwrap();
                assert_eq!(typed, as_value_was(&state, row, now), "{id}");
                assert_eq!(row_json(&state, row, now).to_string(), typed, "{id}");
            }
        }
    }

    /// Two rows of one fleet hold one copy of what they repeat, and the key, the row
    /// and the list index one copy of the id.
    #[test]
    fn rows_share_what_they_repeat() {
        let mut data = TenantState::default();
        for id in ["ep-a", "ep-b"] {
            let body = json!({"endpoint_id": id, "hostname": id, "environment": "prod",
                "fleet_id": "f", "proxy_version": "0.2.8", "agent_ids": ["fs"],
                "employee_email": "x@y", "os": "macos"});
            let body = serde_json::from_value(body).unwrap();
            upsert_endpoint(&mut data, body, Timestamp::default()).unwrap();
        }
        let (a, b) = (&data.endpoints["ep-a"], &data.endpoints["ep-b"]);
        let same = |x: &Option<Shared>, y: &Option<Shared>| {
            Shared::is_same_copy(x.as_ref().unwrap(), y.as_ref().unwrap())
        };
        assert!(same(&a.environment, &b.environment));
        assert!(same(&a.fleet_id, &b.fleet_id));
        assert!(same(&a.proxy_version, &b.proxy_version));
        assert!(same(&a.employee_email, &b.employee_email));
        assert!(same(&a.os, &b.os));
        assert!(Shared::is_same_copy(&a.agent_ids[0], &b.agent_ids[0]));
        assert!(Shared::is_same_copy(&a.enrollment, &b.enrollment));
        let (id, row) = data.endpoints.first_key_value().unwrap();
        assert!(Shared::is_same_copy(id, &row.endpoint_id));
        let mut lists = std::mem::take(&mut data.endpoint_lists);
        let ids = lists.ids(&data.endpoints, key("prod"), |_| true);
        assert!(Shared::is_same_copy(&ids[0], &row.endpoint_id));
    }

    /// Paging the whole list visits each row once, not once per page; a registration
    /// (new row, or a row moved to another environment) rebuilds it.
    #[test]
    fn the_list_index_is_built_once_per_change() {
        let mut data = TenantState::default();
        for i in 0..1000 {
            register(&mut data, &format!("ep-{i:04}"), "prod");
        }
        let visits = std::cell::Cell::new(0usize);
        let prod = |row: &Endpoint| {
            visits.set(visits.get() + 1);
            row.environment.as_deref() == Some("prod")
        };
        let mut lists = std::mem::take(&mut data.endpoint_lists);
        for _page in 0..10 {
            let ids = lists.ids(&data.endpoints, key("prod"), prod);
            assert_eq!(ids.len(), 1000);
            assert_eq!(ids[0], "ep-0000");
        }
        assert_eq!(visits.get(), 1000, "one build for ten pages");
        data.endpoint_lists = lists;

        register(&mut data, "ep-0001", "dev");
        let mut lists = std::mem::take(&mut data.endpoint_lists);
        let ids = lists.ids(&data.endpoints, key("prod"), prod);
        assert_eq!(ids.len(), 999);
        assert!(!ids.iter().any(|id| id == "ep-0001"));
        assert_eq!(visits.get(), 2000);
        // A row added without a touch (a route that forgot it) still rebuilds: the
        // number of rows changed.
        let mut row = data.endpoints["ep-0002"].clone();
        row.endpoint_id = "ep-9999".into();
        data.endpoints.insert("ep-9999".into(), row);
        assert_eq!(lists.ids(&data.endpoints, key("prod"), prod).len(), 1000);
    }
}
