//! Secret redaction for everything that leaves the process.
//!
//! A [`Redactor`] holds the run's secrets (tokens, API keys, webhook and PAM secrets,
//! captures marked `secret: true`) and replaces every occurrence of each secret, and of
//! the forms a secret takes on its way through HTTP and JSON, with [`REDACTED`]:
//!
//! - plain text;
//! - base64: standard and URL-safe alphabets, each with and without padding;
//! - percent-encoded: form encoding (`+` for space), path-segment encoding, URI-component
//!   encoding and everything-but-alphanumerics encoding, each with upper- and lower-case
//!   hex digits;
//! - JSON string escaping (a secret holding `"` or `\` appears escaped inside JSON
//!   bodies and in `results.json`) and XML escaping (as it appears in `junit.xml`).
//!
//! Out of scope: a secret that only appears inside a larger encoded blob (for example
//! base64 of `user:secret` in a Basic auth header). The transcript masks the credential
//! headers regardless of their value for that reason (see `report::transcript`).
//!
//! Secrets shorter than [`MIN_SECRET_CHARS`] are refused: replacing every three-letter
//! substring that happens to equal a short "secret" would garble the reports while
//! giving no protection worth the name. The caller learns why through [`SecretRejected`].
//!
//! All forms of all secrets live in one Aho-Corasick automaton searched leftmost-longest,
//! so a transcript of several MB is redacted in one linear pass, and where two secrets
//! overlap the longer match wins, which removes the longer secret whole.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC};
use serde_json::Value;

/// What every secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Headers whose values are credentials by nature: masked whatever their value, because
/// a credential may never have been registered (a token read by thothctl itself) or may
/// appear only inside an encoding the redactor does not know (Basic auth). The client
/// masks them when it records an exchange and the transcript again when it renders one,
/// both through [`mask_credential_header`].
pub const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "x-thoth-signature",
    "cookie",
    "set-cookie",
];

/// The value of a credential header as it may be shown: the auth scheme kept (`Bearer`
/// tells a reader which credential was used), the rest [`REDACTED`]. None when `name`
/// is not a credential header.
pub fn mask_credential_header(name: &str, value: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    if !CREDENTIAL_HEADERS.contains(&lower.as_str()) {
        return None;
    }
    let scheme = value.split_once(' ').map(|(s, _)| s).filter(|s| {
        (lower == "authorization" || lower == "proxy-authorization")
            && !s.is_empty()
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    Some(match scheme {
        Some(scheme) => format!("{scheme} {REDACTED}"),
        None => REDACTED.to_owned(),
    })
}

/// Secrets shorter than this many characters are refused.
pub const MIN_SECRET_CHARS: usize = 6;

/// A replacement can, in contrived cases, splice a new occurrence of a secret out of
/// the marker and its neighbours (a secret ending in `D]`, say). Redaction repeats until
/// nothing matches; past this many passes the whole text is withheld instead.
const MAX_PASSES: usize = 8;

/// `application/x-www-form-urlencoded`: only alphanumerics and `*-._` stay as they are.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');
/// A URL path segment, as the WHATWG URL standard encodes it.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'#')
    .add(b'?')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%');
/// JavaScript's `encodeURIComponent`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Why a secret was not registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretRejected {
    #[error("register a secret for redaction: it is empty")]
    Empty,
    #[error(
        "register a secret for redaction: it is {chars} characters long, below the minimum \
         of {min}; redacting every occurrence of so short a string would garble the reports"
    )]
    TooShort { chars: usize, min: usize },
    #[error(
        "register a secret for redaction: it is part of the redaction marker `{REDACTED}`, \
         so redacted text would keep showing it"
    )]
    PartOfMarker,
    /// Beyond the matcher's size limits (not reachable with any realistic secrets).
    #[error("register a secret for redaction: the matcher cannot hold it: {0}")]
    Unindexable(String),
}

/// The shape in which a secret was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretForm {
    Plain,
    Base64,
    Base64NoPad,
    Base64Url,
    Base64UrlNoPad,
    PercentForm,
    PercentPath,
    PercentComponent,
    PercentAll,
    JsonEscaped,
    XmlEscaped,
}

impl SecretForm {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretForm::Plain => "plain",
            SecretForm::Base64 => "base64",
            SecretForm::Base64NoPad => "base64-nopad",
            SecretForm::Base64Url => "base64-url",
            SecretForm::Base64UrlNoPad => "base64-url-nopad",
            SecretForm::PercentForm => "percent-form",
            SecretForm::PercentPath => "percent-path",
            SecretForm::PercentComponent => "percent-component",
            SecretForm::PercentAll => "percent-all",
            SecretForm::JsonEscaped => "json-escaped",
            SecretForm::XmlEscaped => "xml-escaped",
        }
    }
}

impl fmt::Display for SecretForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every encoded form of `secret` that differs from the others, plain form first.
pub fn secret_forms(secret: &str) -> Vec<(SecretForm, String)> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let b = secret.as_bytes();
    let mut forms = vec![
        (SecretForm::Plain, secret.to_owned()),
        (SecretForm::Base64, STANDARD.encode(b)),
        (SecretForm::Base64NoPad, STANDARD_NO_PAD.encode(b)),
        (SecretForm::Base64Url, URL_SAFE.encode(b)),
        (SecretForm::Base64UrlNoPad, URL_SAFE_NO_PAD.encode(b)),
    ];
    let percent = [
        (
            SecretForm::PercentForm,
            percent_encoding::utf8_percent_encode(secret, FORM)
                .to_string()
                .replace("%20", "+"),
        ),
        (
            SecretForm::PercentPath,
            percent_encoding::utf8_percent_encode(secret, PATH_SEGMENT).to_string(),
        ),
        (
            SecretForm::PercentComponent,
            percent_encoding::utf8_percent_encode(secret, URI_COMPONENT).to_string(),
        ),
        (
            SecretForm::PercentAll,
            percent_encoding::utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string(),
        ),
    ];
    for (form, upper) in percent {
        // Decoders accept either case of hex digit, and some encoders emit lower case.
        let lower = lower_hex_escapes(&upper);
        forms.push((form, upper));
        forms.push((form, lower));
    }
    if let Ok(quoted) = serde_json::to_string(secret) {
        forms.push((
            SecretForm::JsonEscaped,
            quoted[1..quoted.len() - 1].to_owned(),
        ));
    }
    forms.push((SecretForm::XmlEscaped, xml_escape(secret)));

    let mut seen = HashSet::new();
    forms.retain(|(_, s)| seen.insert(s.clone()));
    forms
}

fn lower_hex_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            for h in chars.by_ref().take(2) {
                out.push(h.to_ascii_lowercase());
            }
        }
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[derive(Default)]
struct Inner {
    secrets: Vec<String>,
    /// Pattern id of the automaton -> (index into `secrets`, form).
    patterns: Vec<(usize, SecretForm)>,
    automaton: Option<AhoCorasick>,
}

/// The run's secret registry; cheap to clone, all clones share the secrets, and secrets
/// added by one clone (a capture mid-run) apply to every other at once.
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<RwLock<Inner>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secrets themselves.
        f.debug_struct("Redactor")
            .field("secrets", &self.read().secrets.len())
            .finish()
    }
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves the data consistent (the
        // automaton is swapped in whole), so a poisoned lock is still safe to use.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a secret; from now on every clone redacts it and its encoded forms.
    /// Adding a secret twice is harmless.
    ///
    /// Surrounding whitespace is almost always an artefact of reading a secret file (a
    /// trailing newline), and the secret travels without it: a secret with surrounding
    /// whitespace is registered both as given and trimmed, and the length rule applies to
    /// the trimmed form.
    pub fn add_secret(&self, s: &str) -> Result<(), SecretRejected> {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(SecretRejected::Empty);
        }
        let chars = trimmed.chars().count();
        if chars < MIN_SECRET_CHARS {
            return Err(SecretRejected::TooShort {
                chars,
                min: MIN_SECRET_CHARS,
            });
        }
        if REDACTED.contains(trimmed) {
            return Err(SecretRejected::PartOfMarker);
        }
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let mut secrets = inner.secrets.clone();
        for candidate in [s, trimmed] {
            if !secrets.iter().any(|known| known == candidate) {
                secrets.push(candidate.to_owned());
            }
        }
        if secrets.len() == inner.secrets.len() {
            return Ok(());
        }
        let mut patterns = Vec::new();
        let mut texts = Vec::new();
        for (index, secret) in secrets.iter().enumerate() {
            for (form, text) in secret_forms(secret) {
                patterns.push((index, form));
                texts.push(text);
            }
        }
        // Built before anything changes: on failure the registry stays as it was and the
        // caller hears of it, rather than redaction silently stopping.
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&texts)
            .map_err(|e| SecretRejected::Unindexable(e.to_string()))?;
        inner.secrets = secrets;
        inner.patterns = patterns;
        inner.automaton = Some(automaton);
        Ok(())
    }

    /// The registered secrets, in registration order.
    pub fn secrets(&self) -> Vec<String> {
        self.read().secrets.clone()
    }

    pub fn is_empty(&self) -> bool {
        self.read().secrets.is_empty()
    }

    /// `s` with every registered secret, in every form, replaced by [`REDACTED`].
    pub fn redact(&self, s: &str) -> String {
        let inner = self.read();
        let Some(ac) = inner.automaton.as_ref() else {
            return s.to_owned();
        };
        let mut current = s.to_owned();
        for _ in 0..MAX_PASSES {
            if !ac.is_match(&current) {
                return current;
            }
            let mut next = String::with_capacity(current.len());
            ac.replace_all_with(&current, &mut next, |_, _, dst| {
                dst.push_str(REDACTED);
                true
            });
            current = next;
        }
        if ac.is_match(&current) {
            // Fail closed: withhold the text rather than risk a leak.
            REDACTED.to_owned()
        } else {
            current
        }
    }

    /// A copy of `value` with every string in it (object keys included) redacted.
    /// Redacting strings before serialising keeps the JSON valid whatever the secrets
    /// hold (quotes, backslashes), which text redaction of serialised JSON cannot promise.
    pub fn redact_json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.redact(s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.redact_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.redact(k), self.redact_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn find_all(&self, haystack: &[u8]) -> Vec<(usize, usize, SecretForm)> {
        let inner = self.read();
        let Some(ac) = inner.automaton.as_ref() else {
            return Vec::new();
        };
        ac.find_iter(haystack)
            .map(|m| {
                let (secret, form) = inner.patterns[m.pattern().as_usize()];
                (m.start(), secret, form)
            })
            .collect()
    }
}

/// Where a scanned secret was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HitLocation {
    File(PathBuf),
    /// The n-th (0-based) of the `text_outputs` given to [`scan_for_secrets`].
    Output(usize),
}

impl fmt::Display for HitLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HitLocation::File(p) => write!(f, "{}", p.display()),
            HitLocation::Output(i) => write!(f, "output #{i}"),
        }
    }
}

/// A finding of the final secret scan. Never holds the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretHit {
    Found {
        location: HitLocation,
        /// Byte offset of the match.
        offset: usize,
        form: SecretForm,
        /// Index of the secret in registration order (see [`Redactor::secrets`]).
        secret: usize,
    },
    /// A file that exists but could not be read: it cannot be vouched for, so it counts
    /// as a hit (fail closed).
    Unreadable { path: PathBuf, reason: String },
}

impl fmt::Display for SecretHit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretHit::Found {
                location,
                offset,
                form,
                secret,
            } => write!(
                f,
                "{location}: byte {offset}: secret #{secret} found ({form} form)"
            ),
            SecretHit::Unreadable { path, reason } => write!(
                f,
                "{}: could not be read to scan for secrets: {reason}",
                path.display()
            ),
        }
    }
}

/// Scans written files and captured text outputs (console, logs) for any registered
/// secret in any form. A non-empty result means exit code 5. Files that do not exist are
/// skipped: nothing was written there, so nothing leaked there.
pub fn scan_for_secrets(
    paths: &[PathBuf],
    text_outputs: &[&str],
    redactor: &Redactor,
) -> Vec<SecretHit> {
    let mut hits = Vec::new();
    for path in paths {
        match std::fs::read(path) {
            Ok(bytes) => hits.extend(redactor.find_all(&bytes).into_iter().map(
                |(offset, secret, form)| SecretHit::Found {
                    location: HitLocation::File(path.clone()),
                    offset,
                    form,
                    secret,
                },
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => hits.push(SecretHit::Unreadable {
                path: path.clone(),
                reason: e.to_string(),
            }),
        }
    }
    for (index, text) in text_outputs.iter().enumerate() {
        hits.extend(redactor.find_all(text.as_bytes()).into_iter().map(
            |(offset, secret, form)| SecretHit::Found {
                location: HitLocation::Output(index),
                offset,
                form,
                secret,
            },
        ));
    }
    hits
}

#[cfg(test)]
mod tests;
