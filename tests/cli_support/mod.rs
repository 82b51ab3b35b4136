//! Running the `thoth-conformance` binary from tests, with the runbook's env vars (and
//! the console switches) cleared so the caller's environment never leaks in.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

pub const CLEARED_ENV: &[&str] = &[
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
    "NO_COLOR",
    "CI",
];

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn suites() -> PathBuf {
    root().join("suites")
}

pub fn fixtures() -> PathBuf {
    root().join("fixtures")
}

fn command(args: &[&str], envs: &[(&str, &str)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_thoth-conformance"));
    cmd.args(args).current_dir(root());
    for k in CLEARED_ENV {
        cmd.env_remove(k);
    }
    cmd.envs(envs.iter().copied());
    cmd
}

pub fn cli(args: &[&str], envs: &[(&str, &str)]) -> Output {
    command(args, envs)
        .output()
        .expect("failed to run thoth-conformance")
}

/// For tests that serve a mock from their own runtime while the binary runs.
pub async fn cli_async(args: &[&str], envs: &[(&str, &str)]) -> Output {
    tokio::process::Command::from(command(args, envs))
        .output()
        .await
        .expect("failed to run thoth-conformance")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("failed to parse {}: {e}", path.display()))
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `(phase::case, status)` of every case in a results.json, in order.
pub fn case_statuses(results: &serde_json::Value) -> Vec<(String, String)> {
    results["run"]["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                format!(
                    "{}::{}",
                    c["phase"].as_str().unwrap(),
                    c["case_id"].as_str().unwrap()
                ),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}
