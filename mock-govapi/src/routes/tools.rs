//! The tool inventory agents report (`POST T/tool-inventory`, the SDK's
//! `thoth/tool_inventory.py:_publish`: `{agent_id, source, tools[{name, description,
//! input_schema}]}`, with `x-api-key`) and what was recorded (`GET T/governance/tools`,
//! a route a runbook user needs; its shape is [C]).

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::auth::Rule;
use crate::error::{ApiError, ApiResult};
use crate::extract::{paginate_for, ApiJson, Page, PageQuery};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .route(
            "/tool-inventory",
            Rule::ACTION.scope_checked_by_handler(),
            post(record),
        )
        .route("/governance/tools", Rule::DATA, get(list))
}

#[derive(Debug, Deserialize)]
struct InventoryBody {
    agent_id: String,
    #[serde(default)]
    source: Option<String>,
    tools: Vec<ToolBody>,
}

#[derive(Debug, Deserialize)]
struct ToolBody {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    input_schema: Option<Value>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_request", message)
}

/// Upserts each tool by (agent_id, name): reporting the same inventory twice keeps one
/// row per tool.
async fn record(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<InventoryBody>,
) -> ApiResult<Json<Value>> {
    if body.agent_id.trim().is_empty() {
        return Err(invalid("record tool inventory: agent_id must not be empty"));
    }
    if let Some(index) = body.tools.iter().position(|t| t.name.trim().is_empty()) {
        return Err(invalid(format!(
            "record tool inventory: tools[{index}].name must not be empty"
        )));
    }
    let now = state.now();
    let mut data = state.tenant(&principal.tenant)?;
    let recorded = body.tools.len();
    for tool in body.tools {
        let key = format!("{}/{}", body.agent_id, tool.name);
        data.gov.tools.insert(
            key,
            json!({
                "agent_id": body.agent_id,
                "name": tool.name,
                "description": tool.description.unwrap_or_default(),
                "input_schema": tool.input_schema.unwrap_or_else(|| json!({})),
                "source": body.source,
                "recorded_at": now,
            }),
        );
    }
    Ok(Json(
        json!({"agent_id": body.agent_id, "tools_recorded": recorded}),
    ))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    agent_id: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Page<Value>>> {
    let rows: Vec<Value> = {
        let data = state.tenant(&principal.tenant)?;
        data.gov
            .tools
            .values()
            .filter(|row| {
                query
                    .agent_id
                    .as_deref()
                    .is_none_or(|a| a.is_empty() || row["agent_id"] == a)
            })
            .cloned()
            .collect()
    };
    Ok(Json(paginate_for(&state, rows, query.page)?))
}
