//! The auth matrix: 401 / 403 / 400, skip-auth, tenant isolation, scoped key permissions
//! and scope, and a property test of scope semantics through the authorize route.

use crate::common;

use std::time::Duration;

use common::{config, start, start_with, Cred, Harness, ADMIN_OTHER, ORG_KEY_OTHER, OTHER};
use proptest::prelude::*;
use reqwest::Method;
use serde_json::json;

/// The status alone, for a tenant route under `/<tenant>/thoth/`.
async fn code(
    h: &Harness,
    method: Method,
    path: &str,
    cred: Cred,
    body: Option<serde_json::Value>,
) -> u16 {
    code_at(h, method, &Harness::thoth(path), cred, body).await
}

/// The status alone, for any path.
async fn code_at(
    h: &Harness,
    method: Method,
    path: &str,
    cred: Cred,
    body: Option<serde_json::Value>,
) -> u16 {
    status(h, method, path, cred, body).await.0
}

async fn status(
    h: &Harness,
    method: Method,
    path: &str,
    cred: Cred,
    body: Option<serde_json::Value>,
) -> (u16, String) {
    let answer = h.call(method, path, cred, body).await;
    (
        answer.status,
        answer.body["error"].as_str().unwrap_or("").to_string(),
    )
}

#[tokio::test]
async fn credentials_are_required_valid_and_single() {
    let h = start().await;
    let settings = Harness::thoth("settings");
    let s = |c| status(&h, Method::GET, &settings, c, None);
    assert_eq!(s(Cred::None).await, (401, "missing_credentials".into()));
    assert_eq!(
        s(Cred::Bearer("nope".into())).await,
        (401, "invalid_credentials".into())
    );
    assert_eq!(s(Cred::Bearer(String::new())).await.0, 401);
    assert_eq!(
        s(Cred::Key("thoth_unknown".into())).await,
        (401, "invalid_credentials".into())
    );
    assert_eq!(s(Cred::Both).await, (400, "ambiguous_credentials".into()));
    assert_eq!(s(Cred::Admin).await.0, 200);
    assert_eq!(s(Cred::Org).await.0, 200);
    let unknown_tenant = status(&h, Method::GET, "/nobody/thoth/settings", Cred::Admin, None).await;
    assert_eq!(unknown_tenant, (404, "tenant_not_found".into()));
}

#[tokio::test]
async fn tenants_are_isolated() {
    let h = start().await;
    let mine = Harness::thoth("endpoints");
    let theirs = format!("/{OTHER}/thoth/endpoints");
    assert_eq!(
        status(
            &h,
            Method::GET,
            &mine,
            Cred::Bearer(ADMIN_OTHER.into()),
            None
        )
        .await,
        (403, "tenant_forbidden".into())
    );
    assert_eq!(
        status(
            &h,
            Method::GET,
            &mine,
            Cred::Key(ORG_KEY_OTHER.into()),
            None
        )
        .await,
        (403, "tenant_forbidden".into())
    );
    assert_eq!(
        status(
            &h,
            Method::GET,
            &theirs,
            Cred::Bearer(ADMIN_OTHER.into()),
            None
        )
        .await
        .0,
        200
    );
    // A key created in one tenant does not open the other.
    let (_, key) = h.create_key("organization", None, &["read"]).await;
    assert_eq!(
        status(&h, Method::GET, &mine, Cred::Key(key.clone()), None)
            .await
            .0,
        200
    );
    assert_eq!(
        status(&h, Method::GET, &theirs, Cred::Key(key), None).await,
        (403, "tenant_forbidden".into())
    );
    // Data written in one tenant is not visible in the other.
    h.register("ep-only-mine", json!({})).await;
    let other_list = h
        .call(Method::GET, &theirs, Cred::Bearer(ADMIN_OTHER.into()), None)
        .await;
    assert_eq!(other_list.body["total"], 0);
}

#[tokio::test]
async fn skip_auth_accepts_requests_without_credentials() {
    let mut cfg = config();
    cfg.skip_auth = true;
    let h = start_with(cfg).await;
    assert_eq!(
        code(&h, Method::GET, "settings", Cred::None, None).await,
        200
    );
    assert_eq!(
        code(
            &h,
            Method::PUT,
            "settings",
            Cred::None,
            Some(json!({"compliance_profile": "soc2"}))
        )
        .await,
        200
    );
}

#[tokio::test]
async fn api_key_permissions_follow_the_method() {
    let h = start().await;
    h.post("mdm/providers", json!({"provider": "custom"})).await;
    let (_, read_only) = h.create_key("organization", None, &["read"]).await;
    let (_, write_only) = h.create_key("organization", None, &["write"]).await;
    let (_, execute_only) = h.create_key("organization", None, &["execute"]).await;
    let settings = Harness::thoth("settings");
    let sync = Harness::thoth("mdm/providers/custom/sync");
    let doc = || Some(json!({"compliance_profile": "soc2"}));

    assert_eq!(
        status(
            &h,
            Method::GET,
            &settings,
            Cred::Key(read_only.clone()),
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        status(
            &h,
            Method::PUT,
            &settings,
            Cred::Key(read_only.clone()),
            doc()
        )
        .await,
        (403, "insufficient_permission".into())
    );
    assert_eq!(
        code_at(&h, Method::POST, &sync, Cred::Key(read_only), None).await,
        403
    );

    assert_eq!(
        status(
            &h,
            Method::GET,
            &settings,
            Cred::Key(write_only.clone()),
            None
        )
        .await
        .0,
        403
    );
    assert_eq!(
        status(
            &h,
            Method::PUT,
            &settings,
            Cred::Key(write_only.clone()),
            doc()
        )
        .await
        .0,
        200
    );
    assert_eq!(
        code_at(&h, Method::POST, &sync, Cred::Key(write_only), None).await,
        202
    );

    assert_eq!(
        status(
            &h,
            Method::POST,
            &sync,
            Cred::Key(execute_only.clone()),
            None
        )
        .await
        .0,
        202
    );
    assert_eq!(
        code_at(&h, Method::PUT, &settings, Cred::Key(execute_only), doc()).await,
        403
    );
}

#[tokio::test]
async fn scoped_keys_reach_only_their_resources() {
    let h = start().await;
    h.register("ep-e2e-01", json!({"fleet_id": "fleet-a"}))
        .await;
    h.register("ep-other-99", json!({"fleet_id": "fleet-b"}))
        .await;
    let (_, ep_key) = h
        .create_key("endpoint", Some("ep-e2e-01"), &["read", "execute"])
        .await;
    let k = || Cred::Key(ep_key.clone());

    assert_eq!(
        code(&h, Method::GET, "endpoints/ep-e2e-01", k(), None).await,
        200
    );
    assert_eq!(
        status(
            &h,
            Method::GET,
            &Harness::thoth("endpoints/ep-other-99"),
            k(),
            None
        )
        .await,
        (403, "scope_denied".into())
    );
    assert_eq!(
        code(
            &h,
            Method::POST,
            "endpoints/ep-e2e-01/checkin",
            k(),
            Some(json!({"sessions_today": 2}))
        )
        .await,
        200
    );
    assert_eq!(
        code(
            &h,
            Method::POST,
            "endpoints/ep-other-99/checkin",
            k(),
            Some(json!({}))
        )
        .await,
        403
    );
    assert_eq!(
        status(&h, Method::GET, &Harness::thoth("settings"), k(), None).await,
        (403, "scope_denied".into())
    );
    let list = h
        .call(Method::GET, &Harness::thoth("endpoints"), k(), None)
        .await;
    assert_eq!(list.body["total"], 1);
    assert_eq!(
        h.call(Method::GET, &Harness::thoth("endpoints/stats"), k(), None)
            .await
            .body["total"],
        1
    );

    // A fleet key must name an existing fleet.
    let fleet = h
        .post("fleets", json!({"fleet_id": "fleet-a", "name": "Fleet A"}))
        .await;
    assert_eq!(fleet.status, 201, "{:?}", fleet.body);
    let (_, fleet_key) = h
        .create_key("fleet", Some("fleet-a"), &["read", "write"])
        .await;
    let f = || Cred::Key(fleet_key.clone());
    assert_eq!(
        code(&h, Method::GET, "endpoints/ep-e2e-01", f(), None).await,
        200
    );
    assert_eq!(
        code(&h, Method::GET, "endpoints/ep-other-99", f(), None).await,
        403
    );
    let in_fleet = json!({"endpoint_id": "ep-new", "hostname": "n", "fleet_id": "fleet-a"});
    let out_of_fleet = json!({"endpoint_id": "ep-new2", "hostname": "n", "fleet_id": "fleet-b"});
    assert_eq!(
        code(&h, Method::POST, "endpoints", f(), Some(in_fleet)).await,
        201
    );
    assert_eq!(
        code(&h, Method::POST, "endpoints", f(), Some(out_of_fleet)).await,
        403
    );
}

#[tokio::test]
async fn revoked_and_expired_keys_stop_authenticating() {
    let h = start().await;
    let settings = Harness::thoth("settings");
    let (key_id, key) = h.create_key("organization", None, &["read"]).await;
    assert_eq!(
        status(&h, Method::GET, &settings, Cred::Key(key.clone()), None)
            .await
            .0,
        200
    );
    h.delete(&format!("api-keys/{key_id}")).await;
    assert_eq!(
        status(&h, Method::GET, &settings, Cred::Key(key), None).await,
        (401, "key_revoked".into())
    );

    let created = h
        .post(
            "api-keys",
            json!({"name": "short", "permissions": ["read"], "ttl_seconds": 60}),
        )
        .await;
    let short = created.body["api_key"].as_str().unwrap().to_string();
    assert_eq!(
        status(&h, Method::GET, &settings, Cred::Key(short.clone()), None)
            .await
            .0,
        200
    );
    h.mock.state.advance_clock(Duration::from_secs(61));
    assert_eq!(
        status(&h, Method::GET, &settings, Cred::Key(short), None).await,
        (401, "key_expired".into())
    );
}

#[tokio::test]
async fn a_key_cannot_mint_a_stronger_key() {
    let h = start().await;
    let (_, key) = h.create_key("organization", None, &["read", "write"]).await;
    let path = Harness::thoth("api-keys");
    let stronger = json!({"name": "x", "permissions": ["execute"]});
    let same = json!({"name": "y", "permissions": ["read"]});
    assert_eq!(
        status(
            &h,
            Method::POST,
            &path,
            Cred::Key(key.clone()),
            Some(stronger)
        )
        .await,
        (403, "permission_escalation".into())
    );
    assert_eq!(
        code_at(&h, Method::POST, &path, Cred::Key(key), Some(same)).await,
        201
    );
}

fn id_strategy() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9-]{0,11}"
}

/// Authorize through HTTP: an endpoint-scoped key allows exactly its endpoint, and an
/// agent-scoped key never covers an endpoint of the same id.
#[test]
fn endpoint_scope_allows_exactly_its_endpoint() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let h = rt.block_on(start());
    let mut config = ProptestConfig::with_cases(48);
    config.failure_persistence = None;
    proptest!(config, |(target in id_strategy(), other in id_strategy(), permission in prop::sample::select(vec!["read", "execute"]))| {
        rt.block_on(async {
            let (ep_id, ep_key) = h.create_key("endpoint", Some(&target), &["read", "execute"]).await;
            let (agent_id, agent_key) = h.create_key("agent", Some(&target), &["read", "execute"]).await;
            let ask = |key_id: &str, key: &str, rtype: &str, rid: &str| {
                let path = format!("api-keys/{key_id}/authorize");
                let body = json!({"api_key": key, "permission": permission, "resource_type": rtype, "resource_id": rid});
                let h = &h;
                async move { h.post(&path, body).await.body["scope_allowed"].as_bool().unwrap() }
            };
            assert!(ask(&ep_id, &ep_key, "endpoint", &target).await);
            assert_eq!(ask(&ep_id, &ep_key, "endpoint", &other).await, other == target);
            assert!(!ask(&ep_id, &ep_key, "agent", &target).await);
            assert!(ask(&agent_id, &agent_key, "agent", &target).await);
            assert!(!ask(&agent_id, &agent_key, "endpoint", &target).await);
        });
    });
}

proptest! {
    /// Pure semantics: organization covers all; other scopes need a matching target.
    #[test]
    fn scope_function_properties(level in 0usize..4, target in id_strategy(), rtype in prop::sample::select(vec!["endpoint", "agent", "fleet"]), rid in id_strategy()) {
        use mock_govapi::records::ScopeLevel::*;
        use mock_govapi::scope::scope_allows;
        let level = [Organization, Fleet, Endpoint, Agent][level];
        let allowed = scope_allows(level, Some(&target), rtype, &rid, |_| None);
        match level {
            Organization => prop_assert!(allowed),
            Endpoint => prop_assert_eq!(allowed, rtype == "endpoint" && rid == target),
            Agent => prop_assert_eq!(allowed, rtype == "agent" && rid == target),
            Fleet => prop_assert_eq!(allowed, rtype == "fleet" && rid == target),
        }
        if level != Organization {
            prop_assert!(!scope_allows(level, None, rtype, &rid, |_| None));
        }
    }
}

/// Sends one request through `router` (no listener) and answers (status, `error`).
async fn through(router: axum::Router, method: &str, path: &str) -> (u16, String) {
    use tower::ServiceExt;
    let request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", common::ADMIN))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    (status, body["error"].as_str().unwrap_or("").to_string())
}

/// A route added without `Routes::route` (so without a rule) is refused before its
/// handler runs: in the tenant area and outside it, with valid admin credentials.
#[tokio::test]
async fn a_route_without_a_declared_rule_is_refused_not_served_open() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use axum::routing::get;
    use mock_govapi::routes::routes;
    use mock_govapi::AppState;

    let served = Arc::new(AtomicBool::new(false));
    let handler = {
        let served = served.clone();
        move || async move {
            served.store(true, Ordering::SeqCst);
            "served"
        }
    };
    let state = AppState::new(config());
    let app = routes(&state)
        .map_router(|router| {
            router
                .route("/{tenant}/thoth/undeclared", get(handler.clone()))
                .route("/__open/undeclared", get(handler.clone()))
        })
        .into_router()
        .with_state(state.clone());
    let tenant_path = format!("/{}/thoth/undeclared", common::T);
    for path in [tenant_path.as_str(), "/__open/undeclared"] {
        assert_eq!(
            through(app.clone(), "GET", path).await,
            (500, "undeclared_route".into()),
            "{path}"
        );
    }
    // A declared neighbour still works through the same router.
    let settings = format!("/{}/thoth/settings", common::T);
    assert_eq!(through(app, "GET", &settings).await.0, 200);

    // The tenant middleware alone (no declared rule handed on) refuses too.
    let bare = axum::Router::new()
        .route("/{tenant}/thoth/undeclared", get(handler))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            mock_govapi::auth::authenticate,
        ))
        .with_state(state);
    assert_eq!(
        through(bare, "GET", &tenant_path).await,
        (500, "undeclared_route".into())
    );
    assert!(!served.load(Ordering::SeqCst), "no undeclared handler ran");
}

/// Every route of the mock declares a rule that fits where it lives: tenant routes a
/// tenant rule, and only the admin API and the sinks are open.
#[test]
fn every_route_declares_the_rule_its_area_needs() {
    use mock_govapi::auth::Rule;

    let state = mock_govapi::AppState::new(config());
    let all = mock_govapi::routes::routes(&state);
    assert!(all.rules().len() > 40, "{} routes", all.rules().len());
    for (path, rule) in all.rules() {
        let tenant =
            path.starts_with("/{tenant}/thoth/") || path.starts_with("/{tenant}/governance/");
        let fits = match rule {
            Rule::Tenant { .. } => tenant,
            Rule::Open => path.starts_with("/__admin/") || path.starts_with("/__sink/"),
            Rule::DataPlane => path.starts_with("/v1/"),
        };
        assert!(fits, "{path} declares {rule:?}");
    }
}
