//! Verification of signed PAM callbacks.
//!
//! Default scheme of the contract (docs/interfaces.md §4): `X-Thoth-Timestamp: <unix
//! seconds>` and `X-Thoth-Signature: v1=<hex HMAC-SHA256(secret, "<ts>.<raw body>")>`;
//! timestamps more than 300 s away from the server clock are stale.

use thiserror::Error;

use crate::signing::{verify_mac_only, MAX_SKEW_SECONDS};
pub use crate::signing::{SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// The only scheme version this mock understands; other versions in the header are ignored.
pub const SIGNATURE_VERSION: &str = "v1";
/// Largest accepted distance, either way, between the callback's timestamp and the clock.
pub const TOLERANCE_SECS: i64 = MAX_SKEW_SECONDS;

/// Why a callback's signature headers were refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum VerifyError {
    #[error("verify callback: the X-Thoth-Timestamp header is missing")]
    MissingTimestamp,
    #[error("verify callback: the X-Thoth-Timestamp header is not unix seconds")]
    MalformedTimestamp,
    #[error("verify callback: the X-Thoth-Signature header is missing")]
    MissingSignature,
    #[error("verify callback: the X-Thoth-Signature header holds no v1=<hex> signature")]
    MalformedSignature,
    #[error("verify callback: the signature does not match the body and timestamp")]
    SignatureMismatch,
    #[error("verify callback: the timestamp is {skew_secs} s away from the server clock (limit {TOLERANCE_SECS} s)")]
    StaleTimestamp { skew_secs: i64 },
}

impl VerifyError {
    /// The error code of the JSON envelope; only staleness has its own, so that a caller
    /// without the secret learns nothing beyond "not signed correctly".
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::StaleTimestamp { .. } => "stale_timestamp",
            _ => "invalid_signature",
        }
    }
}

/// Which checks run. Both are on in a healthy mock; the PAM fault modes switch one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    pub signature: bool,
    pub freshness: bool,
}

impl Checks {
    pub const ALL: Checks = Checks {
        signature: true,
        freshness: true,
    };
}

/// What a verified callback is known by: its timestamp and the signature that matched
/// (lowercase hex, or the raw header when the signature check is switched off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub timestamp: i64,
    pub signature: String,
}

fn parse_timestamp(header: Option<&str>) -> Result<i64, VerifyError> {
    let text = header.ok_or(VerifyError::MissingTimestamp)?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::MalformedTimestamp);
    }
    text.parse().map_err(|_| VerifyError::MalformedTimestamp)
}

/// The v1 entries of a signature header. Several comma-separated entries are allowed
/// so a sender can sign with an old and a new secret while rotating.
fn v1_entries(header: &str) -> Vec<&str> {
    header
        .split(',')
        .map(str::trim)
        .filter(|entry| {
            entry.split_once('=').is_some_and(|(version, tag)| {
                version == SIGNATURE_VERSION && hex::decode(tag).is_ok()
            })
        })
        .collect()
}

/// Checks a callback's headers against its raw body, the tenant's callback secret and
/// the server clock (`now_unix`), in that order: authenticity first, so that an unsigned
/// request never learns anything from the freshness answer.
pub fn verify(
    secret: &[u8],
    timestamp_header: Option<&str>,
    signature_header: Option<&str>,
    body: &[u8],
    now_unix: i64,
    checks: Checks,
) -> Result<Verified, VerifyError> {
    let mut verified = Verified {
        timestamp: 0,
        signature: signature_header.unwrap_or_default().trim().to_owned(),
    };
    if checks.signature {
        let signature_header = signature_header.ok_or(VerifyError::MissingSignature)?;
        let timestamp = parse_timestamp(timestamp_header)?;
        let entries = v1_entries(signature_header);
        if entries.is_empty() {
            return Err(VerifyError::MalformedSignature);
        }
        // Verify against the header text as sent, not the re-rendered integer, so that
        // "0100" and "100" are different messages exactly as the sender signed them.
        // `verify_mac_only` compares in constant time.
        let raw_timestamp = timestamp_header.unwrap_or_default().trim();
        let matched = entries
            .into_iter()
            .find(|entry| verify_mac_only(secret, raw_timestamp, entry, body).is_ok());
        let entry = matched.ok_or(VerifyError::SignatureMismatch)?;
        verified.timestamp = timestamp;
        verified.signature = entry.trim_start_matches("v1=").to_ascii_lowercase();
    }
    if checks.freshness {
        let timestamp = parse_timestamp(timestamp_header)?;
        let skew_secs = now_unix.saturating_sub(timestamp);
        if skew_secs.saturating_abs() > TOLERANCE_SECS {
            return Err(VerifyError::StaleTimestamp { skew_secs });
        }
        verified.timestamp = timestamp;
    } else if !checks.signature {
        verified.timestamp = parse_timestamp(timestamp_header).unwrap_or_default();
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a sender puts in X-Thoth-Signature (timestamps in these tests are numeric).
    fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
        crate::signing::sign(secret, timestamp.parse().unwrap(), body)
    }

    const SECRET: &[u8] = b"pam-callback-secret";
    const BODY: &[u8] = br#"{"approval_id":"apr-1","request_id":"req-1","decision":"approve"}"#;
    const NOW: i64 = 1_800_000_000;

    fn check(ts: Option<&str>, sig: Option<&str>, body: &[u8]) -> Result<Verified, VerifyError> {
        verify(SECRET, ts, sig, body, NOW, Checks::ALL)
    }

    #[test]
    fn matches_a_vector_computed_independently() {
        // printf '%s' '1800000000.<BODY>' | openssl dgst -sha256 -hmac pam-callback-secret
        assert_eq!(
            sign(SECRET, "1800000000", BODY),
            "v1=6798ca46a0ab192c69ad88d674a650c844b0ab6cea36aa267a8e262e4670ed13"
        );
    }

    #[test]
    fn accepts_a_correctly_signed_fresh_callback() {
        let ts = NOW.to_string();
        let sig = sign(SECRET, &ts, BODY);
        let verified = check(Some(&ts), Some(&sig), BODY).unwrap();
        assert_eq!(verified.timestamp, NOW);
        assert_eq!(format!("v1={}", verified.signature), sig);
    }

    #[test]
    fn refuses_a_tampered_body_wrong_secret_or_missing_headers() {
        let ts = NOW.to_string();
        let sig = sign(SECRET, &ts, BODY);
        let tampered = BODY
            .to_vec()
            .into_iter()
            .map(|b| if b == b'1' { b'2' } else { b })
            .collect::<Vec<_>>();
        assert_eq!(
            check(Some(&ts), Some(&sig), &tampered),
            Err(VerifyError::SignatureMismatch)
        );
        let other = sign(b"other-secret", &ts, BODY);
        assert_eq!(
            check(Some(&ts), Some(&other), BODY),
            Err(VerifyError::SignatureMismatch)
        );
        assert_eq!(
            check(None, Some(&sig), BODY),
            Err(VerifyError::MissingTimestamp)
        );
        assert_eq!(
            check(Some(&ts), None, BODY),
            Err(VerifyError::MissingSignature)
        );
        assert_eq!(
            check(Some("soon"), Some(&sig), BODY),
            Err(VerifyError::MalformedTimestamp)
        );
        assert_eq!(
            check(Some(&ts), Some("v2=abcd"), BODY),
            Err(VerifyError::MalformedSignature)
        );
        assert_eq!(
            check(Some(&ts), Some("v1=zz"), BODY),
            Err(VerifyError::MalformedSignature)
        );
        for err in [
            VerifyError::SignatureMismatch,
            VerifyError::MissingTimestamp,
        ] {
            assert_eq!(err.code(), "invalid_signature");
        }
    }

    #[test]
    fn a_signature_over_another_timestamp_does_not_verify() {
        let sig = sign(SECRET, &NOW.to_string(), BODY);
        let later = (NOW + 1).to_string();
        assert_eq!(
            check(Some(&later), Some(&sig), BODY),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn accepts_any_matching_entry_during_secret_rotation() {
        let ts = NOW.to_string();
        let good = sign(SECRET, &ts, BODY);
        let old = sign(b"retired", &ts, BODY);
        let header = format!("{old}, {good}");
        assert!(check(Some(&ts), Some(&header), BODY).is_ok());
    }

    #[test]
    fn freshness_window_is_inclusive_at_300_seconds_both_ways() {
        for skew in [-TOLERANCE_SECS, 0, TOLERANCE_SECS] {
            let ts = (NOW + skew).to_string();
            let sig = sign(SECRET, &ts, BODY);
            assert!(check(Some(&ts), Some(&sig), BODY).is_ok(), "skew {skew}");
        }
        for skew in [-TOLERANCE_SECS - 1, TOLERANCE_SECS + 1, -86_400] {
            let ts = (NOW + skew).to_string();
            let sig = sign(SECRET, &ts, BODY);
            let err = check(Some(&ts), Some(&sig), BODY).unwrap_err();
            assert_eq!(err, VerifyError::StaleTimestamp { skew_secs: -skew });
            assert_eq!(err.code(), "stale_timestamp");
        }
    }

    #[test]
    fn a_stale_unsigned_request_is_told_only_that_the_signature_is_invalid() {
        let ts = (NOW - 10_000).to_string();
        assert_eq!(
            check(Some(&ts), Some("v1=00"), BODY).unwrap_err().code(),
            "invalid_signature"
        );
    }

    #[test]
    fn switched_off_checks_are_skipped_and_only_those() {
        let ts = NOW.to_string();
        let no_sig = Checks {
            signature: false,
            freshness: true,
        };
        assert!(verify(SECRET, Some(&ts), Some("v1=00"), BODY, NOW, no_sig).is_ok());
        let stale = (NOW - 1_000).to_string();
        assert!(verify(SECRET, Some(&stale), Some("v1=00"), BODY, NOW, no_sig).is_err());
        let no_fresh = Checks {
            signature: true,
            freshness: false,
        };
        let sig = sign(SECRET, &stale, BODY);
        assert!(verify(SECRET, Some(&stale), Some(&sig), BODY, NOW, no_fresh).is_ok());
        assert!(verify(SECRET, Some(&stale), Some("v1=00"), BODY, NOW, no_fresh).is_err());
    }
}
