//! Browser governance as code (`T/browser/providers|policies|enrollments`): upserts
//! and lists, as `thothctl browser ... upsert|list` drive them. The policy and
//! enrollment lists honour the vendor's `?provider=` and `?status=` filters
//! (TF `browser_{policies,enrollments}_data_source.go`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};

use super::created_or_updated;
use crate::auth::Principal;
use crate::auth::Rule;
use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::gov::browser::BrowserFilter;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .route(
            "/browser/providers",
            Rule::DATA,
            get(list_providers).post(upsert_provider),
        )
        .route(
            "/browser/policies",
            Rule::DATA,
            get(list_policies).post(upsert_policy),
        )
        .route(
            "/browser/enrollments",
            Rule::DATA,
            get(list_enrollments).post(upsert_enrollment),
        )
}

async fn list_providers(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Value>> {
    let data = state.tenant(&principal.tenant)?;
    let rows: Vec<Value> = data
        .gov
        .browser
        .providers
        .iter()
        .map(|p| p.view())
        .collect();
    Ok(Json(json!({ "data": rows })))
}

async fn upsert_provider(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    let mut body = body;
    if let Some(existing) = body
        .get("provider")
        .and_then(Value::as_str)
        .and_then(|p| data.gov.browser.providers.iter().find(|r| r.provider == p))
    {
        // Under `omit`, a secret left out of the config keeps the stored one.
        if let Some(config) = body.get_mut("config") {
            crate::secrets::keep_for(config, &existing.config, state.config().secret_readback);
        }
    }
    let (record, created) = data.gov.browser.upsert_provider(body, now)?;
    Ok((created_or_updated(created), Json(record.view())))
}

async fn list_policies(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<BrowserFilter>,
) -> ApiResult<Json<Value>> {
    let data = state.tenant(&principal.tenant)?;
    let rows: Vec<_> = filter.policies(&data.gov.browser).collect();
    Ok(Json(json!({ "data": rows })))
}

async fn upsert_policy(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    let (record, created) = data.gov.browser.upsert_policy(body, now)?;
    Ok((created_or_updated(created), Json(json!(record))))
}

async fn list_enrollments(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<BrowserFilter>,
) -> ApiResult<Json<Value>> {
    let data = state.tenant(&principal.tenant)?;
    let rows: Vec<_> = filter.enrollments(&data.gov.browser).collect();
    Ok(Json(json!({ "data": rows })))
}

async fn upsert_enrollment(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    let (record, created) = data.gov.browser.upsert_enrollment(body, now)?;
    Ok((created_or_updated(created), Json(json!(record))))
}
