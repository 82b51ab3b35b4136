//! End to end: a small suite directory (tests/fixtures/e2e) against the in-process mock,
//! clean and faulted, through the library and through the binary; and a canary run that
//! plants known secrets and scans every artifact and the console output for them.

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use thoth_conformance::outcome::Status;
use thoth_conformance::redact::Redactor;
use thoth_conformance::runner::{run_project, RunOptions};
use thoth_conformance::suite::load::load_project;
use thoth_conformance::target::{MockOptions, Target, TargetError};

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/e2e")
}

async fn run_with_faults(faults: &[&str]) -> thoth_conformance::outcome::RunResult {
    let project = load_project(&e2e_dir().join("suites"), &e2e_dir().join("fixtures")).unwrap();
    let redactor = Redactor::new();
    let opts = MockOptions {
        faults: faults.iter().map(|s| s.to_string()).collect(),
        ..MockOptions::default()
    };
    let target = Target::start_mock(&opts, &redactor).await.unwrap();
    let run = run_project(&project, &target, &RunOptions::default(), &redactor).await;
    target.shutdown().await;
    run
}

fn status_of(run: &thoth_conformance::outcome::RunResult, id: &str) -> (Status, String) {
    let c = run.cases.iter().find(|c| c.case_id == id).unwrap();
    (c.status, c.message.clone().unwrap_or_default())
}

#[tokio::test]
async fn small_suite_passes_against_the_clean_mock() {
    let run = run_with_faults(&[]).await;
    for c in &run.cases {
        assert_eq!(c.status, Status::Pass, "{}: {:?}", c.case_id, c.message);
    }
    assert_eq!(run.target.kind, "mock");
    assert!(run.target.mock_faults.is_empty());
    // Cleanup of the key ran and passed, reported apart.
    let key = run
        .cases
        .iter()
        .find(|c| c.case_id == "key_lifecycle")
        .unwrap();
    assert_eq!(key.cleanup.len(), 1);
    assert_eq!(key.cleanup[0].status, Status::Pass);
}

#[tokio::test]
async fn faulted_mocks_are_caught_with_precise_messages() {
    let run = run_with_faults(&["key-scope-ignored"]).await;
    assert_eq!(
        status_of(&run, "key_lifecycle"),
        (
            Status::Fail,
            "step \"authorize out of scope\": $.scope_allowed: expected false, got true".into()
        )
    );
    assert_eq!(
        run.target.mock_faults,
        vec!["key-scope-ignored".to_string()]
    );

    let run = run_with_faults(&["webhook-unsigned"]).await;
    let (status, msg) = status_of(&run, "webhook_signed");
    assert_eq!(status, Status::Fail);
    assert!(msg.contains("failed to verify signature"), "{msg}");

    let run = run_with_faults(&["secrets-echoed"]).await;
    let (status, msg) = status_of(&run, "settings_applied");
    assert_eq!(status, Status::Fail);
    assert!(
        msg.starts_with("step \"read back\": body_not_contains"),
        "{msg}"
    );
}

#[tokio::test]
async fn unknown_fault_is_refused_with_the_known_list() {
    let err = Target::start_mock(
        &MockOptions {
            faults: vec!["no-such-fault".into()],
            ..MockOptions::default()
        },
        &Redactor::new(),
    )
    .await
    .unwrap_err();
    match err {
        TargetError::UnknownFault { name, known } => {
            assert_eq!(name, "no-such-fault");
            assert!(known.contains("key-scope-ignored"));
        }
        other => panic!("unexpected {other}"),
    }
}

fn cli(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_thoth-conformance"));
    cmd.args(args);
    for k in [
        "THOTH_TENANT_ID",
        "THOTH_APEX_DOMAIN",
        "THOTH_GOVAPI_URL",
        "THOTH_API_KEY",
        "THOTH_ORG_API_KEY",
        "THOTH_ADMIN_BEARER_TOKEN_FILE",
        "THOTH_WEBHOOK_URL",
        "THOTH_WEBHOOK_SECRET",
        "THOTH_PAM_CALLBACK_SECRET",
        "THOTH_OTHER_TENANT_ID",
    ] {
        cmd.env_remove(k);
    }
    cmd.envs(envs.iter().copied());
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn cli_exit_codes() {
    let dir = e2e_dir();
    let suites = dir.join("suites");
    let fixtures = dir.join("fixtures");
    let reports = tempfile::tempdir().unwrap();
    let base = [
        "run",
        "--suites",
        suites.to_str().unwrap(),
        "--fixtures",
        fixtures.to_str().unwrap(),
        "--reports",
        reports.path().to_str().unwrap(),
    ];

    let list = cli(
        &[
            "list",
            "--suites",
            suites.to_str().unwrap(),
            "--fixtures",
            fixtures.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(list.status.code(), Some(0), "{}", text(&list));
    let table = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        table.contains("phase") && table.contains("requirements"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.contains("smoke") && l.contains("key_lifecycle") && l.contains("E2E-02")),
        "{table}"
    );

    let bad_config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad_config.path(), "pam:\n  canonical: \"{ts}\"\n").unwrap();
    let refused = cli(
        &[
            &base[..],
            &["--target-config", bad_config.path().to_str().unwrap()],
        ]
        .concat(),
        &[],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("must contain {body}"),
        "{}",
        text(&refused)
    );

    let ok = cli(&base, &[]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(reports.path().join("junit.xml").is_file());
    assert!(text(&ok).contains("smoke::key_lifecycle"));

    let faulted = cli(
        &[&base[..], &["--mock-fault", "key-scope-ignored"]].concat(),
        &[],
    );
    assert_eq!(faulted.status.code(), Some(1), "{}", text(&faulted));
    assert!(text(&faulted).contains("$.scope_allowed: expected false, got true"));

    let unknown = cli(&[&base[..], &["--mock-fault", "bogus"]].concat(), &[]);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(text(&unknown).contains("unknown fault `bogus`"));

    let insecure = cli(
        &[&base[..], &["--target", "live"]].concat(),
        &[
            ("THOTH_TENANT_ID", "acme"),
            ("THOTH_GOVAPI_URL", "http://grid.acme.example.com"),
            ("THOTH_API_KEY", "thoth_abcdefgh"),
        ],
    );
    assert_eq!(insecure.status.code(), Some(2), "{}", text(&insecure));
    assert!(text(&insecure).contains("must use https"));

    // A broken suite: diagnostics on stderr, exit 2, no run.
    let broken = tempfile::tempdir().unwrap();
    std::fs::copy(
        suites.join("requirements.yaml"),
        broken.path().join("requirements.yaml"),
    )
    .unwrap();
    std::fs::write(
        broken.path().join("bad.yaml"),
        "phase: bad\ntitle: t\nrunbook: r\ncases:\n  - id: x\n    title: x\n    capability: settings\n    effect: read\n    steps:\n      - request: {method: GETT, path: /x}\n",
    )
    .unwrap();
    let bad = cli(
        &[
            "run",
            "--suites",
            broken.path().to_str().unwrap(),
            "--reports",
            reports.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("bad.yaml:10:"),
        "{}",
        text(&bad)
    );
    let validate = cli(
        &["validate", broken.path().join("bad.yaml").to_str().unwrap()],
        &[],
    );
    assert_eq!(validate.status.code(), Some(2), "{}", text(&validate));
}

/// Every form a leaked secret could take in a report.
fn forms(secret: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    vec![
        secret.to_string(),
        STANDARD.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
        percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_secrets_never_reach_reports_or_console() {
    const TOKEN: &str = "canary-admin-token-7f3a9c2e1b";
    const KEY: &str = "thoth_canary_org_key_5d8e2a71";
    const WEBHOOK: &str = "canary-webhook-secret-91c4e7";
    const PAM: &str = "canary-pam-secret-3b6f0d2a";
    // A live-kind run against a mock started with known credentials, so the planted
    // values are known to the test and not only to the harness.
    let mut config = mock_govapi::MockConfig::dev_default();
    config.tenants = vec![mock_govapi::TenantConfig {
        id: "acme".into(),
        admin_tokens: vec![TOKEN.into()],
        org_api_keys: vec![KEY.into()],
    }];
    let mock = mock_govapi::spawn(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("jwt");
    std::fs::write(&token_file, TOKEN).unwrap();
    let reports = dir.path().join("reports");
    let e2e = e2e_dir();
    let args: Vec<String> = [
        "run",
        "--target",
        "live",
        "--suites",
        e2e.join("suites").to_str().unwrap(),
        "--fixtures",
        e2e.join("fixtures").to_str().unwrap(),
        "--reports",
        reports.to_str().unwrap(),
        "--tenant-id",
        "acme",
        "--govapi-url",
        &mock.base_url,
        "--auth-token-file",
        token_file.to_str().unwrap(),
        "--sink-url",
        &format!("{}/__sink", mock.base_url),
        "--sink-name",
        "siem",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let webhook_url = format!("{}/__sink/siem", mock.base_url);
    let envs = [
        ("THOTH_WEBHOOK_URL".to_string(), webhook_url),
        ("THOTH_WEBHOOK_SECRET".to_string(), WEBHOOK.to_string()),
        ("THOTH_PAM_CALLBACK_SECRET".to_string(), PAM.to_string()),
        ("THOTH_API_KEY".to_string(), KEY.to_string()),
    ];
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        cli(&args, &envs)
    })
    .await
    .unwrap();
    mock.shutdown().await;
    let console = text(&out);
    assert_eq!(out.status.code(), Some(0), "{console}");

    // The scoped key captured with `secret: true` is replaced in the transcript of the
    // response that carried it.
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("results.json")).unwrap())
            .unwrap();
    let key_case = results["run"]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case_id"] == "key_lifecycle")
        .unwrap();
    let created: serde_json::Value = serde_json::from_str(
        key_case["steps"][0]["exchanges"][0]["response_body"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(created["api_key"], "[REDACTED]");

    let mut artifacts = vec![console];
    for entry in std::fs::read_dir(&reports).unwrap() {
        artifacts.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    assert!(artifacts.len() >= 5, "console plus four reports");
    for secret in [TOKEN, KEY, WEBHOOK, PAM] {
        for form in forms(secret) {
            for (i, a) in artifacts.iter().enumerate() {
                assert!(
                    !a.contains(&form),
                    "artifact #{i} contains a form of a planted secret"
                );
            }
        }
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_run_marks_the_rest_and_still_writes_reports() {
    let dir = tempfile::tempdir().unwrap();
    let suites = dir.path().join("suites");
    std::fs::create_dir(&suites).unwrap();
    std::fs::copy(
        e2e_dir().join("suites/requirements.yaml"),
        suites.join("requirements.yaml"),
    )
    .unwrap();
    std::fs::write(
        suites.join("slow.yaml"),
        r#"phase: slow
title: t
runbook: r
cases:
  - id: quick
    title: q
    requirements: [E2E-01]
    capability: settings
    effect: read
    steps:
      - request: {method: GET, path: /thoth/settings}
  - id: never
    title: n
    requirements: [E2E-01]
    capability: settings
    effect: read
    steps:
      - name: wait forever
        request: {method: GET, path: /thoth/settings}
        eventually: {timeout: 60s, interval: 100ms}
        expect: {json: [{path: $.updated_at, equals: never-this}]}
  - id: after
    title: a
    requirements: [E2E-01]
    capability: settings
    effect: read
    steps:
      - request: {method: GET, path: /thoth/settings}
"#,
    )
    .unwrap();
    let reports = dir.path().join("reports");
    // A mock this test can watch: the signal goes out once the journal shows the
    // polling case at work, so the test does not depend on timing.
    let mut config = mock_govapi::MockConfig::dev_default();
    config.tenants = vec![mock_govapi::TenantConfig {
        id: "acme".into(),
        admin_tokens: vec!["ctrl-c-admin-token-0123".into()],
        org_api_keys: vec![],
    }];
    let mock = mock_govapi::spawn(config).await.unwrap();
    let token_file = dir.path().join("jwt");
    std::fs::write(&token_file, "ctrl-c-admin-token-0123").unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_thoth-conformance"))
        .args(["run", "--target", "live", "--tenant-id", "acme"])
        .args(["--govapi-url", &mock.base_url])
        .args(["--auth-token-file", token_file.to_str().unwrap()])
        .args(["--suites", suites.to_str().unwrap()])
        .args(["--fixtures", e2e_dir().join("fixtures").to_str().unwrap()])
        .args(["--reports", reports.to_str().unwrap()])
        .env_remove("THOTH_API_KEY")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let journal = format!("{}/__admin/journal", mock.base_url);
    let http = reqwest::Client::new();
    // Bounded only so that a broken journal fails the test instead of hanging it.
    let watch = async {
        loop {
            let doc: serde_json::Value = http
                .get(&journal)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let polls = doc["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["path"] == "/acme/thoth/settings")
                .count();
            // One GET from `quick`, then at least two from the polling case.
            if polls >= 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(120), watch)
        .await
        .expect("the journal never showed the polling case");
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().await.unwrap();
    mock.shutdown().await;
    assert_eq!(status.code(), Some(1));
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("results.json")).unwrap())
            .unwrap();
    let run = &results["run"];
    assert_eq!(run["interrupted"], "interrupted (Ctrl-C)");
    let cases = run["cases"].as_array().unwrap();
    let status_of = |id: &str| {
        let c = cases.iter().find(|c| c["case_id"] == id).unwrap();
        (
            c["status"].as_str().unwrap().to_string(),
            c["message"].as_str().unwrap_or_default().to_string(),
        )
    };
    assert_eq!(status_of("quick").0, "pass");
    assert_eq!(
        status_of("never"),
        (
            "error".to_string(),
            "step \"wait forever\": interrupted".to_string()
        )
    );
    assert_eq!(
        status_of("after"),
        ("disabled".to_string(), "interrupted (Ctrl-C)".to_string())
    );
    assert!(reports.join("junit.xml").is_file());
}
