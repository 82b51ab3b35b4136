//! The runbook's own curl commands, run verbatim (tests/runbook/headless_e2e.sh) against
//! the `mock-govapi` binary in `--skip-auth` mode, give the answers the runbook's
//! acceptance lines describe. This is what a newcomer who follows the runbook against the
//! mock sees, so the mock cannot drift from the runbook's shapes unnoticed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mock-govapi");

/// Kills the mock when the test ends, whatever happened.
struct Mock(Child);

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Splits the script's output on its `=== name` markers into parsed JSON documents.
fn sections(output: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut name: Option<String> = None;
    let mut body = String::new();
    let mut flush = |name: &Option<String>, body: &mut String| {
        if let Some(n) = name {
            let v: Value = serde_json::from_str(body.trim())
                .unwrap_or_else(|e| panic!("section {n} is not JSON ({e}): {body}"));
            out.insert(n.clone(), v);
        }
        body.clear();
    };
    for line in output.lines() {
        if let Some(n) = line.strip_prefix("=== ") {
            flush(&name, &mut body);
            name = Some(n.to_string());
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    flush(&name, &mut body);
    out
}

#[test]
fn runbook_curl_commands_pass_the_runbook_acceptance_against_the_mock() {
    for tool in ["curl", "jq", "bash"] {
        if !have(tool) {
            assert!(
                std::env::var_os("CI").is_none(),
                "{tool} is missing under CI (Debian: apt-get install {tool})"
            );
            eprintln!("SKIPPED runbook_curl_commands: {tool} not installed");
            return;
        }
    }
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--tenant", "acme", "--skip-auth"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("failed to start mock-govapi");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _mock = Mock(child);
    let base = first.trim().to_string();

    let dir = tempfile_dir();
    let token_file = dir.join("thoth_admin_jwt");
    std::fs::write(&token_file, "local-demo-token").unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/runbook/headless_e2e.sh");
    let out = Command::new("bash")
        .arg(&script)
        .env("THOTH_GOVAPI_URL", &base)
        .env("THOTH_TENANT_ID", "acme")
        .env("THOTH_APEX_DOMAIN", "example.com")
        .env("THOTH_ADMIN_BEARER_TOKEN_FILE", &token_file)
        .env("SINK_URL", format!("{base}/__sink/runbook"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "runbook script failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = sections(&stdout);

    // Phase 2: "Verify webhook test endpoint independently" reaches the destination.
    assert_eq!(
        s["webhook_test"]["status"], "delivered",
        "{}",
        s["webhook_test"]
    );
    assert_eq!(s["webhook_test"]["http_status"], 200);
    // Phase 3 acceptance: "endpoint is returned by GET /endpoints".
    let rows = s["endpoints"]["data"]
        .as_array()
        .expect("list shape {data:[...]}");
    let row = rows
        .iter()
        .find(|r| r["endpoint_id"] == "ep-e2e-01")
        .expect("ep-e2e-01 listed");
    assert_eq!(row["risk_score"], 10, "check-in's risk score shown: {row}");
    assert_eq!(row["proxy_version"], "0.2.8");
    // Phase 3 acceptance: "stats reflect total/online increments" (from an empty tenant).
    assert_eq!(s["stats"]["total"], 1, "{}", s["stats"]);
    assert_eq!(s["stats"]["online"], 1, "{}", s["stats"]);
    // Phase 5 readbacks answer with the documented list shape.
    assert!(s["alerts"]["data"].is_array(), "{}", s["alerts"]);
    assert!(s["feed"]["data"].is_array(), "{}", s["feed"]);
    // The register and check-in answers are JSON objects, not errors.
    for name in ["register", "checkin"] {
        assert!(s[name].get("error").is_none(), "{name}: {}", s[name]);
    }

    // The webhook the runbook tested really arrived at the sink, signed.
    let sink: Value = serde_json::from_str(&String::from_utf8_lossy(
        &Command::new("curl")
            .args(["-sS", &format!("{base}/__sink/runbook")])
            .output()
            .unwrap()
            .stdout,
    ))
    .unwrap();
    let delivery = &sink["data"][0];
    assert!(
        delivery["headers"]["x-thoth-signature"]
            .as_str()
            .is_some_and(|v| v.starts_with("v1=")),
        "{sink}"
    );
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("runbook-verbatim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
