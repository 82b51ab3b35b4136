//! `bench` and `scripts/runbook-curl.sh`: the bench prints every figure it promises,
//! and the script passes against a healthy mock and exits non-zero on a defect.
//!
//! The script needs curl, jq and openssl: without them these tests skip with a message
//! on a developer machine, and fail under CI (`CI=true`), where `.ci/run` installs them.

use std::path::PathBuf;
use std::process::Command;

use thoth_conformance::bench::{missing_tools, run_script_once};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// None when the script's tools are present; the skip message otherwise (a panic in CI).
fn tools_or_skip(test: &str) -> Option<String> {
    let missing = missing_tools();
    if missing.is_empty() {
        return None;
    }
    let msg = format!("{test}: skipped: {} not found", missing.join(", "));
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg} (CI must install them: see .ci/run)");
    }
    Some(msg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_curl_script_passes_on_a_healthy_mock_and_fails_on_a_defect() {
    if let Some(skip) = tools_or_skip("runbook-curl.sh") {
        eprintln!("{skip}");
        return;
    }
    let script = root().join("scripts/runbook-curl.sh");
    let healthy = run_script_once(&script, &[]).await.expect("run the script");
    assert!(
        healthy.timed.passed,
        "script failed on a healthy mock (exit {:?}):\n{}",
        healthy.exit_code, healthy.stderr_tail
    );
    assert!(
        healthy.timed.requests > 20,
        "{} requests",
        healthy.timed.requests
    );

    let faults = [
        mock_govapi::Fault::CheckinIgnoresStats,
        mock_govapi::Fault::PamReplayReapplied,
        mock_govapi::Fault::WebhookUnsigned,
    ];
    let runs = futures::future::join_all(faults.map(|fault| {
        let script = script.clone();
        async move { (fault, run_script_once(&script, &[fault]).await) }
    }))
    .await;
    for (fault, broken) in runs {
        let broken = broken.expect("run the script");
        assert_eq!(
            broken.exit_code,
            Some(1),
            "the script must fail on {fault}; stderr:\n{}",
            broken.stderr_tail
        );
        assert!(
            broken.stderr_tail.contains("FAIL"),
            "{}",
            broken.stderr_tail
        );
    }
}

#[test]
fn bench_with_one_iteration_prints_every_figure() {
    let out = Command::new(env!("CARGO_BIN_EXE_thoth-conformance"))
        .current_dir(root())
        .args([
            "bench",
            "--iterations",
            "1",
            "--requests",
            "20",
            "--scale",
            "2",
            "--mock-binary",
        ])
        .arg(crate::mock_bin::mock_binary())
        .output()
        .expect("run thoth-conformance bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for field in [
        "bench: 1 iteration(s)",
        "harness (every suite, in-process mock): ",
        "requests/s",
        "per request (20 sequential GETs): raw reqwest round trip ",
        "through the engine ",
        "harness overhead ",
        "floor: longest chain ",
        " steps x ",
        "; floor ",
        "ratio: harness run ",
        "x the floor",
        "whole process (`run --target mock --thothctl-stand-in off`, reports written): ",
        "; run only ",
        "; outside the run ",
        "| copies | cases | wall | wall / x1 | peak RSS | results.json | exit |",
        "live (`run --target live` against ",
        "bearer auth, 100 ms sync jobs, a fresh mock each): ",
        "; run only ",
        " failed or errored",
        "live floor: longest chain ",
        "ratio: live run only ",
        "x the floor, whole process ",
        "| x1 | ",
        "| x2 | ",
    ] {
        assert!(stdout.contains(field), "missing `{field}` in:\n{stdout}");
    }
    // The live runs do what a tenant allows: every case that runs passes, and those that
    // need the mock admin API or thothctl are skipped (and left out of the live floor).
    let ran = regex::Regex::new(r"ran (\d+) of (\d+) cases, (\d+) failed or errored")
        .unwrap()
        .captures(&stdout)
        .map(|c| [1, 2, 3].map(|i| c[i].parse::<usize>().unwrap()))
        .unwrap_or_else(|| panic!("no live case counts in:\n{stdout}"));
    assert!(
        ran[0] > 0 && ran[0] < ran[1] && ran[2] == 0,
        "{ran:?}:\n{stdout}"
    );
    if missing_tools().is_empty() {
        assert!(
            stdout.contains("curl script (scripts/runbook-curl.sh): "),
            "{stdout}"
        );
        assert!(stdout.contains("ratio: harness "), "{stdout}");
    } else {
        assert!(stdout.contains("curl script: skipped: "), "{stdout}");
        assert!(!stdout.contains("than the curl script"), "{stdout}");
    }
}
