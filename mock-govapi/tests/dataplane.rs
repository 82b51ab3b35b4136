//! The enforcer data plane over real HTTP (DATAPLANE.md), each check restating what a
//! vendor client sends and reads: the `atensec-thoth` SDK (`thoth/enforcer_client.py`,
//! `step_up.py`, `emitter.py`, `tool_inventory.py`, `http_diagnostics.py`) and the
//! Terraform provider (`internal/client/client.go`, data sources).

use crate::gov_support;

use std::time::Duration;

use gov_support::{callback_body, start, start_with, Answer, Gov, ADMIN, ADMIN_OTHER, OTHER, T};
use mock_govapi::Fault;
use reqwest::Method;
use serde_json::{json, Value};

const ORG_KEY: &str = "thoth_gov_org_key";

/// How a data-plane request carries its key.
#[derive(Clone, Copy)]
enum Via {
    /// `x-api-key` (`enforcer_client.py:EnforcerClient.__init__`).
    ApiKey,
    /// `Authorization: Bearer` (`step_up.py:StepUpClient.__init__`, the Go SDK).
    Bearer,
    /// Both, the same key (`emitter.py:HttpEmitter.__init__` "Send both auth header styles").
    Both,
}

async fn plane(
    gov: &Gov,
    method: Method,
    path: &str,
    key: Option<(&str, Via)>,
    body: Option<Value>,
) -> Answer {
    let mut request = gov
        .http
        .request(method, format!("{}{path}", gov.mock.base_url));
    if let Some((key, via)) = key {
        if matches!(via, Via::ApiKey | Via::Both) {
            request = request.header("x-api-key", key);
        }
        if matches!(via, Via::Bearer | Via::Both) {
            request = request.bearer_auth(key);
        }
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// The body `enforcer_client.py:_payload` builds, for `tool` in `mode` with `scope`.
fn sdk_body(tool: &str, mode: &str, scope: &[&str]) -> Value {
    json!({
        "agent_id": "agent-dp", "tenant_id": T, "user_id": "alice",
        "identity_binding": {"agent_id": "agent-dp", "tenant_id": T, "user_id": "alice"},
        "tool_name": tool, "session_id": "sess-1", "session_tool_calls": [],
        "approved_scope": scope, "enforcement_mode": mode, "environment": "prod",
        "enforcement_trace_id": "sess-1", "action_attestation_id": "att-1",
        "metadata": {"sdk": "added later"}, "some_future_field": {"ignored": true},
    })
}

async fn enforce(gov: &Gov, key: &str, body: Value) -> Answer {
    plane(
        gov,
        Method::POST,
        "/v1/enforce",
        Some((key, Via::ApiKey)),
        Some(body),
    )
    .await
}

async fn hold(gov: &Gov, key: &str, token: &str) -> Answer {
    plane(
        gov,
        Method::GET,
        &format!("/v1/enforce/hold/{token}"),
        Some((key, Via::Bearer)),
        None,
    )
    .await
}

/// A created key with these permissions (`POST T/api-keys`, Phase 1A style).
async fn created_key(gov: &Gov, permissions: &[&str], scope: Value) -> String {
    let mut body = json!({"name": "dp-key", "permissions": permissions});
    if let Value::Object(extra) = scope {
        body.as_object_mut().unwrap().extend(extra);
    }
    let created = gov.post("api-keys", body).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    created.body["api_key"].as_str().unwrap().to_owned()
}

/// The runbook baseline plus tool tiers used below.
async fn policy(gov: &Gov) {
    let settings = json!({
        "shadow_policy": {"low": "allow", "medium": "step_up", "high": "block", "critical": "block"},
        "tool_risk_overrides": {"db.drop": "critical", "shell.exec": "medium", "web.fetch": "low"},
        "pam": {"enabled": true, "provider": "cyberark", "callback_secret": gov_support::PAM_SECRET,
                "request_timeout_seconds": 120},
    });
    assert_eq!(gov.put_settings(settings).await.status, 200);
}

fn error_envelope(answer: &Answer) -> (&str, &str) {
    (
        answer.body["error"]["type"].as_str().unwrap_or("<none>"),
        answer.body["error"]["code"].as_str().unwrap_or("<none>"),
    )
}

#[tokio::test]
async fn auth_follows_the_key_and_errors_use_the_sdk_envelope() {
    // http_diagnostics.py:extract_http_error_detail reads error.type/code/message.
    let gov = start().await;
    let body = sdk_body("web.fetch", "block", &[]);
    let none = plane(&gov, Method::POST, "/v1/enforce", None, Some(body.clone())).await;
    assert_eq!(none.status, 401);
    assert_eq!(
        error_envelope(&none),
        ("authentication_error", "missing_credentials")
    );
    let unknown = enforce(&gov, "thoth_not_a_key", body.clone()).await;
    assert_eq!(
        (unknown.status, error_envelope(&unknown).0),
        (401, "authentication_error")
    );
    // The admin token is a control-plane credential only [C].
    let admin = enforce(&gov, ADMIN, body.clone()).await;
    assert_eq!(admin.status, 401, "{:?}", admin.body);
    // A read-only key is refused with the SDK's 403 hint case (`--permission execute`).
    let read_only = created_key(&gov, &["read"], json!({})).await;
    let refused = enforce(&gov, &read_only, body.clone()).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        error_envelope(&refused),
        ("permission_error", "insufficient_permission")
    );
    // The runbook's Phase 1A key (endpoint scope, read + execute) enforces.
    let phase_1a = created_key(
        &gov,
        &["read", "execute"],
        json!({"scope_level": "endpoint", "scope_target_id": "ep-1"}),
    )
    .await;
    assert_eq!(enforce(&gov, &phase_1a, body.clone()).await.status, 200);
    assert_eq!(enforce(&gov, ORG_KEY, body.clone()).await.status, 200);
    // The body's tenant_id must be the key's tenant.
    let mut other = body.clone();
    other["tenant_id"] = json!(OTHER);
    let cross = enforce(&gov, &phase_1a, other).await;
    assert_eq!(
        (cross.status, error_envelope(&cross)),
        (403, ("permission_error", "tenant_forbidden"))
    );
    // Revoked keys stop working.
    let list = gov.get("api-keys").await.body;
    let key_id = list["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["permissions"].to_string().contains("execute"))
        .unwrap()["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        gov.call(
            Method::DELETE,
            &format!("/{T}/thoth/api-keys/{key_id}"),
            Some(ADMIN),
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(enforce(&gov, &phase_1a, body).await.status, 401);
    // Malformed bodies get a 400 in the same envelope, never a panic.
    for bad in [
        json!({"agent_id": "a"}),
        json!({"tool_name": "t"}),
        json!([1]),
    ] {
        let answer = enforce(&gov, ORG_KEY, bad).await;
        assert_eq!(
            (answer.status, error_envelope(&answer).0),
            (400, "invalid_request_error"),
            "{:?}",
            answer.body
        );
    }
    let mode = enforce(
        &gov,
        ORG_KEY,
        json!({"agent_id": "a", "tool_name": "t", "enforcement_mode": "yolo"}),
    )
    .await;
    assert_eq!(mode.status, 400);
}

#[tokio::test]
async fn decisions_follow_the_tenants_policy_table() {
    let gov = start().await;
    policy(&gov).await;
    // (tool, enforcement_mode, approved_scope) -> decision, reason code.
    let table: &[(&str, &str, &[&str], &str, &str)] = &[
        (
            "web.fetch",
            "block",
            &[],
            "ALLOW",
            "tool_risk_override.low.allow",
        ),
        (
            "shell.exec",
            "step_up",
            &[],
            "STEP_UP",
            "tool_risk_override.medium.step_up",
        ),
        (
            "shell.exec",
            "block",
            &[],
            "BLOCK",
            "tool_risk_override.medium.block",
        ),
        (
            "db.drop",
            "step_up",
            &[],
            "BLOCK",
            "tool_risk_override.critical.block",
        ),
        (
            "unlisted.tool",
            "progressive",
            &[],
            "ALLOW",
            "shadow_policy.low.allow",
        ),
        // Outside the approved scope: blocked in block mode, at least STEP_UP otherwise.
        (
            "web.fetch",
            "block",
            &["other.tool"],
            "BLOCK",
            "approved_scope.out_of_scope",
        ),
        (
            "web.fetch",
            "step_up",
            &["other.tool"],
            "STEP_UP",
            "approved_scope.out_of_scope",
        ),
        (
            "web.fetch",
            "progressive",
            &["other.tool"],
            "STEP_UP",
            "approved_scope.out_of_scope",
        ),
        (
            "db.drop",
            "step_up",
            &["other.tool"],
            "BLOCK",
            "approved_scope.out_of_scope",
        ),
        (
            "web.fetch",
            "block",
            &["web.fetch"],
            "ALLOW",
            "tool_risk_override.low.allow",
        ),
        // Observe answers ALLOW whatever the policy [C].
        (
            "db.drop",
            "observe",
            &[],
            "ALLOW",
            "tool_risk_override.critical.block",
        ),
    ];
    for (tool, mode, scope, decision, reason) in table {
        let answer = enforce(&gov, ORG_KEY, sdk_body(tool, mode, scope)).await;
        assert_eq!(answer.status, 200, "{tool} {mode}: {:?}", answer.body);
        let b = &answer.body;
        assert_eq!(
            (b["decision"].as_str(), b["decision_reason_code"].as_str()),
            (Some(*decision), Some(*reason)),
            "{tool} {mode} {scope:?}"
        );
        assert_eq!(b["authorization_decision"], b["decision"]);
        assert_eq!(b["enforcement_trace_id"], "sess-1", "trace id echoed");
        assert!(b["event_id"].as_str().is_some());
        assert_eq!(b["violation_id"].is_string(), *decision == "BLOCK");
        assert_eq!(b["hold_token"].is_string(), *decision == "STEP_UP");
        if *decision == "STEP_UP" {
            assert_eq!(
                b["step_up_timeout_seconds"], 120,
                "pam.request_timeout_seconds"
            );
        }
    }
    // The observe event records what the policy would have done.
    let feed = gov
        .get("governance/feed?tool_name=db.drop&sort_dir=asc")
        .await
        .body;
    let observed = feed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["enforcement_mode"] == "observe")
        .cloned()
        .unwrap();
    assert_eq!(
        (
            observed["decision"].as_str(),
            observed["shadow_decision"].as_str()
        ),
        (Some("ALLOW"), Some("BLOCK"))
    );
    // Without a trace id the mock makes one.
    let mut body = sdk_body("web.fetch", "block", &[]);
    body.as_object_mut().unwrap().remove("enforcement_trace_id");
    let fresh = enforce(&gov, ORG_KEY, body).await;
    assert!(fresh.body["enforcement_trace_id"]
        .as_str()
        .unwrap()
        .starts_with("trace-"));
}

#[tokio::test]
async fn every_decision_has_the_admin_simulations_side_effects() {
    let gov = start().await;
    policy(&gov).await;
    let mut settings = gov.get("settings").await.body;
    settings["webhook"] = json!({"enabled": true, "url": format!("{}/__sink/siem", gov.mock.base_url), "secret": "whsec_dp"});
    assert_eq!(gov.put_settings(settings).await.status, 200);
    let blocked = enforce(&gov, ORG_KEY, sdk_body("db.drop", "block", &[]))
        .await
        .body;
    let stepped = enforce(&gov, ORG_KEY, sdk_body("shell.exec", "step_up", &[]))
        .await
        .body;
    let allowed = enforce(&gov, ORG_KEY, sdk_body("web.fetch", "block", &[]))
        .await
        .body;

    // Feed rows: UPPERCASE decisions with agent, tool, session, user and mode.
    let feed = gov.get("governance/feed?agent_id=agent-dp").await.body;
    for (answer, decision) in [
        (&blocked, "BLOCK"),
        (&stepped, "STEP_UP"),
        (&allowed, "ALLOW"),
    ] {
        let row = feed["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event_id"] == answer["event_id"])
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(row["decision"], decision);
        assert_eq!(
            (
                row["session_id"].as_str(),
                row["user_id"].as_str(),
                row["enforcement_mode"].is_string()
            ),
            (Some("sess-1"), Some("alice"), true)
        );
    }
    // BLOCK: alert with the violation and evidence.
    let alerts = gov.get("alerts").await.body;
    assert!(alerts["data"][0]["violation_id"] == blocked["violation_id"]);
    let dump = gov.state_dump().await;
    assert!(dump["evidence"]
        .to_string()
        .contains(blocked["event_id"].as_str().unwrap()));
    // STEP_UP: a pending approval carrying the hold and the call's context.
    let pending = gov.get("approvals?status=pending").await.body;
    let row = &pending["data"][0];
    assert_eq!(row["hold_token"], stepped["hold_token"]);
    for field in ["approval_id", "request_id", "created_at", "expires_at"] {
        assert!(row[field].is_string(), "{field}: {row}");
    }
    assert_eq!(
        (
            row["status"].as_str(),
            row["agent_id"].as_str(),
            row["tool_name"].as_str(),
            row["session_id"].as_str(),
            row["user_id"].as_str(),
            row["reason"].as_str()
        ),
        (
            Some("pending"),
            Some("agent-dp"),
            Some("shell.exec"),
            Some("sess-1"),
            Some("alice"),
            Some("tool_risk_override.medium.step_up")
        )
    );
    // Signed webhook deliveries with UPPERCASE decisions.
    let mut seen = Value::Null;
    for _ in 0..50 {
        seen = gov.call(Method::GET, "/__sink/siem", None, None).await.body;
        if seen.to_string().matches("governance.decision").count() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = seen.to_string();
    assert!(
        text.contains("\\\"decision\\\":\\\"BLOCK\\\"") || text.contains("\"decision\":\"BLOCK\""),
        "{text}"
    );
    assert!(
        !text.contains("\"decision\":\"block\"")
            && !text.contains("\\\"decision\\\":\\\"block\\\"")
    );
    let dump = gov.state_dump().await;
    let signed = dump["webhook_deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["signed"] == true && d["status"] == "delivered")
        .count();
    assert_eq!(signed, 3, "{}", dump["webhook_deliveries"]);
}

/// `step_up.py:StepUpClient.wait` polls until `{resolved:true, resolution}`.
#[tokio::test]
async fn a_hold_follows_its_approval_through_resolve_and_callbacks() {
    let gov = start().await;
    policy(&gov).await;
    let open = |gov: &'static Gov| async move {
        let answer = enforce(gov, ORG_KEY, sdk_body("shell.exec", "step_up", &[])).await;
        let token = answer.body["hold_token"].as_str().unwrap().to_owned();
        let approvals = gov.get("approvals?status=pending").await.body;
        let row = approvals["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["hold_token"] == token.as_str())
            .cloned()
            .unwrap();
        (
            token,
            row["approval_id"].as_str().unwrap().to_owned(),
            row["request_id"].as_str().unwrap().to_owned(),
        )
    };
    let gov: &'static Gov = Box::leak(Box::new(gov));

    // Pending: 202 {resolved:false, approval_url, tool_name, expires_at}.
    let (token, approval, _) = open(gov).await;
    let pending = hold(gov, ORG_KEY, &token).await;
    assert_eq!(pending.status, 202);
    assert_eq!(pending.body["resolved"], false);
    assert_eq!(pending.body["tool_name"], "shell.exec");
    assert!(pending.body["approval_url"]
        .as_str()
        .unwrap()
        .starts_with("http://"));
    assert!(pending.body["expires_at"].is_string());
    // Approve through the resolve route: ALLOW. Terraform reads decision + resolved_by.
    let resolved = gov
        .post(
            &format!("approvals/{approval}/resolve"),
            json!({"decision": "approved"}),
        )
        .await;
    assert_eq!(resolved.status, 200);
    assert_eq!(
        (
            resolved.body["decision"].as_str(),
            resolved.body["resolved_by"].as_str(),
            resolved.body["status"].as_str()
        ),
        (Some("approved"), Some("admin"), Some("approved"))
    );
    let done = hold(gov, ORG_KEY, &token).await;
    assert_eq!(
        (done.status, done.body["resolved"].as_bool()),
        (200, Some(true))
    );
    assert_eq!(done.body["resolution"], "ALLOW");
    assert_eq!(done.body["approval_id"], approval.as_str());

    // Deny through the resolve route (Terraform's `blocked`): BLOCK.
    let (token, approval, _) = open(gov).await;
    gov.post(
        &format!("approvals/{approval}/resolve"),
        json!({"decision": "blocked"}),
    )
    .await;
    assert_eq!(hold(gov, ORG_KEY, &token).await.body["resolution"], "BLOCK");

    // A mismatched, then a badly signed callback change nothing; a valid one approves;
    // its replay keeps the first resolution.
    let (token, approval, request) = open(gov).await;
    let now = gov.now();
    let mismatch = callback_body(&approval, "req-wrong", "approve");
    assert_eq!(gov.signed_callback(&mismatch, now).await.status, 409);
    let valid = callback_body(&approval, &request, "approve");
    let forged = gov
        .raw_callback(
            &valid,
            Some(now.to_string()),
            Some(format!("v1={}", "0".repeat(64))),
        )
        .await;
    assert_eq!(forged.status, 401);
    assert_eq!(
        hold(gov, ORG_KEY, &token).await.status,
        202,
        "still pending"
    );
    assert_eq!(gov.signed_callback(&valid, now).await.status, 200);
    assert_eq!(hold(gov, ORG_KEY, &token).await.body["resolution"], "ALLOW");
    assert_eq!(
        gov.signed_callback(&valid, now).await.body["status"],
        "ignored"
    );
    assert_eq!(hold(gov, ORG_KEY, &token).await.body["resolution"], "ALLOW");

    // A deny callback: BLOCK.
    let (token, approval, request) = open(gov).await;
    gov.signed_callback(&callback_body(&approval, &request, "deny"), now)
        .await;
    assert_eq!(hold(gov, ORG_KEY, &token).await.body["resolution"], "BLOCK");

    // Unknown tokens, and another tenant's key, get 404 in the nested envelope.
    let unknown = hold(gov, ORG_KEY, "hold-nope").await;
    assert_eq!(
        (unknown.status, error_envelope(&unknown)),
        (404, ("not_found_error", "hold_not_found"))
    );
    let no_key = plane(
        gov,
        Method::GET,
        &format!("/v1/enforce/hold/{token}"),
        None,
        None,
    )
    .await;
    assert_eq!(no_key.status, 401);
    let _ = ADMIN_OTHER;
}

#[tokio::test]
async fn a_hold_past_its_timeout_is_expired_and_so_is_its_approval() {
    let gov = start().await;
    policy(&gov).await; // request_timeout_seconds 120
    let answer = enforce(&gov, ORG_KEY, sdk_body("shell.exec", "step_up", &[])).await;
    let token = answer.body["hold_token"].as_str().unwrap().to_owned();
    gov.mock.state.advance_clock(Duration::from_secs(119));
    assert_eq!(hold(&gov, ORG_KEY, &token).await.status, 202);
    gov.mock.state.advance_clock(Duration::from_secs(1));
    let expired = hold(&gov, ORG_KEY, &token).await;
    assert_eq!(expired.status, 200);
    assert_eq!(
        (
            expired.body["resolved"].as_bool(),
            expired.body["resolution"].as_str(),
            expired.body["status"].as_str()
        ),
        (Some(true), Some("BLOCK"), Some("expired"))
    );
    let rows = gov.get("approvals?status=expired").await.body;
    assert_eq!(rows["total"], 1);
    assert_eq!(rows["data"][0]["hold_token"], token.as_str());
    assert_eq!(gov.get("approvals?status=pending").await.body["total"], 0);
    // Too late to approve.
    let approval = rows["data"][0]["approval_id"].as_str().unwrap().to_owned();
    let late = gov
        .post(
            &format!("approvals/{approval}/resolve"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(
        (late.status, late.body["error"].as_str()),
        (409, Some("already_resolved"))
    );
}

#[tokio::test]
async fn events_batch_explain_and_tool_inventory_accept_what_the_sdk_sends() {
    let gov = start().await;
    policy(&gov).await;
    let key = created_key(
        &gov,
        &["read", "execute"],
        json!({"scope_level": "endpoint", "scope_target_id": "ep-1"}),
    )
    .await;
    // emitter.py posts a JSON array with both auth headers naming the same key.
    let events = json!([{"event_id": "e1", "tenant_id": T, "agent_id": "agent-dp", "session_id": "s", "user_id": "u",
                         "event_type": "TOOL_CALL_PRE", "tool_name": "web.fetch"},
                        {"event_id": "e2", "tenant_id": T, "session_id": "s", "user_id": "u"}]);
    let batch = plane(
        &gov,
        Method::POST,
        "/v1/events/batch",
        Some((&key, Via::Both)),
        Some(events),
    )
    .await;
    assert_eq!(
        (batch.status, batch.body["accepted"].as_u64()),
        (202, Some(2)),
        "{:?}",
        batch.body
    );
    let wrapped = plane(
        &gov,
        Method::POST,
        "/v1/events/batch",
        Some((&key, Via::Bearer)),
        Some(json!({"events": [{"event_id": "e3", "tenant_id": T}]})),
    )
    .await;
    assert_eq!(wrapped.body["accepted"], 1);
    assert_eq!(
        gov.state_dump().await["sdk_events"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Two different keys at once are ambiguous; another tenant's events are refused.
    let mut request = gov
        .http
        .post(format!("{}/v1/events/batch", gov.mock.base_url))
        .header("x-api-key", ORG_KEY)
        .bearer_auth(&key)
        .json(&json!([]));
    request = request.header("content-type", "application/json");
    assert_eq!(request.send().await.unwrap().status().as_u16(), 400);
    let cross = plane(
        &gov,
        Method::POST,
        "/v1/events/batch",
        Some((&key, Via::Both)),
        Some(json!([{"tenant_id": OTHER}])),
    )
    .await;
    assert_eq!(cross.status, 403);
    assert_eq!(
        plane(
            &gov,
            Method::POST,
            "/v1/events/batch",
            Some((&key, Via::Both)),
            Some(json!("x"))
        )
        .await
        .status,
        400
    );

    // explain: the decision the call would get, shaped as HumanExplanation, no side effects.
    let before = gov.state_dump().await["events"].as_array().unwrap().len();
    let mut body = sdk_body("db.drop", "step_up", &[]);
    body["decision"] = json!("BLOCK");
    body["violation_id"] = json!("vio-1");
    let explained = plane(
        &gov,
        Method::POST,
        "/v1/explain",
        Some((&key, Via::ApiKey)),
        Some(body),
    )
    .await;
    assert_eq!(explained.status, 200);
    for field in [
        "violation_id",
        "what_happened",
        "why_it_was_blocked",
        "what_to_do_next",
        "business_impact",
        "severity",
    ] {
        assert!(
            explained.body[field].is_string(),
            "{field}: {:?}",
            explained.body
        );
    }
    assert_eq!(explained.body["decision"], "BLOCK");
    assert_eq!(
        gov.state_dump().await["events"].as_array().unwrap().len(),
        before
    );

    // tool_inventory.py:_publish: x-api-key to THOTH_API_URL/<tenant>/thoth/tool-inventory.
    let inventory = json!({"agent_id": "agent-dp", "source": "python_sdk",
        "tools": [{"name": "web.fetch", "description": "fetch", "input_schema": {"type": "object"}},
                  {"name": "shell.exec", "description": "", "input_schema": {}}]});
    let recorded = plane(
        &gov,
        Method::POST,
        &format!("/{T}/thoth/tool-inventory"),
        Some((&key, Via::ApiKey)),
        Some(inventory.clone()),
    )
    .await;
    assert_eq!(recorded.status, 200, "{:?}", recorded.body);
    assert_eq!(
        (
            recorded.body["agent_id"].as_str(),
            recorded.body["tools_recorded"].as_u64()
        ),
        (Some("agent-dp"), Some(2))
    );
    plane(
        &gov,
        Method::POST,
        &format!("/{T}/thoth/tool-inventory"),
        Some((&key, Via::ApiKey)),
        Some(inventory),
    )
    .await;
    let tools = gov.get("governance/tools?agent_id=agent-dp").await.body;
    assert_eq!(tools["total"], 2, "upserted by (agent, name): {tools}");
    assert_eq!(tools["data"][0]["source"], "python_sdk");
    let bad = plane(
        &gov,
        Method::POST,
        &format!("/{T}/thoth/tool-inventory"),
        Some((&key, Via::ApiKey)),
        Some(json!({"agent_id": "", "tools": []})),
    )
    .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn the_enforcer_listener_serves_the_same_tenant() {
    let mock = mock_govapi::spawn_with_enforcer(gov_support::config(&[]))
        .await
        .unwrap();
    assert_ne!(mock.enforcer_url, mock.base_url);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let answer = http
        .post(format!("{}/v1/enforce", mock.enforcer_url))
        .header("x-api-key", ORG_KEY)
        .json(&json!({"agent_id": "a", "tool_name": "t", "tenant_id": T}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let feed: Value = http
        .get(format!("{}/{T}/thoth/governance/feed", mock.base_url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        feed["total"], 1,
        "decided on the enforcer, visible on GovAPI"
    );
    // The plain spawn serves the data plane on its one listener.
    let plain = mock_govapi::spawn(gov_support::config(&[])).await.unwrap();
    assert_eq!(plain.enforcer_url, plain.base_url);
    mock.shutdown().await;
}

/// Terraform `governance_feed_data_source.go:Read` sends agent_id, caller_agent_id,
/// reason_code, search, sort_by, sort_dir and reads sort_by/sort_dir back.
#[tokio::test]
async fn the_feed_honours_terraforms_filters_and_echoes_the_sort() {
    let gov = start().await;
    policy(&gov).await;
    for (agent, tool) in [
        ("agent-b", "web.fetch"),
        ("agent-a", "db.drop"),
        ("agent-c", "shell.exec"),
    ] {
        let mut body = sdk_body(tool, "step_up", &[]);
        body["agent_id"] = json!(agent);
        body["delegation_context"] = json!({"caller_agent_id": format!("boss-of-{agent}")});
        assert_eq!(enforce(&gov, ORG_KEY, body).await.status, 200);
    }
    let total = |v: &Value| v["total"].as_u64().unwrap();
    assert_eq!(
        total(&gov.get("governance/feed?agent_id=agent-a").await.body),
        1
    );
    assert_eq!(
        total(
            &gov.get("governance/feed?caller_agent_id=boss-of-agent-c")
                .await
                .body
        ),
        1
    );
    assert_eq!(
        total(
            &gov.get("governance/feed?reason_code=tool_risk_override.critical.block")
                .await
                .body
        ),
        1
    );
    assert_eq!(
        total(&gov.get("governance/feed?search=SHELL").await.body),
        1
    );
    assert_eq!(
        total(&gov.get("governance/feed?decision=BLOCK").await.body),
        1
    );
    assert_eq!(
        total(&gov.get("governance/feed?decision=block").await.body),
        1,
        "either case"
    );
    let sorted = gov
        .get("governance/feed?sort_by=agent_id&sort_dir=asc")
        .await
        .body;
    let agents: Vec<_> = sorted["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["agent_id"].as_str().unwrap())
        .collect();
    assert_eq!(agents, ["agent-a", "agent-b", "agent-c"]);
    assert_eq!(
        (sorted["sort_by"].as_str(), sorted["sort_dir"].as_str()),
        (Some("agent_id"), Some("asc"))
    );
    let default = gov.get("governance/feed").await.body;
    assert_eq!(
        (default["sort_by"].as_str(), default["sort_dir"].as_str()),
        (Some("occurred_at"), Some("desc"))
    );
    assert_eq!(default["data"][0]["agent_id"], "agent-c", "newest first");
    assert_eq!(gov.get("governance/feed?sort_by=nope").await.status, 400);
    assert_eq!(gov.get("governance/feed?sort_dir=up").await.status, 400);
}

/// Terraform `approvals_data_source.go:Read` sends page/per_page and reads
/// total/page/per_page; the runbook curls `approvals?limit=50`.
#[tokio::test]
async fn approvals_page_as_terraform_and_the_runbook_ask() {
    let gov = start().await;
    for _ in 0..5 {
        gov.pending_approval().await;
    }
    let page = gov.get("approvals?page=2&per_page=2").await.body;
    assert_eq!(
        (
            page["total"].as_u64(),
            page["page"].as_u64(),
            page["per_page"].as_u64()
        ),
        (Some(5), Some(2), Some(2))
    );
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    let limited = gov.get("approvals?status=pending&limit=3").await.body;
    assert_eq!(
        (
            limited["data"].as_array().unwrap().len(),
            limited["per_page"].as_u64()
        ),
        (3, Some(3))
    );
    let all = gov.get("approvals").await.body;
    assert_eq!(
        all["data"].as_array().unwrap().len(),
        5,
        "no paging asked: everything"
    );
    assert_eq!(gov.get("approvals?per_page=0").await.status, 400);
    assert_eq!(gov.get("approvals?status=expired").await.body["total"], 0);
    // Admin-simulated STEP_UP answers name their hold too, in UPPERCASE.
    let outcome = gov.decide_tier("x", "medium").await;
    assert_eq!(outcome["decision"], "STEP_UP");
    assert!(outcome["hold_token"].is_string());
}

/// Terraform `client.go:QuarantineEndpoint`: POST, no body, the endpoint row back.
#[tokio::test]
async fn quarantine_marks_the_endpoint_and_counts_in_stats() {
    let gov = start().await;
    let reg = gov
        .post("endpoints", json!({"endpoint_id": "ep-q", "hostname": "h"}))
        .await;
    assert_eq!(reg.status, 201);
    let answer = gov
        .call(
            Method::POST,
            &format!("/{T}/thoth/endpoints/ep-q/quarantine"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(
        (answer.status, answer.body["status"].as_str()),
        (200, Some("quarantined"))
    );
    assert_eq!(gov.get("endpoints/stats").await.body["quarantined"], 1);
    let missing = gov
        .call(
            Method::POST,
            &format!("/{T}/thoth/endpoints/ep-none/quarantine"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(
        (missing.status, missing.body["error"].as_str()),
        (404, Some("endpoint_not_found"))
    );
    let back = gov
        .post(
            "endpoints",
            json!({"endpoint_id": "ep-q", "hostname": "h", "status": "active"}),
        )
        .await;
    assert_eq!(
        (back.status, back.body["status"].as_str()),
        (200, Some("active"))
    );
    assert_eq!(gov.get("endpoints/stats").await.body["quarantined"], 0);
}

/// Each data-plane fault breaks exactly its property and leaves the others intact.
#[tokio::test]
async fn data_plane_faults_break_exactly_their_property() {
    async fn step_up_and(gov: &Gov, decision: &str) -> (String, u16, Value) {
        let answer = enforce(gov, ORG_KEY, sdk_body("shell.exec", "step_up", &[])).await;
        let token = answer.body["hold_token"].as_str().unwrap().to_owned();
        let rows = gov.get("approvals?status=pending").await.body;
        if let Some(id) = rows["data"][0]["approval_id"].as_str() {
            gov.post(
                &format!("approvals/{id}/resolve"),
                json!({"decision": decision}),
            )
            .await;
        }
        let polled = hold(gov, ORG_KEY, &token).await;
        (token, polled.status, polled.body)
    }

    // hold-never-resolves: approved and denied holds stay pending; decisions unchanged.
    let gov = start_with(&[Fault::HoldNeverResolves]).await;
    policy(&gov).await;
    assert_eq!(step_up_and(&gov, "approve").await.1, 202);
    assert_eq!(step_up_and(&gov, "deny").await.1, 202);
    assert_eq!(
        enforce(&gov, ORG_KEY, sdk_body("db.drop", "step_up", &[]))
            .await
            .body["decision"],
        "BLOCK"
    );

    // hold-allow-after-deny: deny reads ALLOW; approve is still ALLOW.
    let gov = start_with(&[Fault::HoldAllowAfterDeny]).await;
    policy(&gov).await;
    assert_eq!(step_up_and(&gov, "deny").await.2["resolution"], "ALLOW");
    assert_eq!(step_up_and(&gov, "approve").await.2["resolution"], "ALLOW");

    // enforce-ignores-shadow-policy: in-scope calls ALLOW; out-of-scope still caught;
    // the admin simulation still follows the policy.
    let gov = start_with(&[Fault::EnforceIgnoresShadowPolicy]).await;
    policy(&gov).await;
    assert_eq!(
        enforce(&gov, ORG_KEY, sdk_body("db.drop", "step_up", &[]))
            .await
            .body["decision"],
        "ALLOW"
    );
    assert_eq!(
        enforce(&gov, ORG_KEY, sdk_body("shell.exec", "step_up", &[]))
            .await
            .body["decision"],
        "ALLOW"
    );
    assert_eq!(
        enforce(&gov, ORG_KEY, sdk_body("web.fetch", "block", &["x"]))
            .await
            .body["decision"],
        "BLOCK"
    );
    assert_eq!(gov.decide_tier("y", "high").await["decision"], "BLOCK");

    // step-up-opens-no-approval: STEP_UP with a hold but nothing listed; the hold can
    // only expire. The admin simulation still opens approvals.
    let gov = start_with(&[Fault::StepUpOpensNoApproval]).await;
    policy(&gov).await;
    let answer = enforce(&gov, ORG_KEY, sdk_body("shell.exec", "step_up", &[])).await;
    assert_eq!(answer.body["decision"], "STEP_UP");
    let token = answer.body["hold_token"].as_str().unwrap().to_owned();
    assert_eq!(gov.get("approvals?status=pending").await.body["total"], 0);
    assert_eq!(hold(&gov, ORG_KEY, &token).await.status, 202);
    gov.pending_approval().await;
    assert_eq!(gov.get("approvals?status=pending").await.body["total"], 1);

    // Healthy: approve ALLOW, deny BLOCK, approval listed.
    let gov = start().await;
    policy(&gov).await;
    assert_eq!(step_up_and(&gov, "approve").await.2["resolution"], "ALLOW");
    assert_eq!(step_up_and(&gov, "deny").await.2["resolution"], "BLOCK");
}
