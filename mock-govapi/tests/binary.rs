//! The `mock-govapi` binary: base URL on the first stdout line, credentials on stderr,
//! --list-faults, flag errors, graceful stop on SIGINT.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_mock-govapi");

#[test]
fn list_faults_prints_every_fault_with_its_sentence() {
    let out = Command::new(BIN).arg("--list-faults").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), mock_govapi::Fault::ALL.len());
    for (line, fault) in lines.iter().zip(mock_govapi::Fault::ALL) {
        let (name, sentence) = line.split_once("  ").unwrap();
        assert_eq!(name, fault.name());
        assert_eq!(sentence.trim(), fault.description());
    }
}

/// The README's fault table has a row for every fault, and no row for a fault that is
/// gone: it is where an operator looks a `--fault` name up.
#[test]
fn readme_fault_table_lists_every_fault() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("failed to read mock-govapi/README.md");
    let table = readme
        .split("## Faults")
        .nth(1)
        .expect("README has a `## Faults` section");
    let rows: std::collections::BTreeSet<&str> = table
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(name, _)| name))
        .collect();
    let known: std::collections::BTreeSet<&str> =
        mock_govapi::Fault::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(rows, known, "mock-govapi/README.md `## Faults` table");
}

#[test]
fn bad_flags_exit_with_2_and_say_what_failed() {
    let out = Command::new(BIN).args(["--tenant", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("failed to configure tenant `x`"), "{err}");
    let out = Command::new(BIN)
        .args(["--fault", "no-such"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn serves_prints_url_first_and_stops_on_sigint() {
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tenant",
            "t1",
            "--admin-token",
            "t1=tok-1",
        ])
        .env_remove("GOVAPI_SKIP_AUTH")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let base = first.trim().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (no_auth, with_auth) = rt.block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = format!("{base}/t1/thoth/settings");
        let no_auth = client.get(&url).send().await.unwrap().status().as_u16();
        let with_auth = client
            .get(&url)
            .bearer_auth("tok-1")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        (no_auth, with_auth)
    });
    assert_eq!((no_auth, with_auth), (401, 200));

    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    // Credentials given on the command line are not echoed; dev defaults are not in use.
    assert!(!err.contains("tok-1"), "{err}");
    assert!(!err.contains("dev credentials"), "{err}");
}

#[test]
fn dev_default_prints_its_credentials_on_stderr() {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("GOVAPI_SKIP_AUTH")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("http://"));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains(mock_govapi::DEV_ADMIN_TOKEN) && err.contains(mock_govapi::DEV_ORG_API_KEY),
        "{err}"
    );
}

#[test]
fn skip_auth_from_the_environment() {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--tenant", "demo"])
        .env("GOVAPI_SKIP_AUTH", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = format!("{}/demo/thoth/endpoints/stats", first.trim());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        client.get(&url).send().await.unwrap().status().as_u16()
    });
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(status, 200);
}

/// DATAPLANE.md "Where": `--enforcer-listen` prints `enforcer listening on URL` after the
/// base URL line, and that listener answers the data plane for the key's tenant.
#[test]
fn enforcer_listen_prints_its_url_and_serves_the_data_plane() {
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--enforcer-listen",
            "127.0.0.1:0",
            "--tenant",
            "t1",
            "--api-key",
            "t1=thoth_bin_org_key",
        ])
        .env_remove("GOVAPI_SKIP_AUTH")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut first, mut second) = (String::new(), String::new());
    stdout.read_line(&mut first).unwrap();
    stdout.read_line(&mut second).unwrap();
    let enforcer = second
        .trim()
        .strip_prefix("enforcer listening on ")
        .unwrap_or_else(|| panic!("second line: {second:?}"))
        .to_string();
    assert!(enforcer.starts_with("http://127.0.0.1:"), "{enforcer}");
    assert_ne!(enforcer, first.trim());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let decision = rt.block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let answer: serde_json::Value = client
            .post(format!("{enforcer}/v1/enforce"))
            .header("x-api-key", "thoth_bin_org_key")
            .json(&serde_json::json!({"agent_id": "a", "tool_name": "t", "tenant_id": "t1"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["decision"].clone()
    });
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(decision, "ALLOW");
}
