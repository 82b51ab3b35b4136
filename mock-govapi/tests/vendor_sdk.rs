//! The mock's data plane against a client nobody here wrote: the vendor's Python SDK
//! `atensec-thoth` from PyPI, installed by `scripts/test.sh` into
//! `target/vendor-sdk-venv` (Python >= 3.12). The script in `tests/vendor_sdk/` uses the
//! SDK's own `EnforcerClient` (check, explain), `StepUpClient.wait`, `HttpEmitter` and
//! `publish_tool_inventory` against a mock started with auth and a separate enforcer
//! listener, and approves the step-up through a signed PAM callback.
//!
//! Without the venv the test fails under `CI=true` and skips with a message otherwise.
//! `THOTH_SDK_PYTHON` points it at another interpreter that has the SDK.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use mock_govapi::{spawn_with_enforcer, MockConfig, TenantConfig};
use serde_json::{json, Value};

const TENANT: &str = "sdk-tenant";
const ADMIN: &str = "adm_vendor_sdk_test";
const PAM_SECRET: &str = "pamsec_vendor_sdk_test";

fn python() -> Option<PathBuf> {
    if let Some(explicit) = std::env::var_os("THOTH_SDK_PYTHON") {
        return Some(PathBuf::from(explicit));
    }
    let venv =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/vendor-sdk-venv/bin/python");
    venv.exists().then_some(venv)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vendor_python_sdk_drives_the_data_plane() {
    let Some(python) = python() else {
        let message = "the atensec-thoth venv (target/vendor-sdk-venv) is missing: run scripts/test.sh, which creates it";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{message}");
        }
        eprintln!("SKIPPED the_vendor_python_sdk_drives_the_data_plane: {message}");
        return;
    };
    let mock = spawn_with_enforcer(MockConfig::with_tenants(vec![TenantConfig {
        id: TENANT.into(),
        admin_tokens: vec![ADMIN.into()],
        org_api_keys: vec![],
    }]))
    .await
    .expect("start mock");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let settings = json!({
        "shadow_policy": {"low": "allow", "medium": "step_up", "high": "block", "critical": "block"},
        "tool_risk_overrides": {"shell.exec": "medium", "db.drop": "critical"},
        "pam": {"enabled": true, "provider": "cyberark", "callback_secret": PAM_SECRET},
    });
    let put = http
        .put(format!("{}/{TENANT}/thoth/settings", mock.base_url))
        .bearer_auth(ADMIN)
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200);
    // The runbook's Phase 1A key: endpoint scope, read + execute.
    let key: Value = http
        .post(format!("{}/{TENANT}/thoth/api-keys", mock.base_url))
        .bearer_auth(ADMIN)
        .json(
            &json!({"name": "sdk-execute", "scope_level": "endpoint", "scope_target_id": "ep-sdk",
                      "permissions": ["read", "execute"], "ttl_seconds": 3600}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["api_key"].as_str().expect("api_key").to_owned();

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vendor_sdk/drive_sdk.py");
    let enforcer_url = mock.enforcer_url.clone();
    let base_url = mock.base_url.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&script)
            .env("THOTH_API_URL", &enforcer_url)
            .env("THOTH_API_KEY", &key)
            .env("THOTH_TENANT_ID", TENANT)
            .env("GOVAPI_URL", &base_url)
            .env("ADMIN_TOKEN", ADMIN)
            .env("PAM_SECRET", PAM_SECRET)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env("THOTH_TOOL_INVENTORY", "on")
            .output()
    });
    let output = tokio::time::timeout(Duration::from_secs(120), output)
        .await
        .expect("the SDK script finished within 120 s")
        .unwrap()
        .expect("run the SDK script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success() && stdout.contains("ALL SDK EXPECTATIONS MET"),
        "the vendor SDK disagreed with the mock (exit {:?}):\n{stdout}\n{stderr}",
        output.status.code()
    );
    // The calls reached the enforcer listener, not only GovAPI.
    let journal = mock.state.journal().since(0);
    for path in [
        "/v1/enforce",
        "/v1/explain",
        "/v1/events/batch",
        "/v1/enforce/hold/",
    ] {
        assert!(
            journal.iter().any(|entry| entry.path.starts_with(path)),
            "no {path} request in the journal"
        );
    }
    let polls: Vec<u16> = journal
        .iter()
        .filter(|e| e.path.starts_with("/v1/enforce/hold/"))
        .map(|e| e.status)
        .collect();
    assert!(
        polls.first() == Some(&202) && polls.last() == Some(&200),
        "the SDK's wait saw pending (202) then resolved (200): {polls:?}"
    );
    let stored = mock.state.tenant(TENANT).unwrap().gov.sdk_events.len();
    assert_eq!(stored, 1, "the emitted event was stored");
    mock.shutdown().await;
}
