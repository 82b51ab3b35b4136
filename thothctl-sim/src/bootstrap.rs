//! `bootstrap`: settings (GET, merge the flags, PUT), webhook test, MDM provider upsert,
//! sync start; `--json` reports one success flag per part (seed 002).

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::api::{read_secret_file, Api, Env};
use crate::cli::Bootstrap;
use crate::commands::read_json_file;
use crate::fault::{Fault, Faults};
use crate::{Outcome, SimError, EXIT_FAILED, EXIT_OK};

const TIERS: [&str; 3] = ["allow", "step_up", "block"];

/// `host:header:secret_ref:prefix`. The secret reference itself holds colons
/// (`op://...`), so the header ends at the second colon and the prefix starts after the
/// last one, which must not be the reference's own `scheme:`.
pub fn auth_binding(s: &str) -> Result<Value, SimError> {
    let bad = || {
        SimError::Config(format!(
            "read --secret-broker-auth-binding `{s}`: expected host:header:secret_ref:prefix"
        ))
    };
    let mut head = s.splitn(3, ':');
    let (host, header, rest) = match (head.next(), head.next(), head.next()) {
        (Some(h), Some(hd), Some(r)) if !h.is_empty() && !hd.is_empty() => (h, hd, r),
        _ => return Err(bad()),
    };
    let (secret_ref, prefix) = rest.rsplit_once(':').ok_or_else(bad)?;
    if secret_ref.is_empty() || prefix.starts_with("//") {
        return Err(bad());
    }
    Ok(
        json!({ "host_pattern": host, "header": header, "secret_ref": secret_ref, "prefix": prefix }),
    )
}

fn object<'a>(doc: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = doc.entry(key).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    slot.as_object_mut().expect("made an object above")
}

/// The webhook secret: flag, file, else THOTH_WEBHOOK_SECRET (only with --webhook-url,
/// so an exported secret never rewrites the webhook of an unrelated bootstrap).
fn webhook_secret(b: &Bootstrap, env: Env<'_>) -> Result<Option<String>, SimError> {
    if let Some(s) = &b.webhook_secret {
        return Ok(Some(s.clone()));
    }
    if let Some(p) = &b.webhook_secret_file {
        return Ok(Some(read_secret_file(p, "the webhook secret file")?));
    }
    Ok(b.webhook_url
        .as_ref()
        .and(env("THOTH_WEBHOOK_SECRET"))
        .filter(|s| !s.trim().is_empty()))
}

/// Applies the settings flags to the document; false when no flag touches settings.
fn apply(
    doc: &mut Map<String, Value>,
    b: &Bootstrap,
    secret: Option<&str>,
) -> Result<bool, SimError> {
    let mut touched = false;
    if let Some(p) = &b.compliance_profile {
        doc.insert("compliance_profile".into(), json!(p));
        touched = true;
    }
    for (tier, value) in [
        ("low", &b.shadow_low),
        ("medium", &b.shadow_medium),
        ("high", &b.shadow_high),
        ("critical", &b.shadow_critical),
    ] {
        if let Some(v) = value {
            if !TIERS.contains(&v.as_str()) {
                return Err(SimError::Config(format!(
                    "use --shadow-{tier} {v}: expected allow, step_up or block"
                )));
            }
            object(doc, "shadow_policy").insert(tier.into(), json!(v));
            touched = true;
        }
    }
    for o in &b.tool_risk_overrides {
        let (tool, tier) = o.split_once('=').ok_or_else(|| {
            SimError::Config(format!(
                "read --tool-risk-override `{o}`: expected tool=tier"
            ))
        })?;
        object(doc, "tool_risk_overrides").insert(tool.trim().into(), json!(tier.trim()));
        touched = true;
    }
    if b.webhook_url.is_some() || b.webhook_enabled.is_some() || secret.is_some() {
        let webhook = object(doc, "webhook");
        if let Some(u) = &b.webhook_url {
            webhook.insert("url".into(), json!(u));
        }
        if let Some(s) = secret {
            webhook.insert("secret".into(), json!(s));
        }
        let enabled = b.webhook_enabled.or(b.webhook_url.as_ref().map(|_| true));
        if let Some(e) = enabled {
            webhook.insert("enabled".into(), json!(e));
        }
        touched = true;
    }
    let sb_touched = b.secret_broker_provider.is_some()
        || b.secret_broker_enabled.is_some()
        || b.secret_broker_strict_endpoint_mode
        || b.secret_broker_fail_on_missing_secret
        || !b.secret_broker_allowed_hosts.is_empty()
        || !b.secret_broker_auth_bindings.is_empty();
    if sb_touched {
        let bindings = b
            .secret_broker_auth_bindings
            .iter()
            .map(|s| auth_binding(s))
            .collect::<Result<Vec<_>, _>>()?;
        let sb = object(doc, "secret_broker");
        if let Some(p) = &b.secret_broker_provider {
            sb.insert("provider".into(), json!(p));
        }
        if let Some(e) = b.secret_broker_enabled {
            sb.insert("enabled".into(), json!(e));
        }
        if b.secret_broker_strict_endpoint_mode {
            sb.insert("strict_endpoint_mode".into(), json!(true));
        }
        if b.secret_broker_fail_on_missing_secret {
            sb.insert("fail_on_missing_secret".into(), json!(true));
        }
        if !b.secret_broker_allowed_hosts.is_empty() {
            sb.insert("allowed_hosts".into(), json!(b.secret_broker_allowed_hosts));
        }
        if !bindings.is_empty() {
            sb.insert("auth_bindings".into(), Value::Array(bindings));
        }
        touched = true;
    }
    Ok(touched)
}

/// The report, built as the parts run; every part not asked for stays false.
struct Report {
    doc: Value,
    failed: bool,
}

impl Report {
    fn error(&mut self, part: &str, e: SimError) {
        self.failed = true;
        self.doc["errors"]
            .as_array_mut()
            .expect("errors is an array")
            .push(json!({ "step": part, "message": format!("failed to {e}") }));
    }
}

pub async fn run(
    api: &Api,
    b: &Bootstrap,
    env: Env<'_>,
    faults: &Faults,
) -> Result<Outcome, SimError> {
    if b.start_sync && b.mdm_provider.is_none() {
        return Err(SimError::Config(
            "start a sync: --start-sync needs --mdm-provider".into(),
        ));
    }
    let secret = webhook_secret(b, env)?;
    // Read every file before changing anything: a typo fails before the tenant changes.
    // The file is either the provider's `config` object or a whole provider document
    // (`{provider, name, enabled, config}`, as the suites' jamf-provider.json is): of a
    // document only its `config` is the config [C].
    let mdm_config = match &b.mdm_config_file {
        Some(p) => {
            let doc = read_json_file(p, "the MDM config file")?;
            Some(match doc.get("config") {
                Some(inner) if inner.is_object() => inner.clone(),
                _ => doc,
            })
        }
        None => None,
    };
    let mut report = Report {
        doc: json!({
            "tenant_id": api.tenant,
            "settings_updated": false,
            "webhook_tested": false,
            "mdm_provider_upserted": false,
            "mdm_sync_started": false,
            "errors": [],
        }),
        failed: false,
    };

    let mut current = match api.get("/settings", &[]).await? {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => {
            return Err(SimError::Failed(format!(
                "read the settings: GovAPI answered a {} instead of a settings document",
                kind(&other)
            )))
        }
    };
    if apply(&mut current, b, secret.as_deref())? {
        current.remove("updated_at");
        if faults.contains(&Fault::BootstrapSettingsNotUpdated) {
            // The fault: the PUT never happens and the command still exits 0.
        } else {
            match api
                .send(
                    Method::PUT,
                    "thoth",
                    "/settings",
                    &[],
                    Some(&Value::Object(current)),
                )
                .await
                .and_then(|a| a.into_ok("PUT /settings"))
            {
                Ok(_) => report.doc["settings_updated"] = json!(true),
                Err(e) => report.error("settings", e),
            }
        }
    }
    if faults.contains(&Fault::BootstrapEchoesWebhookSecret) {
        report.doc["webhook_secret"] = json!(secret);
    }

    if b.test_webhook {
        {
            match api.post("/settings/webhook/test", &json!({})).await {
                Ok(answer) => {
                    let delivered =
                        answer.get("status").and_then(Value::as_str) == Some("delivered");
                    report.doc["webhook_tested"] = json!(delivered);
                    report.doc["webhook_test"] = answer;
                    if !delivered {
                        report.error(
                            "webhook_test",
                            SimError::Failed("deliver the test webhook".into()),
                        );
                    }
                }
                Err(e) => report.error("webhook_test", e),
            }
        }
    }

    if let Some(provider) = &b.mdm_provider {
        let mut body = json!({
            "provider": provider,
            "name": b.mdm_name.clone().unwrap_or_else(|| provider.clone()),
            "enabled": b.mdm_enabled.unwrap_or(true),
        });
        if let Some(c) = mdm_config {
            body["config"] = c;
        }
        match api.post("/mdm/providers", &body).await {
            Ok(_) => report.doc["mdm_provider_upserted"] = json!(true),
            Err(e) => report.error("mdm_provider", e),
        }
        let upserted = report.doc["mdm_provider_upserted"] == json!(true);
        if b.start_sync && upserted {
            let path = format!("/mdm/providers/{provider}/sync");
            match api.post(&path, &json!({})).await {
                Ok(job) => {
                    let id = job.get("job_id").cloned().unwrap_or(Value::Null);
                    report.doc["mdm_sync_started"] = json!(!id.is_null());
                    report.doc["mdm_sync_job_id"] = id;
                }
                Err(e) => report.error("mdm_sync", e),
            }
        }
    }
    let exit = if report.failed { EXIT_FAILED } else { EXIT_OK };
    Ok(Outcome {
        doc: report.doc,
        exit,
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "list",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        _ => "value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_bindings_split_around_the_reference() {
        assert_eq!(
            auth_binding("api.figma.com:Authorization:op://design/figma/token:Bearer ").unwrap(),
            json!({"host_pattern":"api.figma.com","header":"Authorization",
                   "secret_ref":"op://design/figma/token","prefix":"Bearer "})
        );
        assert_eq!(
            auth_binding("h:X-Key:vault://kv/data/notion#token:").unwrap()["prefix"],
            ""
        );
        for bad in [
            "h:Authorization:op://x",
            "h:Authorization",
            ":A:r:p",
            "h::r:p",
        ] {
            assert!(auth_binding(bad).is_err(), "{bad} accepted");
        }
    }
}
