//! Each governance fault breaks exactly its own property: the same scenario runs on a
//! healthy mock (property holds) and on a mock with the fault (property broken), and
//! neighbouring properties still hold under the fault.

use crate::gov_support;

use std::time::Duration;

use gov_support::{callback_body, legacy, sign, start, start_with, Gov, OTHER, PAM_SECRET};
use mock_govapi::Fault;
use serde_json::{json, Value};

async fn pam_mock(faults: &[Fault]) -> (Gov, String, String) {
    let gov = start_with(faults).await;
    gov.enable_pam().await;
    let (approval_id, request_id) = gov.pending_approval().await;
    (gov, approval_id, request_id)
}

/// A callback signed with the wrong secret: `(status, body)`.
async fn wrongly_signed(gov: &Gov, approval_id: &str, request_id: &str) -> (u16, Value) {
    let body = callback_body(approval_id, request_id, "approve");
    let ts = gov.now();
    let answer = gov
        .raw_callback(&body, Some(ts.to_string()), Some(sign("forged", ts, &body)))
        .await;
    (answer.status, answer.body)
}

#[tokio::test]
async fn pam_bad_signature_accepted_lets_forged_callbacks_through() {
    let (healthy, id, req) = pam_mock(&[]).await;
    assert_eq!(wrongly_signed(&healthy, &id, &req).await.0, 401);
    assert_eq!(healthy.approval(&id).await["status"], "pending");

    let (faulty, id, req) = pam_mock(&[Fault::PamBadSignatureAccepted]).await;
    let (status, body) = wrongly_signed(&faulty, &id, &req).await;
    assert_eq!((status, &body["status"]), (200, &json!("resolved")));
    assert_eq!(faulty.approval(&id).await["status"], "approved");
    // Freshness is still checked.
    let (other_id, other_req) = faulty.pending_approval().await;
    let stale = faulty
        .signed_callback(
            &callback_body(&other_id, &other_req, "approve"),
            faulty.now() - 3_600,
        )
        .await;
    assert_eq!(stale.body["error"], "stale_timestamp");
}

#[tokio::test]
async fn pam_stale_timestamp_accepted_lets_old_callbacks_through() {
    async fn stale_callback(gov: &Gov, id: &str, req: &str) -> gov_support::Answer {
        let body = callback_body(id, req, "deny");
        gov.signed_callback(&body, gov.now() - 3_600).await
    }
    let (healthy, id, req) = pam_mock(&[]).await;
    assert_eq!(
        stale_callback(&healthy, &id, &req).await.body["error"],
        "stale_timestamp"
    );

    let (faulty, id, req) = pam_mock(&[Fault::PamStaleTimestampAccepted]).await;
    let answer = stale_callback(&faulty, &id, &req).await;
    assert_eq!(
        (answer.status, &answer.body["status"]),
        (200, &json!("resolved"))
    );
    assert_eq!(faulty.approval(&id).await["status"], "denied");
    // Signatures are still checked.
    let (other_id, other_req) = faulty.pending_approval().await;
    assert_eq!(wrongly_signed(&faulty, &other_id, &other_req).await.0, 401);
}

#[tokio::test]
async fn pam_replay_reapplied_resolves_a_replay_again() {
    async fn replay(gov: &Gov, id: &str, req: &str) -> (Value, Value, Value) {
        let body = callback_body(id, req, "approve");
        let ts = gov.now();
        assert_eq!(
            gov.signed_callback(&body, ts).await.body["status"],
            "resolved"
        );
        let before = gov.approval(id).await;
        gov.mock.state.advance_clock(Duration::from_secs(5));
        let second = gov.signed_callback(&body, ts).await;
        (second.body, before, gov.approval(id).await)
    }
    let (healthy, id, req) = pam_mock(&[]).await;
    let (answer, before, after) = replay(&healthy, &id, &req).await;
    assert_eq!(
        (&answer["status"], &answer["reason"]),
        (&json!("ignored"), &json!("replay"))
    );
    assert_eq!(before, after);

    let (faulty, id, req) = pam_mock(&[Fault::PamReplayReapplied]).await;
    let (answer, before, after) = replay(&faulty, &id, &req).await;
    assert_eq!(answer["status"], "resolved");
    assert_ne!(
        before["decided_at"], after["decided_at"],
        "the replay was applied again"
    );
    // Correlation is still enforced.
    let (other_id, _) = faulty.pending_approval().await;
    let mismatch = faulty
        .signed_callback(&callback_body(&other_id, &req, "approve"), faulty.now())
        .await;
    assert_eq!(mismatch.body["error"], "request_id_mismatch");
}

#[tokio::test]
async fn pam_request_id_mismatch_accepted_resolves_the_wrong_correlation() {
    async fn mismatched(gov: &Gov, id: &str) -> Value {
        let body = callback_body(id, "req-from-someone-else", "approve");
        gov.signed_callback(&body, gov.now()).await.body
    }
    let (healthy, id, _) = pam_mock(&[]).await;
    assert_eq!(
        mismatched(&healthy, &id).await["error"],
        "request_id_mismatch"
    );
    assert_eq!(healthy.approval(&id).await["status"], "pending");

    let (faulty, id, req) = pam_mock(&[Fault::PamRequestIdMismatchAccepted]).await;
    assert_eq!(mismatched(&faulty, &id).await["status"], "resolved");
    assert_eq!(faulty.approval(&id).await["status"], "approved");
    // Signatures are still checked.
    let (other_id, _) = faulty.pending_approval().await;
    assert_eq!(wrongly_signed(&faulty, &other_id, &req).await.0, 401);
}

async fn seed_mixed(gov: &Gov) {
    for (tool, tier) in [("a", "low"), ("b", "medium"), ("c", "high")] {
        gov.decide_tier(tool, tier).await;
    }
}

#[tokio::test]
async fn evidence_slo_breached_reports_a_breach_on_complete_evidence() {
    let healthy = start().await;
    seed_mixed(&healthy).await;
    let report = healthy.get("governance/evidence-slos").await.body;
    assert_eq!(report["passed"], true, "{report}");

    let faulty = start_with(&[Fault::EvidenceSloBreached]).await;
    seed_mixed(&faulty).await;
    let report = faulty.get("governance/evidence-slos").await.body;
    assert_eq!(report["passed"], false);
    assert_eq!(
        report["failures"][0]["metric"],
        "evidence_chain_verification_success"
    );
    assert_eq!(report["failures"].as_array().unwrap().len(), 1);
    // The evidence itself is intact: the chain in the feed links up.
    let feed = faulty.get("governance/feed").await.body;
    let events = feed["data"].as_array().unwrap();
    assert_eq!(
        events[0]["evidence_chain"]["prev_hash"],
        events[1]["evidence_chain"]["hash"]
    );
}

#[tokio::test]
async fn feed_drops_decisions_hides_them_from_the_feed_only() {
    let healthy = start().await;
    seed_mixed(&healthy).await;
    assert_eq!(healthy.get("governance/feed").await.body["total"], 3);

    let faulty = start_with(&[Fault::FeedDropsDecisions]).await;
    seed_mixed(&faulty).await;
    let feed = faulty.get("governance/feed").await;
    assert_eq!((feed.status, &feed.body["total"]), (200, &json!(0)));
    // The decisions were made: approvals and alerts exist.
    assert_eq!(
        faulty.get("approvals").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        faulty.get("alerts").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn alerts_not_raised_blocks_without_an_alert() {
    let healthy = start().await;
    let outcome = healthy.decide_tier("db.drop", "high").await;
    assert!(outcome["alert_id"].is_string());
    assert_eq!(
        healthy.get("alerts").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let faulty = start_with(&[Fault::AlertsNotRaised]).await;
    let outcome = faulty.decide_tier("db.drop", "high").await;
    assert_eq!(outcome["decision"], "BLOCK");
    assert!(outcome.get("alert_id").is_none());
    assert_eq!(faulty.get("alerts").await.body["data"], json!([]));
    let feed = faulty.get("governance/feed").await.body;
    assert!(
        feed["data"][0]["violation_id"].is_string(),
        "the block itself is recorded"
    );
}

#[tokio::test]
async fn step_up_creates_no_approval_leaves_the_queue_empty() {
    let healthy = start().await;
    let outcome = healthy.decide_tier("shell.exec", "medium").await;
    assert!(outcome["approval_id"].is_string());
    assert_eq!(
        healthy.get("approvals?status=pending").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let faulty = start_with(&[Fault::StepUpCreatesNoApproval]).await;
    let outcome = faulty.decide_tier("shell.exec", "medium").await;
    assert_eq!(outcome["decision"], "STEP_UP");
    assert!(outcome.get("approval_id").is_none());
    assert_eq!(
        faulty.get("approvals?status=pending").await.body["data"],
        json!([])
    );
    assert_eq!(
        faulty.get("governance/feed?decision=STEP_UP").await.body["total"],
        1
    );
}

#[tokio::test]
async fn evidence_slo_scans_nothing_passes_a_report_of_no_rows() {
    for (faults, scanned) in [(&[][..], 3), (&[Fault::EvidenceSloScansNothing][..], 0)] {
        let gov = start_with(faults).await;
        seed_mixed(&gov).await;
        let report = gov.get("governance/evidence-slos").await.body;
        assert_eq!(
            report["metrics"]["rows_scanned"], scanned,
            "{faults:?}: {report}"
        );
        assert_eq!(report["passed"], true, "{faults:?}: {report}");
    }
}

#[tokio::test]
async fn evidence_slo_breach_unreported_shows_the_breach_in_the_metrics_only() {
    let gov = start_with(&[Fault::EvidenceSloBreachUnreported]).await;
    seed_mixed(&gov).await;
    let report = gov.get("governance/evidence-slos").await.body;
    assert_eq!(
        report["metrics"]["evidence_chain_verification_success"], 0.0,
        "{report}"
    );
    assert_eq!(report["metrics"]["rows_scanned"], 3);
    assert_eq!(
        (&report["passed"], &report["failures"]),
        (&json!(true), &json!([]))
    );
}

#[tokio::test]
async fn backfill_dry_run_writes_creates_what_it_reports() {
    let dry_run = "evidence/thoth/backfill?dry_run=true";
    for (faults, left) in [(&[][..], 2), (&[Fault::BackfillDryRunWrites][..], 0)] {
        let gov = start_with(faults).await;
        gov.seed(json!([legacy("a", "low"), legacy("b", "low")]))
            .await;
        let first = gov.gov_post(dry_run, json!({})).await.body;
        assert_eq!(
            (&first["would_create"], &first["created"]),
            (&json!(2), &json!(0)),
            "{faults:?}: {first}"
        );
        let second = gov.gov_post(dry_run, json!({})).await.body;
        assert_eq!(second["would_create"], left, "{faults:?}: {second}");
    }
}

#[tokio::test]
async fn approvals_status_filter_ignored_lists_resolved_approvals_as_pending() {
    for (faults, shown) in [
        (&[][..], 1),
        (&[Fault::ApprovalsStatusFilterIgnored][..], 2),
    ] {
        let gov = start_with(faults).await;
        gov.pending_approval().await;
        let (resolved, _) = gov.pending_approval().await;
        let answer = gov
            .post(
                &format!("approvals/{resolved}/resolve"),
                json!({"decision": "deny"}),
            )
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        let pending = gov.get("approvals?status=pending").await.body;
        assert_eq!(
            pending["data"].as_array().unwrap().len(),
            shown,
            "{pending}"
        );
        // A value that is no status is refused either way.
        assert_eq!(gov.get("approvals?status=nope").await.status, 400);
    }
}

#[tokio::test]
async fn feed_agent_filter_ignored_answers_every_agent() {
    for (faults, shown) in [(&[][..], 1), (&[Fault::FeedAgentFilterIgnored][..], 2)] {
        let gov = start_with(faults).await;
        gov.decide_tier("a", "low").await;
        let other = gov
            .decide(json!({"agent_id": "agent-8", "tool_name": "b", "risk_tier": "low"}))
            .await;
        assert_eq!(other.status, 201, "{:?}", other.body);
        let feed = gov.get("governance/feed?agent_id=agent-7").await.body;
        assert_eq!(feed["total"], shown, "{faults:?}: {feed}");
        // The other filters still filter.
        assert_eq!(
            gov.get("governance/feed?tool_name=b").await.body["total"],
            1
        );
    }
}

#[tokio::test]
async fn lists_show_other_tenants_leaks_feed_alerts_and_approvals() {
    for (faults, leaked) in [
        (&[][..], false),
        (&[Fault::ListsShowOtherTenants][..], true),
    ] {
        let gov = start_with(faults).await;
        gov.decide_tier("own", "high").await;
        for tier in ["high", "medium"] {
            let answer = gov
                .call(
                    reqwest::Method::POST,
                    &format!("/__admin/tenants/{OTHER}/decisions"),
                    None,
                    Some(json!({"agent_id": "agent-other", "tool_name": "other-tool", "risk_tier": tier})),
                )
                .await;
            assert_eq!(answer.status, 201, "{:?}", answer.body);
        }
        for list in ["governance/feed", "alerts", "approvals"] {
            let rows = gov.get(list).await.body;
            let shows_other = rows["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|row| row["tool_name"] == "other-tool");
            assert_eq!(shows_other, leaked, "{faults:?} {list}: {rows}");
        }
    }
}

#[tokio::test]
async fn faults_switched_at_runtime_take_effect_and_revert() {
    let (gov, id, req) = pam_mock(&[]).await;
    let set = |names: Value| {
        let gov = &gov;
        async move {
            gov.call(
                reqwest::Method::PUT,
                "/__admin/faults",
                None,
                Some(json!({"faults": names})),
            )
            .await
        }
    };
    assert_eq!(set(json!(["pam-bad-signature-accepted"])).await.status, 200);
    let body = callback_body(&id, &req, "approve");
    let ts = gov.now();
    let forged = gov
        .raw_callback(&body, Some(ts.to_string()), Some(sign("x", ts, &body)))
        .await;
    assert_eq!(forged.status, 200);
    assert_eq!(set(json!([])).await.status, 200);
    let (other, other_req) = gov.pending_approval().await;
    let body = callback_body(&other, &other_req, "approve");
    let refused = gov
        .raw_callback(&body, Some(ts.to_string()), Some(sign("x", ts, &body)))
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        gov.raw_callback(
            &body,
            Some(ts.to_string()),
            Some(sign(PAM_SECRET, ts, &body))
        )
        .await
        .status,
        200
    );
}
