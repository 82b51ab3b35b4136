//! Route groups over real HTTP: settings, webhook test, MDM, endpoints, API keys.

use crate::common;

use std::time::Duration;

use common::{config, start, start_with, Cred, Harness};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn settings_put_replaces_keeps_unknown_keys_and_redacts_secrets() {
    let h = start().await;
    let fresh = h.get("settings").await;
    assert_eq!(
        (fresh.status, &fresh.body),
        (200, &json!({"updated_at": null}))
    );

    let doc = json!({
        "compliance_profile": "soc2",
        "shadow_policy": {"low": "allow", "medium": "step_up", "high": "block", "critical": "block"},
        "webhook": {"enabled": true, "url": "https://siem.example/hook", "secret": "wh-secret"},
        "siem": {"provider": "splunk", "webhook": {"url": "https://siem.example/2", "secret": "siem-secret"}},
        "pam": {"enabled": true, "provider": "cyberark", "callback_secret": "cb-secret",
                "request_url": "https://pam.example", "request_secret": "rq-secret",
                "request_auth_token": "rq-token", "request_timeout_seconds": 10},
        "custom_vendor_key": {"kept": true},
    });
    let put = h.put("settings", doc.clone()).await;
    assert_eq!(put.status, 200);
    assert!(put.body["updated_at"].is_string());

    let got = h.get("settings").await;
    let text = got.body.to_string();
    for secret in [
        "wh-secret",
        "siem-secret",
        "cb-secret",
        "rq-secret",
        "rq-token",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert_eq!(got.body["webhook"]["secret"], "********");
    assert_eq!(got.body["pam"]["request_auth_token"], "********");
    assert_eq!(got.body["custom_vendor_key"], json!({"kept": true}));
    assert_eq!(got.body["shadow_policy"], doc["shadow_policy"]);

    // GET-merge-PUT: the redacted placeholder keeps the stored secret (admin dump shows it).
    let mut merged = got.body.clone();
    merged["compliance_profile"] = json!("healthcare");
    merged.as_object_mut().unwrap().remove("custom_vendor_key");
    assert_eq!(h.put("settings", merged).await.status, 200);
    let dump = h
        .internal(Method::GET, "/__admin/tenants/conformance/state", None)
        .await;
    assert_eq!(dump.body["settings"]["webhook"]["secret"], "wh-secret");
    assert_eq!(dump.body["settings"]["compliance_profile"], "healthcare");
    // PUT replaces the whole document: the key left out is gone.
    assert!(dump.body["settings"].get("custom_vendor_key").is_none());
}

#[tokio::test]
async fn settings_validation_errors() {
    let h = start().await;
    for bad in [
        json!({"compliance_profile": "iso9001"}),
        json!({"shadow_policy": {"low": "sometimes"}}),
        json!({"shadow_policy": {"extreme": "block"}}),
        json!({"webhook": {"url": "not a url"}}),
        json!(["not", "an", "object"]),
    ] {
        let answer = h.put("settings", bad.clone()).await;
        assert_eq!(answer.status, 400, "{bad}");
        assert_eq!(answer.body["error"], "invalid_settings", "{bad}");
    }
    assert_eq!(h.get("settings").await.body, json!({"updated_at": null}));
}

#[tokio::test]
async fn webhook_test_delivers_a_signed_event_to_the_sink() {
    let h = start().await;
    h.webhook_to_sink("siem", "sink-secret").await;
    let answer = h.post("settings/webhook/test", json!({})).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        json!({"status": "delivered", "http_status": 200, "error": ""})
    );

    let deliveries = h.sink("siem").await;
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    assert_eq!(delivery["signature_valid"], true);
    assert_eq!(delivery["headers"]["x-thoth-event"], "webhook.test");
    let body: Value = serde_json::from_str(delivery["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["event_type"], "webhook.test");
    assert_eq!(body["tenant_id"], "conformance");
    assert!(body["occurred_at"].is_string());

    // The attempt is kept in the tenant's state.
    let dump = h
        .internal(Method::GET, "/__admin/tenants/conformance/state", None)
        .await
        .body;
    let attempt = &dump["webhook_deliveries"][0];
    assert_eq!(
        (attempt["status"].as_str(), attempt["signed"].as_bool()),
        (Some("delivered"), Some(true))
    );

    // Independently re-verify the signature with the shared scheme.
    let ts = delivery["headers"]["x-thoth-timestamp"].as_str().unwrap();
    let sig = delivery["headers"]["x-thoth-signature"].as_str().unwrap();
    mock_govapi::signing::verify_mac_only(
        b"sink-secret",
        ts,
        sig,
        delivery["body"].as_str().unwrap().as_bytes(),
    )
    .expect("signature verifies");
}

#[tokio::test]
async fn webhook_test_without_body_and_sink_rejecting_or_unreachable() {
    let h = start().await;
    // No webhook configured.
    let answer = h
        .call(
            Method::POST,
            &Harness::thoth("settings/webhook/test"),
            Cred::Admin,
            None,
        )
        .await;
    assert_eq!(
        (answer.status, answer.body["error"].as_str()),
        (409, Some("webhook_not_configured"))
    );

    // The sink answers 500: the test reports failed with that status.
    h.webhook_to_sink("down", "s").await;
    h.internal(
        Method::PUT,
        "/__sink/down/config",
        Some(json!({"status": 500, "secret": "s"})),
    )
    .await;
    let answer = h
        .call(
            Method::POST,
            &Harness::thoth("settings/webhook/test"),
            Cred::Admin,
            None,
        )
        .await;
    assert_eq!(answer.body["status"], "failed");
    assert_eq!(answer.body["http_status"], 500);

    // A closed port: failed, no HTTP status, an error message.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    h.put(
        "settings",
        json!({"webhook": {"url": format!("http://{closed}/hook"), "secret": "s"}}),
    )
    .await;
    let answer = h.post("settings/webhook/test", json!({})).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["status"], "failed");
    assert_eq!(answer.body["http_status"], 0);
    assert!(!answer.body["error"].as_str().unwrap().is_empty());
    assert!(!answer.body["error"].as_str().unwrap().contains("\"s\""));
}

#[tokio::test]
async fn sink_flags_bad_signatures_and_can_be_cleared() {
    let h = start().await;
    h.internal(
        Method::PUT,
        "/__sink/s1/config",
        Some(json!({"secret": "right"})),
    )
    .await;
    let body = br#"{"event_type":"x"}"#.to_vec();
    let ts = time::OffsetDateTime::now_utc().unix_timestamp();
    let good = mock_govapi::signing::sign(b"right", ts, &body);
    let bad = mock_govapi::signing::sign(b"wrong", ts, &body);
    for sig in [good, bad] {
        let response = h
            .client
            .post(h.url("/__sink/s1"))
            .header("x-thoth-timestamp", ts.to_string())
            .header("x-thoth-signature", sig)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let flags: Vec<Value> = h
        .sink("s1")
        .await
        .iter()
        .map(|d| d["signature_valid"].clone())
        .collect();
    assert_eq!(flags, vec![json!(true), json!(false)]);
    assert_eq!(
        h.internal(Method::DELETE, "/__sink/s1", None).await.status,
        204
    );
    assert!(h.sink("s1").await.is_empty());
    let bad_config = h
        .internal(
            Method::PUT,
            "/__sink/s1/config",
            Some(json!({"status": 42})),
        )
        .await;
    assert_eq!(bad_config.status, 400);
}

fn jamf() -> Value {
    json!({"provider": "jamf", "name": "Jamf Pro", "enabled": true,
           "config": {"base_url": "https://jamf.example", "client_id": "cid", "client_secret": "csecret"}})
}

#[tokio::test]
async fn mdm_upsert_sync_and_job_progression() {
    let h = start().await;
    h.register("ep-jamf-1", json!({"enrollment": "jamf"})).await;
    h.register("ep-manual", json!({})).await;

    let created = h.post("mdm/providers", jamf()).await;
    assert_eq!(created.status, 201);
    assert_eq!(created.body["config"]["client_secret"], "********");
    let updated = h.post("mdm/providers", jamf()).await;
    assert_eq!(updated.status, 200);
    let list = h.get("mdm/providers").await;
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["data"][0]["enabled"], true);
    assert!(!list.body.to_string().contains("csecret"));

    let job = h.post("mdm/providers/jamf/sync", json!({})).await;
    assert_eq!(job.status, 202);
    assert_eq!(job.body["status"], "queued");
    assert_eq!(job.body["provider"], "jamf");
    let job_path = format!("mdm/sync-jobs/{}", job.body["job_id"].as_str().unwrap());

    let state = &h.mock.state;
    state.advance_clock(Duration::from_millis(100)); // past a quarter of 300 ms
    assert_eq!(h.get(&job_path).await.body["status"], "running");
    assert_eq!(
        h.get("mdm/providers").await.body["data"][0]["last_sync_status"],
        "running"
    );
    state.advance_clock(Duration::from_millis(300));
    let done = h.get(&job_path).await;
    assert_eq!(done.body["status"], "succeeded");
    assert_eq!(done.body["synced_endpoints"], 1);
    let row = &h.get("mdm/providers").await.body["data"][0];
    assert_eq!(row["last_sync_status"], "succeeded");
    assert_eq!(row["last_sync_job_id"], job.body["job_id"]);
    assert_eq!(row["synced_endpoints"], 1);
    assert!(row["last_sync_at"].is_string());
}

#[tokio::test]
async fn mdm_errors_and_failed_job() {
    let h = start().await;
    let bad = h
        .post("mdm/providers", json!({"provider": "airwatch"}))
        .await;
    assert_eq!(
        (bad.status, bad.body["error"].as_str()),
        (400, Some("invalid_provider"))
    );
    let unknown = h.post("mdm/providers/intune/sync", json!({})).await;
    assert_eq!(
        (unknown.status, unknown.body["error"].as_str()),
        (404, Some("provider_not_found"))
    );
    assert_eq!(h.get("mdm/sync-jobs/job_nope").await.status, 404);

    h.post(
        "mdm/providers",
        json!({"provider": "kandji", "enabled": false}),
    )
    .await;
    assert_eq!(
        h.post("mdm/providers/kandji/sync", json!({})).await.status,
        409
    );

    // jamf without credentials: the job runs, then fails and says why.
    h.post(
        "mdm/providers",
        json!({"provider": "jamf", "config": {"base_url": "https://j"}}),
    )
    .await;
    let job = h.post("mdm/providers/jamf/sync", json!({})).await;
    h.mock.state.advance_clock(Duration::from_secs(1));
    let done = h
        .get(&format!(
            "mdm/sync-jobs/{}",
            job.body["job_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(done.body["status"], "failed");
    assert!(done.body["error"]
        .as_str()
        .unwrap()
        .contains("client_secret"));
    assert_eq!(
        h.get("mdm/providers").await.body["data"][0]["last_error"],
        done.body["error"]
    );
}

/// The runbook's Phase 3 Option B curl bodies, verbatim, in skip-auth mode (no headers).
#[tokio::test]
async fn runbook_option_b_registration_and_checkin() {
    let mut cfg = config();
    cfg.skip_auth = true;
    let h = start_with(cfg).await;
    let stats_before = h
        .call(
            Method::GET,
            &Harness::thoth("endpoints/stats"),
            Cred::None,
            None,
        )
        .await;
    assert_eq!(stats_before.status, 200);

    let register = r#"{
    "endpoint_id":"ep-e2e-01",
    "hostname":"ep-e2e-01.local",
    "employee_email":"secops@example.com",
    "enrollment":"manual",
    "environment":"prod",
    "proxy_version":"0.2.8",
    "agent_ids":["filesystem-safe"]
  }"#;
    let checkin = r#"{
    "proxy_version":"0.2.8",
    "agent_ids":["filesystem-safe"],
    "risk_score":10,
    "violations_today":0,
    "sessions_today":1
  }"#;
    let r = h
        .raw(
            Method::POST,
            &Harness::thoth("endpoints"),
            Cred::None,
            Some(register.into()),
        )
        .await;
    assert!(r.status == 200 || r.status == 201, "{:?}", r.body);
    let c = h
        .raw(
            Method::POST,
            &Harness::thoth("endpoints/ep-e2e-01/checkin"),
            Cred::None,
            Some(checkin.into()),
        )
        .await;
    assert_eq!(c.status, 200, "{:?}", c.body);

    let list = h
        .call(Method::GET, &Harness::thoth("endpoints"), Cred::None, None)
        .await;
    let ids: Vec<&str> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["endpoint_id"].as_str())
        .collect();
    assert!(ids.contains(&"ep-e2e-01"));
    let after = h
        .call(
            Method::GET,
            &Harness::thoth("endpoints/stats"),
            Cred::None,
            None,
        )
        .await;
    let delta = |k: &str| after.body[k].as_u64().unwrap() - stats_before.body[k].as_u64().unwrap();
    assert_eq!((delta("total"), delta("online")), (1, 1));
    let one = h
        .call(
            Method::GET,
            &Harness::thoth("endpoints/ep-e2e-01"),
            Cred::None,
            None,
        )
        .await;
    assert_eq!(one.body["sessions_today"], 1);
    assert_eq!(one.body["risk_score"], 10);
    assert!(one.body["last_seen"].is_string());
}

#[tokio::test]
async fn endpoint_list_filters_get_and_errors() {
    let h = start().await;
    h.register("ep-a", json!({"environment": "prod", "fleet_id": "f1"}))
        .await;
    h.register("ep-b", json!({"environment": "dev", "fleet_id": "f1"}))
        .await;
    h.register("ep-c", json!({"environment": "prod", "fleet_id": "f2"}))
        .await;
    let ids = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["endpoint_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(&h.get("endpoints?env=prod").await.body),
        ["ep-a", "ep-c"]
    );
    assert_eq!(
        ids(&h.get("endpoints?fleet_id=f1").await.body),
        ["ep-a", "ep-b"]
    );
    assert_eq!(
        ids(&h.get("endpoints?env=prod&fleet_id=f2").await.body),
        ["ep-c"]
    );
    assert_eq!(h.get("endpoints").await.body["total"], 3);
    // Pages come from the list index; a row moving into the filter between two pages
    // is in the next one (the index is rebuilt, not served stale).
    let first = h.get("endpoints?env=prod&page=1&per_page=1").await.body;
    assert_eq!(
        (ids(&first), &first["total"]),
        (vec!["ep-a".into()], &json!(2))
    );
    h.register("ep-b", json!({"environment": "prod"})).await;
    let second = h.get("endpoints?env=prod&page=2&per_page=1").await.body;
    assert_eq!(
        (ids(&second), &second["total"]),
        (vec!["ep-b".into()], &json!(3))
    );
    let past = h.get("endpoints?env=prod&page=9&per_page=2").await.body;
    assert_eq!((ids(&past).len(), &past["total"]), (0, &json!(3)));
    h.register("ep-b", json!({"environment": "dev"})).await;

    // Unknown fields are kept; server-owned ones cannot be spoofed.
    let spoof = h
        .register(
            "ep-a",
            json!({"last_seen": "2020-01-01T00:00:00Z", "online": true, "site": "berlin"}),
        )
        .await;
    assert_eq!(spoof.body["last_seen"], Value::Null);
    assert_eq!(spoof.body["online"], false);
    assert_eq!(spoof.body["site"], "berlin");
    // Upsert keeps the row and updates fields.
    let again = h.register("ep-a", json!({"hostname": "renamed"})).await;
    assert_eq!(
        (again.status, again.body["hostname"].as_str()),
        (200, Some("renamed"))
    );

    assert_eq!(
        h.get("endpoints/ep-zzz").await.body["error"],
        "endpoint_not_found"
    );
    assert_eq!(
        h.post("endpoints/ep-zzz/checkin", json!({})).await.status,
        404
    );
    for bad in [
        json!({"endpoint_id": "", "hostname": "h"}),
        json!({"endpoint_id": "has space", "hostname": "h"}),
        json!({"endpoint_id": "ok", "hostname": ""}),
        json!({"endpoint_id": "ok", "hostname": "h", "risk_score": 101}),
    ] {
        assert_eq!(
            h.post("endpoints", bad.clone()).await.body["error"],
            "invalid_endpoint",
            "{bad}"
        );
    }
    let missing = h.post("endpoints", json!({"hostname": "h"})).await;
    assert_eq!(missing.status, 400);
}

#[tokio::test]
async fn stats_arithmetic_and_online_window() {
    let h = start().await;
    h.register(
        "m1",
        json!({"enrollment": "jamf", "proxy_version": "0.2.7"}),
    )
    .await;
    h.register(
        "m2",
        json!({"enrollment": "intune", "proxy_version": "0.2.10", "status": "quarantined"}),
    )
    .await;
    h.register(
        "u1",
        json!({"enrollment": "manual", "proxy_version": "0.2.9"}),
    )
    .await;
    h.post("endpoints/m1/checkin", json!({"risk_score": 70}))
        .await;
    h.post("endpoints/u1/checkin", json!({"risk_score": 69}))
        .await;

    let stats = h.get("endpoints/stats").await.body;
    assert_eq!(
        stats,
        json!({"total": 3, "managed": 2, "unmanaged": 1, "online": 2, "quarantined": 1, "stale": 1,
               "at_risk": 1, "proxy_outdated": 2, "latest_version": "0.2.10"})
    );
    // Past the 5-minute online window everything is stale; a new check-in brings one back.
    h.mock.state.advance_clock(Duration::from_secs(301));
    let later = h.get("endpoints/stats").await.body;
    assert_eq!(
        (later["online"].as_u64(), later["stale"].as_u64()),
        (Some(0), Some(3))
    );
    h.post("endpoints/m2/checkin", json!({"proxy_version": "0.2.11"}))
        .await;
    let back = h.get("endpoints/stats").await.body;
    assert_eq!(
        (back["online"].as_u64(), back["latest_version"].as_str()),
        (Some(1), Some("0.2.11"))
    );
    assert_eq!(back["proxy_outdated"], 2);
}
