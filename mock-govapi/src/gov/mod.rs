//! The governance half of the mock: approvals and PAM callbacks, governance decisions
//! and their feed, alerts, evidence SLOs and backfills, browser governance records and
//! SIEM/PAM/SOAR integrations.
//!
//! Everything here is plain data and logic that handles no requests, so it is tested
//! on its own; `crate::routes` wires it to axum.

pub mod approvals;
pub mod backfill;
pub mod browser;
pub mod chain;
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

/// Whether a config key names a secret (`client_secret`, `api_token`, `password`, ...):
/// the one rule of `secrets.rs`, for every record kind.
pub use crate::secrets::is_secret_key;

/// A copy of a config document with every set secret replaced by [`REDACTED`], at any
/// depth (the response layer then shows it as `--secret-readback` says).
pub fn redact_secrets(value: &serde_json::Value) -> serde_json::Value {
    crate::secrets::hide(value, crate::secrets::SecretReadback::Mask)
}

/// Clients GET, edit and send the document back; a secret still reading as GET showed
/// it (`"********"`, `""`, or left out) means "keep what you have".
pub fn keep_redacted(incoming: &mut serde_json::Value, existing: &serde_json::Value) {
    crate::secrets::keep(incoming, existing)
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
