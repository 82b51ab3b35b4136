//! The approval queue (`T/approvals`) and the signed PAM callback that resolves
//! approvals from outside (`T/pam/callback`, authenticated by signature, not
//! credentials: its route declares `Rule::SIGNED`).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::auth::Rule;
use crate::auth::{Principal, PrincipalKind};
use crate::error::{ApiError, ApiResult};
use crate::extract::{paginate_for, Page, PageQuery};
use crate::extract::{parse_json, ApiJson};
use crate::faults::Fault;
use crate::gov::approvals::{
    apply_callback, Approval, ApprovalStatus, Callback, CallbackDefects, CallbackOutcome,
    Resolution,
};
use crate::gov::pam_verify::{verify, Checks, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::gov::replay::ReplayKey;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .route("/approvals", Rule::DATA, get(list))
        .route(
            "/approvals/{approval_id}/resolve",
            Rule::ACTION,
            post(resolve),
        )
        .route("/pam/callback", Rule::SIGNED, post(pam_callback))
}

/// Terraform's `approvals_data_source.go` sends `status, page, per_page`; the runbook
/// curls `?limit=50` (read as `per_page` when that is absent).
#[derive(Debug, Deserialize)]
struct ListQuery {
    status: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
    limit: Option<String>,
}

fn positive(name: &str, raw: Option<&str>) -> Result<Option<usize>, ApiError> {
    raw.filter(|s| !s.is_empty())
        .map(|text| {
            text.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_pagination",
                        format!(
                            "read query parameter {name}: expected a positive number, got {text:?}"
                        ),
                    )
                })
        })
        .transpose()
}

/// `{"data":[...],"total":N,"page":P,"per_page":S}`, oldest first.
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Page<Approval>>> {
    let status = query
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(ApprovalStatus::parse)
        .transpose()?;
    let paging = PageQuery {
        page: positive("page", query.page.as_deref())?,
        per_page: match positive("per_page", query.per_page.as_deref())? {
            Some(n) => Some(n),
            None => positive("limit", query.limit.as_deref())?,
        },
    };
    // The defect: the filter is parsed (a bad value is still refused) and then ignored.
    let status = status.filter(|_| !state.fault(Fault::ApprovalsStatusFilterIgnored));
    let now = state.now();
    let mut rows: Vec<Approval> = Vec::new();
    for tenant in super::listed_tenants(&state, &principal.tenant) {
        let mut data = state.tenant(&tenant)?;
        data.gov.approvals.expire_due(now);
        rows.extend(data.gov.approvals.list(status).into_iter().cloned());
    }
    Ok(Json(paginate_for(&state, rows, paging)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    decision: String,
}

/// Who resolved an approval through the API, for `decided_by`.
fn resolver(principal: &Principal) -> String {
    match &principal.kind {
        PrincipalKind::Admin => "admin".to_owned(),
        PrincipalKind::OrgKey => "org_api_key".to_owned(),
        PrincipalKind::ApiKey { key_id } => format!("api_key:{key_id}"),
        PrincipalKind::SkipAuth => "anonymous".to_owned(),
        PrincipalKind::Signed => "signed".to_owned(),
    }
}

async fn resolve(
    State(state): State<AppState>,
    principal: Principal,
    Path((_tenant, approval_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> ApiResult<Json<Value>> {
    let resolution = Resolution::parse(&body.decision)?;
    let now = state.now();
    let resolved_by = resolver(&principal);
    let mut data = state.tenant(&principal.tenant)?;
    let approval = data
        .gov
        .approvals
        .resolve(&approval_id, resolution, &resolved_by, now)?;
    // Terraform's `approval_decision_resource.go` reads `decision` and `resolved_by`;
    // the decision is echoed as sent, so its state matches its configuration.
    let mut answer = serde_json::to_value(approval).unwrap_or(Value::Null);
    answer["decision"] = body.decision.into();
    answer["resolved_by"] = resolved_by.into();
    Ok(Json(answer))
}

/// The tenant's PAM callback secret and provider, if PAM is enabled and has a secret.
fn pam_config(settings: &Map<String, Value>) -> Result<(String, String), ApiError> {
    let pam = settings.get("pam").and_then(Value::as_object);
    let enabled = pam.and_then(|p| p.get("enabled")).and_then(Value::as_bool) == Some(true);
    let secret = pam
        .and_then(|p| p.get("callback_secret"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    match (enabled, secret) {
        (true, Some(secret)) => {
            let provider = pam
                .and_then(|p| p.get("provider"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or("pam");
            Ok((secret.to_owned(), provider.to_owned()))
        }
        _ => Err(ApiError::conflict(
            "pam_not_configured",
            "verify callback: PAM is not enabled for this tenant or has no callback_secret",
        )),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks run in this order: PAM configured (without a secret nothing can be verified),
/// signature, freshness, body, replay, approval, correlation, state. Nothing about
/// approvals is revealed to a request that is not signed with the tenant's secret.
async fn pam_callback(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let (secret, provider) = pam_config(&state.tenant(&principal.tenant)?.settings)?;
    let now = state.now();
    let checks = Checks {
        signature: !state.fault(Fault::PamBadSignatureAccepted),
        freshness: !state.fault(Fault::PamStaleTimestampAccepted),
    };
    let verified = verify(
        secret.as_bytes(),
        header(&headers, TIMESTAMP_HEADER),
        header(&headers, SIGNATURE_HEADER),
        &body,
        now.unix_seconds(),
        checks,
    )
    .map_err(|err| ApiError::unauthorized(err.code(), err.to_string()))?;
    let callback: Callback = parse_json(&body)?;
    let defects = CallbackDefects {
        reapply_replays: state.fault(Fault::PamReplayReapplied),
        accept_request_id_mismatch: state.fault(Fault::PamRequestIdMismatchAccepted),
    };
    let key = ReplayKey::new(verified.timestamp, &verified.signature, &body);
    let mut data = state.tenant(&principal.tenant)?;
    let gov = &mut data.gov;
    let outcome = apply_callback(
        &mut gov.approvals,
        &mut gov.replay,
        key,
        &callback,
        &format!("pam:{provider}"),
        now,
        defects,
    )?;
    Ok(Json(match outcome {
        CallbackOutcome::Resolved(approval) => json!({
            "status": "resolved",
            "approval_id": approval.approval_id,
            "request_id": approval.request_id,
            "approval_status": approval.status,
            "decided_at": approval.decided_at,
        }),
        CallbackOutcome::IgnoredReplay => json!({
            "status": "ignored",
            "reason": "replay",
            "approval_id": callback.approval_id,
        }),
    }))
}
