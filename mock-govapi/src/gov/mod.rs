//! The governance half of the mock: approvals and PAM callbacks, governance decisions
//! and their feed, alerts, evidence SLOs and backfills, browser governance records and
//! SIEM/PAM/SOAR integrations.
//!
//! Everything here is plain data and logic that handles no requests, so it is tested
//! on its own; `crate::routes` wires it to axum.

pub mod approvals;
pub mod backfill;
pub mod browser;
pub mod decisions;
pub mod events;
pub mod holds;
pub mod integrations;
pub mod pam_verify;
pub mod replay;
pub mod slo;
pub mod store;

pub use store::GovState;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::clock::Timestamp;

/// Parses an RFC 3339 timestamp from a query or body.
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    OffsetDateTime::parse(text, &Rfc3339).ok().map(Timestamp)
}

/// The start of a look-back window of `hours` ending at `now`.
pub fn window_start(now: Timestamp, hours: u64) -> Timestamp {
    // Clamp absurd windows to "since the epoch" instead of overflowing.
    let secs = i64::try_from(hours.saturating_mul(3600)).unwrap_or(i64::MAX);
    let span = time::Duration::seconds(secs);
    Timestamp(
        now.0
            .checked_sub(span)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    )
}

/// A fresh identifier with a readable prefix (`apr-…`, `evt-…`), globally unique.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A refusal, carrying what the JSON error envelope needs: HTTP status, snake_case code
/// and a message that reads after "failed to".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct GovError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl From<GovError> for crate::error::ApiError {
    fn from(err: GovError) -> Self {
        let status = axum::http::StatusCode::from_u16(err.status)
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        crate::error::ApiError::new(status, err.code, err.message)
    }
}

impl GovError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        GovError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }
}

/// What a redacted secret reads as on GET (the same placeholder as settings).
pub use crate::routes::settings::REDACTED;

/// Whether a config key names a secret (`client_secret`, `api_token`, `password`, ...).
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "secret",
        "token",
        "password",
        "api_key",
        "apikey",
        "private_key",
        "credential",
    ]
    .iter()
    .any(|marker| key.contains(marker))
}

/// A copy of a config document with every non-empty secret value replaced by
/// [`REDACTED`], at any depth.
pub fn redact_secrets(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let shown = match v {
                        Value::Null => Value::Null,
                        Value::String(s) if s.is_empty() => v.clone(),
                        _ if is_secret_key(k) => Value::String(REDACTED.to_owned()),
                        _ => redact_secrets(v),
                    };
                    (k.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_secrets).collect()),
        other => other.clone(),
    }
}

/// Clients GET (redacted), edit and send the document back; a value still reading
/// [`REDACTED`] means "keep what you have", not "set the secret to this text".
pub fn keep_redacted(incoming: &mut serde_json::Value, existing: &serde_json::Value) {
    use serde_json::Value;
    if let (Value::Object(new), Value::Object(old)) = (incoming, existing) {
        for (key, value) in new.iter_mut() {
            match (value.as_str(), old.get(key)) {
                (Some(REDACTED), Some(previous)) => *value = previous.clone(),
                (_, Some(previous)) => keep_redacted(value, previous),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod redaction_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth_and_kept_on_round_trip() {
        let stored = json!({
            "base_url": "https://siem.example",
            "client_secret": "s3cr3t",
            "auth": {"api_token": "tok", "header": "Authorization"},
            "empty_token": "",
            "list": [{"password": "pw"}],
        });
        let shown = redact_secrets(&stored);
        assert_eq!(shown["client_secret"], REDACTED);
        assert_eq!(shown["auth"]["api_token"], REDACTED);
        assert_eq!(shown["auth"]["header"], "Authorization");
        assert_eq!(shown["empty_token"], "");
        assert_eq!(shown["list"][0]["password"], REDACTED);
        assert!(!shown.to_string().contains("s3cr3t"));

        let mut edited = shown.clone();
        edited["base_url"] = json!("https://siem2.example");
        edited["auth"]["api_token"] = json!("new-token");
        keep_redacted(&mut edited, &stored);
        assert_eq!(edited["client_secret"], "s3cr3t");
        assert_eq!(edited["auth"]["api_token"], "new-token");
        assert_eq!(edited["base_url"], "https://siem2.example");
    }
}
