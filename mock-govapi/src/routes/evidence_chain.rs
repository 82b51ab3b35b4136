//! The evidence hash chain: its records (`GET T/evidence/chain`) and its verification
//! (`GET G/evidence/verify-chain`), as the vendor's Terraform data sources
//! `thoth_evidence_chain` and `thoth_evidence_verify` read them (see
//! [`crate::gov::chain`] for the fields and what is [C]).

use axum::extract::{Query, State};
use axum::routing::get;
use axum::Json;
use serde::Deserialize;

use crate::auth::Principal;
use crate::auth::Rule;
use crate::error::ApiResult;
use crate::gov::backfill::bounded;
use crate::gov::chain::{
    chain_page, verify, ChainPage, Verification, DEFAULT_CHAIN_LIMIT, DEFAULT_VERIFY_LIMIT,
    MAX_CHAIN_LIMIT,
};
use crate::routes::Routes;
use crate::state::AppState;

/// Routes under `/<tenant>/thoth`.
pub fn thoth_router() -> Routes {
    Routes::new().route("/evidence/chain", Rule::DATA, get(chain))
}

/// Routes under `/<tenant>/governance`.
pub fn governance_router() -> Routes {
    Routes::new().route("/evidence/verify-chain", Rule::DATA, get(verify_chain))
}

/// Text, so that a bad value gets a named 400 rather than an extractor rejection.
#[derive(Debug, Default, Deserialize)]
struct ChainQuery {
    limit: Option<String>,
    from_sequence: Option<String>,
}

async fn chain(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ChainQuery>,
) -> ApiResult<Json<ChainPage>> {
    let limit = bounded(
        "limit",
        query.limit.as_deref(),
        DEFAULT_CHAIN_LIMIT,
        1,
        MAX_CHAIN_LIMIT,
    )?;
    let from = bounded(
        "from_sequence",
        query.from_sequence.as_deref(),
        0,
        0,
        u64::MAX,
    )?;
    let data = state.tenant(&principal.tenant)?;
    Ok(Json(chain_page(&data.gov.events, from, limit as usize)))
}

#[derive(Debug, Default, Deserialize)]
struct VerifyQuery {
    limit: Option<String>,
}

async fn verify_chain(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<VerifyQuery>,
) -> ApiResult<Json<Verification>> {
    let limit = bounded(
        "limit",
        query.limit.as_deref(),
        DEFAULT_VERIFY_LIMIT,
        1,
        DEFAULT_VERIFY_LIMIT,
    )?;
    let data = state.tenant(&principal.tenant)?;
    Ok(Json(verify(&data.gov.events, limit as usize)))
}
