//! Governance decision simulation (`POST /__admin/tenants/{t}/decisions`, and the
//! `decisions` of the admin seed): stands in for the proxies whose tool calls the
//! real control plane decides, so suites can create approvals, alerts and feed events.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Json;
use serde_json::{json, Value};

use crate::auth::Rule;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::faults::Fault;
use crate::gov::decisions::{self, DecisionDefects, DecisionOutcome, DecisionRequest};
use crate::gov::events::{Event, DECISION_EVENT_TYPE};
use crate::routes::Routes;
use crate::state::AppState;
use crate::webhook::deliver_webhook;

pub fn router() -> Routes {
    Routes::new().route(
        "/__admin/tenants/{tenant}/decisions",
        Rule::OPEN,
        post(simulate_one),
    )
}

async fn simulate_one(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<DecisionOutcome>)> {
    let mut outcomes = simulate(&state, &tenant, vec![body], false).await?;
    let outcome = outcomes.pop().ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "record decision: no outcome",
        )
    })?;
    Ok((StatusCode::CREATED, Json(outcome)))
}

/// Decides and records each request, all or nothing (one bad request leaves the tenant
/// unchanged), then hands every new event to the tenant's webhook without waiting: a
/// slow or failing SIEM must never fail or delay the decision. With `indexed`, errors
/// name the request (`decisions[2]: ...`), as the seed's list needs.
pub async fn simulate(
    state: &AppState,
    tenant: &str,
    bodies: Vec<Value>,
    indexed: bool,
) -> ApiResult<Vec<DecisionOutcome>> {
    let now = state.now();
    let mut requests = Vec::with_capacity(bodies.len());
    for (index, body) in bodies.into_iter().enumerate() {
        let checked = DecisionRequest::from_json(body).and_then(|request| {
            request.validated(now)?;
            Ok(request)
        });
        requests.push(checked.map_err(|err| located(err.into(), indexed, index))?);
    }
    let defects = decision_defects(state, false);
    let mut outcomes = Vec::with_capacity(requests.len());
    let mut events: Vec<Event> = Vec::with_capacity(requests.len());
    {
        let mut guard = state.tenant(tenant)?;
        let data = &mut *guard;
        // Every request was validated above, so none of these fails midway and the
        // batch is recorded whole.
        for (index, request) in requests.iter().enumerate() {
            let (outcome, event) =
                decisions::apply(&mut data.gov, &data.settings, request, now, defects)
                    .map_err(|err| located(err.into(), indexed, index))?;
            outcomes.push(outcome);
            events.push(event);
        }
    }
    deliver_decisions(state, tenant, events);
    Ok(outcomes)
}

/// The decision path's defects from the active faults. `enforce` is true on the data
/// plane, where `step-up-opens-no-approval` and `enforce-ignores-shadow-policy` apply.
pub fn decision_defects(state: &AppState, enforce: bool) -> DecisionDefects {
    DecisionDefects {
        skip_approvals: state.fault(Fault::StepUpCreatesNoApproval)
            || (enforce && state.fault(Fault::StepUpOpensNoApproval)),
        skip_alerts: state.fault(Fault::AlertsNotRaised),
        ignore_shadow_policy: enforce && state.fault(Fault::EnforceIgnoresShadowPolicy),
    }
}

/// Hands each new decision event to the tenant's webhook without waiting: a slow or
/// failing SIEM must never fail or delay the decision.
pub fn deliver_decisions(state: &AppState, tenant: &str, events: Vec<Event>) {
    for event in events {
        let state = state.clone();
        let tenant = tenant.to_owned();
        tokio::spawn(async move {
            let payload = json!({
                "event_id": event.event_id,
                "decision": event.decision,
                "event": event,
            });
            // The outcome is recorded in the tenant's webhook_deliveries.
            let _ = deliver_webhook(&state, &tenant, DECISION_EVENT_TYPE, payload).await;
        });
    }
}

/// Prefixes `decisions[i]: ` when the caller sent a list.
fn located(mut err: ApiError, indexed: bool, index: usize) -> ApiError {
    if indexed {
        err.message = format!("decisions[{index}]: {}", err.message);
    }
    err
}
