//! Governance decision simulation and what it feeds, over real HTTP: shadow policy
//! outcomes, approvals, alerts, the governance feed, webhook delivery and the seed.

use crate::gov_support;

use std::time::Duration;

use gov_support::{start, Gov, T};
use reqwest::Method;
use serde_json::{json, Value};

fn rows(answer: &Value) -> &Vec<Value> {
    answer["data"].as_array().expect("data array")
}

#[tokio::test]
async fn the_default_policy_decides_allow_step_up_block_block() {
    let gov = start().await;
    let low = gov.decide_tier("fs.read", "low").await;
    assert_eq!(low["decision"], "ALLOW");
    assert!(low.get("approval_id").is_none() && low.get("alert_id").is_none());

    let medium = gov.decide_tier("shell.exec", "medium").await;
    assert_eq!(medium["decision"], "STEP_UP");
    let approval = gov.approval(medium["approval_id"].as_str().unwrap()).await;
    assert_eq!(approval["status"], "pending");
    assert_eq!(approval["request_id"], medium["request_id"]);
    assert_eq!(approval["event_id"], medium["event_id"]);

    for tier in ["high", "critical"] {
        let blocked = gov.decide_tier("db.drop", tier).await;
        assert_eq!(blocked["decision"], "BLOCK", "{tier}");
        assert!(blocked["alert_id"].is_string());
        assert!(blocked.get("approval_id").is_none());
    }
    let alerts = gov.get("alerts").await;
    assert_eq!(alerts.status, 200);
    let alerts = rows(&alerts.body);
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0]["severity"], "critical", "newest first");
    assert!(alerts[0]["violation_id"].is_string());
}

#[tokio::test]
async fn the_tenants_shadow_policy_and_tool_overrides_apply() {
    let gov = start().await;
    let settings = json!({
        "shadow_policy": {"low": "step_up", "medium": "allow", "high": "step_up", "critical": "block"},
        "tool_risk_overrides": {"fs.read": "critical"},
    });
    assert_eq!(gov.put_settings(settings).await.status, 200);
    assert_eq!(
        gov.decide_tier("notes.write", "low").await["decision"],
        "STEP_UP"
    );
    assert_eq!(
        gov.decide_tier("notes.write", "medium").await["decision"],
        "ALLOW"
    );
    assert_eq!(
        gov.decide_tier("notes.write", "high").await["decision"],
        "STEP_UP"
    );
    let overridden = gov.decide_tier("fs.read", "low").await;
    assert_eq!(overridden["decision"], "BLOCK");
    let feed = gov.get("governance/feed?tool_name=fs.read").await;
    assert_eq!(
        feed.body["data"][0]["reason_code"],
        "tool_risk_override.critical.block"
    );
    assert_eq!(feed.body["data"][0]["risk_tier"], "critical");
}

#[tokio::test]
async fn feed_events_carry_decision_evidence_linked_by_hash() {
    let gov = start().await;
    let allow = gov.decide_tier("fs.read", "low").await;
    let step = gov.decide_tier("shell.exec", "medium").await;
    let block = gov.decide_tier("db.drop", "high").await;
    let feed = gov.get("governance/feed").await;
    assert_eq!(feed.status, 200);
    assert_eq!(feed.body["total"], 3);
    let events = rows(&feed.body);
    let ids: Vec<&Value> = events.iter().map(|e| &e["event_id"]).collect();
    assert_eq!(
        ids,
        [&block["event_id"], &step["event_id"], &allow["event_id"]],
        "newest first"
    );
    let (b, s, a) = (&events[0], &events[1], &events[2]);
    assert_eq!(a["decision"], "ALLOW");
    assert!(
        a["reason_code"].is_string()
            && a["policy_reference"].is_null()
            && a["violation_id"].is_null()
    );
    assert_eq!(s["policy_reference"], "settings/shadow_policy/medium");
    assert_eq!(s["approval_id"], step["approval_id"]);
    assert!(b["violation_id"].is_string());
    assert_eq!(b["alert_id"], block["alert_id"]);
    for event in events {
        assert!(event["visible_at"].is_string() && event["occurred_at"].is_string());
        assert_eq!(event["evidence_chain"]["hash"].as_str().unwrap().len(), 64);
    }
    assert_eq!(a["evidence_chain"]["prev_hash"], "0".repeat(64));
    assert_eq!(
        s["evidence_chain"]["prev_hash"],
        a["evidence_chain"]["hash"]
    );
    assert_eq!(
        b["evidence_chain"]["prev_hash"],
        s["evidence_chain"]["hash"]
    );
}

#[tokio::test]
async fn feed_filters_and_pages() {
    let gov = start().await;
    for (tool, tier) in [
        ("a", "low"),
        ("b", "medium"),
        ("a", "high"),
        ("a", "low"),
        ("c", "low"),
    ] {
        gov.decide_tier(tool, tier).await;
    }
    let total = |answer: &Value| answer["total"].as_u64().unwrap();
    assert_eq!(
        total(&gov.get("governance/feed?decision=ALLOW").await.body),
        3
    );
    assert_eq!(
        total(&gov.get("governance/feed?decision=BLOCK").await.body),
        1
    );
    assert_eq!(total(&gov.get("governance/feed?tool_name=a").await.body), 3);
    assert_eq!(
        total(
            &gov.get("governance/feed?tool_name=a&decision=ALLOW")
                .await
                .body
        ),
        2
    );

    let page = gov.get("governance/feed?per_page=2&page=3").await.body;
    assert_eq!(
        (
            total(&page),
            page["page"].as_u64(),
            page["per_page"].as_u64()
        ),
        (5, Some(3), Some(2))
    );
    assert_eq!(rows(&page).len(), 1);
    assert_eq!(rows(&page)[0]["tool_name"], "a", "the oldest is last");

    let now = gov.mock.state.now();
    let future = now.plus(Duration::from_secs(3600)).to_string();
    let past = hour_ago(&gov);
    let in_window = gov
        .get(&format!("governance/feed?from={past}&to={future}"))
        .await
        .body;
    assert_eq!(total(&in_window), 5);
    let later = gov
        .get(&format!("governance/feed?from={future}"))
        .await
        .body;
    assert_eq!(total(&later), 0);

    for bad in ["decision=deny", "from=yesterday", "page=0", "per_page=x"] {
        let answer = gov.get(&format!("governance/feed?{bad}")).await;
        assert_eq!(answer.status, 400, "{bad}: {:?}", answer.body);
        assert!(answer.body["error"].is_string(), "{bad}");
    }
}

/// An RFC 3339 instant an hour before the mock's clock, URL-safe (`Z`, no `+`).
fn hour_ago(gov: &Gov) -> String {
    let now = gov.mock.state.now();
    mock_govapi::clock::Timestamp(now.0 - time::Duration::hours(1)).to_string()
}

#[tokio::test]
async fn bad_decision_requests_are_refused_and_record_nothing() {
    let gov = start().await;
    for body in [
        json!({"agent_id": "a", "tool_name": "t", "risk_tier": "extreme"}),
        json!({"agent_id": "a", "tool_name": "t"}),
        json!({"agent_id": "", "tool_name": "t", "risk_tier": "low"}),
        json!({"agent_id": "a", "tool_name": "t", "risk_tier": "low", "occurred_at": "soon"}),
        json!({"agent_id": "a", "tool_name": "t", "risk_tier": "low", "colour": "red"}),
    ] {
        let answer = gov.decide(body.clone()).await;
        assert_eq!(answer.status, 400, "{body}: {:?}", answer.body);
    }
    let unknown = gov
        .call(
            Method::POST,
            "/__admin/tenants/nobody/decisions",
            None,
            Some(json!({"agent_id": "a", "tool_name": "t", "risk_tier": "low"})),
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(gov.get("governance/feed").await.body["total"], 0);
}

#[tokio::test]
async fn each_decision_is_delivered_signed_to_the_tenants_webhook() {
    let gov = start().await;
    let hook = format!("{}/__sink/gov-siem", gov.mock.base_url);
    let sink_config = gov
        .call(
            Method::PUT,
            "/__sink/gov-siem/config",
            None,
            Some(json!({"status": 200, "secret": "wh-secret"})),
        )
        .await;
    assert!(sink_config.status < 300, "{:?}", sink_config.body);
    let settings = json!({"webhook": {"enabled": true, "url": hook, "secret": "wh-secret"}});
    assert_eq!(gov.put_settings(settings).await.status, 200);

    let blocked = gov.decide_tier("db.drop", "critical").await;
    let deliveries = wait_for_deliveries(&gov, "gov-siem", 1).await;
    let delivery = &deliveries[0];
    assert_eq!(delivery["signature_valid"], true);
    assert_eq!(delivery["headers"]["x-thoth-event"], "governance.decision");
    let body: Value = serde_json::from_str(delivery["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["event_type"], "governance.decision");
    assert_eq!(body["tenant_id"], T);
    assert_eq!(body["event_id"], blocked["event_id"]);
    assert!(body["event"]["violation_id"]
        .as_str()
        .is_some_and(|v| !v.is_empty()));
}

#[tokio::test]
async fn an_unreachable_webhook_never_fails_the_decision() {
    let gov = start().await;
    // Port 9 (discard) on loopback: nothing listens, the delivery fails fast.
    let settings =
        json!({"webhook": {"enabled": true, "url": "http://127.0.0.1:9/hook", "secret": "s"}});
    assert_eq!(gov.put_settings(settings).await.status, 200);
    let outcome = gov.decide_tier("db.drop", "high").await;
    assert_eq!(outcome["decision"], "BLOCK");
    assert_eq!(gov.get("governance/feed").await.body["total"], 1);
}

async fn wait_for_deliveries(gov: &Gov, sink: &str, count: usize) -> Vec<Value> {
    // Deliveries are fire-and-forget; poll (without asserting on timing) until they land.
    for _ in 0..200 {
        let answer = gov
            .call(Method::GET, &format!("/__sink/{sink}"), None, None)
            .await;
        let got = answer.body["data"].as_array().cloned().unwrap_or_default();
        if got.len() >= count {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{count} deliveries did not arrive at sink {sink}");
}

#[tokio::test]
async fn the_seed_records_decisions_all_or_nothing() {
    let gov = start().await;
    let seed = json!({
        "endpoints": [],
        "decisions": [
            {"agent_id": "a", "tool_name": "t1", "risk_tier": "low"},
            {"agent_id": "a", "tool_name": "t2", "risk_tier": "medium"},
            {"agent_id": "a", "tool_name": "t3", "risk_tier": "high", "legacy": true, "occurred_at": "2026-01-01T00:00:00Z"},
        ],
    });
    let answer = gov
        .call(
            Method::POST,
            &format!("/__admin/tenants/{T}/seed"),
            None,
            Some(seed),
        )
        .await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let outcomes = answer.body["decisions"].as_array().unwrap();
    let decisions: Vec<&Value> = outcomes.iter().map(|o| &o["decision"]).collect();
    assert_eq!(decisions, ["ALLOW", "STEP_UP", "BLOCK"]);
    assert!(outcomes[1]["approval_id"].is_string());

    let bad = json!({"decisions": [
        {"agent_id": "a", "tool_name": "t4", "risk_tier": "low"},
        {"agent_id": "a", "tool_name": "t5", "risk_tier": "bogus"},
    ]});
    let refused = gov
        .call(
            Method::POST,
            &format!("/__admin/tenants/{T}/seed"),
            None,
            Some(bad),
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("decisions[1]"),
        "{:?}",
        refused.body
    );
    assert_eq!(
        gov.get("governance/feed").await.body["total"],
        3,
        "nothing of the bad seed was kept"
    );

    let dump = gov.state_dump().await;
    assert_eq!(dump["events"].as_array().unwrap().len(), 3);
    assert_eq!(dump["approvals"].as_array().unwrap().len(), 1);
    assert_eq!(dump["alerts"].as_array().unwrap().len(), 1);
}
