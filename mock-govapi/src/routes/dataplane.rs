//! The enforcer data plane the vendor SDKs call (`atensec-thoth`:
//! `thoth/enforcer_client.py`, `step_up.py`, `emitter.py`; contract in DATAPLANE.md):
//! `POST /v1/enforce`, `GET /v1/enforce/hold/{hold_token}`, `POST /v1/events/batch`,
//! `POST /v1/explain`.
//!
//! The paths name no tenant: the tenant is the credential's (an org API key or a
//! created key with the `execute` permission), and a body's `tenant_id` must match it.
//! Errors use the nested envelope the SDK parses (`http_diagnostics.py`):
//! `{"error":{"type":..,"code":..,"message":..}}`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::decisions::{decision_defects, deliver_decisions};
use crate::auth::Rule;
use crate::auth::{api_key_header, bearer_token, require_active};
use crate::error::ApiError;
use crate::extract::{body_error, parse_json};
use crate::faults::Fault;
use crate::gov::decisions::{self, Call, EnforcementMode};
use crate::gov::events::{CallContext, Decision};
use crate::gov::holds::{hold_state, HoldDefects, HoldState};
use crate::gov::{new_id, GovError};
use crate::records::Permission;
use crate::routes::Routes;
use crate::signing::sha256_hex;
use crate::state::AppState;

/// SDK events kept per tenant; older ones are dropped first, so a long soak cannot grow
/// the mock without bound.
const MAX_SDK_EVENTS: usize = 10_000;

pub fn router() -> Routes {
    Routes::new()
        .route("/v1/enforce", Rule::DATA_PLANE, post(enforce))
        .route("/v1/enforce/hold/{hold_token}", Rule::DATA_PLANE, get(hold))
        .route("/v1/events/batch", Rule::DATA_PLANE, post(events_batch))
        .route("/v1/explain", Rule::DATA_PLANE, post(explain))
}

/// An [`ApiError`] rendered in the data plane's nested envelope.
#[derive(Debug)]
pub struct PlaneError(pub ApiError);

impl From<ApiError> for PlaneError {
    fn from(err: ApiError) -> Self {
        PlaneError(err)
    }
}

impl From<GovError> for PlaneError {
    fn from(err: GovError) -> Self {
        PlaneError(err.into())
    }
}

impl IntoResponse for PlaneError {
    fn into_response(self) -> Response {
        let err = self.0;
        let kind = match err.status {
            StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => "invalid_request_error",
            StatusCode::UNAUTHORIZED => "authentication_error",
            StatusCode::FORBIDDEN => "permission_error",
            StatusCode::NOT_FOUND => "not_found_error",
            StatusCode::TOO_MANY_REQUESTS => "rate_limit_error",
            _ => "api_error",
        };
        let body = json!({"error": {"type": kind, "code": err.code, "message": err.message}});
        (err.status, Json(body)).into_response()
    }
}

type PlaneResult<T> = Result<T, PlaneError>;

/// The tenant a data-plane credential belongs to.
#[derive(Debug, Clone)]
struct Caller {
    tenant: String,
}

/// The one credential of the request: `X-Api-Key` (Python SDK enforce), `Authorization:
/// Bearer` (hold polls, the Go SDK), or both naming the same key (`emitter.py` sends
/// both on `/v1/events/batch`).
fn presented_credential(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    match (bearer_token(headers), api_key_header(headers)) {
        (Some(a), Some(b)) if !crate::signing::constant_time_eq(a.as_bytes(), b.as_bytes()) => {
            Err(ApiError::bad_request(
                "ambiguous_credentials",
                "Authorization and X-Api-Key name different keys; send one key",
            ))
        }
        (Some(value), _) | (None, Some(value)) => Ok(Some(value)),
        (None, None) => Ok(None),
    }
}

fn invalid() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "the API key is not valid")
}

/// Resolves the request's key to its tenant and checks the `execute` permission.
/// `claimed` is the body's `tenant_id`, which must be the key's tenant.
fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    claimed: Option<&str>,
) -> Result<Caller, ApiError> {
    let claimed = claimed.filter(|t| !t.is_empty());
    let fallback = || {
        claimed
            .filter(|t| state.has_tenant(t))
            .or_else(|| state.tenant_ids().next())
            .unwrap_or_default()
            .to_owned()
    };
    let credential = presented_credential(headers)?;
    if state.config().skip_auth {
        return Ok(Caller { tenant: fallback() });
    }
    let Some(value) = credential else {
        if state.fault(Fault::AuthNotEnforced) {
            return Ok(Caller { tenant: fallback() });
        }
        return Err(ApiError::unauthorized(
            "missing_credentials",
            "send X-Api-Key: <key> or Authorization: Bearer <key> with an execute-permission API key",
        ));
    };
    if value.is_empty() {
        return Err(invalid());
    }
    let owner = match state.tenant_of_configured_credential(value, false) {
        Some(tenant) => tenant.to_owned(),
        // The admin token is a control-plane credential only [C].
        None if state.tenant_of_configured_credential(value, true).is_some() => {
            return Err(ApiError::unauthorized(
                "invalid_credentials",
                "the admin token is not a data-plane credential; use an API key with the execute permission",
            ))
        }
        None => created_key_owner(state, value)?,
    };
    match claimed {
        Some(claimed) if claimed != owner => {
            if state.fault(Fault::TenantIsolationBroken) && state.has_tenant(claimed) {
                return Ok(Caller {
                    tenant: claimed.to_owned(),
                });
            }
            Err(ApiError::forbidden(
                "tenant_forbidden",
                format!("the API key does not belong to tenant `{claimed}`"),
            ))
        }
        _ => Ok(Caller { tenant: owner }),
    }
}

/// The tenant of a key created through `POST T/api-keys`, if it is active and holds
/// `execute`.
fn created_key_owner(state: &AppState, key: &str) -> Result<String, ApiError> {
    let hash = sha256_hex(key.as_bytes());
    let now = state.now();
    let tenants: Vec<String> = state.tenant_ids().map(str::to_owned).collect();
    for tenant in tenants {
        let mut data = state.tenant(&tenant)?;
        let Some(record) = data.api_keys.values_mut().find(|k| k.key_hash == hash) else {
            continue;
        };
        require_active(record, now)?;
        if !record.permissions.contains(&Permission::Execute)
            && !state.fault(Fault::ReadonlyKeyCanMutate)
        {
            return Err(ApiError::forbidden(
                "insufficient_permission",
                "the API key lacks the execute permission (thothctl api-keys create ... --permission execute)",
            ));
        }
        record.last_used_at = Some(now);
        return Ok(tenant);
    }
    Err(invalid())
}

/// The `tenant_id` a body claims, read leniently so that authentication (401/403)
/// answers before any complaint about the body's shape.
fn claimed_tenant(bytes: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    value.get("tenant_id")?.as_str().map(str::to_owned)
}

fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(body_error)
}

/// The SDK's enforce body (`enforcer_client.py:_payload`). Fields the mock does not
/// use are ignored, because the SDK adds fields over time.
#[derive(Debug, Default, Deserialize)]
struct EnforceBody {
    agent_id: Option<String>,
    user_id: Option<String>,
    tool_name: Option<String>,
    session_id: Option<String>,
    approved_scope: Option<Vec<String>>,
    enforcement_mode: Option<String>,
    enforcement_trace_id: Option<String>,
    action_attestation_id: Option<String>,
    endpoint_id: Option<String>,
    caller_agent_id: Option<String>,
    delegation_context: Option<Value>,
    violation_id: Option<String>,
}

fn required<'a>(field: &str, value: Option<&'a str>) -> Result<&'a str, ApiError> {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() && v.len() <= 256 => Ok(v),
        _ => Err(ApiError::bad_request(
            "invalid_request",
            format!("read enforce request: {field} is required (1 to 256 characters)"),
        )),
    }
}

/// The checked call of an enforce or explain body, and the body (for echoes).
fn read_call(bytes: &[u8]) -> Result<(Call, EnforceBody), ApiError> {
    let body: EnforceBody = parse_json(bytes)?;
    let agent_id = required("agent_id", body.agent_id.as_deref())?.to_owned();
    let tool_name = required("tool_name", body.tool_name.as_deref())?.to_owned();
    let mode = body
        .enforcement_mode
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(EnforcementMode::parse)
        .transpose()?;
    // Who delegated the call, if the SDK says [C]: the feed's `caller_agent_id` filter.
    let caller_agent_id = body.caller_agent_id.clone().or_else(|| {
        let ctx = body.delegation_context.as_ref()?;
        ["caller_agent_id", "parent_agent_id"]
            .iter()
            .find_map(|k| ctx.get(*k)?.as_str().map(str::to_owned))
    });
    let call = Call {
        agent_id,
        tool_name,
        endpoint_id: body.endpoint_id.clone(),
        user_id: body.user_id.clone(),
        mode,
        approved_scope: body.approved_scope.clone().unwrap_or_default(),
        context: CallContext {
            session_id: body.session_id.clone(),
            enforcement_mode: body.enforcement_mode.clone(),
            caller_agent_id,
            enforcement_trace_id: Some(
                body.enforcement_trace_id
                    .clone()
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| new_id("trace")),
            ),
            ..CallContext::default()
        },
        ..Call::default()
    };
    Ok((call, body))
}

/// `POST /v1/enforce`: decides through the tenant's policy and records the decision
/// exactly as the admin simulation does (feed event, alert and evidence on BLOCK,
/// pending approval and hold on STEP_UP, signed webhook delivery).
async fn enforce(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> PlaneResult<Json<Value>> {
    let bytes = body_bytes(body)?;
    let caller = authenticate(&state, &headers, claimed_tenant(&bytes).as_deref())?;
    let (call, body) = read_call(&bytes)?;
    let now = state.now();
    let defects = decision_defects(&state, true);
    let (outcome, event) = {
        let mut guard = state.tenant(&caller.tenant)?;
        let data = &mut *guard;
        decisions::apply_call(&mut data.gov, &data.settings, &call, now, defects)
    };
    let trace_id = event.context.enforcement_trace_id.clone();
    deliver_decisions(&state, &caller.tenant, vec![event]);
    let mut answer = json!({
        "decision": outcome.decision,
        "authorization_decision": outcome.decision,
        "decision_reason_code": outcome.decision_reason_code,
        "enforcement_trace_id": trace_id,
        "event_id": outcome.event_id,
    });
    let extra = [
        ("violation_id", outcome.violation_id.map(Value::from)),
        ("hold_token", outcome.hold_token.map(Value::from)),
        (
            "step_up_timeout_seconds",
            outcome.step_up_timeout_seconds.map(Value::from),
        ),
        (
            "action_attestation_id",
            body.action_attestation_id.map(Value::from),
        ),
    ];
    for (key, value) in extra {
        if let Some(value) = value {
            answer[key] = value;
        }
    }
    Ok(Json(answer))
}

/// `GET /v1/enforce/hold/{hold_token}` (`step_up.py:_coerce_hold_payload`): 202
/// `{resolved:false}` while pending, 200 `{resolved:true, resolution}` once decided.
async fn hold(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(hold_token): Path<String>,
) -> PlaneResult<Response> {
    let caller = authenticate(&state, &headers, None)?;
    let now = state.now();
    let defects = HoldDefects {
        never_resolves: state.fault(Fault::HoldNeverResolves),
        allow_after_deny: state.fault(Fault::HoldAllowAfterDeny),
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    let mut data = state.tenant(&caller.tenant)?;
    data.gov.approvals.expire_due(now);
    // Another tenant's token is as unknown as a made-up one.
    let hold = data.gov.holds.get(&hold_token).cloned().ok_or_else(|| {
        ApiError::not_found(
            "hold_not_found",
            format!("find hold {hold_token:?}: no such hold token"),
        )
    })?;
    let answer = match hold_state(&hold, &data.gov.approvals, now, defects) {
        HoldState::Pending => {
            let body = json!({
                "resolved": false,
                "status": "pending",
                "hold_token": hold.hold_token,
                "approval_id": hold.approval_id,
                "approval_url": format!("http://{host}/{}/thoth/approvals?status=pending", caller.tenant),
                "tool_name": hold.tool_name,
                "expires_at": hold.expires_at,
            });
            (StatusCode::ACCEPTED, Json(body))
        }
        HoldState::Resolved(decision) => {
            let status = if decision == Decision::Allow {
                "approved"
            } else {
                "denied"
            };
            let body = json!({
                "resolved": true,
                "resolution": decision,
                "status": status,
                "hold_token": hold.hold_token,
                "approval_id": hold.approval_id,
                "tool_name": hold.tool_name,
            });
            (StatusCode::OK, Json(body))
        }
        HoldState::Expired => {
            let body = json!({
                "resolved": true,
                "resolution": Decision::Block,
                "status": "expired",
                "reason": "step-up timed out: nobody approved the call before expires_at",
                "hold_token": hold.hold_token,
                "approval_id": hold.approval_id,
                "tool_name": hold.tool_name,
                "expires_at": hold.expires_at,
            });
            (StatusCode::OK, Json(body))
        }
    };
    Ok(answer.into_response())
}

fn not_a_batch() -> PlaneError {
    ApiError::bad_request(
        "invalid_request",
        "read event batch: expected a JSON array of events or {\"events\": [...]}",
    )
    .into()
}

/// `POST /v1/events/batch`: the SDK's `HttpEmitter` posts a JSON array of events;
/// `{"events":[...]}` is accepted too (DATAPLANE.md). Stored as received [C].
async fn events_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> PlaneResult<(StatusCode, Json<Value>)> {
    let bytes = body_bytes(body)?;
    let parsed: Value = parse_json(&bytes)?;
    let events = match parsed {
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove("events") {
            Some(Value::Array(items)) => items,
            _ => return Err(not_a_batch()),
        },
        _ => return Err(not_a_batch()),
    };
    if let Some(index) = events.iter().position(|e| !e.is_object()) {
        return Err(ApiError::bad_request(
            "invalid_request",
            format!("read event batch: events[{index}] is not an object"),
        )
        .into());
    }
    // Every event names its tenant; all of them must be the key's.
    let claimed = events
        .iter()
        .filter_map(|e| e.get("tenant_id").and_then(Value::as_str))
        .find(|t| !t.is_empty());
    let caller = authenticate(&state, &headers, claimed)?;
    if let Some(index) = events.iter().position(|e| {
        e.get("tenant_id")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty() && t != caller.tenant)
    }) {
        return Err(ApiError::forbidden(
            "tenant_forbidden",
            format!("events[{index}] names another tenant than the API key's"),
        )
        .into());
    }
    let now = state.now();
    let accepted = events.len();
    let mut data = state.tenant(&caller.tenant)?;
    let store = &mut data.gov.sdk_events;
    for mut event in events {
        if let Value::Object(map) = &mut event {
            map.insert("received_at".into(), json!(now));
        }
        store.push(event);
    }
    let excess = store.len().saturating_sub(MAX_SDK_EVENTS);
    store.drain(..excess);
    Ok((StatusCode::ACCEPTED, Json(json!({ "accepted": accepted }))))
}

/// `POST /v1/explain`: the decision the call would get and why, with nothing recorded
/// [C]; shaped as the SDK's `HumanExplanation` (which requires `violation_id`,
/// `what_happened`, `why_it_was_blocked`, `what_to_do_next`, `business_impact`,
/// `severity`).
async fn explain(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> PlaneResult<Json<Value>> {
    let bytes = body_bytes(body)?;
    let caller = authenticate(&state, &headers, claimed_tenant(&bytes).as_deref())?;
    let (call, body) = read_call(&bytes)?;
    let ignore_policy = decision_defects(&state, true).ignore_shadow_policy;
    let settings: Map<String, Value> = state.tenant(&caller.tenant)?.settings.clone();
    let verdict = decisions::decide(
        &settings,
        &call.tool_name,
        None,
        call.mode,
        &call.approved_scope,
        ignore_policy,
    );
    let what_to_do = match verdict.decision {
        Decision::Allow => "Nothing: the call may proceed.",
        Decision::StepUp => "Ask an approver to approve the pending request.",
        Decision::Block => {
            "Ask a tenant admin to change the tool's risk tier or the shadow policy."
        }
    };
    Ok(Json(json!({
        "decision": verdict.decision,
        "authorization_decision": verdict.decision,
        "decision_reason_code": verdict.reason_code,
        "risk_tier": verdict.tier,
        "shadow_decision": verdict.shadow_decision,
        "violation_id": body.violation_id.unwrap_or_default(),
        "tenant_id": caller.tenant,
        "agent_id": call.agent_id,
        "user_id": call.user_id,
        "session_id": call.context.session_id,
        "tool_name": call.tool_name,
        "severity": verdict.tier,
        "what_happened": format!("{} asked to call {}", call.agent_id, call.tool_name),
        "why_it_was_blocked": format!(
            "the tenant's policy decides {} for this call ({})",
            verdict.decision.wire(),
            verdict.reason_code
        ),
        "what_to_do_next": what_to_do,
        "business_impact": format!("a {} risk tool call", verdict.tier),
        "timestamp": state.now(),
    })))
}
