//! The governance feed and what is derived from it: alerts, evidence SLOs and the
//! decision-field backfill (area `thoth`), and the evidence backfill (area
//! `governance`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::OptionalJson;
use crate::extract::{paginate_for, Page, PageQuery};
use crate::faults::Fault;
use crate::gov::backfill::{backfill_decision_fields, backfill_evidence, bounded, BackfillKnobs};
use crate::gov::events::{Decision, Event, DECISION_EVENT_TYPE};
use crate::gov::slo::{evaluate, SloDefects, SloReport};
use crate::gov::{parse_rfc3339, GovError};
use crate::state::AppState;

/// Routes under `/<tenant>/thoth`.
pub fn thoth_router() -> Router<AppState> {
    Router::new()
        .route("/governance/feed", get(feed))
        .route("/alerts", get(alerts))
        .route("/governance/evidence-slos", get(evidence_slos))
        .route(
            "/governance/backfill-decision-fields",
            post(decision_field_backfill),
        )
}

/// Routes under `/<tenant>/governance`.
pub fn governance_router() -> Router<AppState> {
    Router::new().route("/evidence/thoth/backfill", post(evidence_backfill))
}

/// Query parameters arrive as text so that a bad value gets a named 400, not a
/// generic extractor rejection.
#[derive(Debug, Default, Deserialize)]
struct FeedQuery {
    decision: Option<String>,
    tool_name: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

fn time_bound(name: &str, raw: Option<&str>) -> Result<Option<crate::clock::Timestamp>, GovError> {
    raw.filter(|s| !s.is_empty())
        .map(|text| {
            parse_rfc3339(text).ok_or_else(|| {
                GovError::bad_request(
                    "invalid_parameter",
                    format!(
                        "read query parameter {name}: expected an RFC 3339 timestamp, got {text:?}"
                    ),
                )
            })
        })
        .transpose()
}

fn page_number(name: &str, raw: Option<&str>) -> Result<Option<usize>, GovError> {
    raw.map(|_| bounded(name, raw, 1, 1, 1_000_000).map(|n| n as usize))
        .transpose()
}

/// Newest first, filtered; a window `from..=to` on `occurred_at`.
async fn feed(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<FeedQuery>,
) -> ApiResult<Json<Page<Event>>> {
    let decision = query
        .decision
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|text| {
            text.parse::<Decision>().map_err(|e| {
                ApiError::bad_request(
                    "invalid_parameter",
                    format!("read query parameter decision: {e}"),
                )
            })
        })
        .transpose()?;
    let from = time_bound("from", query.from.as_deref())?;
    let to = time_bound("to", query.to.as_deref())?;
    let paging = PageQuery {
        page: page_number("page", query.page.as_deref())?,
        per_page: page_number("per_page", query.per_page.as_deref())?,
    };
    let drop_decisions = state.fault(Fault::FeedDropsDecisions);
    let rows: Vec<Event> = {
        let data = state.tenant(&principal.tenant)?;
        data.gov
            .events
            .as_slice()
            .iter()
            .rev()
            .filter(|e| !(drop_decisions && e.event_type == DECISION_EVENT_TYPE))
            .filter(|e| decision.is_none_or(|d| e.decision == d))
            .filter(|e| {
                query
                    .tool_name
                    .as_deref()
                    .is_none_or(|t| t.is_empty() || e.tool_name == t)
            })
            .filter(|e| from.is_none_or(|from| e.occurred_at >= from))
            .filter(|e| to.is_none_or(|to| e.occurred_at <= to))
            .cloned()
            .collect()
    };
    Ok(Json(paginate_for(&state, rows, paging)?))
}

async fn alerts(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Value>> {
    let data = state.tenant(&principal.tenant)?;
    let rows: Vec<_> = data.gov.alerts.iter().rev().collect();
    Ok(Json(json!({ "data": rows })))
}

#[derive(Debug, Default, Deserialize)]
struct SloQuery {
    window_hours: Option<String>,
    scan_limit: Option<String>,
}

async fn evidence_slos(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<SloQuery>,
) -> ApiResult<Json<Value>> {
    let window_hours = bounded("window_hours", query.window_hours.as_deref(), 24, 1, 8_760)?;
    let scan_limit = bounded("scan_limit", query.scan_limit.as_deref(), 1_000, 1, 100_000)?;
    let defects = SloDefects {
        verify_against_own_hash: state.fault(Fault::EvidenceSloBreached),
    };
    let now = state.now();
    let data = state.tenant(&principal.tenant)?;
    let report: SloReport = evaluate(
        &data.gov.events,
        window_hours,
        scan_limit as usize,
        now,
        defects,
    );
    // TF reads `tenant_id` and `generated_at` beside the report itself.
    let mut shown = json!(report);
    shown["tenant_id"] = json!(principal.tenant);
    shown["generated_at"] = json!(now);
    Ok(Json(shown))
}

/// The decision-field backfill. Knobs come from the query or the JSON body
/// ([`BackfillKnobs`]); TF caps `limit` at 5000 and `window_hours` at 2880, the mock
/// allows more [C]; `include_blocked_events` defaults to true as the vendor's does.
async fn decision_field_backfill(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<HashMap<String, String>>,
    OptionalJson(body): OptionalJson<Value>,
) -> ApiResult<Json<Value>> {
    let knobs = BackfillKnobs::new(query, body)?;
    let limit = knobs.int("limit", 500, 1, 10_000)?;
    let window_hours = knobs.int("window_hours", 720, 1, 87_600)?;
    let dry_run = knobs.flag("dry_run", false)?;
    let include_blocked = knobs.flag("include_blocked_events", true)?;
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    let report = backfill_decision_fields(
        &mut data.gov.events,
        limit as usize,
        window_hours,
        dry_run,
        include_blocked,
        now,
    );
    Ok(Json(json!(report)))
}

/// The evidence backfill: knobs from the query or the JSON body ([`BackfillKnobs`]);
/// `include_blocked_events` defaults to true, as both vendor clients default it.
async fn evidence_backfill(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<HashMap<String, String>>,
    OptionalJson(body): OptionalJson<Value>,
) -> ApiResult<Json<Value>> {
    let knobs = BackfillKnobs::new(query, body)?;
    let limit = knobs.int("limit", 500, 1, 10_000)?;
    let dry_run = knobs.flag("dry_run", false)?;
    let include_blocked = knobs.flag("include_blocked_events", true)?;
    let integration_id = knobs.text("integration_id")?;
    let now = state.now();
    let mut guard = state.tenant(&principal.tenant)?;
    let gov = &mut guard.gov;
    let mut report = backfill_evidence(
        &gov.events,
        &mut gov.evidence,
        limit as usize,
        dry_run,
        include_blocked,
        now,
    );
    report.integration_id = integration_id;
    Ok(Json(json!(report)))
}
