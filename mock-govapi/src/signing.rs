//! The default signature scheme shared by outgoing webhooks and PAM callbacks
//! (docs/interfaces.md §4): `X-Thoth-Timestamp: <unix seconds>` and
//! `X-Thoth-Signature: v1=<hex HMAC-SHA256(secret, "<ts>.<raw body>")>`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const TIMESTAMP_HEADER: &str = "x-thoth-timestamp";
pub const SIGNATURE_HEADER: &str = "x-thoth-signature";
pub const EVENT_HEADER: &str = "x-thoth-event";
/// Timestamps further than this from now (either way) are stale.
pub const MAX_SKEW_SECONDS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Thoth-Signature` value for `body` sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("v1={}", hex::encode(tag))
}

/// Why a signed request was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("verify signature: the timestamp or signature header is missing")]
    Missing,
    #[error("verify signature: the timestamp is not unix seconds")]
    BadTimestamp,
    #[error("verify signature: the timestamp is more than 300 s away from now")]
    Stale,
    #[error("verify signature: the signature does not match the body")]
    Mismatch,
}

/// Checks a signature; the MAC comparison runs in constant time.
/// `timestamp` and `signature` are the raw header values, `now` is unix seconds.
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SignatureError::Missing);
    };
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    verify_mac_only(secret, timestamp.trim(), signature, body)?;
    if (now - ts).abs() > MAX_SKEW_SECONDS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// Checks only the MAC (no freshness), for callers that report the two separately.
pub fn verify_mac_only(
    secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
) -> Result<(), SignatureError> {
    // Several `v1=` entries (comma-separated) are a sender rotating its secret: any one
    // that matches verifies.
    let matches = signature
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(|hex_tag| hex::decode(hex_tag).ok())
        .any(|tag| mac(secret, timestamp, body).verify_slice(&tag).is_ok());
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Constant-time equality for credentials.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Lowercase hex SHA-256, the form in which API keys are stored.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trips() {
        let sig = sign(b"s3cret", 1_700_000_000, b"{\"a\":1}");
        assert!(sig.starts_with("v1=") && sig.len() == 3 + 64);
        assert_eq!(
            verify(
                b"s3cret",
                Some("1700000000"),
                Some(&sig),
                b"{\"a\":1}",
                1_700_000_010
            ),
            Ok(())
        );
    }

    #[test]
    fn known_vector_matches_an_independent_hmac() {
        // HMAC-SHA256(key="key", "1.body"), computed with `openssl dgst -sha256 -hmac key`.
        let sig = sign(b"key", 1, b"body");
        assert_eq!(
            sig,
            "v1=91b5374b153842ad05b2c4eab9349b8321b14703165bd3fb8b034dfb8be98ae5"
        );
        assert_eq!(verify_mac_only(b"key", "1", &sig, b"body"), Ok(()));
        assert_eq!(
            verify_mac_only(b"other", "1", &sig, b"body"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn tampering_staleness_and_missing_headers_are_rejected() {
        let sig = sign(b"k", 100, b"x");
        assert_eq!(
            verify(b"k", Some("100"), Some(&sig), b"y", 100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"k", Some("100"), Some(&sig), b"x", 401),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(b"k", None, Some(&sig), b"x", 100),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(b"k", Some("abc"), Some(&sig), b"x", 100),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            verify(b"k", Some("100"), Some("v1=zz"), b"x", 100),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn sha256_hex_matches_known_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
