//! `/__sink/{name}`: SIEM receivers on the mock itself (no auth, loopback only).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Rule;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::routes::Routes;
use crate::sink::BoundedStatus;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .route(
            "/__sink/{name}",
            Rule::OPEN,
            post(receive).get(list).delete(clear),
        )
        .route("/__sink/{name}/config", Rule::OPEN, put(configure))
}

async fn receive(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let now = state.now();
    let status = state.sinks().record(&name, headers, &body, now);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    (status, Json(json!({ "received": true }))).into_response()
}

async fn list(State(state): State<AppState>, Path(name): Path<String>) -> Json<serde_json::Value> {
    Json(json!({ "data": state.sinks().deliveries(&name) }))
}

async fn clear(State(state): State<AppState>, Path(name): Path<String>) -> StatusCode {
    state.sinks().clear(&name);
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SinkConfig {
    #[serde(default = "default_status")]
    status: u16,
    /// Only the next N deliveries get `status` (N >= 1); then the standing status again.
    #[serde(default)]
    for_deliveries: Option<u32>,
    /// With `for_deliveries`: count only deliveries of this event type (`x-thoth-event`).
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    secret: Option<String>,
}

fn default_status() -> u16 {
    200
}

async fn configure(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(config): ApiJson<SinkConfig>,
) -> ApiResult<Json<serde_json::Value>> {
    if !(200..=599).contains(&config.status) {
        return Err(ApiError::bad_request(
            "invalid_sink_config",
            "status must be an HTTP status between 200 and 599",
        ));
    }
    if config.for_deliveries == Some(0) {
        return Err(ApiError::bad_request(
            "invalid_sink_config",
            "for_deliveries must be at least 1 (leave it out for every delivery)",
        ));
    }
    if config.event_type.is_some() && config.for_deliveries.is_none() {
        return Err(ApiError::bad_request(
            "invalid_sink_config",
            "event_type needs for_deliveries (it bounds a temporary status)",
        ));
    }
    let secret = config.secret.filter(|s| !s.is_empty());
    let secret_set = secret.is_some();
    let bounded = config.for_deliveries.map(|left| BoundedStatus {
        status: config.status,
        left,
        event_type: config.event_type.clone(),
    });
    state
        .sinks()
        .configure(&name, config.status, bounded, secret);
    Ok(Json(json!({
        "status": config.status,
        "for_deliveries": config.for_deliveries,
        "event_type": config.event_type,
        "secret_set": secret_set,
    })))
}
