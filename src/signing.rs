//! Signature schemes for PAM callbacks (which the harness signs) and outgoing webhooks
//! (which the harness verifies).
//!
//! The real GovAPI's scheme is not public (govapi-contract.md, [C]), so every part of it
//! lives here as data: header names, the prefix before the MAC, the canonical string and
//! the encoding. A user who learns the real scheme edits a `--target-config` file, not code.

use std::path::Path;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How the MAC bytes are written into the signature header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MacEncoding {
    #[default]
    Hex,
    Base64,
}

/// One HMAC-SHA256 signature scheme: which headers carry what, and what is signed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignatureScheme {
    pub timestamp_header: String,
    pub signature_header: String,
    /// Written before the encoded MAC, e.g. `v1=`.
    pub prefix: String,
    /// The signed string; `{ts}` is the timestamp header value, `{body}` the raw body.
    pub canonical: String,
    pub encoding: MacEncoding,
    /// How far (seconds) a delivery's timestamp may be from the verifier's clock. Only
    /// checked where the harness verifies (webhooks); a stale timestamp is a replayable
    /// delivery, whatever its MAC.
    pub tolerance_seconds: u64,
}

impl Default for SignatureScheme {
    fn default() -> Self {
        SignatureScheme {
            timestamp_header: "X-Thoth-Timestamp".into(),
            signature_header: "X-Thoth-Signature".into(),
            prefix: "v1=".into(),
            canonical: "{ts}.{body}".into(),
            encoding: MacEncoding::Hex,
            tolerance_seconds: 300,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("verify signature: no `{0}` header")]
    MissingHeader(String),
    #[error("verify signature: the signature does not start with `{0}`")]
    MissingPrefix(String),
    #[error("verify signature: the signature is not valid {0}")]
    BadEncoding(&'static str),
    #[error("verify signature: the MAC does not match")]
    Mismatch,
    #[error("verify signature: the timestamp `{0}` is not unix seconds")]
    BadTimestamp(String),
    #[error("verify signature: the timestamp is {skew} s away from now (limit {limit} s)")]
    Stale { skew: i64, limit: u64 },
}

impl SignatureScheme {
    /// The exact bytes that are MACed. The body is spliced in as bytes, so a body that
    /// is not UTF-8 is signed as sent.
    pub fn canonical_bytes(&self, ts: &str, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.canonical.len() + body.len() + ts.len());
        let mut rest = self.canonical.as_str();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("{ts}") {
                out.extend_from_slice(ts.as_bytes());
                rest = r;
            } else if let Some(r) = rest.strip_prefix("{body}") {
                out.extend_from_slice(body);
                rest = r;
            } else {
                let ch = rest.chars().next().unwrap_or_default();
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                rest = &rest[ch.len_utf8()..];
            }
        }
        out
    }

    fn mac(&self, secret: &[u8], ts: &str, body: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(&self.canonical_bytes(ts, body));
        mac
    }

    /// The full signature header value (prefix + encoded MAC).
    pub fn sign(&self, secret: &[u8], ts: &str, body: &[u8]) -> String {
        let tag = self.mac(secret, ts, body).finalize().into_bytes();
        let encoded = match self.encoding {
            MacEncoding::Hex => hex::encode(tag),
            MacEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(tag),
        };
        format!("{}{}", self.prefix, encoded)
    }

    /// Checks a signature header value against the body, comparing MACs in constant time.
    /// The header may carry several signatures (`v1=aaa,v1=bbb`, or space-separated), as a
    /// sender does while it rotates secrets: it verifies when any one of them matches.
    /// Entries with another prefix (`v0=`, `t=`) are ignored.
    pub fn verify(
        &self,
        secret: &[u8],
        ts: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<(), SignatureError> {
        let candidates: Vec<&str> = signature
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter_map(|part| part.strip_prefix(self.prefix.as_str()))
            .collect();
        if candidates.is_empty() {
            return Err(SignatureError::MissingPrefix(self.prefix.clone()));
        }
        let mut first_error = None;
        for encoded in candidates {
            match self.verify_one(secret, ts, encoded, body) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or(SignatureError::Mismatch))
    }

    fn verify_one(
        &self,
        secret: &[u8],
        ts: &str,
        encoded: &str,
        body: &[u8],
    ) -> Result<(), SignatureError> {
        let tag = match self.encoding {
            MacEncoding::Hex => {
                hex::decode(encoded).map_err(|_| SignatureError::BadEncoding("hex"))?
            }
            MacEncoding::Base64 => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| SignatureError::BadEncoding("base64"))?,
        };
        self.mac(secret, ts, body)
            .verify_slice(&tag)
            .map_err(|_| SignatureError::Mismatch)
    }

    /// Is the timestamp header within `tolerance_seconds` of `now_unix`?
    pub fn check_fresh(&self, ts: &str, now_unix: i64) -> Result<(), SignatureError> {
        let sent: i64 = ts
            .trim()
            .parse()
            .map_err(|_| SignatureError::BadTimestamp(ts.chars().take(40).collect()))?;
        let skew = now_unix.saturating_sub(sent);
        if skew.unsigned_abs() > self.tolerance_seconds {
            return Err(SignatureError::Stale {
                skew,
                limit: self.tolerance_seconds,
            });
        }
        Ok(())
    }

    /// Verifies a delivery given its headers (names compared case-insensitively).
    pub fn verify_headers(
        &self,
        secret: &[u8],
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(), SignatureError> {
        let find = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let ts = find(&self.timestamp_header)
            .ok_or_else(|| SignatureError::MissingHeader(self.timestamp_header.clone()))?;
        let sig = find(&self.signature_header)
            .ok_or_else(|| SignatureError::MissingHeader(self.signature_header.clone()))?;
        self.verify(secret, ts, sig, body)
    }

    /// [`verify_headers`](Self::verify_headers), then the timestamp's freshness against
    /// `now_unix`: what a receiver must check before trusting a delivery.
    pub fn verify_delivery(
        &self,
        secret: &[u8],
        headers: &[(String, String)],
        body: &[u8],
        now_unix: i64,
    ) -> Result<(), SignatureError> {
        self.verify_headers(secret, headers, body)?;
        let ts = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&self.timestamp_header))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        self.check_fresh(ts, now_unix)
    }
}

/// The target's signature schemes, loadable from `--target-config FILE` (YAML):
///
/// ```yaml
/// pam: { signature_header: X-Signature, prefix: "sha256=", encoding: base64 }
/// webhook: { canonical: "{body}" }
/// ```
/// Omitted fields keep the defaults of interfaces.md §4.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schemes {
    pub pam: SignatureScheme,
    pub webhook: SignatureScheme,
    /// Where PAM callbacks are posted, under `{govapi_url}/{tenant}`.
    pub pam_callback_path: String,
}

impl Default for Schemes {
    fn default() -> Self {
        Schemes {
            pam: SignatureScheme::default(),
            webhook: SignatureScheme::default(),
            pam_callback_path: "/thoth/pam/callback".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchemesError {
    #[error("failed to read target config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("failed to parse target config {path}: {message}")]
    Parse { path: String, message: String },
}

impl Schemes {
    pub fn load(path: &Path) -> Result<Schemes, SchemesError> {
        let text = std::fs::read_to_string(path).map_err(|source| SchemesError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|message| SchemesError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Schemes, String> {
        let schemes: Schemes = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        for (name, s) in [("pam", &schemes.pam), ("webhook", &schemes.webhook)] {
            if !s.canonical.contains("{body}") {
                return Err(format!("{name}.canonical must contain {{body}}"));
            }
            if s.timestamp_header.is_empty() || s.signature_header.is_empty() {
                return Err(format!("{name}: header names must not be empty"));
            }
        }
        if !schemes.pam_callback_path.starts_with('/') {
            return Err("pam_callback_path must start with `/`".into());
        }
        Ok(schemes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_scheme_matches_the_contract_example() {
        // Computed independently: HMAC-SHA256("s3cret", "1700000000.{}") in hex.
        let s = SignatureScheme::default();
        let sig = s.sign(b"s3cret", "1700000000", b"{}");
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(b"s3cret").unwrap();
        mac.update(b"1700000000.{}");
        let want = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(sig, want);
    }

    #[test]
    fn round_trip_and_tamper_detection() {
        for encoding in [MacEncoding::Hex, MacEncoding::Base64] {
            let s = SignatureScheme {
                encoding,
                ..SignatureScheme::default()
            };
            let body = br#"{"approval_id":"a1","decision":"approve"}"#;
            let sig = s.sign(b"k", "42", body);
            assert_eq!(s.verify(b"k", "42", &sig, body), Ok(()));
            assert_eq!(
                s.verify(b"k", "43", &sig, body),
                Err(SignatureError::Mismatch)
            );
            assert_eq!(
                s.verify(b"other", "42", &sig, body),
                Err(SignatureError::Mismatch)
            );
            assert_eq!(
                s.verify(
                    b"k",
                    "42",
                    &sig,
                    br#"{"approval_id":"a1","decision":"deny"}"#
                ),
                Err(SignatureError::Mismatch)
            );
            assert_eq!(
                s.verify(b"k", "42", &sig[3..], body),
                Err(SignatureError::MissingPrefix("v1=".into()))
            );
        }
    }

    #[test]
    fn any_one_of_several_signatures_verifies_during_rotation() {
        let s = SignatureScheme::default();
        let good = s.sign(b"new", "100", b"x");
        let old = s.sign(b"old", "100", b"x");
        for header in [
            format!("{old},{good}"),
            format!("{good},{old}"),
            format!("{old} {good}"),
            format!("t=100,{good}"),
        ] {
            assert_eq!(s.verify(b"new", "100", &header, b"x"), Ok(()), "{header}");
        }
        assert_eq!(
            s.verify(b"new", "100", &format!("{old},{old}"), b"x"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            s.verify(b"new", "100", "v0=abc,t=1", b"x"),
            Err(SignatureError::MissingPrefix("v1=".into()))
        );
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let s = SignatureScheme::default();
        let body = b"{}";
        let headers = |ts: i64| {
            vec![
                ("X-Thoth-Timestamp".to_owned(), ts.to_string()),
                (
                    "X-Thoth-Signature".to_owned(),
                    s.sign(b"k", &ts.to_string(), body),
                ),
            ]
        };
        let now = 1_700_000_000;
        for ts in [now, now - 300, now + 300] {
            assert_eq!(s.verify_delivery(b"k", &headers(ts), body, now), Ok(()));
        }
        assert_eq!(
            s.verify_delivery(b"k", &headers(now - 3600), body, now),
            Err(SignatureError::Stale {
                skew: 3600,
                limit: 300
            })
        );
        assert_eq!(
            s.verify_delivery(b"k", &headers(now + 301), body, now),
            Err(SignatureError::Stale {
                skew: -301,
                limit: 300
            })
        );
        let mut bad = headers(now);
        bad[0].1 = "yesterday".into();
        assert!(matches!(
            s.check_fresh(&bad[0].1, now),
            Err(SignatureError::BadTimestamp(_))
        ));
    }

    #[test]
    fn flipped_hex_digit_is_a_mismatch_not_a_panic() {
        let s = SignatureScheme::default();
        let sig = s.sign(b"k", "1", b"x");
        let mut flipped: Vec<char> = sig.chars().collect();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == '0' { '1' } else { '0' };
        let flipped: String = flipped.into_iter().collect();
        assert_eq!(
            s.verify(b"k", "1", &flipped, b"x"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            s.verify(b"k", "1", "v1=zz", b"x"),
            Err(SignatureError::BadEncoding("hex"))
        );
        // A truncated MAC must not verify (verify_slice checks the length).
        assert_eq!(
            s.verify(b"k", "1", &sig[..sig.len() - 2], b"x"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn custom_canonical_and_headers() {
        let s = SignatureScheme {
            canonical: "t={ts};b={body}".into(),
            ..SignatureScheme::default()
        };
        assert_eq!(s.canonical_bytes("9", b"B"), b"t=9;b=B".to_vec());
        let headers = vec![
            ("x-thoth-timestamp".to_string(), "9".to_string()),
            ("X-THOTH-SIGNATURE".to_string(), s.sign(b"k", "9", b"B")),
        ];
        assert_eq!(s.verify_headers(b"k", &headers, b"B"), Ok(()));
        assert_eq!(
            s.verify_headers(b"k", &headers[..1], b"B"),
            Err(SignatureError::MissingHeader("X-Thoth-Signature".into()))
        );
    }

    #[test]
    fn schemes_load_from_yaml_with_defaults() {
        let s = Schemes::parse("pam:\n  prefix: \"sha256=\"\n  encoding: base64\n").unwrap();
        assert_eq!(s.pam.prefix, "sha256=");
        assert_eq!(s.pam.encoding, MacEncoding::Base64);
        assert_eq!(s.pam.timestamp_header, "X-Thoth-Timestamp");
        assert_eq!(s.webhook, SignatureScheme::default());
        assert!(Schemes::parse("pam:\n  canonical: \"{ts}\"\n").is_err());
        assert!(Schemes::parse("pam:\n  bogus: 1\n").is_err());
    }
}
