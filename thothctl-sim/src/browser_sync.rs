//! `browser sync`: this endpoint's active enrollments, the effective active policy per
//! provider, and the managed policy file each one becomes (seed 003 step 2A). Where the
//! files go is not public: the paths below are the stand-in's choice (README.md).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::api::{rows, Api};
use crate::{Outcome, SimError};

/// Managed policy file per provider, relative to `--policy-root`.
fn managed_path(provider: &str) -> Option<&'static str> {
    Some(match provider {
        "chrome" => "etc/opt/chrome/policies/managed/thoth.json",
        "firefox" => "etc/firefox/policies/policies.json",
        "safari" => "Library/Managed Preferences/com.apple.Safari.thoth.json",
        "island" => "etc/island/policies/thoth.json",
        _ => return None,
    })
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The policy an enrollment gets: the one it names if active, else the provider's
/// active policy with the highest version (the latest `updated_at` on a tie).
fn effective<'a>(enrollment: &Value, policies: &'a [Value]) -> Option<&'a Value> {
    let provider = text(enrollment, "provider");
    let active =
        |p: &&Value| text(p, "provider") == provider && p.get("active") == Some(&json!(true));
    if let Some(id) = enrollment.get("policy_id").and_then(Value::as_str) {
        return policies
            .iter()
            .filter(active)
            .find(|p| text(p, "policy_id") == id);
    }
    policies.iter().filter(active).max_by(|a, b| {
        let version = |p: &Value| p.get("version").and_then(Value::as_u64).unwrap_or(0);
        version(a)
            .cmp(&version(b))
            .then_with(|| text(a, "updated_at").cmp(text(b, "updated_at")))
    })
}

pub async fn run(
    api: &Api,
    device_id: &str,
    user_id: &str,
    dry_run: bool,
    root: &Path,
) -> Result<Outcome, SimError> {
    let query = [
        ("device_id", device_id.to_string()),
        ("user_id", user_id.to_string()),
        ("status", "active".to_string()),
    ];
    // Filters are sent and applied again here: a server may ignore them.
    let enrollments: Vec<Value> = rows(&api.get("/browser/enrollments", &query).await?)
        .into_iter()
        .filter(|e| {
            text(e, "device_id") == device_id
                && text(e, "user_id") == user_id
                && text(e, "status") == "active"
        })
        .collect();
    let policies = rows(&api.get("/browser/policies", &[]).await?);
    let mut artifacts = Vec::new();
    let mut skipped = Vec::new();
    for enrollment in &enrollments {
        let provider = text(enrollment, "provider");
        let (Some(policy), Some(rel)) = (effective(enrollment, &policies), managed_path(provider))
        else {
            skipped.push(json!({
                "enrollment_id": text(enrollment, "enrollment_id"),
                "provider": provider,
                "reason": if managed_path(provider).is_none() { "unknown provider" } else { "no active policy" },
            }));
            continue;
        };
        let path: PathBuf = root.join(rel);
        let content = json!({
            "thoth_policy_id": text(policy, "policy_id"),
            "enforcement_mode": text(policy, "enforcement_mode"),
            "policy": policy.get("policy").cloned().unwrap_or(json!({})),
        });
        let bytes = serde_json::to_vec_pretty(&content).unwrap_or_default();
        if !dry_run {
            write(&path, &bytes)?;
        }
        artifacts.push(json!({
            "provider": provider,
            "enrollment_id": text(enrollment, "enrollment_id"),
            "policy_id": text(policy, "policy_id"),
            "policy_name": text(policy, "name"),
            "enforcement_mode": text(policy, "enforcement_mode"),
            "version": policy.get("version").cloned().unwrap_or(Value::Null),
            "path": path.display().to_string(),
            "bytes": bytes.len(),
        }));
    }
    Ok(Outcome::ok(json!({
        "dry_run": dry_run,
        "written": !dry_run && !artifacts.is_empty(),
        "device_id": device_id,
        "user_id": user_id,
        "enrollments": enrollments.len(),
        "artifacts": artifacts,
        "skipped": skipped,
    })))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    let fail = |e: std::io::Error| SimError::Failed(format!("write {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    std::fs::write(path, bytes).map_err(fail)
}
