//! The list and upsert every [`Record`] kind shares: `GET` answers `{"data":[rows]}`
//! (the kind's filter from the query), `POST` upserts the body and answers the row,
//! 201 when it created it, 200 when it updated one.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, MethodRouter};
use axum::Json;
use serde_json::{json, Value};

use super::created_or_updated;
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::gov::book::{self, Record};
use crate::state::AppState;

/// `GET` (list) and `POST` (upsert) of kind `R`.
pub fn book<R: Record>() -> MethodRouter<AppState> {
    get(list::<R>).post(upsert::<R>)
}

async fn list<R: Record>(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<R::Filter>,
) -> ApiResult<Json<Value>> {
    let mut data = state.tenant(&principal.tenant)?;
    Ok(Json(
        json!({ "data": book::list::<R>(&mut data.gov, &filter) }),
    ))
}

async fn upsert<R: Record>(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let now = state.now();
    let secrets = state.config().secret_readback;
    let mut data = state.tenant(&principal.tenant)?;
    let (row, created) = book::upsert::<R>(&mut data.gov, body, now, secrets)?;
    Ok((created_or_updated(created), Json(row.view())))
}
