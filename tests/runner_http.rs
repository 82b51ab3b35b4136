//! The runner against a scripted HTTP server (wiremock): auth, captures, polling,
//! retries, broken targets, redirects, body cap and CA loading (signatures: runner_signing.rs).

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::json;
use thoth_conformance::outcome::Status;
use wiremock::matchers::{body_json, header, method, path};
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
async fn captures_flow_to_later_cases_typed_and_auth_variants_are_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/acme/thoth/api-keys"))
        .and(header(
            "authorization",
            format!("Bearer {ADMIN_TOKEN}").as_str(),
        ))
        .and(body_json(json!({"name": "e2e-0badc0de"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"key_id": "k-7", "total": 3, "api_key": "thoth_plaintext_shown_once"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/acme/thoth/api-keys/k-7/authorize"))
        .and(header("x-api-key", ORG_KEY))
        .and(header(
            "authorization",
            format!("Bearer {ADMIN_TOKEN}").as_str(),
        ))
        .and(body_json(
            json!({"api_key": "thoth_plaintext_shown_once", "n": 3}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"valid": true})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/acme/thoth/settings"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "unauthorized"})))
        .mount(&server)
        .await;
    let f = target_at(&server.uri());
    let s = suite(
        r#"
phase: keys
title: t
runbook: r
cases:
  - id: create
    title: c
    capability: cap
    effect: mutate
    steps:
      - name: create key
        request: {method: POST, path: /thoth/api-keys, json: {name: "e2e-{{run_id}}"}}
        expect: {status: 201}
        capture:
          key_id: $.key_id
          total: $.total
          api_key: {path: $.api_key, secret: true}
  - id: use
    title: u
    capability: cap
    effect: read
    steps:
      - name: authorize with both credentials
        request:
          method: POST
          path: "/thoth/api-keys/{{key_id}}/authorize"
          json: {api_key: "{{api_key}}", n: "{{total}}"}
          auth: both
        expect: {json: [{path: $.valid, equals: true}]}
      - name: no credential
        request: {method: GET, path: /thoth/settings, auth: none}
        expect: {status: 401}
      - name: explicit key
        request: {method: GET, path: /thoth/settings, query: {page: "2"}, auth: {api_key: "{{api_key}}"}}
        expect: {status: 401}
"#,
    );
    let r = run(&f, vec![s], &quick_opts()).await;
    assert_status(&r, "create", Status::Pass);
    assert_status(&r, "use", Status::Pass);
    assert!(f
        .redactor
        .secrets()
        .contains(&"thoth_plaintext_shown_once".to_string()));
    let reqs = server.received_requests().await.unwrap();
    let settings = requests_to(&reqs, "/acme/thoth/settings");
    assert_eq!(settings.len(), 2);
    assert!(settings[0].headers.get("authorization").is_none());
    assert!(settings[0].headers.get("x-api-key").is_none());
    assert_eq!(
        settings[1].headers.get("x-api-key").unwrap(),
        "thoth_plaintext_shown_once"
    );
    assert_eq!(settings[1].url.query(), Some("page=2"));
    // The transcript never holds a credential header value.
    let shown = &r.cases[1].steps[0].exchanges[0].request_headers;
    assert!(
        shown
            .iter()
            .all(|(_, v)| !v.contains(ADMIN_TOKEN) && !v.contains(ORG_KEY)),
        "{shown:?}"
    );
}

#[tokio::test]
async fn eventually_succeeds_times_out_and_stops_on_fail_if() {
    let server = MockServer::start().await;
    Mock::given(path("/acme/thoth/mdm/sync-jobs/j1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "running"})))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/acme/thoth/mdm/sync-jobs/j1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "succeeded"})))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(path("/acme/thoth/mdm/sync-jobs/stuck"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "running"})))
        .mount(&server)
        .await;
    Mock::given(path("/acme/thoth/mdm/sync-jobs/broken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "failed"})))
        .mount(&server)
        .await;
    let f = target_at(&server.uri());
    let poll = |job: &str, timeout: &str| {
        suite(&one_case(&format!(
            "      - request: {{method: GET, path: /thoth/mdm/sync-jobs/{job}}}\n        eventually: {{timeout: {timeout}, interval: 20ms, fail_if: [{{path: $.status, equals: failed}}]}}\n        expect: {{json: [{{path: $.status, equals: succeeded}}]}}\n"
        )))
    };
    let mut ok = poll("j1", "10s");
    ok.phase = "ok".into();
    let mut stuck = poll("stuck", "200ms");
    stuck.phase = "stuck".into();
    let mut broken = poll("broken", "10s");
    broken.phase = "broken".into();
    let r = run(&f, vec![ok, stuck, broken], &quick_opts()).await;
    let by_phase = |p: &str| r.cases.iter().find(|c| c.phase == p).unwrap();
    assert_eq!(
        by_phase("ok").status,
        Status::Pass,
        "{:?}",
        by_phase("ok").message
    );
    assert_eq!(by_phase("ok").steps[0].attempts, 3);
    let stuck = by_phase("stuck");
    assert_eq!(stuck.status, Status::Fail);
    let msg = stuck.message.as_deref().unwrap();
    assert!(
        msg.starts_with("step \"step 1\": $.status: expected \"succeeded\", got \"running\" (still not holding after"),
        "{msg}"
    );
    let broken = by_phase("broken");
    assert_eq!(broken.status, Status::Fail);
    assert_eq!(broken.steps[0].attempts, 1, "fail_if stops at once");
    assert!(broken
        .message
        .as_deref()
        .unwrap()
        .contains("fail_if held: $.status"));
}

#[tokio::test]
async fn declared_and_implicit_retries_honour_retry_after() {
    let server = MockServer::start().await;
    for p in ["/acme/thoth/endpoints/stats", "/acme/thoth/endpoints"] {
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total": 1})))
            .with_priority(2)
            .mount(&server)
            .await;
    }
    let f = target_at(&server.uri());
    let mut declared = suite(&one_case(
        "      - request: {method: GET, path: /thoth/endpoints/stats}\n        retry: {attempts: 3, backoff: 10ms}\n",
    ));
    declared.phase = "declared".into();
    let mut implicit = suite(&one_case(
        "      - request: {method: GET, path: /thoth/endpoints}\n",
    ));
    implicit.phase = "implicit".into();
    implicit.after = vec!["declared".into()];
    let mut post = suite(&one_case(
        "      - request: {method: POST, path: /thoth/endpoints/stats}\n        retry: {attempts: 3}\n",
    ));
    post.phase = "post".into();
    post.after = vec!["implicit".into()];
    let r = run(&f, vec![declared, implicit, post], &quick_opts()).await;
    let declared = &r.cases[0];
    assert_eq!(declared.status, Status::Pass, "{:?}", declared.message);
    assert_eq!(declared.steps[0].attempts, 2);
    // Retry-After: 1 was waited for (a lower bound, not a speed assertion).
    assert!(
        declared.steps[0].duration_ms >= 950,
        "{}",
        declared.steps[0].duration_ms
    );
    // Undeclared, a GET is still retried by the client's policy (the vendor clients'),
    // Retry-After honoured, and the retry noted on the exchange.
    let implicit = &r.cases[1];
    assert_eq!(implicit.status, Status::Pass, "{:?}", implicit.message);
    assert!(implicit.steps[0].duration_ms >= 950);
    assert!(implicit.steps[0].exchanges[0]
        .note
        .as_deref()
        .unwrap()
        .contains("answered 503"));
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(
        requests_to(&reqs, "/acme/thoth/endpoints").len(),
        2,
        "one implicit retry"
    );
    let post = &r.cases[2];
    assert_eq!(post.status, Status::Error);
    assert!(post
        .message
        .as_deref()
        .unwrap()
        .contains("only allowed on idempotent"));
}

/// A server that promises 100 bytes and sends 10, then closes.
async fn truncating_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"total\":1")
                    .await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn broken_targets_end_cases_as_fail_or_error_and_the_run_goes_on() {
    let server = MockServer::start().await;
    Mock::given(path("/acme/thoth/e500"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": "internal"})))
        .mount(&server)
        .await;
    Mock::given(path("/acme/thoth/garbage"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .mount(&server)
        .await;
    Mock::given(path("/acme/thoth/stall"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    Mock::given(path("/acme/thoth/fine"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&server)
        .await;
    let truncating = truncating_server().await;
    let f = target_at(&server.uri());
    let s = suite(&format!(
        r#"
phase: broken
title: t
runbook: r
cases:
  - {{id: e500, title: t, capability: c, effect: read, steps: [{{request: {{method: GET, path: /thoth/e500}}}}]}}
  - {{id: garbage, title: t, capability: c, effect: read, steps: [{{request: {{method: GET, path: /thoth/garbage}}, expect: {{json: [{{path: $.ok, equals: true}}]}}}}]}}
  - {{id: stall, title: t, capability: c, effect: read, steps: [{{request: {{method: GET, path: /thoth/stall}}}}]}}
  - {{id: truncated, title: t, capability: c, effect: read, steps: [{{request: {{method: GET, path: "{truncating}/acme/x"}}}}]}}
  - {{id: fine, title: t, capability: c, effect: read, steps: [{{request: {{method: GET, path: /thoth/fine}}}}]}}
"#
    ));
    let mut opts = quick_opts();
    opts.client.request_timeout = Duration::from_secs(2);
    let r = run(&f, vec![s], &opts).await;
    let m = assert_status(&r, "e500", Status::Fail);
    assert!(m.contains("status: expected 2xx, got 500"), "{m}");
    let m = assert_status(&r, "garbage", Status::Fail);
    assert!(m.contains("response is not JSON"), "{m}");
    let m = assert_status(&r, "stall", Status::Error);
    assert!(m.contains("request timeout"), "{m}");
    // The truncating server is outside the target's GovAPI URL: refused before sending.
    let m = assert_status(&r, "truncated", Status::Error);
    assert!(m.contains("outside the target's GovAPI URL"), "{m}");
    assert_status(&r, "fine", Status::Pass);

    // Truncated body against a target whose root is the truncating server.
    let f2 = target_at(&truncating);
    let s2 = suite(&one_case(
        "      - request: {method: GET, path: /thoth/endpoints/stats}\n",
    ));
    let r2 = run(&f2, vec![s2], &opts).await;
    let m = assert_status(&r2, "c", Status::Error);
    assert!(m.contains("read response body"), "{m}");

    // Reports are written for such a run, and the verdict is 1 (there are failures).
    let out = tempfile::tempdir().unwrap();
    let paths = thoth_conformance::report::write_reports(
        &r,
        &common::project(vec![], f.dir.path()).catalogue,
        out.path(),
        &f.redactor,
    )
    .unwrap();
    for p in paths.all() {
        assert!(p.is_file(), "{} missing", p.display());
    }
    assert_eq!(thoth_conformance::verdict::verdict(&r).exit_code, 1);
}

#[tokio::test]
async fn unreachable_target_errors_every_case_and_exits_3() {
    // Bind then drop: nothing listens on this port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let f = target_at(&format!("http://127.0.0.1:{port}"));
    let s = suite(&one_case(
        "      - request: {method: GET, path: /thoth/settings}\n",
    ));
    let r = run(&f, vec![s], &quick_opts()).await;
    let m = assert_status(&r, "c", Status::Error);
    assert!(m.starts_with("target unreachable"), "{m}");
    assert!(r.interrupted.is_some());
    assert_eq!(thoth_conformance::verdict::verdict(&r).exit_code, 3);
}

#[tokio::test]
async fn redirects_are_not_followed_and_no_credential_reaches_the_other_host() {
    let other = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&other)
        .await;
    let server = MockServer::start().await;
    Mock::given(path("/acme/thoth/settings"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/steal", other.uri()).as_str()),
        )
        .mount(&server)
        .await;
    let f = target_at(&server.uri());
    let s = suite(&one_case(
        "      - request: {method: GET, path: /thoth/settings}\n        expect: {status: 302}\n",
    ));
    let r = run(&f, vec![s], &quick_opts()).await;
    assert_status(&r, "c", Status::Pass);
    assert!(other.received_requests().await.unwrap().is_empty());
    // And a suite that expects 2xx sees the 3xx as a failure, not a silent hop.
    let s = suite(&one_case(
        "      - request: {method: GET, path: /thoth/settings}\n",
    ));
    let r = run(&f, vec![s], &quick_opts()).await;
    let m = assert_status(&r, "c", Status::Fail);
    assert!(m.contains("got 302"), "{m}");
    assert!(other.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn oversized_bodies_are_an_error_and_a_bad_ca_file_is_refused() {
    let server = MockServer::start().await;
    Mock::given(path("/acme/thoth/big"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(4096)))
        .mount(&server)
        .await;
    let f = target_at(&server.uri());
    let mut opts = quick_opts();
    opts.client.max_body_bytes = 1024;
    let r = run(
        &f,
        vec![suite(&one_case(
            "      - request: {method: GET, path: /thoth/big}\n",
        ))],
        &opts,
    )
    .await;
    let m = assert_status(&r, "c", Status::Error);
    assert!(m.contains("response body larger than 1024 bytes"), "{m}");

    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate").unwrap();
    let err =
        thoth_conformance::client::HttpClient::new(thoth_conformance::client::ClientOptions {
            ca_cert: Some(ca),
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.to_string().starts_with("failed to "), "{err}");
    let missing =
        thoth_conformance::client::HttpClient::new(thoth_conformance::client::ClientOptions {
            ca_cert: Some(dir.path().join("absent.pem")),
            ..Default::default()
        })
        .unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("failed to read CA certificate"),
        "{missing}"
    );
}

#[tokio::test]
async fn data_plane_steps_reach_the_enforcer_pages_are_walked_and_case_vars_are_scoped() {
    let govapi = MockServer::start().await;
    let enforcer = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/enforce"))
        .and(header("x-api-key", "thoth_exec_key_for_test"))
        .and(body_json(
            json!({"session_id": "s-first", "tool_name": "t"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"decision": "STEP_UP", "hold_token": "hold_1"})),
        )
        .mount(&enforcer)
        .await;
    // The second page holds the row; the first holds someone else's.
    Mock::given(method("GET"))
        .and(path("/acme/thoth/approvals"))
        .and(wiremock::matchers::query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": [{"approval_id": "apr_other", "session_id": "foreign"}]}),
        ))
        .mount(&govapi)
        .await;
    Mock::given(method("GET"))
        .and(path("/acme/thoth/approvals"))
        .and(wiremock::matchers::query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"data": [{"approval_id": "apr_1", "session_id": "s-first"}]}),
            ),
        )
        .mount(&govapi)
        .await;
    Mock::given(method("GET"))
        .and(path("/acme/thoth/endpoints/stats"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total": 5})))
        .mount(&govapi)
        .await;
    let mut f = target_at(&govapi.uri());
    f.target.api_url = Some(enforcer.uri());
    let s = suite(
        r#"
phase: p
title: t
runbook: r
vars: { session: suite-level }
cases:
  - id: first
    title: c
    capability: cap
    effect: mutate
    vars: { session: s-first }
    steps:
      - name: enforce
        request:
          base: enforcer
          method: POST
          path: /v1/enforce
          auth: { api_key: thoth_exec_key_for_test }
          json: { session_id: "{{session}}", tool_name: t }
        expect: { json: [{ path: $.decision, equals: STEP_UP }] }
      - name: find it
        request: { method: GET, path: /thoth/approvals, pages: { per_page: 1 } }
        expect: { json: [{ path: "$.data[?@.session_id == '{{session}}']", count: 1 }] }
        capture: { approval_id: "$.data[?@.session_id == '{{session}}'].approval_id" }
  - id: later
    title: c
    capability: cap
    effect: read
    vars: { before: "3" }
    steps:
      # The case var is gone, the capture stays; others may have added endpoints.
      - name: stats
        request: { method: GET, path: "/thoth/endpoints/stats", query: { s: "{{session}}-{{approval_id}}" } }
        expect: { json: [{ path: $.total, delta: { var: before, by: 1, shared: true } }] }
  - id: exact
    title: c
    capability: cap
    effect: read
    vars: { before: "3" }
    steps:
      - name: stats
        request: { method: GET, path: "/thoth/endpoints/stats" }
        expect: { json: [{ path: $.total, delta: { var: before, by: 1 } }] }
"#,
    );
    let r = run(&f, vec![s], &quick_opts()).await;
    assert_status(&r, "first", Status::Pass);
    assert_status(&r, "later", Status::Pass);
    assert_status(&r, "exact", Status::Fail);
    let on_govapi = govapi.received_requests().await.unwrap();
    assert!(requests_to(&on_govapi, "/v1/enforce").is_empty());
    let sent = enforcer.received_requests().await.unwrap();
    let enforce = requests_to(&sent, "/v1/enforce");
    assert_eq!(enforce.len(), 1);
    // The execute key only, as the Python SDK sends it: never the admin token.
    assert!(enforce[0].headers.get("authorization").is_none());
    let pages: Vec<_> = requests_to(&on_govapi, "/acme/thoth/approvals")
        .iter()
        .map(|r| r.url.query().unwrap_or_default().to_string())
        .collect();
    assert_eq!(pages, ["page=1&per_page=1", "page=2&per_page=1"]);
    let stats = requests_to(&on_govapi, "/acme/thoth/endpoints/stats");
    assert_eq!(stats[0].url.query(), Some("s=suite-level-apr_1"));
}

/// Once a poll of a phase timed out, a later poll of the same phase waits at most
/// `AFTER_A_TIMEOUT` and says so; its verdict is still its own (it would pass if the
/// state held).
#[tokio::test]
async fn a_poll_after_a_timed_out_poll_of_the_phase_is_shortened() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/acme/thoth/endpoints/stats"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total": 0})))
        .mount(&server)
        .await;
    let f = target_at(&server.uri());
    let poll = |id: &str, timeout: &str| {
        format!(
            "  - id: {id}\n    title: t\n    capability: cap\n    effect: read\n    steps:\n      - request: {{method: GET, path: /thoth/endpoints/stats}}\n        eventually: {{timeout: {timeout}, interval: 100ms}}\n        expect: {{status: 200, json: [{{path: \"$.total\", gte: 1}}]}}\n"
        )
    };
    let yaml = format!(
        "phase: p\ntitle: t\nrunbook: r\ncases:\n{}{}  - id: holds\n    title: t\n    capability: cap\n    effect: read\n    steps:\n      - request: {{method: GET, path: /thoth/endpoints/stats}}\n        eventually: {{timeout: 30s}}\n        expect: {{status: 200, json: [{{path: \"$.total\", equals: 0}}]}}\n",
        poll("first", "1500ms"),
        poll("second", "30s")
    );
    let run = run(&f, vec![suite(&yaml)], &quick_opts()).await;
    let first = assert_status(&run, "first", Status::Fail);
    assert!(!first.contains("shortened"), "{first}");
    let second = assert_status(&run, "second", Status::Fail);
    assert!(
        second.contains("shortened: an earlier poll of this phase already timed out"),
        "{second}"
    );
    assert_status(&run, "holds", Status::Pass);
}
