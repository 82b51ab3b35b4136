//! Approvals and the signed PAM callback over real HTTP: resolution, replay, request_id
//! correlation, signature and timestamp checks, and "at most once" under concurrency.

use crate::gov_support;

use gov_support::{callback_body, sign, start, Gov, ADMIN_OTHER, OTHER, PAM_SECRET, T};
use proptest::prelude::*;
use reqwest::Method;
use serde_json::json;

async fn pam_ready() -> (Gov, String, String) {
    let gov = start().await;
    gov.enable_pam().await;
    let (approval_id, request_id) = gov.pending_approval().await;
    (gov, approval_id, request_id)
}

#[tokio::test]
async fn approvals_list_filters_by_status_and_resolve_decides_once() {
    let gov = start().await;
    let (first, _) = gov.pending_approval().await;
    let (second, _) = gov.pending_approval().await;
    let pending = gov.get("approvals?status=pending").await;
    assert_eq!(pending.status, 200);
    assert_eq!(pending.body["data"].as_array().unwrap().len(), 2);
    let row = &pending.body["data"][0];
    for field in [
        "approval_id",
        "request_id",
        "agent_id",
        "tool_name",
        "risk_tier",
        "created_at",
    ] {
        assert!(row[field].is_string(), "{field} missing in {row}");
    }
    assert!(row["decided_at"].is_null() && row["decided_by"].is_null());

    let resolved = gov
        .post(
            &format!("approvals/{first}/resolve"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(resolved.status, 200, "{:?}", resolved.body);
    assert_eq!(resolved.body["status"], "approved");
    assert_eq!(resolved.body["decided_by"], "admin");
    assert!(resolved.body["decided_at"].is_string());

    let again = gov
        .post(
            &format!("approvals/{first}/resolve"),
            json!({"decision": "deny"}),
        )
        .await;
    assert_eq!(
        (again.status, again.body["error"].as_str()),
        (409, Some("already_resolved"))
    );
    assert_eq!(gov.approval(&first).await["status"], "approved");

    let denied = gov
        .post(
            &format!("approvals/{second}/resolve"),
            json!({"decision": "deny"}),
        )
        .await;
    assert_eq!(denied.body["status"], "denied");
    for (status, count) in [("pending", 0), ("approved", 1), ("denied", 1), ("", 2)] {
        let list = gov.get(&format!("approvals?status={status}")).await;
        assert_eq!(
            list.body["data"].as_array().unwrap().len(),
            count,
            "status={status}"
        );
    }
    assert_eq!(
        gov.get("approvals").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn approval_errors() {
    let gov = start().await;
    let (id, _) = gov.pending_approval().await;
    let unknown = gov
        .post("approvals/apr-nope/resolve", json!({"decision": "approve"}))
        .await;
    assert_eq!(
        (unknown.status, unknown.body["error"].as_str()),
        (404, Some("approval_not_found"))
    );
    let bad = gov
        .post(
            &format!("approvals/{id}/resolve"),
            json!({"decision": "maybe"}),
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["error"].as_str()),
        (400, Some("invalid_decision"))
    );
    let shapeless = gov
        .post(
            &format!("approvals/{id}/resolve"),
            json!({"verdict": "approve"}),
        )
        .await;
    assert_eq!(shapeless.status, 400);
    let filter = gov.get("approvals?status=open").await;
    assert_eq!(
        (filter.status, filter.body["error"].as_str()),
        (400, Some("invalid_status"))
    );
    let anonymous = gov
        .call(Method::GET, &format!("/{T}/thoth/approvals"), None, None)
        .await;
    assert_eq!(anonymous.status, 401);
    // Another tenant neither sees nor resolves this tenant's approvals.
    let other = gov
        .call(
            Method::GET,
            &format!("/{OTHER}/thoth/approvals"),
            Some(ADMIN_OTHER),
            None,
        )
        .await;
    assert_eq!(other.body["data"], json!([]));
    let cross = gov
        .call(
            Method::POST,
            &format!("/{OTHER}/thoth/approvals/{id}/resolve"),
            Some(ADMIN_OTHER),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(cross.status, 404);
    assert_eq!(gov.approval(&id).await["status"], "pending");
}

#[tokio::test]
async fn a_valid_callback_resolves_and_its_replay_is_ignored() {
    let (gov, approval_id, request_id) = pam_ready().await;
    let body = callback_body(&approval_id, &request_id, "approve");
    let ts = gov.now();

    let first = gov.signed_callback(&body, ts).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["status"], "resolved");
    assert_eq!(first.body["approval_id"], approval_id.as_str());
    let after_first = gov.approval(&approval_id).await;
    assert_eq!(after_first["status"], "approved");
    assert_eq!(after_first["decided_by"], "pam:cyberark");

    let replay = gov.signed_callback(&body, ts).await;
    assert_eq!(replay.status, 200);
    assert_eq!(
        replay.body,
        json!({"status": "ignored", "reason": "replay", "approval_id": approval_id})
    );
    assert_eq!(
        gov.approval(&approval_id).await,
        after_first,
        "a replay changes nothing"
    );

    // A different, validly signed callback for the same approval is a conflict.
    let deny = callback_body(&approval_id, &request_id, "deny");
    let conflict = gov.signed_callback(&deny, ts + 1).await;
    assert_eq!(
        (conflict.status, conflict.body["error"].as_str()),
        (409, Some("already_resolved"))
    );
    assert_eq!(gov.approval(&approval_id).await["status"], "approved");
}

#[tokio::test]
async fn a_mismatched_request_id_conflicts_and_leaves_the_approval_pending() {
    let (gov, approval_id, _) = pam_ready().await;
    let (_, other_request) = gov.pending_approval().await;
    let body = callback_body(&approval_id, &other_request, "approve");
    let answer = gov.signed_callback(&body, gov.now()).await;
    assert_eq!(
        (answer.status, answer.body["error"].as_str()),
        (409, Some("request_id_mismatch"))
    );
    assert_eq!(gov.approval(&approval_id).await["status"], "pending");
    // Sending it again is still a conflict, not a silently ignored "replay".
    let again = gov.signed_callback(&body, gov.now()).await;
    assert_eq!(again.status, 409);
}

#[tokio::test]
async fn bad_tampered_and_missing_signatures_are_refused() {
    let (gov, approval_id, request_id) = pam_ready().await;
    let body = callback_body(&approval_id, &request_id, "approve");
    let ts = gov.now();
    let good = sign(PAM_SECRET, ts, &body);
    let tampered = callback_body(&approval_id, &request_id, "deny");
    let cases = [
        (
            "wrong secret",
            body.clone(),
            Some(ts.to_string()),
            Some(sign("not-the-secret", ts, &body)),
        ),
        (
            "tampered body",
            tampered,
            Some(ts.to_string()),
            Some(good.clone()),
        ),
        (
            "signature for another timestamp",
            body.clone(),
            Some((ts - 1).to_string()),
            Some(good.clone()),
        ),
        ("no signature", body.clone(), Some(ts.to_string()), None),
        ("no timestamp", body.clone(), None, Some(good.clone())),
        ("no headers", body.clone(), None, None),
        (
            "garbage signature",
            body.clone(),
            Some(ts.to_string()),
            Some("v1=not-hex".into()),
        ),
        (
            "unknown version",
            body.clone(),
            Some(ts.to_string()),
            Some(good.replace("v1=", "v2=")),
        ),
        (
            "timestamp not a number",
            body.clone(),
            Some("yesterday".into()),
            Some(good.clone()),
        ),
    ];
    for (name, body, timestamp, signature) in cases {
        let answer = gov.raw_callback(&body, timestamp, signature).await;
        assert_eq!(answer.status, 401, "{name}: {:?}", answer.body);
        assert_eq!(answer.body["error"], "invalid_signature", "{name}");
    }
    assert_eq!(gov.approval(&approval_id).await["status"], "pending");
    // The untouched original still works afterwards.
    assert_eq!(
        gov.raw_callback(&body, Some(ts.to_string()), Some(good))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn timestamps_outside_300_seconds_either_way_are_stale() {
    let (gov, approval_id, request_id) = pam_ready().await;
    let body = callback_body(&approval_id, &request_id, "approve");
    for skew in [-301_i64, 301, -3_600, 86_400] {
        let answer = gov.signed_callback(&body, gov.now() + skew).await;
        assert_eq!(answer.status, 401, "skew {skew}");
        assert_eq!(answer.body["error"], "stale_timestamp", "skew {skew}");
    }
    assert_eq!(gov.approval(&approval_id).await["status"], "pending");
    // Within the window (allowing a few seconds for the test itself) is accepted.
    let answer = gov.signed_callback(&body, gov.now() - 290).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

#[tokio::test]
async fn unknown_approvals_bad_bodies_and_missing_pam_config() {
    let gov = start().await;
    let body = callback_body("apr-x", "req-x", "approve");
    // PAM not configured: nothing can be verified.
    let answer = gov.signed_callback(&body, gov.now()).await;
    assert_eq!(
        (answer.status, answer.body["error"].as_str()),
        (409, Some("pam_not_configured"))
    );
    let disabled = gov
        .put_settings(json!({"pam": {"enabled": false, "callback_secret": PAM_SECRET}}))
        .await;
    assert_eq!(disabled.status, 200);
    assert_eq!(
        gov.signed_callback(&body, gov.now()).await.body["error"],
        "pam_not_configured"
    );
    gov.put_settings(json!({"pam": {"enabled": true}})).await;
    assert_eq!(
        gov.signed_callback(&body, gov.now()).await.body["error"],
        "pam_not_configured"
    );

    gov.enable_pam().await;
    let unknown = gov.signed_callback(&body, gov.now()).await;
    assert_eq!(
        (unknown.status, unknown.body["error"].as_str()),
        (404, Some("approval_not_found"))
    );
    // Unknown approval behind a bad signature: 401, so nothing about approvals leaks.
    let unsigned = gov
        .raw_callback(&body, Some(gov.now().to_string()), Some("v1=00".into()))
        .await;
    assert_eq!(unsigned.status, 401);

    let (approval_id, request_id) = gov.pending_approval().await;
    let bad_decision = callback_body(&approval_id, &request_id, "maybe");
    let answer = gov.signed_callback(&bad_decision, gov.now()).await;
    assert_eq!(
        (answer.status, answer.body["error"].as_str()),
        (400, Some("invalid_decision"))
    );
    let not_json = gov.signed_callback("approve please", gov.now()).await;
    assert_eq!(
        (not_json.status, not_json.body["error"].as_str()),
        (400, Some("invalid_json"))
    );
    assert_eq!(gov.approval(&approval_id).await["status"], "pending");
}

#[tokio::test]
async fn the_callback_needs_no_credentials_but_another_tenants_secret_does_not_work() {
    let (gov, approval_id, request_id) = pam_ready().await;
    let other_settings = gov
        .call(
            Method::PUT,
            &format!("/{OTHER}/thoth/settings"),
            Some(ADMIN_OTHER),
            Some(json!({"pam": {"enabled": true, "callback_secret": "other-secret"}})),
        )
        .await;
    assert_eq!(other_settings.status, 200);
    let body = callback_body(&approval_id, &request_id, "approve");
    let ts = gov.now();
    let forged = gov
        .raw_callback(
            &body,
            Some(ts.to_string()),
            Some(sign("other-secret", ts, &body)),
        )
        .await;
    assert_eq!(forged.status, 401);
    assert_eq!(gov.signed_callback(&body, ts).await.status, 200);
}

#[tokio::test]
async fn the_callback_secret_never_appears_in_answers_or_the_journal() {
    let (gov, approval_id, request_id) = pam_ready().await;
    let body = callback_body(&approval_id, &request_id, "approve");
    let ts = gov.now();
    let mut seen = Vec::new();
    seen.push(
        gov.raw_callback(&body, Some(ts.to_string()), Some("v1=00".into()))
            .await
            .body,
    );
    seen.push(gov.signed_callback(&body, ts - 1_000).await.body);
    seen.push(gov.signed_callback(&body, ts).await.body);
    seen.push(gov.signed_callback(&body, ts).await.body);
    seen.push(gov.get("approvals").await.body);
    seen.push(
        gov.call(Method::GET, "/__admin/journal", None, None)
            .await
            .body,
    );
    for answer in seen {
        assert!(
            !answer.to_string().contains(PAM_SECRET),
            "secret leaked in {answer}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_identical_callbacks_resolve_exactly_once() {
    let (gov, approval_id, request_id) = pam_ready().await;
    let body = callback_body(&approval_id, &request_id, "deny");
    let ts = gov.now();
    let gov = std::sync::Arc::new(gov);
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let gov = std::sync::Arc::clone(&gov);
            let body = body.clone();
            tokio::spawn(async move { gov.signed_callback(&body, ts).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let answer = task.await.expect("task");
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        statuses.push(
            answer.body["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| *s == "resolved").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| *s == "ignored").count(), 23);
    assert_eq!(gov.approval(&approval_id).await["status"], "denied");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// However deliveries of a set of signed callbacks are repeated and interleaved,
    /// each distinct callback is applied at most once: per approval exactly one
    /// "resolved", and the approval ends in the state of that one callback.
    #[test]
    fn each_signed_callback_applies_at_most_once(
        plan in proptest::collection::vec((0usize..3, 0usize..2, 0i64..3), 1..20)
    ) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let gov = start().await;
            gov.enable_pam().await;
            let mut approvals = Vec::new();
            for _ in 0..3 {
                approvals.push(gov.pending_approval().await);
            }
            let base = gov.now();
            let mut resolved_by: Vec<Option<&str>> = vec![None; 3];
            for (which, decision, offset) in plan {
                let (approval_id, request_id) = &approvals[which];
                let decision = ["approve", "deny"][decision];
                let body = callback_body(approval_id, request_id, decision);
                let answer = gov.signed_callback(&body, base + offset).await;
                match resolved_by[which] {
                    None => {
                        prop_assert_eq!(answer.status, 200);
                        prop_assert_eq!(&answer.body["status"], "resolved");
                        resolved_by[which] = Some(decision);
                    }
                    Some(_) => {
                        // Either the very same callback (ignored) or a different one
                        // for a decided approval (409); never a second resolution.
                        prop_assert_ne!(&answer.body["status"], "resolved");
                        prop_assert!(answer.status == 200 || answer.status == 409);
                    }
                }
            }
            for (which, (approval_id, _)) in approvals.iter().enumerate() {
                let expected = match resolved_by[which] {
                    None => "pending",
                    Some("approve") => "approved",
                    Some(_) => "denied",
                };
                prop_assert_eq!(&gov.approval(approval_id).await["status"], expected);
            }
            Ok(())
        })?;
    }

    /// A burst of N concurrent deliveries of one signed callback resolves once.
    #[test]
    fn concurrent_bursts_of_one_callback_resolve_once(copies in 2usize..16) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let (gov, approval_id, request_id) = pam_ready().await;
            let gov = std::sync::Arc::new(gov);
            let body = callback_body(&approval_id, &request_id, "approve");
            let ts = gov.now();
            let tasks: Vec<_> = (0..copies)
                .map(|_| {
                    let (gov, body) = (std::sync::Arc::clone(&gov), body.clone());
                    tokio::spawn(async move { gov.signed_callback(&body, ts).await })
                })
                .collect();
            let mut resolved = 0;
            for task in tasks {
                let answer = task.await.unwrap();
                prop_assert_eq!(answer.status, 200);
                if answer.body["status"] == "resolved" {
                    resolved += 1;
                }
            }
            prop_assert_eq!(resolved, 1);
            Ok(())
        })?;
    }
}
