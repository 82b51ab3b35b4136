//! A hostile target that hands the run's secrets back in disguise (issue 17, "Secrets"
//! and "Input"): JSON-escaped the way PHP and Python write them, upper-cased, in hex,
//! wrapped across lines, as parts of the admin JWT, at the end of a long error body (a
//! message cut for display), under a renamed key field of a create answer, echoed from
//! a fixture holding a credential, and in a body far over the storage cap. Every secret
//! assertion must fail, every artifact must be free of every form (checked byte by
//! byte here, independently of the scan), and the final scan must agree.

use crate::common;

use std::path::{Path, PathBuf};

use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use common::*;
use thoth_conformance::outcome::{RunResult, Status};
use thoth_conformance::redact::{
    scan_for_secrets, Redactor, MAX_PASSED_BODY_BYTES, MAX_STORED_BODY_BYTES,
};
use thoth_conformance::target::{LiveOptions, Target};

/// The webhook secret, with a `/` for PHP to escape and an `é` for Python to.
const HOOK: &str = "whsec_canary/é_5f3a9c0d1e2b";
/// The admin token: a JWT, echoed back one segment at a time.
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnktYWRtaW4tMDEyMyJ9.Y2FuYXJ5LXNpZ25hdHVyZS0wMTIzNDU2Nzg5";
const JWT_PAYLOAD: &str = "eyJzdWIiOiJjYW5hcnktYWRtaW4tMDEyMyJ9";
const JWT_SIGNATURE: &str = "Y2FuYXJ5LXNpZ25hdHVyZS0wMTIzNDU2Nzg5";
/// The org key: 43 characters, like the one of which 25 escaped a cut message.
const ORG: &str = "thoth_org_canary_7d1c0b9a8f6e5d4c3b2a19087";
/// A create-key answer's plaintext under `key` rather than `api_key`.
const RENAMED: &str = "thoth_sk_canary_renamed_field_0123456789";
/// A credential in a fixture file, as users are invited to point `--fixtures` at.
const FIXTURE_SECRET: &str = "jamf-client-secret-canary-0123456789";

fn php(s: &str) -> String {
    s.replace('/', "\\/")
}
fn python(s: &str) -> String {
    s.replace('é', "\\u00e9")
}
fn wrapped(s: &str) -> String {
    let (a, b) = s.split_at(10);
    format!("{a}\n    {b}")
}

/// Every form in which a secret may not appear in any artifact.
fn forbidden() -> Vec<String> {
    let mut v = vec![
        HOOK.to_owned(),
        php(HOOK),
        python(HOOK),
        php(&python(HOOK)),
        HOOK.to_uppercase(),
        hex::encode(HOOK),
        JWT.to_owned(),
        JWT_PAYLOAD.to_owned(),
        JWT_SIGNATURE.to_owned(),
        // Half of each long secret: what a cut message would keep of it.
        ORG[..ORG.len().div_ceil(2)].to_owned(),
        RENAMED[..RENAMED.len().div_ceil(2)].to_owned(),
        FIXTURE_SECRET[..FIXTURE_SECRET.len().div_ceil(2)].to_owned(),
    ];
    // A wrapped form, as it reads in JSON text.
    v.push(wrapped(HOOK).replace('\n', "\\n"));
    v
}

async fn hostile(uri: Uri, body: Bytes) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    let path = uri.path().rsplit('/').next().unwrap_or_default().to_owned();
    let json = ("content-type", "application/json");
    let ok = |b: String| (StatusCode::OK, [json], b);
    match path.as_str() {
        "" => ok("{}".into()),
        "php" => ok(format!(r#"{{"webhook":{{"secret":"{}"}}}}"#, php(HOOK))),
        "python" => ok(format!(r#"{{"webhook":{{"secret":"{}"}}}}"#, python(HOOK))),
        "both" => ok(format!(
            r#"{{"webhook":{{"secret":"{}"}}}}"#,
            php(&python(HOOK))
        )),
        "upper" => ok(format!(r#"{{"echo":"{}"}}"#, HOOK.to_uppercase())),
        "hex" => ok(format!(r#"{{"echo":"{}"}}"#, hex::encode(HOOK))),
        "wrapped" => ok(format!("webhook secret:\n{}\n", wrapped(HOOK))),
        "jwt" => ok(format!(
            r#"{{"claims":"{JWT_PAYLOAD}","sig":"{JWT_SIGNATURE}"}}"#
        )),
        "cut" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [json],
            format!(r#"{{"error":"{}","key":"{ORG}"}}"#, "x".repeat(130)),
        ),
        "keys" => (
            StatusCode::CREATED,
            [json],
            format!(r#"{{"key_id":"k-1","name":"renamed","key":"{RENAMED}"}}"#),
        ),
        "fixture" => ok(String::from_utf8_lossy(&body).into_owned()),
        "huge" => ok(format!(
            r#"{{"items":"{}","tail":"{}"}}"#,
            "y".repeat(4 * 1024 * 1024 - 100),
            HOOK
        )),
        _ => (StatusCode::NOT_FOUND, [json], "{}".into()),
    }
}

async fn hostile_server() -> String {
    let app = axum::Router::new().fallback(hostile);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn target(base: &str, dir: &Path) -> (Target, Redactor) {
    let token_file = dir.join("jwt");
    std::fs::write(&token_file, JWT).unwrap();
    let redactor = Redactor::new();
    let opts = LiveOptions {
        tenant_id: Some("acme".into()),
        govapi_url: Some(base.into()),
        auth_token_file: Some(token_file),
        org_api_key: Some(ORG.into()),
        webhook_secret: Some(HOOK.into()),
        pam_callback_secret: Some(PAM_SECRET.into()),
        sink_url: Some(format!("{base}/__sink")),
        sink_name: Some("siem".into()),
        ..LiveOptions::default()
    };
    let target = Target::live(&opts, &|_| None, &redactor).unwrap();
    (target, redactor)
}

const SUITE: &str = r#"
phase: hostile
title: t
runbook: r
cases:
  - {id: php, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /echo/php}, expect: {body_not_contains: ["{{webhook_secret}}"]}}]}
  - {id: python, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /echo/python}, expect: {body_not_contains: ["{{webhook_secret}}"]}}]}
  - {id: both, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /echo/both}, expect: {body_not_contains: ["{{webhook_secret}}"]}}]}
  - {id: upper, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /echo/upper}, expect: {body_not_contains: ["{{webhook_secret}}"]}}]}
  - {id: hex, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /echo/hex}, expect: {body_not_contains: ["{{webhook_secret}}"]}}]}
  - {id: wrapped, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /echo/wrapped}, expect: {body_not_contains: ["{{webhook_secret}}"]}}]}
  - {id: jwt, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /echo/jwt}}]}
  - {id: cut, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /echo/cut}}]}
  - id: renamed
    title: t
    capability: c
    effect: mutate
    steps:
      - request: {method: POST, path: /keys, json: {name: renamed}}
        capture: {api_key: {path: $.api_key, secret: true}}
        creates: [{kind: api_key, id: k-1, undo: {method: DELETE, path: /keys/k-1}}]
  - {id: fixture, title: t, capability: c, effect: read, steps: [{request: {method: POST, path: /echo/fixture, body_file: provider.json}}]}
  - {id: huge, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /echo/huge}}]}
  - {id: hugefail, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /echo/huge}, expect: {status: 201}}]}
"#;

/// Runs the hostile suite and writes every report; returns the run and the artifacts.
async fn hostile_run() -> (RunResult, Vec<PathBuf>, Redactor, tempfile::TempDir) {
    let base = hostile_server().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("provider.json"),
        format!(r#"{{"provider":"jamf","config":{{"client_id":"cid","client_secret":"{FIXTURE_SECRET}"}}}}"#),
    )
    .unwrap();
    let (target, redactor) = target(&base, dir.path());
    let p = project(vec![suite(SUITE)], dir.path());
    let r = thoth_conformance::runner::run_project(&p, &target, &quick_opts(), &redactor).await;
    let out = dir.path().join("reports");
    let paths =
        thoth_conformance::report::write_reports(&r, &p.catalogue, &out, &redactor).unwrap();
    (r, paths.all(), redactor, dir)
}

fn assert_clean(artifacts: &[PathBuf], texts: &[&str], redactor: &Redactor) {
    for path in artifacts {
        let bytes = std::fs::read(path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for f in forbidden() {
            assert!(
                !text.to_lowercase().contains(&f.to_lowercase()),
                "{}: holds a form of a canary ({} chars)",
                path.display(),
                f.len()
            );
        }
    }
    let hits = scan_for_secrets(artifacts, texts, redactor);
    assert!(hits.is_empty(), "{hits:?}");
}

#[tokio::test]
async fn json_escaped_secrets_fail_secret_assertions() {
    let (r, artifacts, redactor, _dir) = hostile_run().await;
    for id in ["php", "python", "both", "upper", "hex", "wrapped"] {
        let m = assert_status(&r, id, Status::Fail);
        assert!(
            m.contains("body_not_contains: the response body contains"),
            "{id}: {m}"
        );
    }
    assert_clean(&artifacts, &[], &redactor);
}

#[tokio::test]
async fn reflected_forms_are_redacted_and_the_scan_catches_them() {
    let (r, artifacts, redactor, _dir) = hostile_run().await;
    assert_status(&r, "jwt", Status::Pass);
    // Every form this run reflects is one the scan catches in unredacted text.
    for form in forbidden() {
        let hits = scan_for_secrets(&[], &[form.as_str()], &redactor);
        assert!(
            !hits.is_empty(),
            "the scan misses a {}-char form",
            form.len()
        );
    }
    assert_clean(&artifacts, &[], &redactor);
}

#[tokio::test]
async fn a_secret_at_the_cut_of_a_message_is_redacted_first() {
    let (r, artifacts, redactor, _dir) = hostile_run().await;
    let m = assert_status(&r, "cut", Status::Fail);
    assert!(m.contains("got 500"), "{m}");
    assert!(!m.contains(&ORG[..8]), "{m}");
    assert_clean(&artifacts, &[m.as_str()], &redactor);
}

#[tokio::test]
async fn a_renamed_key_field_of_a_create_answer_is_a_secret() {
    let (r, artifacts, redactor, _dir) = hostile_run().await;
    let m = assert_status(&r, "renamed", Status::Fail);
    assert!(m.contains("capture `api_key`"), "{m}");
    assert!(redactor.secrets().iter().any(|s| s == RENAMED));
    // Its id stays readable: the ledger records it.
    assert!(!redactor.secrets().iter().any(|s| s == "k-1"));
    assert_clean(&artifacts, &[], &redactor);
}

#[tokio::test]
async fn fixture_credentials_are_registered_as_secrets() {
    let (r, artifacts, redactor, _dir) = hostile_run().await;
    assert_status(&r, "fixture", Status::Pass);
    let c = case(&r, "fixture");
    let sent = c.steps[0].exchanges[0].request_body.as_deref().unwrap();
    assert!(sent.contains(FIXTURE_SECRET), "sent as the fixture says");
    assert!(redactor.secrets().iter().any(|s| s == FIXTURE_SECRET));
    assert!(!redactor.secrets().iter().any(|s| s == "cid"));
    assert_clean(&artifacts, &[], &redactor);
}

#[tokio::test]
async fn huge_bodies_are_capped_in_storage_and_still_scanned() {
    let (r, artifacts, redactor, _dir) = hostile_run().await;
    assert_status(&r, "huge", Status::Pass);
    assert_status(&r, "hugefail", Status::Fail);
    let stored = |id: &str| {
        case(&r, id).steps[0].exchanges[0]
            .response_body
            .clone()
            .unwrap()
    };
    // A pass keeps a glimpse, a failure the run's full cap; both note the whole body.
    let (passed, failed) = (stored("huge"), stored("hugefail"));
    assert!(
        passed.len() < MAX_PASSED_BODY_BYTES + 300,
        "{}",
        passed.len()
    );
    assert!(failed.len() > MAX_STORED_BODY_BYTES, "{}", failed.len());
    assert!(
        failed.len() < MAX_STORED_BODY_BYTES + 300,
        "{}",
        failed.len()
    );
    for kept in [&passed, &failed] {
        assert!(
            kept.contains(&format!(
                "{} bytes, sha256 ",
                4 * 1024 * 1024 - 100 + 22 + HOOK.len()
            )),
            "size and hash noted: {}",
            &kept[kept.len() - 200..]
        );
    }
    let results = artifacts
        .iter()
        .find(|p| p.ends_with("results.json"))
        .unwrap();
    let size = std::fs::metadata(results).unwrap().len();
    assert!(size < 2 * 1024 * 1024, "results.json is {size} bytes");
    assert_clean(&artifacts, &[], &redactor);
}
