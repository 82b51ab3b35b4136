//! The governance half of the mock: approvals and PAM callbacks, governance decisions
//! and their feed, alerts, evidence SLOs and backfills, browser governance records and
//! SIEM/PAM/SOAR integrations.
//!
//! Everything here is plain data and logic that handles no requests, so it is tested
//! on its own; `crate::routes` wires it to axum.

pub mod approvals;
pub mod backfill;
pub mod book;
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

/// Whether a config key names a secret (`client_secret`, `api_token`, `password`, ...):
/// the one rule of `secrets.rs`, which the harness's snapshot and redaction share.
pub use crate::secrets::is_secret_key;
