//! Safe on a live tenant, through the binary: `--dry-run` sends nothing, a run killed
//! with SIGKILL leaves a ledger that `cleanup --ledger` finishes (idempotently), and an
//! undo that fails is exit 6.

use crate::safety_support;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use thoth_conformance::safety::Replay;
use tokio::process::Command;

use safety_support::*;

const BIN: &str = env!("CARGO_BIN_EXE_thoth-conformance");

/// Target flags for the standalone mock (no THOTH_* from the environment leaks in:
/// flags win over env vars).
fn target_flags(base: &str, dir: &Path) -> Vec<String> {
    vec![
        "--govapi-url".into(),
        base.into(),
        "--tenant-id".into(),
        TENANT.into(),
        "--auth-token-file".into(),
        token_file(dir).display().to_string(),
    ]
}

fn bin() -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(project_root())
        .env_remove("THOTH_API_KEY")
        .env_remove("THOTH_ORG_API_KEY")
        .kill_on_drop(true);
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_prints_the_plan_and_sends_nothing() {
    let mock = standalone_mock().await;
    let base = mock.base_url.trim_end_matches('/').to_string();
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let out = bin()
        .args(["run", "--dry-run", "--target", "live", "--reports"])
        .arg(&reports)
        .args(target_flags(&base, dir.path()))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(journal(&base).await.is_empty(), "the dry run sent requests");
    assert!(
        !reports.join("ledger.jsonl").exists(),
        "no ledger for a dry run"
    );
    assert!(
        stdout.contains("dry run: profile staging, target live"),
        "{stdout}"
    );
    assert!(
        stdout.contains("scoped_keys::create_endpoint_scoped_key  would run"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "POST /thoth/api-keys  [creates api_key: undo DELETE /thoth/api-keys/{{key_id}}]"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("GET /thoth/endpoints/ep-missing-"),
        "paths are templated: {stdout}"
    );
    // The canary endpoint is retired by quarantine, so staging runs it; the PAM phase
    // opens its own approvals through the data plane, whose URL these flags do not give.
    assert!(
        stdout.contains("endpoints::register_endpoint  would run"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "pam_callback::step_up_opens_approval  skipped: needs the enforcer URL (THOTH_API_URL or --api-url, or THOTH_APEX_DOMAIN)"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains(TOKEN));
    mock.shutdown().await;
}

async fn wait_for_keys_in_ledger(path: &Path, n: usize) -> Replay {
    // Bounded so a broken runner fails the test instead of hanging it.
    for _ in 0..600 {
        if let Ok(r) = Replay::read(path) {
            if r.created
                .values()
                .filter(|c| c.kind.as_str() == "api_key")
                .count()
                >= n
            {
                return r;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the ledger {} never got {n} api_key entries",
        path.display()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_run_then_cleanup_leaves_nothing_active() {
    let mock = standalone_mock().await;
    let base = mock.base_url.trim_end_matches('/').to_string();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    let fixtures = project_root().join("tests/fixtures/live_safety");
    let mut child = bin()
        .args(["run", "--target", "live", "--suites"])
        .arg(fixtures.join("suites"))
        .arg("--fixtures")
        .arg(fixtures.join("fixtures"))
        .arg("--reports")
        .arg(dir.path().join("reports"))
        .arg("--ledger")
        .arg(&ledger)
        .args(target_flags(&base, dir.path()))
        .args(["--filter", "slow_keys::create_keys_then_wait"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let replay = wait_for_keys_in_ledger(&ledger, 2).await;
    child.start_kill().unwrap(); // SIGKILL on Unix: no handler, no cleanup runs
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), None, "killed by a signal");

    let created: Vec<String> = replay.created.values().map(|c| c.id.clone()).collect();
    assert_eq!(replay.pending().len(), 2, "nothing undone before the kill");
    let active = active_keys(&state(&base).await);
    for id in &created {
        assert!(
            active.contains(id),
            "{id} should still be active after the kill"
        );
    }

    // A new run refuses to overwrite a live ledger with records not yet undone.
    let out = bin()
        .args(["run", "--target", "live", "--suites"])
        .arg(fixtures.join("suites"))
        .arg("--fixtures")
        .arg(fixtures.join("fixtures"))
        .arg("--ledger")
        .arg(&ledger)
        .args(target_flags(&base, dir.path()))
        .args(["--filter", "slow_keys::create_keys_then_wait"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds 2 record(s)"));

    let cleanup = |d: &Path| {
        let mut c = bin();
        c.arg("cleanup")
            .arg("--ledger")
            .arg(&ledger)
            .args(target_flags(&base, d));
        c
    };
    let out = cleanup(dir.path()).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 undone, 0 already undone"), "{stdout}");
    let active = active_keys(&state(&base).await);
    for id in &created {
        assert!(!active.contains(id), "{id} still active after cleanup");
    }

    // Idempotent: a second cleanup finds everything done and sends nothing.
    reqwest::Client::new()
        .delete(format!("{base}/__admin/journal"))
        .send()
        .await
        .unwrap();
    let out = cleanup(dir.path()).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("0 undone, 2 already undone"), "{stdout}");
    assert!(journal(&base).await.is_empty());
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_exits_6_while_an_undo_fails_and_2_for_another_tenant() {
    let mock = standalone_mock().await;
    let base = mock.base_url.trim_end_matches('/').to_string();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    // An undo the tenant refuses (unknown provider: 400).
    let lines = [
        serde_json::json!({"op": "begin", "run_id": "deadbeef", "target_kind": "live",
            "govapi_url": base, "tenant": TENANT, "harness_version": "0", "at": "x"}),
        serde_json::json!({"op": "created", "seq": 1, "kind": "mdm_provider", "id": "bogus", "at": "x",
            "undo": {"method": "POST", "path": "/thoth/mdm/providers", "body": {"provider": "bogus"}, "ok_status": []}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&ledger, text).unwrap();

    let out = bin()
        .arg("cleanup")
        .arg("--ledger")
        .arg(&ledger)
        .args(target_flags(&base, dir.path()))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{stdout}");
    assert!(
        stdout.contains("FAILED") && stdout.contains("answered 400"),
        "{stdout}"
    );
    assert!(stdout.contains("cleanup incomplete"), "{stdout}");
    let replay = Replay::read(&ledger).unwrap();
    assert!(replay.failed.contains_key(&1));
    assert_eq!(
        replay.pending().len(),
        1,
        "still pending for the next cleanup"
    );

    let out = bin()
        .arg("cleanup")
        .arg("--ledger")
        .arg(&ledger)
        .args([
            "--govapi-url",
            &base,
            "--tenant-id",
            "other",
            "--auth-token-file",
        ])
        .arg(token_file(dir.path()))
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is for tenant `acme`"));
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_mid_run_still_undoes_the_ledger_and_reports_it() {
    interrupt_mid_run_undoes_the_ledger_and_reports_it("-INT").await;
}

/// `docker stop`, Kubernetes and CI runners send SIGTERM: handled like Ctrl-C.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_run_is_handled_like_ctrl_c() {
    interrupt_mid_run_undoes_the_ledger_and_reports_it("-TERM").await;
}

async fn interrupt_mid_run_undoes_the_ledger_and_reports_it(signal: &str) {
    let mock = standalone_mock().await;
    let base = mock.base_url.trim_end_matches('/').to_string();
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let fixtures = project_root().join("tests/fixtures/live_safety");
    let child = bin()
        .args(["run", "--target", "live", "--suites"])
        .arg(fixtures.join("suites"))
        .arg("--fixtures")
        .arg(fixtures.join("fixtures"))
        .arg("--reports")
        .arg(&reports)
        .args(target_flags(&base, dir.path()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let replay = wait_for_keys_in_ledger(&reports.join("ledger.jsonl"), 2).await;
    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The interrupted case is an error (exit 1), not a cleanup problem (6).
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("2 undone"), "{stdout}");

    let active = active_keys(&state(&base).await);
    for c in replay.created.values() {
        assert!(
            !active.contains(&c.id),
            "{} still active after Ctrl-C",
            c.id
        );
    }
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("results.json")).unwrap())
            .unwrap();
    let cleanup = &results["cleanup"];
    assert_eq!(cleanup["complete"], true, "{cleanup}");
    let outcomes: Vec<&str> = cleanup["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, vec!["undone", "undone"]);
    assert!(Replay::read(&reports.join("ledger.jsonl"))
        .unwrap()
        .pending()
        .is_empty());
    mock.shutdown().await;
}
