//! The two read-outs the vendor's pre-POC runbook curls that no vendor client reads
//! (`thoth-runbooks` `onboarding/headless-prepoc-testing.md` §7):
//! - `GET T/violations?limit=` — one row per blocked decision, newest first. The
//!   runbook's jq reads `.items[]? // .[]?` and per row `event_id` (or `id`),
//!   `tool_name`, `session_intent` and `metadata.decision_reason_code`, so the rows are
//!   under `items` and carry those fields; the rest of the row is [C].
//! - `GET T/agent-stats` — per-agent decision counts; the runbook only prints it, so
//!   the whole shape is [C].

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::auth::Rule;
use crate::error::ApiResult;
use crate::gov::backfill::bounded;
use crate::gov::events::{Decision, Event};
use crate::routes::Routes;
use crate::state::AppState;

/// Rows `violations` returns without a `limit` [C]; the runbook asks for 50 and 200.
pub const DEFAULT_VIOLATIONS_LIMIT: u64 = 50;
pub const MAX_VIOLATIONS_LIMIT: u64 = 1_000;

pub fn router() -> Routes {
    Routes::new()
        .route("/violations", Rule::DATA, get(violations))
        .route("/agent-stats", Rule::DATA, get(agent_stats))
}

#[derive(Debug, Default, Deserialize)]
struct ViolationsQuery {
    limit: Option<String>,
}

fn violation_row(event: &Event, violation_id: &str) -> Value {
    json!({
        "id": violation_id,
        "violation_id": violation_id,
        "event_id": event.event_id,
        "agent_id": event.agent_id,
        "tool_name": event.tool_name,
        "decision": event.decision,
        "risk_tier": event.risk_tier,
        "endpoint_id": event.endpoint_id,
        "user_id": event.user_id,
        "session_id": event.context.session_id,
        "session_intent": Value::Null,
        "alert_id": event.alert_id,
        "occurred_at": event.occurred_at,
        "metadata": {
            "decision_reason_code": event.reason_code,
            "policy_reference": event.policy_reference,
            "enforcement_mode": event.context.enforcement_mode,
        },
    })
}

async fn violations(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ViolationsQuery>,
) -> ApiResult<Json<Value>> {
    let limit = bounded(
        "limit",
        query.limit.as_deref(),
        DEFAULT_VIOLATIONS_LIMIT,
        1,
        MAX_VIOLATIONS_LIMIT,
    )?;
    let data = state.tenant(&principal.tenant)?;
    let all: Vec<(&Event, &str)> = data
        .gov
        .events
        .as_slice()
        .iter()
        .rev()
        .filter_map(|e| e.violation_id.as_deref().map(|v| (e, v)))
        .collect();
    let items: Vec<Value> = all
        .iter()
        .take(limit as usize)
        .map(|(e, v)| violation_row(e, v))
        .collect();
    Ok(Json(
        json!({"items": items, "total": all.len(), "limit": limit}),
    ))
}

#[derive(Debug, Default)]
struct AgentTally {
    decisions: u64,
    allow: u64,
    step_up: u64,
    block: u64,
    last: Option<crate::clock::Timestamp>,
    tools: std::collections::BTreeSet<String>,
}

async fn agent_stats(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Value>> {
    let data = state.tenant(&principal.tenant)?;
    let mut agents: BTreeMap<&str, AgentTally> = BTreeMap::new();
    for event in data.gov.events.as_slice() {
        let tally = agents.entry(event.agent_id.as_str()).or_default();
        tally.decisions += 1;
        match event.decision {
            Decision::Allow => tally.allow += 1,
            Decision::StepUp => tally.step_up += 1,
            Decision::Block => tally.block += 1,
        }
        tally.last = tally.last.max(Some(event.occurred_at));
        tally.tools.insert(event.tool_name.clone());
    }
    let total: u64 = agents.values().map(|t| t.decisions).sum();
    let rows: Vec<Value> = agents
        .iter()
        .map(|(agent, t)| {
            json!({
                "agent_id": agent,
                "decisions": t.decisions,
                "allow": t.allow,
                "step_up": t.step_up,
                "block": t.block,
                "distinct_tools": t.tools.len(),
                "last_decision_at": t.last,
            })
        })
        .collect();
    Ok(Json(json!({
        "data": rows,
        "total_agents": rows.len(),
        "total_decisions": total,
    })))
}
