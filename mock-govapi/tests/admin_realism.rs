//! Admin API (journal, reset, state, seed, clock), malformed input, realism switches,
//! and server lifecycle.

use crate::common;

use std::time::Duration;

use common::{config, start, start_with, Cred, Harness, ORG_KEY, T};
use mock_govapi::{AppState, MockConfig};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn journal_records_tenant_requests_with_credential_kind() {
    let h = start().await;
    h.get("settings").await;
    h.call(Method::GET, &Harness::thoth("settings"), Cred::Org, None)
        .await;
    h.call(
        Method::GET,
        &Harness::thoth("endpoints?env=prod"),
        Cred::None,
        None,
    )
    .await;
    h.call(
        Method::GET,
        &Harness::thoth("settings"),
        Cred::Key("thoth_made_up".into()),
        None,
    )
    .await;
    h.internal(Method::GET, "/__sink/x", None).await;

    let journal = h.internal(Method::GET, "/__admin/journal", None).await.body;
    let rows = journal["data"].as_array().unwrap();
    let summary: Vec<(String, u64, String)> = rows
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().into(),
                r["status"].as_u64().unwrap(),
                r["credential"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("/conformance/thoth/settings".into(), 200, "admin".into()),
            ("/conformance/thoth/settings".into(), 200, "org_key".into()),
            ("/conformance/thoth/endpoints".into(), 401, "none".into()),
            ("/conformance/thoth/settings".into(), 401, "api_key".into()),
        ]
    );
    assert_eq!(rows[2]["query"], "env=prod");
    assert_eq!(rows[2]["tenant"], T);
    assert_eq!(rows[0]["method"], "GET");
    // No credential value is ever journaled.
    assert!(!journal.to_string().contains(ORG_KEY));

    let since = rows[1]["seq"].as_u64().unwrap();
    let later = h
        .internal(
            Method::GET,
            &format!("/__admin/journal?since={since}"),
            None,
        )
        .await
        .body;
    assert_eq!(later["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        h.internal(Method::DELETE, "/__admin/journal", None)
            .await
            .status,
        204
    );
    assert!(
        h.internal(Method::GET, "/__admin/journal", None).await.body["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn reset_clears_state_but_keeps_credentials_and_faults() {
    let mut cfg = config();
    cfg.faults.insert(mock_govapi::Fault::MdmSyncStuck);
    let h = start_with(cfg).await;
    h.register("ep-1", json!({})).await;
    h.put("settings", json!({"compliance_profile": "soc2"}))
        .await;
    let dump = h
        .internal(Method::GET, "/__admin/tenants/conformance/state", None)
        .await
        .body;
    assert_eq!(dump["endpoints"]["ep-1"]["hostname"], "ep-1.local");

    assert_eq!(
        h.internal(Method::POST, "/__admin/reset", None)
            .await
            .status,
        204
    );
    assert_eq!(h.get("endpoints").await.body["total"], 0);
    assert_eq!(h.get("settings").await.body, json!({"updated_at": null}));
    assert_eq!(
        h.get("settings").await.status,
        200,
        "credentials survive a reset"
    );
    let faults = h.internal(Method::GET, "/__admin/faults", None).await.body;
    assert_eq!(faults, json!({"faults": ["mdm-sync-stuck"]}));
    assert_eq!(
        h.internal(Method::GET, "/__admin/tenants/nobody/state", None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn seed_registers_endpoints_atomically() {
    let h = start().await;
    let seeded = h
        .internal(
            Method::POST,
            "/__admin/tenants/conformance/seed",
            Some(json!({"endpoints": [
                {"endpoint_id": "s1", "hostname": "s1", "enrollment": "jamf"},
                {"endpoint_id": "s2", "hostname": "s2"}
            ]})),
        )
        .await;
    assert_eq!(seeded.status, 201);
    assert_eq!(seeded.body, json!({"endpoints": 2, "decisions": []}));
    assert_eq!(h.get("endpoints/stats").await.body["managed"], 1);

    let bad = h
        .internal(
            Method::POST,
            "/__admin/tenants/conformance/seed",
            Some(json!({"endpoints": [{"endpoint_id": "s3", "hostname": "s3"}, {"endpoint_id": "", "hostname": "x"}]})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body["message"]
        .as_str()
        .unwrap()
        .starts_with("endpoints[1]"));
    assert_eq!(
        h.get("endpoints").await.body["total"],
        2,
        "nothing of a bad seed is applied"
    );
    let typo = h
        .internal(
            Method::POST,
            "/__admin/tenants/conformance/seed",
            Some(json!({"endpointz": []})),
        )
        .await;
    assert_eq!(typo.status, 400);
}

#[tokio::test]
async fn admin_clock_moves_time_forward() {
    let h = start().await;
    h.register("ep-1", json!({})).await;
    h.post("endpoints/ep-1/checkin", json!({})).await;
    assert_eq!(h.get("endpoints/stats").await.body["online"], 1);
    let moved = h
        .internal(
            Method::POST,
            "/__admin/clock",
            Some(json!({"advance_ms": 301_000})),
        )
        .await;
    assert_eq!(moved.status, 200);
    assert_eq!(h.get("endpoints/stats").await.body["online"], 0);
}

fn assert_json_error(answer: &common::Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.body);
    assert_eq!(answer.body["error"], code, "{:?}", answer.body);
    assert!(answer.body["message"].is_string());
}

#[tokio::test]
async fn malformed_input_gets_json_4xx() {
    let h = start().await;
    let endpoints = Harness::thoth("endpoints");
    let raw = |body: &str| {
        h.raw(
            Method::POST,
            &endpoints,
            Cred::Admin,
            Some(body.as_bytes().to_vec()),
        )
    };
    assert_json_error(&raw("{not json").await, 400, "invalid_json");
    assert_json_error(&raw("").await, 400, "invalid_json");
    assert_json_error(
        &raw(r#"{"endpoint_id": 5, "hostname": "h"}"#).await,
        400,
        "invalid_request",
    );
    assert_json_error(
        &raw(r#"{"endpoint_id": "a", "hostname": "h", "risk_score": "high"}"#).await,
        400,
        "invalid_request",
    );
    assert_json_error(
        // A float score is the vendor's type (Terraform Float64); out of range is the
        // endpoint's own error.
        &raw(r#"{"endpoint_id": "a", "hostname": "h", "risk_score": -1}"#).await,
        400,
        "invalid_endpoint",
    );

    let huge = format!(
        r#"{{"endpoint_id":"a","hostname":"{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    assert_json_error(&raw(&huge).await, 413, "payload_too_large");

    let unknown = h
        .call(
            Method::GET,
            "/conformance/thoth/no/such/route",
            Cred::Admin,
            None,
        )
        .await;
    assert_json_error(&unknown, 404, "route_not_found");
    let root = h.call(Method::GET, "/", Cred::None, None).await;
    assert_json_error(&root, 404, "route_not_found");
    let wrong_method = h
        .call(
            Method::PATCH,
            &Harness::thoth("settings"),
            Cred::Admin,
            None,
        )
        .await;
    assert_json_error(&wrong_method, 405, "method_not_allowed");
    let bad_query = h
        .call(
            Method::GET,
            &Harness::thoth("endpoints?page=abc"),
            Cred::Admin,
            None,
        )
        .await;
    assert_eq!(bad_query.status, 400);
    assert!(bad_query.body["error"].is_string());
    let zero_page = h
        .call(
            Method::GET,
            &Harness::thoth("endpoints?page=0"),
            Cred::Admin,
            None,
        )
        .await;
    assert_json_error(&zero_page, 400, "invalid_pagination");
    let bad_journal = h
        .internal(Method::GET, "/__admin/journal?since=-4", None)
        .await;
    assert_eq!(bad_journal.status, 400);
    assert!(bad_journal.body["error"].is_string());
    // Non-UTF-8 body.
    let binary = h
        .raw(
            Method::PUT,
            &Harness::thoth("settings"),
            Cred::Admin,
            Some(vec![0xff, 0xfe, 0x00]),
        )
        .await;
    assert_json_error(&binary, 400, "invalid_json");
}

#[tokio::test]
async fn rate_limit_answers_every_nth_request_with_429() {
    let mut cfg = config();
    cfg.realism.rate_limit_every = Some(3);
    let h = start_with(cfg).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let answer = h.get("settings").await;
        if answer.status == 429 {
            assert_eq!(answer.headers.get("retry-after").unwrap(), "1");
            assert_eq!(answer.body["error"], "rate_limited");
        }
        statuses.push(answer.status);
    }
    assert_eq!(statuses, vec![200, 200, 429, 200, 200, 429]);
    // The admin API is never rate limited.
    for _ in 0..4 {
        assert_eq!(
            h.internal(Method::GET, "/__admin/faults", None)
                .await
                .status,
            200
        );
    }
}

#[tokio::test]
async fn forced_page_size_and_pagination() {
    let mut cfg = config();
    cfg.realism.page_size = Some(2);
    let h = start_with(cfg).await;
    for i in 0..5 {
        h.register(&format!("ep-{i}"), json!({})).await;
    }
    let first = h.get("endpoints").await.body;
    assert_eq!(
        (first["total"].as_u64(), first["per_page"].as_u64()),
        (Some(5), Some(2))
    );
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    let mut seen: Vec<String> = Vec::new();
    for page in 1..=3 {
        let body = h
            .get(&format!("endpoints?page={page}&per_page=50"))
            .await
            .body;
        seen.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["endpoint_id"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(seen, ["ep-0", "ep-1", "ep-2", "ep-3", "ep-4"]);
}

#[tokio::test]
async fn checkin_lag_delays_visibility() {
    let mut cfg = config();
    cfg.realism.checkin_lag_ms = 5_000;
    let h = start_with(cfg).await;
    h.register("ep-1", json!({})).await;
    let accepted = h
        .post("endpoints/ep-1/checkin", json!({"risk_score": 80}))
        .await;
    assert_eq!(accepted.status, 200);
    let before = h.get("endpoints/ep-1").await.body;
    assert_eq!(
        (before["online"].as_bool(), before["risk_score"].as_u64()),
        (Some(false), Some(0))
    );
    h.mock.state.advance_clock(Duration::from_secs(5));
    let after = h.get("endpoints/stats").await.body;
    assert_eq!(
        (after["online"].as_u64(), after["at_risk"].as_u64()),
        (Some(1), Some(1))
    );
}

#[tokio::test]
async fn jitter_keeps_answers_correct() {
    let mut cfg = config();
    cfg.realism.latency_jitter_ms = 5;
    let h = start_with(cfg).await;
    for _ in 0..3 {
        assert_eq!(h.get("settings").await.status, 200);
    }
}

#[test]
fn realism_rng_is_reproducible_from_its_seed() {
    let draw = |seed| {
        let mut cfg = MockConfig::dev_default();
        cfg.realism.seed = seed;
        let state = AppState::new(cfg);
        (0..16)
            .map(|_| state.random_up_to(1000))
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(7), draw(7));
    assert_ne!(draw(7), draw(8));
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let h = start().await;
    let url = h.url("/__admin/faults");
    assert!(h.client.get(&url).send().await.is_ok());
    h.mock.shutdown().await;
    let after = h
        .client
        .get(&url)
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(after.is_err());
}

#[tokio::test]
async fn spawn_refuses_a_config_without_tenants() {
    let err = mock_govapi::spawn(MockConfig::with_tenants(vec![]))
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn dev_default_credentials_work() {
    let h = start_with(MockConfig::dev_default()).await;
    let ok = h
        .call(
            Method::GET,
            "/acme/thoth/settings",
            Cred::Bearer(mock_govapi::DEV_ADMIN_TOKEN.into()),
            None,
        )
        .await;
    assert_eq!(ok.status, 200);
    let key = h
        .call(
            Method::GET,
            "/acme/thoth/settings",
            Cred::Key(mock_govapi::DEV_ORG_API_KEY.into()),
            None,
        )
        .await;
    assert_eq!(key.status, 200);
    let _: Value = ok.body;
}

/// `app()` is a plain router: it answers in-process without a socket.
#[tokio::test]
async fn app_router_serves_in_process() {
    use tower::ServiceExt;
    let router = mock_govapi::app(AppState::new(config()));
    let request = axum::http::Request::builder()
        .uri("/conformance/thoth/settings")
        .header("authorization", format!("Bearer {}", common::ADMIN))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json, json!({"updated_at": null}));
}
