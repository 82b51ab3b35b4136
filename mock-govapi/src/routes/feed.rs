//! The governance feed and what is derived from it: alerts, evidence SLOs and the
//! decision-field backfill (area `thoth`), and the evidence backfill (area
//! `governance`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::auth::Rule;
use crate::error::{ApiError, ApiResult};
use crate::extract::{paginate_for, OptionalJson, PageQuery};
use crate::faults::Fault;
use crate::gov::backfill::{backfill_decision_fields, backfill_evidence, bounded, BackfillKnobs};
use crate::gov::events::{Decision, Event, DECISION_EVENT_TYPE};
use crate::gov::slo::{evaluate, SloDefects, SloReport};
use crate::gov::{parse_rfc3339, GovError};
use crate::routes::Routes;
use crate::state::AppState;

/// Routes under `/<tenant>/thoth`.
pub fn thoth_router() -> Routes {
    Routes::new()
        .route("/governance/feed", Rule::DATA, get(feed))
        .route("/alerts", Rule::DATA, get(alerts))
        .route("/governance/evidence-slos", Rule::DATA, get(evidence_slos))
        .route(
            "/governance/backfill-decision-fields",
            Rule::ACTION,
            post(decision_field_backfill),
        )
}

/// Routes under `/<tenant>/governance`.
pub fn governance_router() -> Routes {
    Routes::new().route(
        "/evidence/thoth/backfill",
        Rule::ACTION,
        post(evidence_backfill),
    )
}

/// Query parameters arrive as text so that a bad value gets a named 400, not a
/// generic extractor rejection.
#[derive(Debug, Default, Deserialize)]
struct FeedQuery {
    decision: Option<String>,
    tool_name: Option<String>,
    agent_id: Option<String>,
    caller_agent_id: Option<String>,
    reason_code: Option<String>,
    search: Option<String>,
    sort_by: Option<String>,
    sort_dir: Option<String>,
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

/// Columns the feed sorts by (`sort_by`); Terraform's `governance_feed_data_source.go`
/// sends the user's choice and reads it back, so it is echoed [C: the column list].
const SORT_COLUMNS: &[&str] = &[
    "occurred_at",
    "seq",
    "agent_id",
    "tool_name",
    "decision",
    "risk_tier",
];

fn sort_key(event: &Event, column: &str) -> (String, i128, u64) {
    let (text, number) = match column {
        "agent_id" => (event.agent_id.clone(), 0),
        "tool_name" => (event.tool_name.clone(), 0),
        "decision" => (event.decision.wire().to_owned(), 0),
        "risk_tier" => (String::new(), event.risk_tier as i128),
        "occurred_at" => (String::new(), event.occurred_at.0.unix_timestamp_nanos()),
        _ => (String::new(), 0),
    };
    // `seq` breaks ties, so equal keys keep recording order.
    (text, number, event.seq)
}

/// An exact-match filter: absent or empty means "any".
fn matches(filter: Option<&str>, value: Option<&str>) -> bool {
    filter.is_none_or(|f| f.is_empty() || value == Some(f))
}

/// Newest first unless `sort_by`/`sort_dir` say otherwise, filtered (Terraform's feed
/// data source: `agent_id, caller_agent_id, tool_name, decision, reason_code, search,
/// from, to`); a window `from..=to` on `occurred_at`; `search` is a case-insensitive
/// substring of agent, tool, reason code, event, session or user id [C].
async fn feed(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<FeedQuery>,
) -> ApiResult<Json<Value>> {
    let decision = query
        .decision
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|text| {
            Decision::parse_any(text).map_err(|e| {
                ApiError::bad_request(
                    "invalid_parameter",
                    format!("read query parameter decision: {e}"),
                )
            })
        })
        .transpose()?;
    let sort_by = query
        .sort_by
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "occurred_at".to_owned());
    if !SORT_COLUMNS.contains(&sort_by.as_str()) {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!(
                "read query parameter sort_by: unknown column {sort_by:?} (expected one of {})",
                SORT_COLUMNS.join(", ")
            ),
        ));
    }
    let sort_dir = query
        .sort_dir
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("desc")
        .to_ascii_lowercase();
    if !matches!(sort_dir.as_str(), "asc" | "desc") {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!("read query parameter sort_dir: expected asc or desc, got {sort_dir:?}"),
        ));
    }
    let search = query
        .search
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase);
    let from = time_bound("from", query.from.as_deref())?;
    let to = time_bound("to", query.to.as_deref())?;
    let paging = PageQuery {
        page: page_number("page", query.page.as_deref())?,
        per_page: page_number("per_page", query.per_page.as_deref())?,
    };
    let drop_decisions = state.fault(Fault::FeedDropsDecisions);
    let agent_filter_ignored = state.fault(Fault::FeedAgentFilterIgnored);
    let keep = |e: &Event| {
        !(drop_decisions && e.event_type == DECISION_EVENT_TYPE)
            && decision.is_none_or(|d| e.decision == d)
            && matches(query.tool_name.as_deref(), Some(&e.tool_name))
            && (agent_filter_ignored || matches(query.agent_id.as_deref(), Some(&e.agent_id)))
            && matches(
                query.caller_agent_id.as_deref(),
                e.context.caller_agent_id.as_deref(),
            )
            && matches(query.reason_code.as_deref(), e.reason_code.as_deref())
            && search.as_deref().is_none_or(|needle| {
                [
                    Some(e.agent_id.as_str()),
                    Some(e.tool_name.as_str()),
                    Some(e.event_id.as_str()),
                    e.reason_code.as_deref(),
                    e.context.session_id.as_deref(),
                    e.user_id.as_deref(),
                ]
                .into_iter()
                .flatten()
                .any(|field| field.to_lowercase().contains(needle))
            })
            && from.is_none_or(|from| e.occurred_at >= from)
            && to.is_none_or(|to| e.occurred_at <= to)
    };
    let mut rows: Vec<Event> = Vec::new();
    for tenant in super::listed_tenants(&state, &principal.tenant) {
        let data = state.tenant(&tenant)?;
        rows.extend(
            data.gov
                .events
                .as_slice()
                .iter()
                .filter(|e| keep(e))
                .cloned(),
        );
    }
    rows.sort_by_cached_key(|e| sort_key(e, &sort_by));
    if sort_dir == "desc" {
        rows.reverse();
    }
    let page = paginate_for(&state, rows, paging)?;
    let mut body = serde_json::to_value(page).unwrap_or(Value::Null);
    body["sort_by"] = sort_by.into();
    body["sort_dir"] = sort_dir.into();
    Ok(Json(body))
}

async fn alerts(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Value>> {
    let mut rows = Vec::new();
    for tenant in super::listed_tenants(&state, &principal.tenant) {
        let data = state.tenant(&tenant)?;
        rows.extend(data.gov.alerts.iter().rev().cloned());
    }
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
        verify_against_own_hash: state.fault(Fault::EvidenceSloBreached)
            || state.fault(Fault::EvidenceSloBreachUnreported),
        scan_nothing: state.fault(Fault::EvidenceSloScansNothing),
        hide_failures: state.fault(Fault::EvidenceSloBreachUnreported),
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
    if dry_run && state.fault(Fault::BackfillDryRunWrites) {
        // The defect: the dry run answers as one, and writes what it says it would.
        backfill_evidence(
            &gov.events,
            &mut gov.evidence,
            limit as usize,
            false,
            include_blocked,
            now,
        );
    }
    report.integration_id = integration_id;
    Ok(Json(json!(report)))
}
