//! `GET/PUT /settings` (the tenant settings document) and `POST /settings/webhook/test`.
//!
//! Secrets are stored as given and shown on GET as [`REDACTED`]. Clients follow
//! GET-merge-PUT, so a PUT that carries [`REDACTED`] back for a secret keeps the stored
//! secret instead of overwriting it with asterisks.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::auth::Principal;
use crate::auth::Rule;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, OptionalJson};
use crate::faults::Fault;
use crate::routes::Routes;
use crate::secrets::{SecretReadback, Secrets};
use crate::state::AppState;
use crate::webhook::{deliver_webhook, webhook_test_configured, DeliveryOutcome};

/// What a set secret looks like on GET (before `--secret-readback` reshapes it).
pub const REDACTED: &str = crate::secrets::MASK;

/// Where secrets live in the settings document.
pub const SECRET_PATHS: &[&[&str]] = &[
    &["webhook", "secret"],
    &["siem", "webhook", "secret"],
    &["pam", "callback_secret"],
    &["pam", "request_secret"],
    &["pam", "request_auth_token"],
];

pub const COMPLIANCE_PROFILES: &[&str] = &[
    "soc2",
    "healthcare",
    "financial",
    "public_sector",
    "privacy",
    "ai_governance",
];
pub const RISK_TIERS: &[&str] = &["low", "medium", "high", "critical"];
pub const SHADOW_DECISIONS: &[&str] = &["allow", "step_up", "block"];

pub fn router() -> Routes {
    Routes::new()
        .route("/settings", Rule::DATA, get(get_settings).put(put_settings))
        .route("/settings/webhook/test", Rule::ACTION, post(test_webhook))
}

fn get_path<'a>(doc: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut node = doc;
    for key in parents {
        node = node.get(*key)?.as_object()?;
    }
    node.get(*last)
}

/// The document's secrets, for the one secret policy of `secrets.rs`.
const SECRETS: Secrets = Secrets::At(SECRET_PATHS);

/// The document as GET shows it: each non-empty secret replaced by [`REDACTED`].
pub fn redacted(doc: &Map<String, Value>) -> Map<String, Value> {
    match SECRETS.hide(&Value::Object(doc.clone()), SecretReadback::Mask) {
        Value::Object(shown) => shown,
        _ => Map::new(),
    }
}

/// The document with each set secret base64-encoded (`secrets-echoed-encoded`).
fn encoded(doc: &Map<String, Value>) -> Map<String, Value> {
    use base64::Engine as _;
    let mut out = Value::Object(doc.clone());
    for path in SECRET_PATHS {
        let pointer = format!("/{}", path.join("/"));
        if let Some(Value::String(secret)) = out.pointer_mut(&pointer) {
            if !secret.is_empty() {
                *secret = base64::engine::general_purpose::STANDARD.encode(secret.as_bytes());
            }
        }
    }
    match out {
        Value::Object(map) => map,
        _ => doc.clone(),
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_settings", message)
}

fn validate(doc: &Map<String, Value>) -> Result<(), ApiError> {
    match doc.get("compliance_profile") {
        None | Some(Value::Null) => {}
        Some(Value::String(p)) if COMPLIANCE_PROFILES.contains(&p.as_str()) => {}
        Some(other) => {
            return Err(invalid(format!(
                "compliance_profile {other} is not one of {}",
                COMPLIANCE_PROFILES.join(", ")
            )))
        }
    }
    match doc.get("shadow_policy") {
        None | Some(Value::Null) => {}
        Some(Value::Object(policy)) => {
            for (tier, decision) in policy {
                if !RISK_TIERS.contains(&tier.as_str()) {
                    return Err(invalid(format!(
                        "shadow_policy key `{tier}` is not one of {}",
                        RISK_TIERS.join(", ")
                    )));
                }
                if !decision
                    .as_str()
                    .is_some_and(|d| SHADOW_DECISIONS.contains(&d))
                {
                    return Err(invalid(format!(
                        "shadow_policy.{tier} {decision} is not one of {}",
                        SHADOW_DECISIONS.join(", ")
                    )));
                }
            }
        }
        Some(_) => return Err(invalid("shadow_policy must be an object")),
    }
    for (name, path) in [
        ("webhook.url", &["webhook", "url"][..]),
        ("siem.webhook.url", &["siem", "webhook", "url"][..]),
    ] {
        match get_path(doc, path) {
            None | Some(Value::Null) => {}
            Some(Value::String(url))
                if url.is_empty() || url.starts_with("http://") || url.starts_with("https://") => {}
            Some(other) => {
                return Err(invalid(format!("{name} {other} is not an http(s) URL")));
            }
        }
    }
    for path in SECRET_PATHS {
        if let Some(value) = get_path(doc, path) {
            if !(value.is_string() || value.is_null()) {
                return Err(invalid(format!("{} must be a string", path.join("."))));
            }
        }
    }
    Ok(())
}

/// The document a PUT stores: the new one, with [`REDACTED`] placeholders resolved to
/// the secrets stored before (or dropped when there was none), and a fresh `updated_at`.
fn merge_put(
    old: &Map<String, Value>,
    new: Map<String, Value>,
    now: String,
    policy: SecretReadback,
) -> Map<String, Value> {
    let mut new = Value::Object(new);
    SECRETS.keep(&mut new, &Value::Object(old.clone()), policy);
    let mut new = match new {
        Value::Object(new) => new,
        _ => Map::new(), // keep leaves an object an object
    };
    new.insert("updated_at".into(), Value::String(now));
    new
}

fn shown(state: &AppState, doc: &Map<String, Value>) -> Value {
    let mut doc = if state.fault(Fault::SecretsEchoed) {
        doc.clone()
    } else if state.fault(Fault::SecretsEchoedEncoded) {
        encoded(doc)
    } else {
        redacted(doc)
    };
    doc.entry("updated_at").or_insert(Value::Null);
    Value::Object(doc)
}

async fn get_settings(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Value>> {
    let data = state.tenant(&principal.tenant)?;
    Ok(Json(shown(&state, &data.settings)))
}

async fn put_settings(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let Value::Object(new) = body else {
        return Err(invalid("the settings document must be a JSON object"));
    };
    validate(&new)?;
    let now = state.now().to_string();
    let mut data = state.tenant(&principal.tenant)?;
    let mut stored = merge_put(&data.settings, new, now, state.config().secret_readback);
    if state.fault(Fault::SettingsFieldDropped) {
        if let Some(Value::Object(pam)) = stored.get_mut("pam") {
            pam.insert("request_timeout_seconds".into(), json!(60));
        }
    }
    let answer = shown(&state, &stored);
    if !state.fault(Fault::SettingsNotPersisted) {
        data.settings = stored;
    }
    if state.fault(Fault::SettingsPutAnswers500) {
        return Err(ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the settings were stored, but the answer failed",
        ));
    }
    Ok(Json(answer))
}

async fn test_webhook(
    State(state): State<AppState>,
    principal: Principal,
    OptionalJson(_body): OptionalJson<Value>,
) -> ApiResult<Json<DeliveryOutcome>> {
    // The vendor's code and message; the 409 is our choice [C] (docs/interfaces.md).
    let not_configured = || {
        ApiError::conflict(
            "webhook_not_configured",
            "Webhook is not enabled or URL is not set",
        )
    };
    let configured = webhook_test_configured(&state.tenant(&principal.tenant)?.settings);
    if !configured && !state.fault(Fault::WebhookTestIgnoresDisabled) {
        return Err(not_configured());
    }
    let payload = json!({
        "message": "Thoth webhook test",
        "test": true,
    });
    deliver_webhook(&state, &principal.tenant, "webhook.test", payload)
        .await
        .map(Json)
        .ok_or_else(not_configured)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn redaction_covers_every_secret_and_nothing_else() {
        let doc = obj(json!({
            "webhook": {"url": "https://x", "secret": "a"},
            "siem": {"webhook": {"secret": "b"}},
            "pam": {"callback_secret": "c", "request_secret": "d", "request_auth_token": "e",
                    "provider": "cyberark"},
        }));
        let text = Value::Object(redacted(&doc)).to_string();
        for secret in ["\"a\"", "\"b\"", "\"c\"", "\"d\"", "\"e\""] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
        assert!(text.contains("cyberark") && text.contains("https://x"));
    }

    #[test]
    fn redacted_placeholder_keeps_the_stored_secret() {
        let old = obj(json!({"webhook": {"secret": "kept"}, "pam": {"callback_secret": "old"}}));
        let new = obj(json!({"webhook": {"secret": REDACTED}, "pam": {"callback_secret": "new"}}));
        let merged = merge_put(&old, new, "now".into(), SecretReadback::Mask);
        assert_eq!(merged["webhook"]["secret"], "kept");
        assert_eq!(merged["pam"]["callback_secret"], "new");
        assert_eq!(merged["updated_at"], "now");
    }

    #[test]
    fn validation_rejects_bad_enums_and_urls() {
        assert!(validate(&obj(json!({"compliance_profile": "soc2",
            "shadow_policy": {"low": "allow", "critical": "block"}})))
        .is_ok());
        for bad in [
            json!({"compliance_profile": "soc3"}),
            json!({"shadow_policy": {"low": "maybe"}}),
            json!({"shadow_policy": {"extreme": "block"}}),
            json!({"shadow_policy": "block"}),
            json!({"webhook": {"url": "ftp://x"}}),
            json!({"pam": {"callback_secret": 5}}),
        ] {
            assert_eq!(
                validate(&obj(bad.clone())).unwrap_err().code,
                "invalid_settings",
                "{bad}"
            );
        }
    }
}
