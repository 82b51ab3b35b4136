//! `--evidence-jsonl` and `--evidence-webhook`: one redacted event per case, delivered
//! signed to a SIEM sink (the mock's `/__sink`, checked by the sink itself and again
//! with `signing.rs`), and a receiver that fails never changes a verdict.

use crate::cli_support;

use cli_support::{case_statuses, cli_async, json, root, s, text};
use serde_json::{json, Value};
use thoth_conformance::evidence::EVENT_TYPE;
use thoth_conformance::signing::{MacEncoding, SignatureScheme};

const ADMIN: &str = "adm_evidence_token_0123456789";
const SECRET: &str = "whsec_evidence_secret_0123456789";

async fn start_mock() -> mock_govapi::RunningMock {
    let mut cfg = mock_govapi::MockConfig::dev_default();
    cfg.tenants = vec![mock_govapi::TenantConfig {
        id: "acme".into(),
        admin_tokens: vec![ADMIN.into()],
        org_api_keys: vec![],
    }];
    mock_govapi::spawn(cfg).await.expect("start the mock")
}

async fn configure_sink(base: &str, name: &str, config: Value) {
    let r = reqwest::Client::new()
        .put(format!("{base}/__sink/{name}/config"))
        .json(&config)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

async fn deliveries(base: &str, name: &str) -> Vec<Value> {
    let v: Value = reqwest::get(format!("{base}/__sink/{name}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["data"].as_array().unwrap().clone()
}

fn headers_of(delivery: &Value) -> Vec<(String, String)> {
    delivery["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// A live-kind run of the small e2e suite against `base`, with the runbook env vars.
async fn live_run(base: &str, dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let token = dir.join("jwt");
    std::fs::write(&token, ADMIN).unwrap();
    let e2e = root().join("tests/fixtures/e2e");
    let (suites, fixtures, reports) = (
        e2e.join("suites"),
        e2e.join("fixtures"),
        dir.join("reports"),
    );
    let mut args = vec![
        "run",
        "--target",
        "live",
        "--suites",
        s(&suites),
        "--fixtures",
        s(&fixtures),
        "--reports",
        s(&reports),
    ];
    args.extend_from_slice(extra);
    let webhook_url = format!("{base}/__sink/siem");
    cli_async(
        &args,
        &[
            ("THOTH_TENANT_ID", "acme"),
            ("THOTH_GOVAPI_URL", base),
            ("THOTH_ADMIN_BEARER_TOKEN_FILE", s(&token)),
            ("THOTH_WEBHOOK_URL", &webhook_url),
            ("THOTH_WEBHOOK_SECRET", SECRET),
            (
                "THOTH_PAM_CALLBACK_SECRET",
                "pam_evidence_events_0123456789",
            ),
        ],
    )
    .await
}

#[tokio::test]
async fn every_case_is_an_event_in_the_jsonl_and_a_signed_delivery() {
    let mock = start_mock().await;
    let base = mock.base_url.trim_end_matches('/').to_owned();
    configure_sink(&base, "evidence", json!({ "secret": SECRET })).await;
    let dir = tempfile::tempdir().unwrap();
    // Under the reports directory, which does not exist before the run.
    let jsonl = dir.path().join("reports/evidence.jsonl");
    let hook = format!("{base}/__sink/evidence");
    let o = live_run(
        &base,
        dir.path(),
        &["--evidence-jsonl", s(&jsonl), "--evidence-webhook", &hook],
    )
    .await;
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));

    let results = json(&dir.path().join("reports/results.json"));
    let run = &results["run"];
    let statuses = case_statuses(&results);
    assert_eq!(statuses.len(), 3, "the e2e suite has three cases");

    let file = std::fs::read_to_string(&jsonl).unwrap();
    for secret in [ADMIN, SECRET] {
        assert!(!file.contains(secret), "a secret in the evidence file");
    }
    let lines: Vec<&str> = file.lines().collect();
    let events: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // One event per case, in completion order (one phase: file order).
    assert_eq!(events.len(), statuses.len());
    for (event, (name, status)) in events.iter().zip(&statuses) {
        assert_eq!(event["event"], EVENT_TYPE);
        assert_eq!(
            format!(
                "{}::{}",
                event["phase"].as_str().unwrap(),
                event["case"].as_str().unwrap()
            ),
            *name
        );
        assert_eq!(event["verdict"], status.as_str());
        assert_eq!(event["run_id"], run["run_id"]);
        assert_eq!(event["suites_hash"], run["suites_hash"]);
        assert_eq!(event["harness_version"], run["harness_version"]);
        assert_eq!(event["tenant"], "acme");
        assert_eq!(event["target"], "live");
        assert_eq!(event["shard"], Value::Null);
        assert!(event["time"].as_str().is_some_and(|t| t.ends_with('Z')));
        let case = run["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["case_id"] == event["case"])
            .unwrap();
        assert_eq!(event["requirements"], case["requirements"]);
        assert_eq!(event["message"], case["message"]);
    }

    let got = deliveries(&base, "evidence").await;
    assert_eq!(got.len(), lines.len());
    let scheme = SignatureScheme::default();
    for (d, line) in got.iter().zip(&lines) {
        // The same bytes as the JSONL line, signed with the webhook secret.
        assert_eq!(d["body"].as_str().unwrap(), *line);
        assert_eq!(d["headers"]["x-thoth-event"], EVENT_TYPE);
        assert_eq!(d["signature_valid"], true, "{d}");
        scheme
            .verify_headers(SECRET.as_bytes(), &headers_of(d), line.as_bytes())
            .expect("signature verifies with signing.rs");
        assert!(scheme
            .verify_headers(b"another-secret", &headers_of(d), line.as_bytes())
            .is_err());
    }
    let evidence = &run["evidence"];
    assert_eq!(evidence["events"], 3);
    assert_eq!(evidence["delivered"], 3);
    assert_eq!(evidence["failures"], json!([]));
    // Only the origin is recorded: a hook's path may hold a token.
    assert_eq!(evidence["webhook"], format!("{base}/…"));
    mock.shutdown().await;
}

#[tokio::test]
async fn deliveries_follow_the_target_configs_webhook_scheme() {
    let mock = start_mock().await;
    let base = mock.base_url.trim_end_matches('/').to_owned();
    configure_sink(&base, "custom", json!({ "secret": SECRET })).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("target.yaml");
    std::fs::write(
        &config,
        "webhook:\n  signature_header: X-Sig\n  prefix: \"sha256=\"\n  encoding: base64\n",
    )
    .unwrap();
    let hook = format!("{base}/__sink/custom");
    let o = live_run(
        &base,
        dir.path(),
        &["--target-config", s(&config), "--evidence-webhook", &hook],
    )
    .await;
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    let got = deliveries(&base, "custom").await;
    assert_eq!(got.len(), 3);
    let scheme = SignatureScheme {
        signature_header: "X-Sig".into(),
        prefix: "sha256=".into(),
        encoding: MacEncoding::Base64,
        ..SignatureScheme::default()
    };
    for d in &got {
        let body = d["body"].as_str().unwrap();
        scheme
            .verify_headers(SECRET.as_bytes(), &headers_of(d), body.as_bytes())
            .expect("signed with the configured scheme");
        // The sink checks the default scheme only: this delivery is not in it.
        assert_eq!(d["signature_valid"], false);
    }
    mock.shutdown().await;
}

#[tokio::test]
async fn a_failing_receiver_is_reported_and_never_changes_a_verdict() {
    let mock = start_mock().await;
    let base = mock.base_url.trim_end_matches('/').to_owned();
    configure_sink(&base, "down", json!({ "status": 500 })).await;
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let hook = format!("{base}/__sink/down");
    // The whole suite against the in-process mock of the run itself: many more cases
    // than the give-up threshold.
    let (suites, fixtures) = (cli_support::suites(), cli_support::fixtures());
    let args = [
        "run",
        "--suites",
        s(&suites),
        "--fixtures",
        s(&fixtures),
        "--reports",
        s(&reports),
        "--quiet",
        "--evidence-webhook",
        &hook,
    ];
    let o = cli_async(&args, &[]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        stderr.contains("failed to deliver the evidence event of")
            && stderr.contains(&format!("to {base}/…: HTTP 500"))
            && !stderr.contains("/__sink/down"),
        "{stderr}"
    );
    let results = json(&reports.join("results.json"));
    let statuses = case_statuses(&results);
    assert!(
        statuses.iter().all(|(_, st)| st == "pass" || st == "skip"),
        "{statuses:?}"
    );
    let evidence = &results["run"]["evidence"];
    assert_eq!(evidence["events"], statuses.len());
    assert_eq!(evidence["delivered"], 0);
    let failures = evidence["failures"].as_array().unwrap();
    let give_up = thoth_conformance::evidence::GIVE_UP_AFTER;
    assert_eq!(failures.len(), give_up + 1, "{failures:?}");
    assert!(failures[give_up].as_str().unwrap().contains(&format!(
        "failed to deliver {} more evidence event(s)",
        statuses.len() - give_up
    )));
    // Only the attempts before giving up reached the receiver.
    assert_eq!(deliveries(&base, "down").await.len(), give_up);
    mock.shutdown().await;
}

#[tokio::test]
async fn a_webhook_needs_a_secret_and_a_secure_url() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("jwt");
    std::fs::write(&token, ADMIN).unwrap();
    let reports = dir.path().join("reports");
    let base = [
        "run",
        "--target",
        "live",
        "--reports",
        s(&reports),
        "--evidence-webhook",
    ];
    let env = [
        ("THOTH_TENANT_ID", "acme"),
        ("THOTH_GOVAPI_URL", "http://127.0.0.1:9"),
        ("THOTH_ADMIN_BEARER_TOKEN_FILE", s(&token)),
    ];
    let o = cli_async(&[&base[..], &["http://127.0.0.1:9/hook"]].concat(), &env).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("needs the webhook secret"),
        "{}",
        text(&o)
    );
    let with_secret = [&env[..], &[("THOTH_WEBHOOK_SECRET", SECRET)]].concat();
    let o = cli_async(
        &[&base[..], &["http://siem.example.com/hook"]].concat(),
        &with_secret,
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("must use https"), "{}", text(&o));
}
