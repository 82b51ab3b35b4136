//! SIEM, PAM and SOAR integrations (`/<tenant>/governance/integrations`): the shared
//! list and upsert of `routes::book`, and the sync action.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Json;
use serde_json::{json, Value};

use super::book::book;
use crate::auth::Principal;
use crate::auth::Rule;
use crate::error::ApiResult;
use crate::gov::integrations::Integration;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .route("/integrations", Rule::DATA, book::<Integration>())
        .route(
            "/integrations/{integration_id}/sync",
            Rule::ACTION,
            post(sync),
        )
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
