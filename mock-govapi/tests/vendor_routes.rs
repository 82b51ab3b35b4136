//! Routes a runbook user needs that the mock once lacked, checked as the vendor's own
//! clients call them: each test names the vendor file and function it restates
//! (`atensecurity/terraform-provider-thoth` = TF; `atensecurity/thoth-runbooks`
//! `onboarding/headless-prepoc-testing.md` = the pre-POC runbook), sends that client's
//! request and reads the fields it reads. No vendor code is copied; the route rows are
//! in `../shared/design/vendor-clients.md` §2 and §5.

use crate::gov_support;

use std::time::Duration;

use gov_support::{start, Gov, ADMIN, ADMIN_OTHER, OTHER, T};
use reqwest::Method;
use serde_json::{json, Value};

fn has_fields(row: &Value, fields: &[&str]) {
    for field in fields {
        assert!(row.get(field).is_some(), "{field} missing from {row}");
    }
}

/// The vendor clients decode errors as `{"error": code, "message": text}`
/// (`client.go:decodeAPIError`).
fn is_error(answer: &gov_support::Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.body);
    assert_eq!(answer.body["error"], code, "{:?}", answer.body);
    assert!(answer.body["message"].is_string(), "{:?}", answer.body);
}

async fn create_key(gov: &Gov, body: Value) -> (String, String) {
    let created = gov.post("api-keys", body).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    (
        created.body["key_id"].as_str().unwrap().to_owned(),
        created.body["api_key"].as_str().unwrap().to_owned(),
    )
}

async fn authorize(gov: &Gov, key_id: &str, key: &str, resource_type: &str, id: &str) -> Value {
    let answer = gov
        .post(
            &format!("api-keys/{key_id}/authorize"),
            json!({"api_key": key, "permission": "execute", "resource_type": resource_type, "resource_id": id}),
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body
}

// ---- API key metrics ------------------------------------------------------------

/// TF `client.go:GetAPIKeyMetrics` (GET `T/api-keys/metrics`, retried);
/// `api_key_metrics_data_source.go:Read` reads `key_usage_24h`, `red_team_tests`,
/// `active_sdk_keys` as Int64 and `avg_latency_ms` as Float64 ("authorizations over
/// trailing 24h", "active SDK keys").
#[tokio::test]
async fn tf_api_key_metrics_data_source_read() {
    let gov = start().await;
    let empty = gov.get("api-keys/metrics").await;
    assert_eq!(empty.status, 200, "{:?}", empty.body);
    for int in ["key_usage_24h", "red_team_tests", "active_sdk_keys"] {
        assert!(
            empty.body[int].is_u64(),
            "{int} is not an integer: {}",
            empty.body
        );
    }
    assert!(empty.body["avg_latency_ms"].is_number(), "{}", empty.body);
    assert_eq!(empty.body["key_usage_24h"], 0);

    let (key_id, key) = create_key(
        &gov,
        json!({"name": "sdk", "scope_level": "endpoint", "scope_target_id": "ep-1", "permissions": ["read", "execute"]}),
    )
    .await;
    create_key(
        &gov,
        json!({"name": "reader", "scope_level": "organization", "permissions": ["read"]}),
    )
    .await;
    authorize(&gov, &key_id, &key, "endpoint", "ep-1").await;
    authorize(&gov, &key_id, &key, "endpoint", "ep-2").await;
    let metrics = gov.get("api-keys/metrics").await.body;
    assert_eq!(metrics["key_usage_24h"], 2, "{metrics}");
    assert_eq!(
        metrics["active_sdk_keys"], 1,
        "only the execute key: {metrics}"
    );
    assert!(metrics["avg_latency_ms"].as_f64().unwrap() >= 0.0);

    // Another tenant's metrics do not see this tenant's keys.
    let other = gov
        .call(
            Method::GET,
            &format!("/{OTHER}/thoth/api-keys/metrics"),
            Some(ADMIN_OTHER),
            None,
        )
        .await;
    assert_eq!(
        (
            other.body["key_usage_24h"].as_u64(),
            other.body["active_sdk_keys"].as_u64()
        ),
        (Some(0), Some(0)),
        "{:?}",
        other.body
    );

    // The window is the trailing 24 hours; a revoked key is no longer active.
    gov.mock.state.advance_clock(Duration::from_secs(25 * 3600));
    let revoked = gov
        .call(
            Method::DELETE,
            &format!("/{T}/thoth/api-keys/{key_id}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(revoked.status, 200);
    let later = gov.get("api-keys/metrics").await.body;
    assert_eq!(
        (
            later["key_usage_24h"].as_u64(),
            later["active_sdk_keys"].as_u64()
        ),
        (Some(0), Some(0)),
        "{later}"
    );
}

// ---- Evidence chain and its verification ------------------------------------------

/// TF `client.go:GetEvidenceChain` (GET `T/evidence/chain`, retried);
/// `evidence_chain_data_source.go:Read` sends `limit` (1-500) and `from_sequence`
/// ("rows with chain_index greater than this value") and reads `total` and `data[]`.
#[tokio::test]
async fn tf_evidence_chain_data_source_limit_and_from_sequence() {
    let gov = start().await;
    for (tool, tier) in [("a", "low"), ("b", "medium"), ("c", "high")] {
        gov.decide_tier(tool, tier).await;
    }
    let first = gov.get("evidence/chain?limit=2").await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["total"], 2, "{}", first.body);
    let rows = first.body["data"].as_array().unwrap();
    let indexes: Vec<_> = rows.iter().map(|r| r["chain_index"].as_u64()).collect();
    assert_eq!(indexes, [Some(1), Some(2)]);
    has_fields(&rows[0], &["chain_index", "event_id", "prev_hash", "hash"]);
    assert_eq!(
        rows[1]["prev_hash"], rows[0]["hash"],
        "each link names the one before"
    );

    let rest = gov.get("evidence/chain?from_sequence=2").await.body;
    let indexes: Vec<_> = rest["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["chain_index"].as_u64())
        .collect();
    assert_eq!(indexes, [Some(3)]);
    assert_eq!(rest["data"][0]["tool_name"], "c");

    for bad in ["limit=0", "limit=501", "limit=ten", "from_sequence=-1"] {
        is_error(
            &gov.get(&format!("evidence/chain?{bad}")).await,
            400,
            "invalid_parameter",
        );
    }
    // The other tenant's chain is its own (empty).
    let other = gov
        .call(
            Method::GET,
            &format!("/{OTHER}/thoth/evidence/chain"),
            Some(ADMIN_OTHER),
            None,
        )
        .await;
    assert_eq!(other.body["total"], 0, "{:?}", other.body);
}

/// TF `client.go:VerifyEvidenceChain` (GET `G/evidence/verify-chain`, retried);
/// `evidence_verify_data_source.go:Read` sends `limit` and reads `verified` (bool),
/// `records_checked`, `chain_head` (int, "highest verified chain index") and
/// `breach_detail` ("failure detail when verified is false").
#[tokio::test]
async fn tf_evidence_verify_data_source_finds_a_breach() {
    let gov = start().await;
    for tool in ["a", "b", "c", "d"] {
        gov.decide_tier(tool, "low").await;
    }
    let sound = gov.gov_get("evidence/verify-chain").await;
    assert_eq!(sound.status, 200, "{:?}", sound.body);
    assert_eq!(sound.body["verified"], true, "{}", sound.body);
    assert_eq!(sound.body["records_checked"], 4);
    assert_eq!(sound.body["chain_head"], 4);
    assert!(sound.body["breach_detail"].is_null());
    assert_eq!(
        gov.gov_get("evidence/verify-chain?limit=2").await.body["records_checked"],
        2
    );

    // Edit one stored record behind the API's back, as tampering would.
    gov.mock.state.tenant(T).unwrap().gov.events.as_mut_slice()[2].tool_name = "forged".into();
    let broken = gov.gov_get("evidence/verify-chain").await.body;
    assert_eq!(broken["verified"], false, "{broken}");
    assert_eq!(
        broken["chain_head"], 2,
        "links 1 and 2 still verify: {broken}"
    );
    let detail = broken["breach_detail"].as_str().unwrap();
    assert!(detail.contains("chain_index 3"), "{detail}");
    is_error(
        &gov.gov_get("evidence/verify-chain?limit=0").await,
        400,
        "invalid_parameter",
    );
}

// ---- Pre-POC runbook read-outs ----------------------------------------------------

/// Pre-POC runbook §7 curls `violations?limit=50` and §7.1/§7.2 `violations?limit=200`,
/// reading `.items[]? // .[]?` and per row `event_id // id`, `tool_name`,
/// `session_intent` and `metadata.decision_reason_code`.
#[tokio::test]
async fn runbook_prepoc_violations_rows() {
    let gov = start().await;
    gov.decide_tier("allowed.tool", "low").await;
    let first = gov.decide_tier("blocked.one", "high").await;
    let second = gov.decide_tier("blocked.two", "critical").await;
    let answer = gov.get("violations?limit=50").await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let items = answer.body["items"].as_array().expect("items[]");
    assert_eq!(items.len(), 2, "only blocked decisions: {items:?}");
    assert_eq!(answer.body["total"], 2);
    assert_eq!(items[0]["event_id"], second["event_id"], "newest first");
    assert_eq!(items[1]["event_id"], first["event_id"]);
    assert_eq!(items[1]["tool_name"], "blocked.one");
    assert!(items[1]["id"].is_string());
    has_fields(&items[0], &["session_intent", "metadata"]);
    assert!(
        items[0]["metadata"]["decision_reason_code"].is_string(),
        "{}",
        items[0]
    );
    let one = gov.get("violations?limit=1").await.body;
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    assert_eq!(one["total"], 2);
    is_error(
        &gov.get("violations?limit=0").await,
        400,
        "invalid_parameter",
    );
    let other = gov
        .call(
            Method::GET,
            &format!("/{OTHER}/thoth/violations"),
            Some(ADMIN_OTHER),
            None,
        )
        .await;
    assert_eq!(other.body["total"], 0, "{:?}", other.body);
}

/// Pre-POC runbook §7 curls `agent-stats` and prints it (no field is read) [C shape].
#[tokio::test]
async fn runbook_prepoc_agent_stats() {
    let gov = start().await;
    let empty = gov.get("agent-stats").await;
    assert_eq!(empty.status, 200, "{:?}", empty.body);
    assert_eq!(empty.body["total_decisions"], 0);
    for tier in ["low", "medium", "high"] {
        gov.decide_tier("t", tier).await;
    }
    let stats = gov.get("agent-stats").await.body;
    assert_eq!(stats["total_agents"], 1, "{stats}");
    let row = &stats["data"][0];
    assert_eq!(row["agent_id"], "agent-7");
    assert_eq!(
        (
            row["decisions"].as_u64(),
            row["allow"].as_u64(),
            row["step_up"].as_u64(),
            row["block"].as_u64()
        ),
        (Some(3), Some(1), Some(1), Some(1)),
        "{row}"
    );
}

// ---- Fleets -----------------------------------------------------------------------

/// TF `fleet_resource.go`: Create sends `fleetPayload` (`name`, and when set `region,
/// policy_id, policy_name, status, rollout_strategy, rollout_pct, provider`) to
/// `client.go:CreateFleet` and needs `fleet_id` back; Read `GetFleet`s and
/// `flattenFleet` reads the fields below; Update PUTs the payload; Delete tolerates
/// 404; a 404 on read means "gone" (`IsNotFound`). `fleets_data_source.go` reads
/// `ListFleets`' `data[]`; `fleet_data_source.go` reads `endpoint_count`.
#[tokio::test]
async fn tf_fleet_resource_lifecycle() {
    let gov = start().await;
    let created = gov
        .post(
            "fleets",
            json!({"name": "Finance laptops", "region": "us-east", "status": "active", "rollout_strategy": "canary", "rollout_pct": 10, "provider": "jamf", "policy_id": "pol-1", "policy_name": "Baseline"}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["fleet_id"]
        .as_str()
        .expect("fleet_id")
        .to_owned();

    gov.post(
        "endpoints",
        json!({"endpoint_id": "ep-f1", "hostname": "h1", "fleet_id": id}),
    )
    .await;
    let row = gov.get(&format!("fleets/{id}")).await;
    assert_eq!(row.status, 200, "{:?}", row.body);
    has_fields(
        &row.body,
        &[
            "fleet_id",
            "name",
            "fleet_code",
            "region",
            "policy_id",
            "policy_name",
            "status",
            "rollout_strategy",
            "rollout_pct",
            "drift_pct",
            "drifted_endpoint_count",
            "endpoint_count",
            "compliance_pct",
            "provider",
            "last_deployed_at",
            "last_deployed_version",
            "created_at",
            "updated_at",
        ],
    );
    assert_eq!(
        row.body["provider"], "jamf",
        "TF's provider_name is sent as provider"
    );
    assert_eq!(row.body["rollout_pct"], 10);
    assert_eq!(row.body["endpoint_count"], 1);
    assert!(row.body["drift_pct"].is_number() && row.body["compliance_pct"].is_number());

    let list = gov.get("fleets").await.body;
    let rows = list["data"].as_array().expect("data[]");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["endpoint_count"], 1);

    let path = format!("/{T}/thoth/fleets/{id}");
    let put = |body: Value| gov.call(Method::PUT, &path, Some(ADMIN), Some(body));
    let updated = put(json!({"name": "Finance", "status": "paused", "rollout_pct": 50})).await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    let row = gov.get(&format!("fleets/{id}")).await.body;
    assert_eq!(
        (row["name"].as_str(), row["status"].as_str()),
        (Some("Finance"), Some("paused"))
    );
    assert_eq!(row["rollout_pct"], 50);
    assert!(row["region"].is_null(), "an unset field is cleared: {row}");
    assert_eq!(row["created_at"], created.body["created_at"]);
    is_error(
        &put(json!({"name": "x", "status": "running"})).await,
        400,
        "invalid_fleet",
    );
    is_error(
        &put(json!({"name": "x", "rollout_pct": 101})).await,
        400,
        "invalid_fleet",
    );
    is_error(
        &put(json!({"status": "active"})).await,
        400,
        "invalid_fleet",
    );

    let delete = || gov.call(Method::DELETE, &path, Some(ADMIN), None);
    assert_eq!(delete().await.status, 200);
    is_error(
        &gov.get(&format!("fleets/{id}")).await,
        404,
        "fleet_not_found",
    );
    is_error(&delete().await, 404, "fleet_not_found");
    assert!(gov.get("fleets").await.body["data"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// Malformed fleet bodies get the JSON error envelope, never a panic or plain text.
#[tokio::test]
async fn fleet_bodies_are_checked() {
    let gov = start().await;
    for (body, code) in [
        (json!({"rollout_strategy": "canary"}), "invalid_fleet"),
        (
            json!({"name": "x", "rollout_strategy": "big-bang"}),
            "invalid_fleet",
        ),
        (
            json!({"name": "x", "fleet_id": "../globex"}),
            "invalid_fleet",
        ),
        (json!({"name": 7}), "invalid_request"),
        (
            json!({"name": "x", "rollout_pct": "ten"}),
            "invalid_request",
        ),
    ] {
        is_error(&gov.post("fleets", body.clone()).await, 400, code);
    }
    let raw = gov
        .http
        .post(format!("{}/{T}/thoth/fleets", gov.mock.base_url))
        .bearer_auth(ADMIN)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let body: Value = raw.json().await.expect("a JSON error body");
    assert_eq!(body["error"], "invalid_json");

    let chosen = gov
        .post("fleets", json!({"fleet_id": "fleet-a", "name": "A"}))
        .await;
    assert_eq!(chosen.status, 201);
    is_error(
        &gov.post("fleets", json!({"fleet_id": "fleet-a", "name": "A again"}))
            .await,
        409,
        "fleet_exists",
    );
}

/// Fleets are per tenant, need credentials, and an org-wide one to write.
#[tokio::test]
async fn fleets_are_tenant_isolated_and_authenticated() {
    let gov = start().await;
    gov.post("fleets", json!({"fleet_id": "fleet-a", "name": "A"}))
        .await;
    let other_read = gov
        .call(
            Method::GET,
            &format!("/{OTHER}/thoth/fleets/fleet-a"),
            Some(ADMIN_OTHER),
            None,
        )
        .await;
    is_error(&other_read, 404, "fleet_not_found");
    let cross = gov
        .call(
            Method::GET,
            &format!("/{OTHER}/thoth/fleets"),
            Some(ADMIN),
            None,
        )
        .await;
    assert!(matches!(cross.status, 401 | 403), "{cross:?}");
    let anonymous = gov
        .call(Method::GET, &format!("/{T}/thoth/fleets"), None, None)
        .await;
    assert_eq!(anonymous.status, 401);
    // An endpoint-scoped key cannot manage fleets.
    let (_, key) = create_key(
        &gov,
        json!({"name": "ep", "scope_level": "endpoint", "scope_target_id": "ep-1", "permissions": ["read", "write"]}),
    )
    .await;
    let scoped = gov
        .http
        .post(format!("{}/{T}/thoth/fleets", gov.mock.base_url))
        .header("X-Api-Key", key)
        .json(&json!({"name": "sneaky"}))
        .send()
        .await
        .unwrap();
    assert_eq!(scoped.status(), 403);
}

/// TF `scoped_api_key_resource.go:Create` with `scope_level: fleet`: the key's target
/// must be a fleet of the tenant (a real tenant answers 400 "fleet does not exist",
/// as our contract notes quote); the envelope is the vendor's `{error, message}`.
#[tokio::test]
async fn fleet_scoped_key_needs_a_real_fleet() {
    let gov = start().await;
    let fleet_key = |target: &str| json!({"name": "fleet key", "scope_level": "fleet", "scope_target_id": target, "permissions": ["read", "execute"]});
    let unknown = gov.post("api-keys", fleet_key("fleet-nowhere")).await;
    is_error(&unknown, 400, "fleet_not_found");
    assert!(unknown.body["message"]
        .as_str()
        .unwrap()
        .contains("fleet does not exist"));
    assert!(
        gov.get("api-keys").await.body["api_keys"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the refused key was not created"
    );

    // Another tenant's fleet is no fleet here.
    let theirs = gov
        .call(
            Method::POST,
            &format!("/{OTHER}/thoth/fleets"),
            Some(ADMIN_OTHER),
            Some(json!({"fleet_id": "fleet-g", "name": "G"})),
        )
        .await;
    assert_eq!(theirs.status, 201);
    is_error(
        &gov.post("api-keys", fleet_key("fleet-g")).await,
        400,
        "fleet_not_found",
    );

    let fleet = gov.post("fleets", json!({"name": "Finance"})).await;
    let id = fleet.body["fleet_id"].as_str().unwrap().to_owned();
    let (key_id, key) = create_key(&gov, fleet_key(&id)).await;
    assert_eq!(
        authorize(&gov, &key_id, &key, "fleet", &id).await["scope_allowed"],
        true
    );
    assert_eq!(
        authorize(&gov, &key_id, &key, "fleet", "fleet-other").await["scope_allowed"],
        false
    );
}
