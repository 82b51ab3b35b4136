//! Route composition. Each route group lives in its own module and exposes
//! `pub fn router() -> Routes` with paths relative to its area:
//! `/<tenant>/thoth/...` (area `thoth`) or `/<tenant>/governance/...` (area `governance`).
//! Every route declares its access rule where it is registered:
//! `.route("/approvals", Rule::DATA, get(list))` ([`auth::Rule`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::MethodRouter;
use axum::{middleware, Router};

use crate::auth::Rule;

use crate::error::{json_error_bodies, method_not_allowed, route_not_found};
use crate::state::AppState;
use crate::{auth, journal, realism};

pub mod admin;
pub mod api_keys;
pub mod approvals;
pub mod book;
pub mod browser;
pub mod dataplane;
pub mod decisions;
pub mod endpoints;
pub mod evidence_chain;
pub mod feed;
pub mod fleets;
pub mod integrations;
pub mod mdm;
pub mod settings;
pub mod sink;
pub mod tools;
pub mod violations;

/// Routes, each with the access rule it declared. The only way to add a route is
/// [`Routes::route`], which takes the rule; [`Routes::into_router`] puts
/// [`auth::declared`] in front of every route, so one added around it (through
/// [`Routes::map_router`]) is refused, not served open.
#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    rules: BTreeMap<String, Rule>,
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `path` with `methods` under `rule` (for every method of the path).
    pub fn route(mut self, path: &str, rule: Rule, methods: MethodRouter<AppState>) -> Self {
        self.declare(path.to_owned(), rule);
        self.router = self.router.route(path, methods);
        self
    }

    fn declare(&mut self, path: String, rule: Rule) {
        if let Some(other) = self.rules.insert(path.clone(), rule) {
            assert_eq!(other, rule, "`{path}` declares two access rules");
        }
    }

    pub fn merge(mut self, other: Routes) -> Self {
        for (path, rule) in other.rules {
            self.declare(path, rule);
        }
        self.router = self.router.merge(other.router);
        self
    }

    /// `other`'s routes under `prefix` (`/{tenant}/thoth`).
    pub fn nest(mut self, prefix: &str, other: Routes) -> Self {
        for (path, rule) in other.rules {
            self.declare(format!("{prefix}{path}"), rule);
        }
        self.router = self.router.nest(prefix, other.router);
        self
    }

    /// Applies layers to the routes so far. A route added here declares nothing and
    /// is refused (`undeclared_route`).
    pub fn map_router(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        self.router = f(self.router);
        self
    }

    /// Every declared route path (as matched, `/{tenant}/thoth/api-keys`) and its rule.
    pub fn rules(&self) -> &BTreeMap<String, Rule> {
        &self.rules
    }

    /// The routes behind [`auth::declared`], which refuses any route without a rule.
    pub fn into_router(self) -> Router<AppState> {
        let rules: auth::DeclaredRules = Arc::new(self.rules);
        self.router
            .route_layer(middleware::from_fn_with_state(rules, auth::declared))
    }
}

/// The status of an upsert: 201 when it created the record, 200 when it replaced one.
pub(crate) fn created_or_updated(created: bool) -> axum::http::StatusCode {
    if created {
        axum::http::StatusCode::CREATED
    } else {
        axum::http::StatusCode::OK
    }
}

/// The tenants whose rows a governance list of `tenant` shows (feed, alerts,
/// approvals): its own, or every tenant of the server under `lists-show-other-tenants`.
pub(crate) fn listed_tenants(state: &AppState, tenant: &str) -> Vec<String> {
    if state.fault(crate::faults::Fault::ListsShowOtherTenants) {
        state.tenant_ids().map(str::to_owned).collect()
    } else {
        vec![tenant.to_owned()]
    }
}

/// Splits a tenant route path `/<tenant>/<area>/<tail>` into its parts, where area is
/// `thoth` or `governance`; `None` for any other path.
pub fn tenant_of_path(path: &str) -> Option<(&str, &str, &str)> {
    let mut parts = path.trim_start_matches('/').splitn(3, '/');
    let tenant = parts
        .next()
        .filter(|t| !t.is_empty() && !t.starts_with("__"))?;
    let area = parts
        .next()
        .filter(|a| matches!(*a, "thoth" | "governance"))?;
    Some((tenant, area, parts.next().unwrap_or("")))
}

/// The request path as the client sent it. Nested routers see their URI with the
/// prefix stripped, so middleware that needs the tenant reads this instead.
#[derive(Debug, Clone)]
pub struct FullPath(pub String);

async fn remember_full_path(mut request: Request, next: Next) -> Response {
    let path = FullPath(request.uri().path().to_string());
    request.extensions_mut().insert(path);
    next.run(request).await
}

/// Every route of the mock with its declared rule: the tenant API behind
/// authentication (and the secret read-back and shape-fault layers), the admin API,
/// the data plane and the sinks.
pub fn routes(state: &AppState) -> Routes {
    let thoth = Routes::new()
        .merge(settings::router())
        .merge(mdm::router())
        .merge(endpoints::router())
        .merge(api_keys::router())
        .merge(approvals::router())
        .merge(feed::thoth_router())
        .merge(browser::router())
        .merge(tools::router())
        .merge(fleets::router())
        .merge(evidence_chain::thoth_router())
        .merge(violations::router());
    // Other route groups are merged here too: add `.merge(<module>::router())`.

    let governance = Routes::new()
        .merge(feed::governance_router())
        .merge(integrations::router())
        .merge(evidence_chain::governance_router());
    // Routes of the `governance` area are merged here.

    let tenant_api = Routes::new()
        .nest("/{tenant}/thoth", thoth)
        .nest("/{tenant}/governance", governance)
        .map_router(|router| {
            router
                .route_layer(middleware::from_fn_with_state(
                    state.clone(),
                    auth::authenticate,
                ))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    crate::secrets::readback,
                ))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    crate::shape_faults::apply,
                ))
        });

    Routes::new()
        .merge(tenant_api)
        .merge(admin::router())
        .merge(decisions::router())
        .merge(dataplane::router())
        .merge(sink::router())
}

/// The whole mock: [`routes`] and the cross-cutting layers (journal, JSON error
/// bodies, realism, body limit).
pub fn router(state: AppState) -> Router {
    let max_body = state.config().max_body_bytes;
    routes(&state)
        .into_router()
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            realism::apply,
        ))
        .layer(middleware::from_fn(json_error_bodies))
        .layer(middleware::from_fn(remember_full_path))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            journal::record,
        ))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "declares two access rules")]
    fn a_path_cannot_declare_two_rules() {
        use axum::routing::{get, post};
        async fn ok() {}
        let _ = Routes::new()
            .route("/x", Rule::DATA, get(ok))
            .merge(Routes::new().route("/x", Rule::ACTION, post(ok)));
    }

    #[test]
    fn splits_tenant_paths_only() {
        assert_eq!(
            tenant_of_path("/acme/thoth/mdm/providers"),
            Some(("acme", "thoth", "mdm/providers"))
        );
        assert_eq!(
            tenant_of_path("/acme/governance/integrations"),
            Some(("acme", "governance", "integrations"))
        );
        assert_eq!(tenant_of_path("/__admin/reset"), None);
        assert_eq!(tenant_of_path("/acme/other/x"), None);
        assert_eq!(tenant_of_path("/"), None);
    }
}
