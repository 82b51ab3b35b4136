//! Evidence SLOs and the two backfills over real HTTP, on stores built through the
//! admin API (live, legacy and back-dated decisions).

use crate::gov_support;

use gov_support::{legacy, start, Gov, T};
use serde_json::{json, Value};

async fn seed(gov: &Gov, decisions: Value) {
    gov.seed(decisions).await;
}

fn decision(tool: &str, tier: &str) -> Value {
    json!({"agent_id": "agent-7", "tool_name": tool, "risk_tier": tier})
}

fn failed_metrics(report: &Value) -> Vec<String> {
    report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["metric"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn slos_of_an_empty_tenant_pass_with_nothing_scanned() {
    let gov = start().await;
    let report = gov.get("governance/evidence-slos").await;
    assert_eq!(report.status, 200);
    assert_eq!(report.body["passed"], true);
    assert_eq!(report.body["metrics"]["rows_scanned"], 0);
    assert_eq!(report.body["window_hours"], 24);
    assert_eq!(report.body["failures"], json!([]));
    for threshold in [
        "violation_id_presence_rate_min",
        "decision_reason_code_coverage_min",
        "policy_reference_coverage_non_allow_min",
        "evidence_chain_verification_success_min",
        "decision_to_api_visibility_latency_p95_seconds_max",
    ] {
        assert!(
            report.body["thresholds"][threshold].is_number(),
            "{threshold}"
        );
    }
}

#[tokio::test]
async fn slos_pass_for_live_decisions_and_fail_for_legacy_ones_until_backfilled() {
    let gov = start().await;
    seed(
        &gov,
        json!([
            decision("a", "low"),
            decision("b", "medium"),
            decision("c", "high")
        ]),
    )
    .await;
    let healthy = gov
        .get("governance/evidence-slos?window_hours=24&scan_limit=100")
        .await
        .body;
    assert_eq!(healthy["passed"], true, "{healthy}");
    let metrics = &healthy["metrics"];
    assert_eq!(metrics["rows_scanned"], 3);
    for rate in [
        "violation_id_presence_rate",
        "decision_reason_code_coverage",
        "policy_reference_coverage_non_allow",
        "evidence_chain_verification_success",
    ] {
        assert_eq!(metrics[rate], 1.0, "{rate}");
    }
    assert_eq!(
        metrics["decision_to_api_visibility_latency_p95_seconds"],
        0.0
    );

    seed(&gov, json!([legacy("d", "high"), legacy("e", "low")])).await;
    let degraded = gov.get("governance/evidence-slos").await.body;
    assert_eq!(degraded["passed"], false);
    assert_eq!(
        failed_metrics(&degraded),
        [
            "decision_reason_code_coverage",
            "policy_reference_coverage_non_allow"
        ]
    );
    assert_eq!(degraded["metrics"]["decision_reason_code_coverage"], 0.6);

    let dry = gov
        .post(
            "governance/backfill-decision-fields?dry_run=true&window_hours=720",
            json!({}),
        )
        .await;
    assert_eq!(dry.status, 200, "{:?}", dry.body);
    assert_eq!(
        (
            &dry.body["examined"],
            &dry.body["candidates"],
            &dry.body["would_update"],
            &dry.body["updated"]
        ),
        (&json!(5), &json!(2), &json!(2), &json!(0))
    );
    assert_eq!(dry.body["row_ids"].as_array().unwrap().len(), 2);
    assert_eq!(
        gov.get("governance/evidence-slos").await.body["passed"],
        false,
        "a dry run changes nothing"
    );

    let real = gov
        .post("governance/backfill-decision-fields", json!({}))
        .await
        .body;
    assert_eq!(
        (&real["updated"], &real["would_update"]),
        (&json!(2), &json!(0))
    );
    assert_eq!(real["row_ids"], dry.body["row_ids"]);
    let repaired = gov.get("governance/evidence-slos").await.body;
    assert_eq!(repaired["passed"], true, "{repaired}");
    let again = gov
        .post("governance/backfill-decision-fields", json!({}))
        .await
        .body;
    assert_eq!(
        (&again["candidates"], &again["updated"]),
        (&json!(0), &json!(0))
    );

    let feed = gov.get("governance/feed?tool_name=d").await.body;
    assert_eq!(feed["data"][0]["reason_code"], "shadow_policy.high.block");
    assert_eq!(
        feed["data"][0]["policy_reference"],
        "settings/shadow_policy/high"
    );
}

#[tokio::test]
async fn slow_visibility_and_the_window_are_measured_from_event_times() {
    let gov = start().await;
    let now = gov.mock.state.now().0;
    let at = |offset_secs: i64| {
        mock_govapi::clock::Timestamp(now + time::Duration::seconds(offset_secs)).to_string()
    };
    seed(
        &gov,
        json!([
            {"agent_id": "a", "tool_name": "slow", "risk_tier": "low", "occurred_at": at(-600), "visible_at": at(-400)},
            {"agent_id": "a", "tool_name": "old", "risk_tier": "low", "occurred_at": at(-48 * 3600)},
        ]),
    )
    .await;
    let report = gov
        .get("governance/evidence-slos?window_hours=24")
        .await
        .body;
    assert_eq!(report["metrics"]["rows_scanned"], 1);
    assert_eq!(
        report["metrics"]["decision_to_api_visibility_latency_p95_seconds"],
        200.0
    );
    assert_eq!(
        failed_metrics(&report),
        ["decision_to_api_visibility_latency_p95_seconds"]
    );
    let wide = gov
        .get("governance/evidence-slos?window_hours=72")
        .await
        .body;
    assert_eq!(wide["metrics"]["rows_scanned"], 2);
    assert_eq!(
        gov.get("governance/evidence-slos?window_hours=72&scan_limit=1")
            .await
            .body["metrics"]["rows_scanned"],
        1
    );
}

#[tokio::test]
async fn a_tampered_event_store_fails_chain_verification() {
    let gov = start().await;
    seed(
        &gov,
        json!([
            decision("a", "low"),
            decision("b", "high"),
            decision("c", "low")
        ]),
    )
    .await;
    assert_eq!(
        gov.get("governance/evidence-slos").await.body["passed"],
        true
    );
    {
        // Rewrite history behind the API's back, as a compromised store would.
        let mut data = gov.mock.state.tenant(T).expect("tenant");
        data.gov.events.as_mut_slice()[1].decision = mock_govapi::gov::events::Decision::Allow;
    }
    let report = gov.get("governance/evidence-slos").await.body;
    assert_eq!(report["passed"], false);
    assert_eq!(
        failed_metrics(&report),
        ["evidence_chain_verification_success"]
    );
    assert_eq!(report["metrics"]["broken_chain_links"], 1);
}

#[tokio::test]
async fn slo_and_backfill_parameters_are_validated() {
    let gov = start().await;
    for query in [
        "window_hours=0",
        "window_hours=abc",
        "window_hours=-5",
        "window_hours=100000",
        "scan_limit=0",
    ] {
        let answer = gov.get(&format!("governance/evidence-slos?{query}")).await;
        assert_eq!(
            (answer.status, answer.body["error"].as_str()),
            (400, Some("invalid_parameter")),
            "{query}"
        );
    }
    for query in ["dry_run=maybe", "limit=0", "window_hours=x"] {
        let answer = gov
            .post(
                &format!("governance/backfill-decision-fields?{query}"),
                json!({}),
            )
            .await;
        assert_eq!(answer.status, 400, "{query}");
    }
    for query in ["dry_run=perhaps", "limit=-1", "include_blocked_events=2"] {
        let answer = gov
            .gov_post(&format!("evidence/thoth/backfill?{query}"), json!({}))
            .await;
        assert_eq!(answer.status, 400, "{query}");
    }
}

#[tokio::test]
async fn evidence_backfill_dry_run_then_real_run_then_nothing_left() {
    let gov = start().await;
    seed(
        &gov,
        json!([
            decision("live", "low"),
            legacy("old-allow", "low"),
            legacy("old-step", "medium"),
            legacy("old-block", "high")
        ]),
    )
    .await;
    let evidence_count = |dump: &Value| dump["evidence"]["records"].as_array().unwrap().len();
    assert_eq!(
        evidence_count(&gov.state_dump().await),
        1,
        "only the live decision has evidence"
    );

    let dry = gov
        .gov_post(
            "evidence/thoth/backfill?dry_run=true&include_blocked_events=false",
            json!({}),
        )
        .await;
    assert_eq!(dry.status, 200, "{:?}", dry.body);
    let counts = |r: &Value| {
        [
            "examined",
            "candidates",
            "created",
            "would_create",
            "skipped_existing",
        ]
        .map(|k| r[k].as_u64().unwrap())
    };
    assert_eq!(
        counts(&dry.body),
        [4, 2, 0, 2, 1],
        "blocked events are left out when asked"
    );
    assert_eq!(dry.body["evidence_ids"], json!([]));
    assert_eq!(evidence_count(&gov.state_dump().await), 1);

    let real = gov
        .gov_post(
            "evidence/thoth/backfill",
            json!({"include_blocked_events": false}),
        )
        .await
        .body;
    assert_eq!(counts(&real), [4, 2, 2, 0, 1]);
    assert_eq!(real["evidence_ids"].as_array().unwrap().len(), 2);
    assert_eq!(evidence_count(&gov.state_dump().await), 3);

    // No knob: blocked events are included, the vendor clients' default.
    let with_blocked = gov
        .gov_post("evidence/thoth/backfill", json!({}))
        .await
        .body;
    assert_eq!(counts(&with_blocked), [4, 1, 1, 0, 3]);
    let done = gov
        .gov_post(
            "evidence/thoth/backfill?include_blocked_events=true",
            json!({}),
        )
        .await
        .body;
    assert_eq!(counts(&done), [4, 0, 0, 0, 4]);
    let limited = gov
        .gov_post("evidence/thoth/backfill?limit=2", json!({}))
        .await
        .body;
    assert_eq!(limited["examined"], 2);
}
