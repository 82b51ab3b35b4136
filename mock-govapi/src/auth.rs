//! Authentication and the coarse authorization every tenant route gets, as middleware
//! (so a route cannot forget it): exactly one credential per request, the credential
//! must belong to the tenant in the path, and an API key needs the permission the
//! method implies. The handler receives the resulting [`Principal`] as an extractor and
//! applies finer rules (resource scope) itself.

use std::collections::BTreeSet;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::faults::Fault;
use crate::records::{Permission, ScopeLevel, TenantState};
use crate::routes::{tenant_of_path, FullPath};
use crate::scope::scope_allows;
use crate::signing::sha256_hex;
use crate::state::AppState;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// `Authorization: Bearer <admin token>`.
    Admin,
    /// `X-Api-Key: <org key>` configured for the tenant.
    OrgKey,
    /// `X-Api-Key: <key>` created through `POST /api-keys`.
    ApiKey { key_id: String },
    /// The mock runs with `skip_auth`.
    SkipAuth,
    /// No credentials needed: the route authenticates the request by its signature.
    Signed,
}

/// The authenticated caller of a tenant route.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant: String,
    pub kind: PrincipalKind,
    pub permissions: BTreeSet<Permission>,
    pub scope_level: ScopeLevel,
    pub scope_target_id: Option<String>,
}

impl Principal {
    fn full(tenant: &str, kind: PrincipalKind) -> Self {
        Principal {
            tenant: tenant.to_string(),
            kind,
            permissions: [Permission::Read, Permission::Write, Permission::Execute].into(),
            scope_level: ScopeLevel::Organization,
            scope_target_id: None,
        }
    }

    pub fn is_organization_wide(&self) -> bool {
        self.scope_level == ScopeLevel::Organization
    }

    /// Does the caller's scope cover this resource?
    pub fn covers(&self, resource_type: &str, resource_id: &str, tenant: &TenantState) -> bool {
        scope_allows(
            self.scope_level,
            self.scope_target_id.as_deref(),
            resource_type,
            resource_id,
            |id| {
                tenant
                    .endpoints
                    .get(id)
                    .and_then(|e| e.fleet_id.as_deref().map(str::to_owned))
            },
        )
    }

    /// 403 `scope_denied` unless the caller's scope covers the resource.
    pub fn require_covers(
        &self,
        resource_type: &str,
        resource_id: &str,
        tenant: &TenantState,
    ) -> Result<(), ApiError> {
        if self.covers(resource_type, resource_id, tenant) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "scope_denied",
                format!("the API key's scope does not cover {resource_type} `{resource_id}`"),
            ))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "route is not behind the authentication middleware",
            )
        })
    }
}

/// A route's access rule, declared where the route is registered
/// (`routes::Routes::route(path, rule, methods)`) and enforced here. A route without one
/// is refused (500 `undeclared_route`, [`declared`]), never served open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A tenant route (`/<tenant>/thoth|governance/...`): credentials of the path's
    /// tenant. GET/HEAD need `read`; other methods need what `changes` says.
    Tenant { changes: Changes, scope: Scope },
    /// No credentials: the admin API and the sinks (loopback only).
    Open,
    /// The handler authenticates the enforcer key itself (the data plane: no tenant in
    /// the path, the body's `tenant_id` must be the key's).
    DataPlane,
}

/// What a tenant route's non-read methods need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changes {
    /// `write`.
    Write,
    /// An action (`.../sync`, `.../test`, ...): `write` or `execute`.
    Action,
    /// No credentials; the handler verifies a signature (PAM callback).
    Signed,
}

/// Which API-key scopes a tenant route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only organization-wide credentials; a narrower key gets 403 `scope_denied`.
    Organization,
    /// Any scope: the handler applies resource scope itself
    /// ([`Principal::require_covers`]).
    CheckedByHandler,
}

impl Rule {
    /// Reads need `read`, changes `write`; organization-wide credentials only.
    pub const DATA: Rule = Rule::Tenant {
        changes: Changes::Write,
        scope: Scope::Organization,
    };
    /// An action route: `write` or `execute`.
    pub const ACTION: Rule = Rule::Tenant {
        changes: Changes::Action,
        scope: Scope::Organization,
    };
    /// Authenticated by the request's signature, not by credentials.
    pub const SIGNED: Rule = Rule::Tenant {
        changes: Changes::Signed,
        scope: Scope::Organization,
    };
    pub const OPEN: Rule = Rule::Open;
    pub const DATA_PLANE: Rule = Rule::DataPlane;

    /// The same rule for keys of any scope: the handler checks resource scope.
    pub const fn scope_checked_by_handler(self) -> Rule {
        match self {
            Rule::Tenant { changes, .. } => Rule::Tenant {
                changes,
                scope: Scope::CheckedByHandler,
            },
            other => other,
        }
    }

    /// What a request with `method` needs under this rule (`None`: not a tenant rule).
    pub fn access(self, method: &Method) -> Option<Access> {
        let Rule::Tenant { changes, .. } = self else {
            return None;
        };
        Some(if method == Method::GET || method == Method::HEAD {
            Access::Read
        } else {
            match changes {
                Changes::Write => Access::Write,
                Changes::Action => Access::Action,
                Changes::Signed => Access::Signed,
            }
        })
    }
}

/// What one request needs: its route's [`Rule`] applied to its method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// GET/HEAD: `read`.
    Read,
    /// `write`.
    Write,
    /// `write` or `execute`.
    Action,
    /// No credentials; the handler verifies a signature.
    Signed,
}

/// The declared rules by matched route path (`/{tenant}/thoth/api-keys`).
pub type DeclaredRules = std::sync::Arc<std::collections::BTreeMap<String, Rule>>;

fn undeclared(message: String) -> Response {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "undeclared_route",
        message,
    )
    .into_response()
}

fn no_rule(path: &str) -> Response {
    undeclared(format!(
        "route `{path}` declares no access rule; register it with routes::Routes::route"
    ))
}

/// The outermost route layer of the whole mock: finds the rule the matched route
/// declared and hands it on in the request extensions; a route that declared none is
/// refused before anything else runs.
pub async fn declared(
    State(rules): State<DeclaredRules>,
    mut request: Request,
    next: Next,
) -> Response {
    let rule = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|path| rules.get(path.as_str()))
        .copied();
    match rule {
        Some(rule) => {
            request.extensions_mut().insert(rule);
            next.run(request).await
        }
        None => no_rule(request.uri().path()),
    }
}

/// The bearer token of `Authorization`, if that header is present (an empty token
/// still counts as presented, so it is rejected rather than ignored).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().unwrap_or("");
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or("");
    Some(token)
}

/// The `X-Api-Key` value, if the header is present.
pub fn api_key_header(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-api-key")
        .map(|v| v.to_str().unwrap_or("").trim())
}

fn invalid() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "the credentials are not valid")
}

fn other_tenant(tenant: &str) -> ApiError {
    ApiError::forbidden(
        "tenant_forbidden",
        format!("the credentials do not belong to tenant `{tenant}`"),
    )
}

/// Resolves the request's credentials to a principal for `tenant`.
fn authenticate_request(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    access: Access,
) -> Result<Principal, ApiError> {
    let bearer = bearer_token(headers);
    let api_key = api_key_header(headers);
    if bearer.is_some() && api_key.is_some() {
        return Err(ApiError::bad_request(
            "ambiguous_credentials",
            "send either Authorization or X-Api-Key, not both",
        ));
    }
    if state.config().skip_auth {
        return Ok(Principal::full(tenant, PrincipalKind::SkipAuth));
    }
    if access == Access::Signed {
        return Ok(Principal::full(tenant, PrincipalKind::Signed));
    }
    let isolation_broken = state.fault(Fault::TenantIsolationBroken);
    let (value, is_bearer) = match (bearer, api_key) {
        (Some(token), None) => (token, true),
        (None, Some(key)) => (key, false),
        _ if state.fault(Fault::AuthNotEnforced) => {
            return Ok(Principal::full(tenant, PrincipalKind::Admin));
        }
        _ => {
            return Err(ApiError::unauthorized(
                "missing_credentials",
                "send Authorization: Bearer <token> or X-Api-Key: <key>",
            ))
        }
    };
    if value.is_empty() {
        return Err(invalid());
    }
    if let Some(owner) = state.tenant_of_configured_credential(value, is_bearer) {
        if owner != tenant && !isolation_broken {
            return Err(other_tenant(tenant));
        }
        let kind = if is_bearer {
            PrincipalKind::Admin
        } else {
            PrincipalKind::OrgKey
        };
        return Ok(Principal::full(tenant, kind));
    }
    if is_bearer {
        return Err(invalid());
    }
    authenticate_api_key(state, tenant, value, isolation_broken)
}

/// Looks a created API key up by its hash, in the path's tenant first, then elsewhere
/// (to tell "wrong tenant" (403) from "unknown key" (401)).
fn authenticate_api_key(
    state: &AppState,
    tenant: &str,
    key: &str,
    isolation_broken: bool,
) -> Result<Principal, ApiError> {
    let hash = sha256_hex(key.as_bytes());
    let now = state.now();
    let owners: Vec<String> = std::iter::once(tenant.to_string())
        .chain(
            state
                .tenant_ids()
                .filter(|t| *t != tenant)
                .map(str::to_string),
        )
        .collect();
    for owner in owners {
        let mut data = state.tenant(&owner)?;
        let Some(record) = data.api_keys.values_mut().find(|k| k.key_hash == hash) else {
            continue;
        };
        if owner != tenant && !isolation_broken {
            return Err(other_tenant(tenant));
        }
        require_active(record, now)?;
        record.last_used_at = Some(now);
        return Ok(Principal {
            tenant: tenant.to_string(),
            kind: PrincipalKind::ApiKey {
                key_id: record.key_id.clone(),
            },
            permissions: record.permissions.clone(),
            scope_level: record.scope_level,
            scope_target_id: record.scope_target_id.clone(),
        });
    }
    Err(invalid())
}

/// 401 `key_revoked` / `key_expired` unless the created key is still usable; shared by
/// the tenant routes and the data plane.
pub fn require_active(
    record: &crate::records::ApiKey,
    now: crate::clock::Timestamp,
) -> Result<(), ApiError> {
    if record.revoked_at.is_some() {
        return Err(ApiError::unauthorized(
            "key_revoked",
            "the API key was revoked",
        ));
    }
    if record.is_expired(now) {
        return Err(ApiError::unauthorized(
            "key_expired",
            "the API key has expired",
        ));
    }
    Ok(())
}

fn check_permission(
    state: &AppState,
    principal: &Principal,
    access: Access,
) -> Result<(), ApiError> {
    if !matches!(principal.kind, PrincipalKind::ApiKey { .. }) {
        return Ok(());
    }
    if state.fault(Fault::ReadonlyKeyCanMutate) {
        return Ok(());
    }
    let has = |p| principal.permissions.contains(&p);
    let (allowed, needed) = match access {
        Access::Read => (has(Permission::Read), "read"),
        Access::Write => (has(Permission::Write), "write"),
        Access::Action => (
            has(Permission::Write) || has(Permission::Execute),
            "write or execute",
        ),
        Access::Signed => (true, ""),
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "insufficient_permission",
            format!("the API key lacks the {needed} permission"),
        ))
    }
}

fn check_scope(state: &AppState, principal: &Principal, scope: Scope) -> Result<(), ApiError> {
    if principal.is_organization_wide()
        || scope == Scope::CheckedByHandler
        || state.fault(Fault::NarrowKeyOnOrgRoutes)
    {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "scope_denied",
            "this route needs an organization-scoped credential",
        ))
    }
}

/// Middleware for tenant routes (`/<tenant>/thoth/...`, `/<tenant>/governance/...`):
/// enforces the route's declared [`Rule`], putting the [`Principal`] into the request
/// extensions or answering 400/401/403/404. No rule (or a non-tenant one) is a 500.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request
        .extensions()
        .get::<FullPath>()
        .map(|p| p.0.clone())
        .unwrap_or_else(|| request.uri().path().to_string());
    let Some(rule) = request.extensions().get::<Rule>().copied() else {
        return no_rule(&path);
    };
    let (Rule::Tenant { scope, .. }, Some(access)) = (rule, rule.access(request.method())) else {
        return undeclared(format!(
            "tenant route `{path}` declares {rule:?}, not a tenant rule"
        ));
    };
    // `/{tenant}` also matches `/__admin/thoth/...`: no tenant is named like that.
    let tenant = tenant_of_path(&path).map_or("", |(tenant, _, _)| tenant);
    if !state.has_tenant(tenant) {
        return ApiError::not_found("tenant_not_found", format!("unknown tenant `{tenant}`"))
            .into_response();
    }
    let principal = authenticate_request(&state, tenant, request.headers(), access)
        .and_then(|p| check_permission(&state, &p, access).map(|()| p))
        .and_then(|p| check_scope(&state, &p, scope).map(|()| p));
    match principal {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(err) => err.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_need_read_and_changes_what_the_rule_declares() {
        for rule in [Rule::DATA, Rule::ACTION, Rule::SIGNED] {
            assert_eq!(rule.access(&Method::GET), Some(Access::Read));
            assert_eq!(rule.access(&Method::HEAD), Some(Access::Read));
        }
        assert_eq!(Rule::DATA.access(&Method::POST), Some(Access::Write));
        assert_eq!(Rule::DATA.access(&Method::DELETE), Some(Access::Write));
        assert_eq!(Rule::ACTION.access(&Method::POST), Some(Access::Action));
        assert_eq!(Rule::SIGNED.access(&Method::POST), Some(Access::Signed));
        assert_eq!(
            Rule::ACTION
                .scope_checked_by_handler()
                .access(&Method::POST),
            Some(Access::Action)
        );
        assert_eq!(Rule::OPEN.access(&Method::GET), None);
        assert_eq!(Rule::DATA_PLANE.access(&Method::POST), None);
    }

    #[test]
    fn bearer_parsing_is_case_insensitive_and_keeps_empty_tokens() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some(""));
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
