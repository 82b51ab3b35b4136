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
//!   bodies and in `results.json`) and XML escaping (as it appears in `junit.xml`);
//! - hexadecimal;
//! - the payload and the signature of a JWT, each on its own;
//! - the first half of a long secret (at least [`PREFIX_MIN_CHARS`] characters), which
//!   is what survives of it in a message cut for display;
//! - each of these in any ASCII case (an upper-cased echo, upper-case hex);
//! - each of these behind JSON escapes a target may use without changing the value
//!   (`\uXXXX` as Python writes non-ASCII, `\/` as PHP writes `/`), nested up to three
//!   levels deep (a JSON body inside `results.json`), or wrapped across lines.
//!
//! Out of scope: a secret that only appears inside a larger encoded blob (for example
//! base64 of `user:secret` in a Basic auth header). The transcript masks the credential
//! headers regardless of their value for that reason (see `report::transcript`).
//!
//! Secrets shorter than [`MIN_SECRET_CHARS`] are refused: replacing every three-letter
//! substring that happens to equal a short "secret" would garble the reports while
//! giving no protection worth the name. The caller learns why through [`SecretRejected`].
//!
//! The forms live in a few Aho-Corasick automata (see `Part`) searched leftmost-longest,
//! so a transcript of several MB is redacted in a few linear passes; where matches
//! overlap, their union is replaced. The final scan ([`scan_for_secrets`]) uses the
//! same matcher, so it finds every form redaction removes.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, Weak};

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

/// Secrets of at least this many characters are also found by their first half.
pub const PREFIX_FROM_CHARS: usize = 16;
/// The shortest prefix that counts as a secret: long enough that an unrelated value
/// sharing a vendor's key prefix (`thoth_org_`, say) is not taken for it.
pub const PREFIX_MIN_CHARS: usize = 12;

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
    /// The bytes as hexadecimal digits.
    Hex,
    /// The first half (at least [`PREFIX_MIN_CHARS`] characters) of a long secret: what
    /// is left of it when a message is cut.
    Prefix,
    /// The payload or the signature of a JWT, echoed on its own.
    JwtPart,
    /// Found only once JSON escapes were decoded or wrapped lines joined.
    Escaped,
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
            SecretForm::Hex => "hex",
            SecretForm::Prefix => "prefix",
            SecretForm::JwtPart => "jwt-part",
            SecretForm::Escaped => "escaped-or-wrapped",
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
    // Decoders accept either case of hex digit; matching ignores ASCII case, which
    // covers lower-case escapes (and upper-cased echoes of every form).
    forms.extend(percent);
    if let Ok(quoted) = serde_json::to_string(secret) {
        forms.push((
            SecretForm::JsonEscaped,
            quoted[1..quoted.len() - 1].to_owned(),
        ));
    }
    forms.push((SecretForm::XmlEscaped, xml_escape(secret)));
    // report.html's template (maud) escapes `&<>"` and leaves `'` as is.
    forms.push((SecretForm::XmlEscaped, html_escape(secret)));
    forms.push((SecretForm::Hex, hex::encode(b)));
    // Matching folds ASCII case only; a target upper-casing `é` too writes `É`.
    if !secret.is_ascii() {
        forms.push((SecretForm::Plain, secret.to_uppercase()));
        forms.push((SecretForm::Plain, secret.to_lowercase()));
    }
    // A secret that itself spans lines is found in the joined view as well.
    if let Some(joined) = normalise_breaks(secret) {
        forms.push((SecretForm::Plain, joined));
    }
    let chars = secret.chars().count();
    if chars >= PREFIX_FROM_CHARS {
        let keep = PREFIX_MIN_CHARS.max(chars.div_ceil(2));
        forms.push((SecretForm::Prefix, secret.chars().take(keep).collect()));
    }
    for part in jwt_parts(secret) {
        forms.push((SecretForm::JwtPart, part.to_owned()));
    }

    let mut seen = HashSet::new();
    forms.retain(|(_, s)| seen.insert(s.clone()));
    forms
}

/// A secret containing line breaks, as the joined view of [`normalise`] shows it.
fn normalise_breaks(secret: &str) -> Option<String> {
    if !secret.contains(['\n', '\r']) {
        return None;
    }
    let mut out = String::new();
    let mut line_start = false;
    for c in secret.chars() {
        match c {
            '\n' | '\r' => line_start = true,
            ' ' | '\t' if line_start => {}
            c => {
                line_start = false;
                out.push(c);
            }
        }
    }
    Some(out)
}

/// The payload and signature of a JWT (`header.payload.signature`, base64url, the
/// header a JSON object so starting `eyJ`), each when long enough to be a secret. The
/// header is left out: every token of an issuer shares it.
fn jwt_parts(secret: &str) -> Vec<&str> {
    let parts: Vec<&str> = secret.trim().split('.').collect();
    let b64url = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if parts.len() != 3 || !parts[0].starts_with("eyJ") || !parts.iter().all(|p| b64url(p)) {
        return Vec::new();
    }
    parts[1..]
        .iter()
        .copied()
        .filter(|p| p.len() >= PREFIX_MIN_CHARS)
        .collect()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// One Aho-Corasick automaton over every form of the secrets `first..first + count`.
///
/// The registry keeps a short stack of these, sized like the digits of a binary counter:
/// a new secret gets a part of its own, and two neighbouring parts merge when the older
/// holds no more secrets than the newer. Each secret is therefore rebuilt into a bigger
/// automaton O(log n) times, instead of every automaton being rebuilt from scratch on
/// every `add_secret` (which made registration quadratic in a run's captured secrets),
/// and a search visits at most log2(n) + 1 automata.
struct Part {
    first: usize,
    count: usize,
    /// The pattern texts, kept to rebuild this part into a merged one.
    texts: Vec<String>,
    /// Pattern id -> (index into `secrets`, form).
    patterns: Vec<(usize, SecretForm)>,
    automaton: AhoCorasick,
}

impl Part {
    fn build(
        first: usize,
        count: usize,
        texts: Vec<String>,
        patterns: Vec<(usize, SecretForm)>,
    ) -> Result<Part, SecretRejected> {
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            // Upper-cased echoes and hex in either case are the same secret.
            .ascii_case_insensitive(true)
            .build(&texts)
            .map_err(|e| SecretRejected::Unindexable(e.to_string()))?;
        Ok(Part {
            first,
            count,
            texts,
            patterns,
            automaton,
        })
    }

    fn of(first: usize, secrets: &[String]) -> Result<Part, SecretRejected> {
        let mut texts = Vec::new();
        let mut patterns = Vec::new();
        for (i, secret) in secrets.iter().enumerate() {
            for (form, text) in secret_forms(secret) {
                patterns.push((first + i, form));
                texts.push(text);
            }
        }
        Part::build(first, secrets.len(), texts, patterns)
    }
}

#[derive(Default)]
struct Inner {
    secrets: Vec<String>,
    parts: Vec<Part>,
    /// The longest pattern text of any part, in bytes: how far a match can reach.
    longest_form: usize,
}

/// A match of some form of a secret in a text, as a byte range of that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hit {
    start: usize,
    end: usize,
    secret: usize,
    form: SecretForm,
}

impl Inner {
    /// Registers `new` (not yet known) secrets; nothing changes on failure.
    fn extend(&mut self, new: Vec<String>) -> Result<(), SecretRejected> {
        let first = self.secrets.len();
        let mut part = Part::of(first, &new)?;
        let longest = part.texts.iter().map(String::len).max().unwrap_or(0);
        let mut keep = self.parts.len();
        while keep > 0 && self.parts[keep - 1].count <= part.count + self.merging(keep) {
            keep -= 1;
        }
        if keep < self.parts.len() {
            let mut texts = Vec::new();
            let mut patterns = Vec::new();
            for p in &self.parts[keep..] {
                texts.extend(p.texts.iter().cloned());
                patterns.extend(p.patterns.iter().copied());
            }
            texts.append(&mut part.texts);
            patterns.append(&mut part.patterns);
            let from = self.parts[keep].first;
            part = Part::build(from, first + new.len() - from, texts, patterns)?;
        }
        self.parts.truncate(keep);
        self.parts.push(part);
        self.secrets.extend(new);
        self.longest_form = self.longest_form.max(longest);
        Ok(())
    }

    /// Merges every part into one automaton, so a search is one pass instead of one per
    /// part. Nothing changes on failure (the parts still find everything).
    fn compact(&mut self) {
        if self.parts.len() < 2 {
            return;
        }
        let mut texts = Vec::new();
        let mut patterns = Vec::new();
        for p in &self.parts {
            texts.extend(p.texts.iter().cloned());
            patterns.extend(p.patterns.iter().copied());
        }
        if let Ok(one) = Part::build(0, self.secrets.len(), texts, patterns) {
            self.parts = vec![one];
        }
    }

    /// Secrets in the parts from `from` on (those already chosen to merge).
    fn merging(&self, from: usize) -> usize {
        self.parts[from..].iter().map(|p| p.count).sum()
    }

    /// Matches of every automaton in `hay` itself, leftmost-longest per automaton. A
    /// match of a [`SecretForm::Prefix`] is extended over as much of the rest of its
    /// secret as follows, so a cut secret is removed up to the cut.
    fn raw_hits(&self, hay: &[u8], out: &mut Vec<Hit>) {
        for part in &self.parts {
            for m in part.automaton.find_iter(hay) {
                let (secret, form) = part.patterns[m.pattern().as_usize()];
                let mut end = m.end();
                if form == SecretForm::Prefix {
                    let rest = &self.secrets[secret].as_bytes()[m.len()..];
                    end += hay[end..]
                        .iter()
                        .zip(rest)
                        .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
                        .count();
                }
                out.push(Hit {
                    start: m.start(),
                    end,
                    secret,
                    form,
                });
            }
        }
    }

    /// Every match in `hay` and in its normalised views (JSON escapes decoded, lines
    /// joined; see [`normalise`]), as byte ranges of `hay`, sorted and without repeats.
    ///
    /// The views are first searched without the map from each of their bytes back to
    /// `hay` (16 bytes per byte of text: for a report of several MB that map was most
    /// of the process's memory and much of its time). Only when a view holds a match
    /// are they built again with the map, to place it; a text whose views hold none
    /// (every report after redaction) never builds one. Both walks decode through the
    /// same function, so they see the same bytes.
    fn hits(&self, hay: &[u8]) -> Vec<Hit> {
        let mut hits = Vec::new();
        if self.parts.is_empty() {
            return hits;
        }
        self.raw_hits(hay, &mut hits);
        if self.a_view_matches(hay) {
            self.view_hits(hay, &mut hits);
        }
        hits.sort_by_key(|h| (h.start, std::cmp::Reverse(h.end), h.secret));
        hits.dedup_by(|b, a| a.start == b.start && a.end == b.end && a.secret == b.secret);
        hits
    }

    /// Whether any automaton matches in any normalised view of `hay` (not in `hay`
    /// itself). Each level is dropped once the next is decoded from it.
    fn a_view_matches(&self, hay: &[u8]) -> bool {
        let mut level: Option<Vec<u8>> = None;
        for _ in 0..MAX_UNESCAPE_DEPTH {
            let text = level.as_deref().unwrap_or(hay);
            let Some(next) = normalise_with(text, None) else {
                return false;
            };
            if self.parts.iter().any(|p| p.automaton.is_match(&next[..])) {
                return true;
            }
            level = Some(next);
        }
        false
    }

    /// The matches found only in the normalised views of `hay`, placed in `hay`.
    fn view_hits(&self, hay: &[u8], hits: &mut Vec<Hit>) {
        let raw = hits.len();
        // Escapes nest (a JSON body inside `results.json` is escaped twice), so the
        // views are normalised again, mapping each byte back to `hay` as they go.
        let mut level: Option<View> = None;
        for _ in 0..MAX_UNESCAPE_DEPTH {
            let text = level.as_ref().map_or(hay, |(t, _)| t.as_slice());
            let Some((next, spans)) = normalise(text) else {
                break;
            };
            let spans = match &level {
                None => spans,
                Some((_, outer)) => spans
                    .iter()
                    .map(|&(s, e)| (outer[s].0, outer[e - 1].1))
                    .collect(),
            };
            let mut found = Vec::new();
            self.raw_hits(&next, &mut found);
            for h in found {
                let (start, end) = (spans[h.start].0, spans[h.end - 1].1);
                let seen = hits[..raw]
                    .iter()
                    .any(|r| r.secret == h.secret && r.start <= start && end <= r.end);
                if !seen {
                    hits.push(Hit {
                        start,
                        end,
                        secret: h.secret,
                        form: SecretForm::Escaped,
                    });
                }
            }
            level = Some((next, spans));
        }
    }
}

/// A normalised view of a text, and for each of its bytes the byte range of the text
/// it came from.
type View = (Vec<u8>, Vec<(usize, usize)>);

/// How many levels of escaping the redactor and the scan look through.
const MAX_UNESCAPE_DEPTH: usize = 3;

/// A view of `text` in which the ways a target may re-encode a string without changing
/// its value are undone: JSON escapes are decoded (`\uXXXX` with surrogate pairs, `\/`
/// as PHP writes it, `\"`, `\\`, `\t`, `\b`, `\f`), and line breaks (raw or escaped)
/// are dropped together with the indentation that follows them, which joins a value
/// wrapped across lines. Each byte of the view comes with the byte range of `text` it
/// came from. None when there is nothing to undo.
fn normalise(text: &[u8]) -> Option<View> {
    #[cfg(test)]
    SPAN_MAPS_BUILT.with(|n| n.set(n.get() + 1));
    let mut spans = Vec::with_capacity(text.len());
    normalise_with(text, Some(&mut spans)).map(|out| (out, spans))
}

#[cfg(test)]
thread_local! {
    /// How many views this thread built with their map back to the text.
    static SPAN_MAPS_BUILT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// [`normalise`], the map back to `text` recorded into `spans` only when given.
fn normalise_with(text: &[u8], mut spans: Option<&mut Vec<(usize, usize)>>) -> Option<Vec<u8>> {
    if !text.iter().any(|b| matches!(b, b'\\' | b'\n' | b'\r')) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    let mut push = |out: &mut Vec<u8>, bytes: &[u8], from: usize, to: usize| {
        out.extend_from_slice(bytes);
        if let Some(spans) = spans.as_deref_mut() {
            if to - from == bytes.len() {
                // Copied as they were (an escape always shrinks): byte for byte.
                spans.extend((from..to).map(|k| (k, k + 1)));
            } else {
                spans.extend(std::iter::repeat_n((from, to), bytes.len()));
            }
        }
    };
    let hex4 = |at: usize| -> Option<u32> {
        let digits = text.get(at..at + 4)?;
        let s = std::str::from_utf8(digits).ok()?;
        u32::from_str_radix(s, 16).ok()
    };
    let mut i = 0;
    let mut line_start = false;
    while i < text.len() {
        let b = text[i];
        if line_start && matches!(b, b' ' | b'\t') {
            i += 1;
            continue;
        }
        line_start = false;
        match b {
            b'\n' | b'\r' => {
                line_start = true;
                i += 1;
            }
            // Most of a report is bytes left as they are: copied a run at a time, up to
            // the next byte that may start an escape or a line break.
            b if b != b'\\' => {
                let run = text[i..]
                    .iter()
                    .position(|b| matches!(b, b'\\' | b'\n' | b'\r'))
                    .map_or(text.len(), |n| i + n);
                push(&mut out, &text[i..run], i, run);
                i = run;
            }
            b'\\' if i + 1 < text.len() => match text[i + 1] {
                b'n' | b'r' => {
                    line_start = true;
                    i += 2;
                }
                c @ (b'/' | b'"' | b'\\') => {
                    push(&mut out, &[c], i, i + 2);
                    i += 2;
                }
                b't' => {
                    push(&mut out, b"\t", i, i + 2);
                    i += 2;
                }
                b'b' => {
                    push(&mut out, b"\x08", i, i + 2);
                    i += 2;
                }
                b'f' => {
                    push(&mut out, b"\x0c", i, i + 2);
                    i += 2;
                }
                b'u' => {
                    let unit = hex4(i + 2);
                    let low = (text.get(i + 6..i + 8) == Some(b"\\u"))
                        .then(|| hex4(i + 8))
                        .flatten();
                    let (c, len) = match (unit, low) {
                        (Some(h @ 0xD800..=0xDBFF), Some(l @ 0xDC00..=0xDFFF)) => (
                            char::from_u32(0x10000 + ((h - 0xD800) << 10) + (l - 0xDC00)),
                            12,
                        ),
                        (Some(u), _) => (char::from_u32(u), 6),
                        (None, _) => (None, 0),
                    };
                    match c {
                        Some(c) => {
                            let mut buf = [0u8; 4];
                            push(&mut out, c.encode_utf8(&mut buf).as_bytes(), i, i + len);
                            i += len;
                        }
                        None => {
                            push(&mut out, b"\\", i, i + 1);
                            i += 1;
                        }
                    }
                }
                _ => {
                    push(&mut out, b"\\", i, i + 1);
                    i += 1;
                }
            },
            _ => {
                push(&mut out, &[b], i, i + 1);
                i += 1;
            }
        }
    }
    Some(out)
}

/// `s` with the byte ranges of `hits` (sorted by start) replaced by [`REDACTED`];
/// overlapping ranges are replaced as one, every range is widened to character
/// boundaries (a prefix extension may stop inside a character), and one reaching past
/// the end of `s` (a match across a cut) is replaced up to the end.
fn replace_hits(s: &str, hits: &[Hit]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    let mut i = 0;
    while i < hits.len() {
        let mut start = hits[i].start.max(at);
        let mut end = hits[i].end;
        i += 1;
        while i < hits.len() && hits[i].start < end {
            end = end.max(hits[i].end);
            i += 1;
        }
        if end <= at {
            continue;
        }
        while !s.is_char_boundary(start) {
            start -= 1;
        }
        while end < s.len() && !s.is_char_boundary(end) {
            end += 1;
        }
        out.push_str(&s[at..start.max(at)]);
        out.push_str(REDACTED);
        at = end.min(s.len());
    }
    out.push_str(&s[at..]);
    out
}

/// The run's secret registry; cheap to clone, all clones share the secrets, and secrets
/// added by one clone (a capture mid-run) apply to every other at once.
#[derive(Clone)]
pub struct Redactor {
    inner: Arc<RwLock<Inner>>,
}

impl Default for Redactor {
    fn default() -> Self {
        let inner = Arc::new(RwLock::new(Inner::default()));
        let mut live = live_registries();
        live.retain(|w| w.strong_count() > 0);
        live.push(Arc::downgrade(&inner));
        Redactor { inner }
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secrets themselves.
        f.debug_struct("Redactor")
            .field("secrets", &self.read().secrets.len())
            .finish()
    }
}

/// Every registry of this process that is still alive. [`cut_redacted`] redacts with
/// all of them before cutting, so that code which shortens a message for display (an
/// assertion message, an undo error, a stored body) cannot halve a secret, without
/// every such function having to be handed the run's redactor. One run per process is
/// the harness's shape; in a test binary running many, redacting another run's secrets
/// too only ever hides more.
fn live_registries() -> std::sync::MutexGuard<'static, Vec<Weak<RwLock<Inner>>>> {
    static LIVE: OnceLock<Mutex<Vec<Weak<RwLock<Inner>>>>> = OnceLock::new();
    LIVE.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// `s` with every secret of every live registry of the process redacted.
fn redact_with_every_registry(s: &str) -> String {
    let live: Vec<Redactor> = live_registries()
        .iter()
        .filter_map(Weak::upgrade)
        .map(|inner| Redactor { inner })
        .collect();
    live.iter().fold(s.to_owned(), |text, r| r.redact(&text))
}

/// `s` redacted with every secret the process knows, then cut to `max_chars`
/// characters with `ellipsis` appended when it was longer. Redacting first matters: a
/// cut through a secret would leave its first part unredacted for good.
pub fn cut_redacted(s: &str, max_chars: usize, ellipsis: &str) -> String {
    let s = redact_with_every_registry(s);
    match s.char_indices().nth(max_chars) {
        None => s,
        Some((at, _)) => format!("{}{ellipsis}", &s[..at]),
    }
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves the data consistent (parts are
        // swapped in whole), so a poisoned lock is still safe to use.
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
        // Matching ignores ASCII case, so the marker must not match in any case either.
        if REDACTED
            .to_ascii_lowercase()
            .contains(&trimmed.to_ascii_lowercase())
        {
            return Err(SecretRejected::PartOfMarker);
        }
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let mut new: Vec<String> = Vec::new();
        for candidate in [s, trimmed] {
            if !inner.secrets.iter().any(|known| known == candidate)
                && !new.iter().any(|n| n == candidate)
            {
                new.push(candidate.to_owned());
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        // Built before anything changes: on failure the registry stays as it was and the
        // caller hears of it, rather than redaction silently stopping.
        inner.extend(new)
    }

    /// Builds the secrets registered so far into one automaton. The registry is a
    /// stack of automata while secrets arrive (see [`Part`]), and every search runs
    /// each of them over the text and each of its unescaped views; once a run has
    /// ended and its reports are rendered, redacted and scanned, one automaton does
    /// that in one pass. Secrets added later still get a part of their own.
    pub fn compact(&self) {
        self.inner
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .compact();
    }

    /// The registered secrets, in registration order.
    pub fn secrets(&self) -> Vec<String> {
        self.read().secrets.clone()
    }

    pub fn is_empty(&self) -> bool {
        self.read().secrets.is_empty()
    }

    /// `s` with every registered secret, in every form, replaced by [`REDACTED`]: the
    /// forms of [`secret_forms`] in any ASCII case, also where JSON escapes or line
    /// wrapping disguise them, and a long enough prefix of a secret (a cut one).
    pub fn redact(&self, s: &str) -> String {
        let inner = self.read();
        if inner.parts.is_empty() {
            return s.to_owned();
        }
        let mut current = s.to_owned();
        for _ in 0..MAX_PASSES {
            let hits = inner.hits(current.as_bytes());
            if hits.is_empty() {
                return current;
            }
            current = replace_hits(&current, &hits);
        }
        if inner.hits(current.as_bytes()).is_empty() {
            current
        } else {
            // Fail closed: withhold the text rather than risk a leak.
            REDACTED.to_owned()
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
        self.read()
            .hits(haystack)
            .into_iter()
            .map(|h| (h.start, h.secret, h.form))
            .collect()
    }
}

/// Whether `haystack` holds `needle` the way a secret assertion means it: the value
/// itself, or any form the redactor would remove (encoded, escaped, wrapped, in another
/// ASCII case). `body_not_contains` uses this, so a target cannot pass "the secret is
/// never returned" by returning it JSON-escaped. A needle too short to be a secret is
/// looked for as given and through JSON escapes only.
pub fn contains_any_form(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    if haystack.contains(needle) {
        return true;
    }
    // A matcher of its own, in no registry: a needle is not necessarily a secret, and
    // must not be redacted from the run's reports for having been looked for.
    let mut inner = Inner::default();
    let long_enough = needle.trim().chars().count() >= MIN_SECRET_CHARS;
    if long_enough && inner.extend(vec![needle.to_owned()]).is_ok() {
        return !inner.hits(haystack.as_bytes()).is_empty();
    }
    let mut text = haystack.as_bytes().to_vec();
    for _ in 0..MAX_UNESCAPE_DEPTH {
        match normalise_with(&text, None) {
            Some(next) => text = next,
            None => break,
        }
        if String::from_utf8_lossy(&text).contains(needle) {
            return true;
        }
    }
    false
}

/// The most of one body a run keeps (per exchange) while its case runs, and for a case
/// that does not pass. A busy tenant's lists run to MB, and keeping every body whole
/// made `results.json` grow with the data rather than with the cases (77 bodies of 4 MB
/// made 930 MB); 64 KiB still shows a failure's answer well past what the transcript
/// renders (16 KiB).
pub const MAX_STORED_BODY_BYTES: usize = 64 * 1024;

/// The most of one body kept for a case that passed (see [`recut_passed`]). A passing
/// case's answers are evidence that it ran, not something to debug: 4 KiB shows the
/// answer's shape and its first rows, while the lists the suites read grow with
/// everything the run created, so keeping 64 KiB of each made the stored bytes grow
/// with the square of the cases.
pub const MAX_PASSED_BODY_BYTES: usize = 4 * 1024;

/// What storing a body cut from it: enough for a later, smaller cut to note the
/// original body rather than the first cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyCut {
    /// The whole body's size in bytes.
    pub original_bytes: usize,
    /// SHA-256 of the whole body, hex.
    pub sha256: String,
    /// How many bytes of the stored text come before the note.
    pub kept_bytes: usize,
}

/// `body` as a run stores it while its case runs: whole up to [`MAX_STORED_BODY_BYTES`],
/// otherwise cut by [`cut_for_storage`]; with what was cut, when anything was.
pub fn stored_body(body: &str) -> (String, Option<BodyCut>) {
    cut_for_storage(body, MAX_STORED_BODY_BYTES)
}

/// `body` whole when it is at most `cap` bytes, otherwise its first `cap` bytes or so
/// (see [`redacted_prefix`]) with a note of the full size and the SHA-256 of the whole
/// body (which identifies it without revealing it).
pub fn cut_for_storage(body: &str, cap: usize) -> (String, Option<BodyCut>) {
    use sha2::Digest as _;
    if body.len() <= cap {
        return (body.to_owned(), None);
    }
    let digest = hex::encode(sha2::Sha256::digest(body.as_bytes()));
    let (text, cut) = noted_cut(body, cap, body.len(), digest);
    (text, Some(cut))
}

/// Cuts the stored `body` of an exchange of a case that passed down to
/// [`MAX_PASSED_BODY_BYTES`]. `cut` says what storing it already cut: the note then
/// keeps naming the original body, not the first cut of it.
pub fn recut_passed(body: &mut String, cut: &mut Option<BodyCut>) {
    let kept = cut.as_ref().map_or(body.len(), |c| c.kept_bytes);
    if kept <= MAX_PASSED_BODY_BYTES {
        return;
    }
    let (text, new) = match cut.take() {
        None => match cut_for_storage(body, MAX_PASSED_BODY_BYTES) {
            (text, Some(new)) => (text, new),
            (_, None) => return,
        },
        Some(old) => noted_cut(
            &body[..old.kept_bytes],
            MAX_PASSED_BODY_BYTES,
            old.original_bytes,
            old.sha256,
        ),
    };
    *body = text;
    *cut = Some(new);
}

/// `text` cut by [`redacted_prefix`], with the note naming the original body.
fn noted_cut(text: &str, cap: usize, original_bytes: usize, sha256: String) -> (String, BodyCut) {
    let kept = redacted_prefix(text, cap);
    let noted = format!(
        "{kept}\n[... body cut for storage: {original_bytes} bytes, sha256 {sha256}; the first {} bytes of it redacted are kept]",
        kept.len()
    );
    let cut = BodyCut {
        original_bytes,
        sha256,
        kept_bytes: kept.len(),
    };
    (noted, cut)
}

/// Bytes that can change what the views of [`normalise`] make of the bytes after them:
/// escapes and line breaks. Spaces and tabs only after a line break.
fn shifts_views(b: u8) -> bool {
    matches!(b, b'\\' | b'\n' | b'\r')
}

/// The first `cap` bytes of `text` (on a character boundary) redacted with every secret
/// the process knows, a match that crosses the cut included, so no part of a secret at
/// the cut survives. Only a window a little past the cut is searched, not the whole
/// text: a list of several MB is cut to a few KB, and redacting all of it to keep 4 KB
/// made storing cost grow with the data.
///
/// The window ends `O` = (the longest form of any registered secret) + 32 bytes past the
/// first point `c` at or after the cut from which `O` bytes hold no backslash or line
/// break, and the first 16 no space or tab. Within such a stretch every normalised view
/// is the text byte for byte, but for at most 15 leading bytes that escapes begun before
/// it consume (at most 5 per level of [`MAX_UNESCAPE_DEPTH`]) and none skipped as
/// indentation; so a match, at most the longest form long in its view, that begins
/// before `c` ends inside the window, and the window finds every match the whole text
/// has up to `c`. With no such stretch, the whole text is searched.
fn redacted_prefix(text: &str, cap: usize) -> String {
    let live: Vec<Redactor> = live_registries()
        .iter()
        .filter_map(Weak::upgrade)
        .map(|inner| Redactor { inner })
        .collect();
    let mut cut = cap.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let bytes = text.as_bytes();
    let mut hits = Vec::new();
    {
        let inners: Vec<_> = live.iter().map(Redactor::read).collect();
        let longest = inners.iter().map(|i| i.longest_form).max().unwrap_or(0);
        if longest > 0 {
            let end = quiet_stretch(bytes, cut, longest + 32).unwrap_or(bytes.len());
            for inner in &inners {
                hits.extend(inner.hits(&bytes[..end]));
            }
        }
    }
    // A match that begins before the cut is replaced up to the cut: nothing of it is
    // kept. The window found what crosses the cut; redacting the kept part again
    // applies the repeated passes and every registry in turn, as all redaction does.
    hits.retain(|h| h.start < cut);
    hits.sort_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
    redact_with_every_registry(&replace_hits(&text[..cut], &hits))
}

/// The end of the window [`redacted_prefix`] searches: `o` bytes past the first point at
/// or after `from` where `o` bytes without [`shifts_views`] begin, the first 16 of them
/// without a space or tab. None when the text ends first. One pass: a byte that breaks
/// a stretch rules out every start up to it.
fn quiet_stretch(bytes: &[u8], from: usize, o: usize) -> Option<usize> {
    let mut start = from;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        if shifts_views(b) || (matches!(b, b' ' | b'\t') && i - start < 16) {
            start = i + 1;
        } else if i + 1 - start >= o {
            return Some(start + o);
        }
    }
    None
}

/// Registers the value of every field of `doc` whose key names a secret
/// (`client_secret`, `api_token`, `password`, ...: the mock's own classification,
/// `mock_govapi::gov::is_secret_key`), at any depth. Values too short to be secrets are
/// skipped: they cannot be redacted without garbling the reports.
pub fn register_secret_fields(doc: &Value, redactor: &Redactor) {
    match doc {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    // `secret_ref` and the like name where a secret lives (op://, vault://):
                    // a reference, not the secret, and thothctl takes it on its command line.
                    Value::String(s)
                        if mock_govapi::gov::is_secret_key(k) && !k.ends_with("_ref") =>
                    {
                        let _ = redactor.add_secret(s);
                    }
                    other => register_secret_fields(other, redactor),
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| register_secret_fields(v, redactor)),
        _ => {}
    }
}

/// Fields of a create answer known not to be secrets: ids (the ledger records them),
/// names, scopes, permissions, states and times.
fn known_non_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key == "id"
        || key.ends_with("_id")
        || key.ends_with("_at")
        || key.ends_with("_level")
        || [
            "name",
            "kind",
            "type",
            "status",
            "state",
            "scope",
            "permissions",
            "description",
            "created",
            "expires",
            "tenant",
        ]
        .contains(&key.as_str())
}

/// Registers every string a target returned to a request that creates a credential,
/// except fields known not to be secrets and values the request itself sent: a target
/// that names the plaintext `key`, `secret` or `token` instead of `api_key` must not
/// get it into the reports.
pub fn register_create_answer(answer: &Value, sent: &str, redactor: &Redactor) {
    match answer {
        Value::String(s) if !sent.contains(s.as_str()) => {
            let _ = redactor.add_secret(s);
        }
        Value::Object(map) => {
            for (k, v) in map {
                if !known_non_secret(k) {
                    register_create_answer(v, sent, redactor);
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| register_create_answer(v, sent, redactor)),
        _ => {}
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
    // Each file is read and searched on a thread of its own: the reports are the
    // process's largest texts, and side by side the scan costs about the largest.
    let scan_file = |path: &PathBuf| -> Vec<SecretHit> {
        match std::fs::read(path) {
            Ok(bytes) => redactor
                .find_all(&bytes)
                .into_iter()
                .map(|(offset, secret, form)| SecretHit::Found {
                    location: HitLocation::File(path.clone()),
                    offset,
                    form,
                    secret,
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => vec![SecretHit::Unreadable {
                path: path.clone(),
                reason: e.to_string(),
            }],
        }
    };
    let scan_file = &scan_file;
    let mut hits: Vec<SecretHit> = std::thread::scope(|s| {
        let running: Vec<_> = paths
            .iter()
            .map(|p| s.spawn(move || scan_file(p)))
            .collect();
        running
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
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
