//! Outgoing webhooks (SIEM): a real, signed HTTP POST to the URL in the tenant's
//! settings, using the default scheme of docs/interfaces.md §4.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::faults::Fault;
use crate::records::WebhookDelivery;
use crate::signing;
use crate::state::AppState;

/// Where and how to deliver, read from the tenant's settings.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub url: String,
    pub secret: Option<String>,
}

/// The answer of `POST /settings/webhook/test`, also returned by [`deliver_webhook`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryOutcome {
    /// `delivered` or `failed`.
    pub status: &'static str,
    /// The receiver's status; 0 when no HTTP answer came back.
    pub http_status: u16,
    /// Empty when delivered.
    pub error: String,
}

fn object_at<'a>(doc: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Map<String, Value>> {
    path.iter()
        .try_fold(doc, |node, key| node.get(*key)?.as_object())
}

fn non_empty_str<'a>(node: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    node.get(key)?.as_str().filter(|s| !s.is_empty())
}

/// The webhook configured in `settings`: `webhook{url,secret}` unless it is
/// `enabled:false` or has no URL, else `siem.webhook{url,secret}`.
pub fn target_from_settings(settings: &Map<String, Value>) -> Option<WebhookTarget> {
    [&["webhook"][..], &["siem", "webhook"][..]]
        .iter()
        .filter_map(|path| object_at(settings, path))
        .filter(|node| node.get("enabled") != Some(&Value::Bool(false)))
        .find_map(|node| {
            Some(WebhookTarget {
                url: non_empty_str(node, "url")?.to_string(),
                secret: non_empty_str(node, "secret").map(str::to_string),
            })
        })
}

/// Whether `POST /settings/webhook/test` may deliver: the `webhook` block itself is
/// enabled and has a URL. The vendor's answer otherwise is "Webhook is not enabled or URL
/// is not set" (TF `acceptance_stubs_test.go:TestAccWebhookTest_requiresConfiguredWebhook`),
/// so, unlike event deliveries, the test never falls back to `siem.webhook`. A block
/// without `enabled` counts as enabled [C].
pub fn webhook_test_configured(settings: &Map<String, Value>) -> bool {
    object_at(settings, &["webhook"]).is_some_and(|node| {
        node.get("enabled") != Some(&Value::Bool(false)) && non_empty_str(node, "url").is_some()
    })
}

/// Delivers one event to the tenant's webhook. `payload` (an object) gets
/// `event_type`, `tenant_id` and `occurred_at` added. Returns `None` when the tenant
/// has no webhook configured. The attempt is recorded in the tenant's
/// `webhook_deliveries`. Never holds a lock across the HTTP call.
pub async fn deliver_webhook(
    state: &AppState,
    tenant: &str,
    event_type: &str,
    payload: Value,
) -> Option<DeliveryOutcome> {
    let target = {
        let data = state.tenant(tenant).ok()?;
        target_from_settings(&data.settings)?
    };
    let now = state.now();
    let mut body = match payload {
        Value::Object(map) => map,
        other => Map::from_iter([("data".to_string(), other)]),
    };
    body.insert("event_type".into(), event_type.into());
    body.insert("tenant_id".into(), tenant.into());
    body.insert("occurred_at".into(), now.to_string().into());
    let raw = Value::Object(body).to_string();
    let signed = !state.fault(Fault::WebhookUnsigned) && target.secret.is_some();

    let outcome = if state.fault(Fault::WebhookNeverDelivered) {
        DeliveryOutcome {
            status: "delivered",
            http_status: 200,
            error: String::new(),
        }
    } else {
        // A stale timestamp is signed consistently: only a receiver that checks
        // freshness, not just the MAC, sees the defect.
        let timestamp = if state.fault(Fault::WebhookStaleTimestamp) {
            now.unix_seconds() - 3600
        } else {
            now.unix_seconds()
        };
        send(state, &target, event_type, &raw, timestamp, signed).await
    };
    if let Ok(mut data) = state.tenant(tenant) {
        data.webhook_deliveries.push(WebhookDelivery {
            event_type: event_type.to_string(),
            url: target.url.clone(),
            status: outcome.status.to_string(),
            http_status: outcome.http_status,
            error: outcome.error.clone(),
            signed,
            attempted_at: now,
        });
    }
    Some(outcome)
}

/// The signature header: one `v1=` signature, or during a (simulated) secret rotation the
/// retired secret's signature first and the current one second.
fn signature_header(state: &AppState, secret: &str, timestamp: i64, raw: &str) -> String {
    let current = signing::sign(secret.as_bytes(), timestamp, raw.as_bytes());
    if state.config().realism.webhook_rotation {
        let retired = signing::sign(b"retired-webhook-secret", timestamp, raw.as_bytes());
        format!("{retired},{current}")
    } else {
        current
    }
}

async fn send(
    state: &AppState,
    target: &WebhookTarget,
    event_type: &str,
    raw: &str,
    timestamp: i64,
    signed: bool,
) -> DeliveryOutcome {
    let failed = |http_status, error: String| DeliveryOutcome {
        status: "failed",
        http_status,
        error,
    };
    let client = match state.http() {
        Ok(client) => client,
        Err(err) => return failed(0, err),
    };
    let mut request = client
        .post(&target.url)
        .header("content-type", "application/json")
        .header(signing::EVENT_HEADER, event_type)
        .body(raw.to_string());
    if let (true, Some(secret)) = (signed, &target.secret) {
        request = request
            .header(signing::TIMESTAMP_HEADER, timestamp.to_string())
            .header(
                signing::SIGNATURE_HEADER,
                signature_header(state, secret, timestamp, raw),
            );
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => DeliveryOutcome {
            status: "delivered",
            http_status: response.status().as_u16(),
            error: String::new(),
        },
        Ok(response) => failed(
            response.status().as_u16(),
            format!("destination answered {}", response.status()),
        ),
        // Display of a reqwest error names the URL but never headers, so no secret leaks.
        Err(err) => failed(0, format!("deliver webhook: {}", error_chain(&err))),
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn webhook_wins_over_siem_unless_disabled() {
        let both = map(json!({"webhook":{"url":"http://a","secret":"s"},
                              "siem":{"webhook":{"url":"http://b"}}}));
        let t = target_from_settings(&both).unwrap();
        assert_eq!(
            (t.url.as_str(), t.secret.as_deref()),
            ("http://a", Some("s"))
        );
        let disabled = map(json!({"webhook":{"enabled":false,"url":"http://a"},
                                  "siem":{"webhook":{"url":"http://b"}}}));
        assert_eq!(target_from_settings(&disabled).unwrap().url, "http://b");
        assert!(target_from_settings(&map(json!({"webhook":{"url":""}}))).is_none());
    }
}
