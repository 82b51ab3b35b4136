//! Helpers for the live-safety tests: a standalone mock with known credentials (the
//! "live tenant"), its journal and state dump, and a live-kind target pointed at it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use thoth_conformance::redact::Redactor;
use thoth_conformance::target::{LiveOptions, Target};

pub const TENANT: &str = "acme";
pub const TOKEN: &str = "adm_live_safety_token_0123456789";
pub const ORG_KEY: &str = "thoth_live_safety_org_key_0123456789";
pub const WEBHOOK_SECRET: &str = "whsec_live_safety_0123456789";
pub const PAM_SECRET: &str = "pam_live_safety_0123456789";

pub async fn standalone_mock() -> mock_govapi::RunningMock {
    standalone_mock_with(mock_govapi::secrets::SecretReadback::Mask).await
}

/// The "live tenant", showing set secrets on GET as `readback` says.
pub async fn standalone_mock_with(
    readback: mock_govapi::secrets::SecretReadback,
) -> mock_govapi::RunningMock {
    let config = mock_govapi::MockConfig {
        secret_readback: readback,
        tenants: vec![mock_govapi::TenantConfig {
            id: TENANT.into(),
            admin_tokens: vec![TOKEN.into()],
            org_api_keys: vec![ORG_KEY.into()],
        }],
        ..mock_govapi::MockConfig::dev_default()
    };
    mock_govapi::spawn(config).await.expect("mock starts")
}

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes the admin token file the binary and the live target read.
pub fn token_file(dir: &Path) -> PathBuf {
    let path = dir.join("admin.jwt");
    std::fs::write(&path, TOKEN).unwrap();
    path
}

/// A `live` target at the standalone mock, as a SecOps team would configure it.
pub fn live_target(base: &str, dir: &Path, redactor: &Redactor) -> Target {
    let opts = LiveOptions {
        tenant_id: Some(TENANT.into()),
        govapi_url: Some(base.into()),
        auth_token_file: Some(token_file(dir)),
        webhook_url: Some(format!("{base}/__sink/siem")),
        webhook_secret: Some(WEBHOOK_SECRET.into()),
        pam_callback_secret: Some(PAM_SECRET.into()),
        sink_url: Some(format!("{base}/__sink")),
        sink_name: Some("siem".into()),
        ..LiveOptions::default()
    };
    Target::live(&opts, &|_| None, redactor).expect("live target")
}

pub async fn admin_get(base: &str, path: &str) -> Value {
    reqwest::get(format!("{base}{path}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Every tenant request the mock has seen, as "METHOD path".
pub async fn journal(base: &str) -> Vec<String> {
    let j = admin_get(base, "/__admin/journal").await;
    j["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["method"].as_str().unwrap(),
                e["path"].as_str().unwrap()
            )
        })
        .collect()
}

pub fn writes(journal: &[String]) -> Vec<&String> {
    journal.iter().filter(|l| !l.starts_with("GET ")).collect()
}

pub async fn state(base: &str) -> Value {
    admin_get(base, &format!("/__admin/tenants/{TENANT}/state")).await
}

/// A tenant request with the admin token.
pub async fn tenant(base: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .request(method, format!("{base}/{TENANT}{path}"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

/// Ids of the API keys not revoked.
pub fn active_keys(state: &Value) -> Vec<String> {
    let mut v: Vec<String> = state["api_keys"]
        .as_object()
        .unwrap()
        .values()
        .filter(|k| k["revoked_at"].is_null())
        .map(|k| k["key_id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// What "the tenant as found" means: settings (without `updated_at`), active keys, MDM
/// and browser providers (writable fields), active browser policies and enrollments.
pub fn comparable(state: &Value) -> Value {
    let mut settings = state["settings"].clone();
    if let Some(o) = settings.as_object_mut() {
        o.remove("updated_at");
    }
    let pick = |row: &Value| json!({"name": row["name"], "enabled": row["enabled"], "config": row["config"]});
    let mdm: serde_json::Map<String, Value> = state["mdm_providers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, row)| (k.clone(), pick(row)))
        .collect();
    let browser = &state["browser"];
    let providers: serde_json::Map<String, Value> = browser["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["provider"].as_str().unwrap().to_string(), pick(row)))
        .collect();
    let active = |list: &str, flag: &dyn Fn(&Value) -> bool, id: &str| -> Vec<Value> {
        browser[list]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| flag(r))
            .map(|r| r[id].clone())
            .collect()
    };
    json!({
        "settings": settings,
        "active_keys": active_keys(state),
        "mdm_providers": mdm,
        "browser_providers": providers,
        "active_policies": active("policies", &|r| r["active"] == true, "policy_id"),
        "active_enrollments": active("enrollments", &|r| r["status"] == "active", "enrollment_id"),
    })
}
