//! Signatures end to end: PAM callbacks signed, tampered, skewed and replayed; SIEM sink
//! deliveries verified by the harness itself; a target config changing the scheme.

use crate::common;

use common::*;
use serde_json::json;
use thoth_conformance::outcome::Status;
use thoth_conformance::signing::{SignatureError, SignatureScheme};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn one_case(steps: &str) -> String {
    format!(
        "phase: p\ntitle: t\nrunbook: r\ncases:\n  - id: c\n    title: c\n    capability: cap\n    effect: read\n    steps:\n{steps}"
    )
}

fn requests_to<'a>(reqs: &'a [Request], p: &str) -> Vec<&'a Request> {
    reqs.iter().filter(|r| r.url.path() == p).collect()
}

#[tokio::test]
async fn pam_callbacks_are_signed_tampered_skewed_and_replayed_byte_for_byte() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/acme/thoth/pam/callback"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "resolved"})))
        .mount(&server)
        .await;
    let f = target_at(&server.uri());
    let s = suite(&one_case(
        r#"      - name: first
        pam_callback: {approval_id: a1, request_id: r1, decision: approve}
      - name: again
        pam_callback: {approval_id: zz, request_id: zz, decision: deny, replay_of: first}
      - pam_callback: {approval_id: a1, request_id: r1, decision: approve, tamper: signature}
      - pam_callback: {approval_id: a1, request_id: r1, decision: approve, tamper: body}
      - pam_callback: {approval_id: a1, request_id: r1, decision: approve, tamper: omit_signature}
      - pam_callback: {approval_id: a1, request_id: r1, decision: approve, skew_seconds: -600}
"#,
    ));
    let r = run(&f, vec![s], &quick_opts()).await;
    assert_status(&r, "c", Status::Pass);
    let reqs = server.received_requests().await.unwrap();
    let calls: Vec<&Request> = requests_to(&reqs, "/acme/thoth/pam/callback");
    assert_eq!(calls.len(), 6);
    let h = |r: &Request, n: &str| r.headers.get(n).map(|v| v.to_str().unwrap().to_string());
    let scheme = SignatureScheme::default();
    let verify = |r: &Request| match (h(r, "x-thoth-timestamp"), h(r, "x-thoth-signature")) {
        (Some(ts), Some(sig)) => scheme.verify(PAM_SECRET.as_bytes(), &ts, &sig, &r.body),
        _ => Err(SignatureError::MissingHeader("X-Thoth-Signature".into())),
    };
    assert_eq!(verify(calls[0]), Ok(()));
    let body: serde_json::Value = serde_json::from_slice(&calls[0].body).unwrap();
    assert_eq!(
        body,
        json!({"approval_id": "a1", "request_id": "r1", "decision": "approve"})
    );
    // The replay is the same bytes: same timestamp, same signature, same body.
    assert_eq!(calls[1].body, calls[0].body);
    assert_eq!(
        h(calls[1], "x-thoth-timestamp"),
        h(calls[0], "x-thoth-timestamp")
    );
    assert_eq!(
        h(calls[1], "x-thoth-signature"),
        h(calls[0], "x-thoth-signature")
    );
    assert_eq!(verify(calls[2]), Err(SignatureError::Mismatch));
    assert_eq!(verify(calls[3]), Err(SignatureError::Mismatch));
    let tampered: serde_json::Value = serde_json::from_slice(&calls[3].body).unwrap();
    assert_eq!(tampered["decision"], "deny");
    assert!(h(calls[4], "x-thoth-signature").is_none());
    assert!(h(calls[4], "x-thoth-timestamp").is_some());
    assert_eq!(verify(calls[5]), Ok(()));
    let ts: i64 = h(calls[5], "x-thoth-timestamp").unwrap().parse().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(ts <= now - 590, "skewed timestamp {ts} vs now {now}");
}

fn delivery(seq: u64, body: &str, signed_with: Option<&str>) -> serde_json::Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    delivery_signed(
        seq,
        body,
        signed_with.map(|s| vec![s]).unwrap_or_default(),
        now,
    )
}

/// A sink row signed at `ts` with each secret in turn, in one header (`v1=..,v1=..`), as
/// a sender rotating its secret does.
fn delivery_signed(seq: u64, body: &str, secrets: Vec<&str>, ts: i64) -> serde_json::Value {
    let mut headers = json!({"x-thoth-event": "webhook.test", "content-type": "application/json"});
    if !secrets.is_empty() {
        let ts = ts.to_string();
        let sigs: Vec<String> = secrets
            .iter()
            .map(|secret| SignatureScheme::default().sign(secret.as_bytes(), &ts, body.as_bytes()))
            .collect();
        headers["x-thoth-timestamp"] = json!(ts);
        headers["x-thoth-signature"] = json!(sigs.join(","));
    }
    json!({"seq": seq, "received_at": "2026-01-01T00:00:00Z", "headers": headers, "body": body, "signature_valid": null})
}

#[tokio::test]
async fn sink_wait_verifies_signatures_itself() {
    let server = MockServer::start().await;
    let body =
        r#"{"event_type":"webhook.test","tenant_id":"acme","occurred_at":"2026-01-01T00:00:00Z"}"#;
    let other = r#"{"event_type":"settings.updated","tenant_id":"acme","occurred_at":"x"}"#;
    Mock::given(path("/__sink/signed"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            delivery(1, other, Some(WEBHOOK_SECRET)),
            delivery(2, body, Some(WEBHOOK_SECRET)),
        ]})))
        .mount(&server)
        .await;
    Mock::given(path("/__sink/unsigned"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [delivery(1, body, None)]})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/__sink/wrongkey"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [delivery(1, body, Some("whsec_someone_else"))]})),
        )
        .mount(&server)
        .await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Mock::given(path("/__sink/rotating"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            delivery_signed(1, body, vec!["whsec_retired", WEBHOOK_SECRET], now),
        ]})))
        .mount(&server)
        .await;
    Mock::given(path("/__sink/stale"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            delivery_signed(1, body, vec![WEBHOOK_SECRET], now - 3600),
        ]})))
        .mount(&server)
        .await;
    let f = target_at(&server.uri());
    let wait = |phase: &str, sink: &str| {
        let mut s = suite(&one_case(&format!(
            "      - sink_wait: {{sink: {sink}, timeout: 300ms}}\n        expect: {{headers: {{x-thoth-event: webhook.test}}, json: [{{path: $.event_type, equals: webhook.test}}]}}\n        capture: {{tenant_seen: $.tenant_id}}\n"
        )));
        s.phase = phase.into();
        s
    };
    let r = run(
        &f,
        vec![
            wait("signed", "signed"),
            wait("unsigned", "unsigned"),
            wait("wrongkey", "wrongkey"),
            wait("nothing", "empty"),
            wait("rotating", "rotating"),
            wait("stale", "stale"),
        ],
        &quick_opts(),
    )
    .await;
    let by = |p: &str| r.cases.iter().find(|c| c.phase == p).unwrap();
    assert_eq!(
        by("signed").status,
        Status::Pass,
        "{:?}",
        by("signed").message
    );
    let m = by("unsigned").message.clone().unwrap();
    assert_eq!(by("unsigned").status, Status::Fail);
    assert!(
        m.contains("failed to verify signature: no `X-Thoth-Timestamp` header"),
        "{m}"
    );
    let m = by("wrongkey").message.clone().unwrap();
    assert_eq!(by("wrongkey").status, Status::Fail);
    assert!(m.contains("the MAC does not match"), "{m}");
    // A header with several signatures (a sender rotating its secret) verifies when one
    // of them is made with the webhook secret: failing it would be a false alarm.
    assert_eq!(
        by("rotating").status,
        Status::Pass,
        "{:?}",
        by("rotating").message
    );
    // A correct MAC over an hour-old timestamp is a replayable delivery.
    let m = by("stale").message.clone().unwrap();
    assert_eq!(by("stale").status, Status::Fail);
    assert!(m.contains("s away from now (limit 300 s)"), "{m}");
    // The empty sink answers 404 here: that is the sink's problem, an error.
    assert_eq!(
        by("nothing").status,
        Status::Error,
        "{:?}",
        by("nothing").message
    );
    let reqs = server.received_requests().await.unwrap();
    for r in reqs.iter().filter(|r| r.url.path().starts_with("/__sink")) {
        assert!(r.headers.get("authorization").is_none() && r.headers.get("x-api-key").is_none());
    }
}

#[tokio::test]
async fn a_target_config_changes_how_pam_callbacks_are_signed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/acme/pam/cb"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let f = target_at(&server.uri());
    let schemes = thoth_conformance::signing::Schemes::parse(
        "pam_callback_path: /pam/cb\npam:\n  signature_header: X-Sig\n  timestamp_header: X-Ts\n  prefix: \"sha256=\"\n  encoding: base64\n  canonical: \"{body}|{ts}\"\n",
    )
    .unwrap();
    let Fixture {
        target,
        redactor,
        dir,
    } = f;
    let f = Fixture {
        target: target.with_schemes(schemes.clone()),
        redactor,
        dir,
    };
    let s = suite(&one_case(
        "      - pam_callback: {approval_id: a1, request_id: r1, decision: approve}\n",
    ));
    let r = run(&f, vec![s], &quick_opts()).await;
    assert_status(&r, "c", Status::Pass);
    let reqs = server.received_requests().await.unwrap();
    let call = requests_to(&reqs, "/acme/pam/cb")[0];
    let ts = call.headers.get("x-ts").unwrap().to_str().unwrap();
    let sig = call.headers.get("x-sig").unwrap().to_str().unwrap();
    assert!(sig.starts_with("sha256="), "{sig}");
    assert_eq!(
        schemes
            .pam
            .verify(PAM_SECRET.as_bytes(), ts, sig, &call.body),
        Ok(())
    );
    assert!(call.headers.get("x-thoth-signature").is_none());
}
