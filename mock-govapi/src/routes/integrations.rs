//! SIEM, PAM and SOAR integrations (`/<tenant>/governance/integrations`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use serde_json::{json, Value};

use super::created_or_updated;
use crate::auth::Principal;
use crate::auth::Rule;
use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .route("/integrations", Rule::DATA, get(list).post(upsert))
        .route(
            "/integrations/{integration_id}/sync",
            Rule::ACTION,
            post(sync),
        )
}

async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Value>> {
    let data = state.tenant(&principal.tenant)?;
    let rows: Vec<Value> = data
        .gov
        .integrations
        .list()
        .iter()
        .map(|i| i.view())
        .collect();
    Ok(Json(json!({ "data": rows })))
}

async fn upsert(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    let mut body = body;
    let existing = body
        .get("integration_id")
        .and_then(Value::as_str)
        .and_then(|id| {
            data.gov
                .integrations
                .list()
                .iter()
                .find(|i| i.integration_id == id)
        })
        .map(|i| i.config.clone());
    if let (Some(existing), Some(config)) = (existing, body.get_mut("config")) {
        // Under `omit`, a secret left out of the config keeps the stored one.
        crate::secrets::keep_for(config, &existing, state.config().secret_readback);
    }
    let (record, created) = data.gov.integrations.upsert(body, now)?;
    let status = created_or_updated(created);
    Ok((status, Json(record.view())))
}

/// Accepted, not finished: the sync itself would run against the external system.
async fn sync(
    State(state): State<AppState>,
    principal: Principal,
    Path((_tenant, integration_id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    let receipt = data.gov.integrations.sync(&integration_id, now)?;
    Ok((StatusCode::ACCEPTED, Json(json!(receipt))))
}
