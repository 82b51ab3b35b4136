//! The signed evidence bundle: one `.tar.gz` a SecOps team files as acceptance evidence
//! (`run --bundle FILE`), and its offline check (`verify-bundle FILE [--pubkey KEY]`).
//!
//! Layout of the archive:
//! - `reports/…`: every report the run wrote (JUnit, coverage, results, HTML);
//! - `ledger/…`: the run's undo ledger, and `expectations.yaml` when a ledger was used;
//! - `config.json`: the effective configuration, redacted;
//! - `bundle.json`: run id, harness version, suites hash, target and its fingerprint,
//!   and the cases the suites hold (which a complete run must have reported);
//! - `MANIFEST.sha256`: `sha256sum` lines of every file above (so `sha256sum -c` works
//!   on the unpacked tree too);
//! - `MANIFEST.sha256.sig`: optionally, the hex ed25519 signature of the manifest.
//!
//! tar + flate2 write the archive, sha2 the manifest, ed25519-dalek the signature (keys
//! as PKCS#8 / SPKI PEM, what `openssl genpkey -algorithm ed25519` writes).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::outcome::{CaseResult, Status};
use crate::redact::Redactor;
use crate::report::results::ResultsFile;

pub const MANIFEST: &str = "MANIFEST.sha256";
pub const SIGNATURE: &str = "MANIFEST.sha256.sig";
pub const META: &str = "bundle.json";
pub const META_SCHEMA: &str = "thoth-conformance/bundle/v1";
/// An archive that unpacks to more than this is refused, not read to the end.
const MAX_UNPACKED: u64 = 512 * 1024 * 1024;

/// `bundle.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub schema: String,
    pub run_id: String,
    pub harness_version: String,
    pub suites_hash: String,
    pub target_kind: String,
    pub target_base_url: String,
    pub tenant: String,
    /// SHA-256 of `kind\nbase_url\ntenant`: the same tenant at the same address always
    /// has the same fingerprint, whoever ran it.
    pub target_fingerprint: String,
    /// Every `phase::case` of the suites that were loaded.
    pub required_cases: Vec<String>,
    pub created_at: String,
}

/// SHA-256 of what identifies a target.
pub fn target_fingerprint(kind: &str, base_url: &str, tenant: &str) -> String {
    hex::encode(Sha256::digest(format!("{kind}\n{base_url}\n{tenant}")))
}

/// Why a bundle could not be written. Messages read after "failed to".
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("write the bundle {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("read the signing key {path}: {why}")]
    Key { path: PathBuf, why: String },
}

/// Reads an ed25519 private key in PKCS#8 PEM (`openssl genpkey -algorithm ed25519`).
pub fn read_signing_key(path: &Path) -> Result<SigningKey, BundleError> {
    let text = std::fs::read_to_string(path).map_err(|e| BundleError::Key {
        path: path.into(),
        why: e.to_string(),
    })?;
    SigningKey::from_pkcs8_pem(&text).map_err(|e| BundleError::Key {
        path: path.into(),
        why: format!("not an ed25519 PKCS#8 PEM private key ({e})"),
    })
}

/// Reads an ed25519 public key in SPKI PEM (`openssl pkey -pubout`).
pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    VerifyingKey::from_public_key_pem(&text).map_err(|e| {
        format!(
            "read {}: not an ed25519 public key PEM ({e})",
            path.display()
        )
    })
}

/// The manifest text of these files: `<sha256>  <name>` lines, sorted by name.
pub fn manifest(files: &BTreeMap<String, Vec<u8>>) -> String {
    files
        .iter()
        .map(|(name, bytes)| format!("{}  {name}\n", hex::encode(Sha256::digest(bytes))))
        .collect()
}

/// Writes the archive: `files` (name → content), their manifest and, with a key, its
/// signature. Written to a temporary file beside `out` and renamed, so a half-written
/// bundle never sits under the final name.
pub fn write(
    out: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    key: Option<&SigningKey>,
) -> Result<(), BundleError> {
    let manifest = manifest(files);
    let mut all: Vec<(&str, Vec<u8>)> =
        files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    all.push((MANIFEST, manifest.clone().into_bytes()));
    if let Some(k) = key {
        let sig = k.sign(manifest.as_bytes());
        all.push((
            SIGNATURE,
            format!("{}\n", hex::encode(sig.to_bytes())).into_bytes(),
        ));
    }
    let err = |source| BundleError::Write {
        path: out.into(),
        source,
    };
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    {
        let gz = flate2::write::GzEncoder::new(tmp.as_file(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for (name, bytes) in &all {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            // Fixed, so the same evidence makes the same archive bytes.
            header.set_mtime(0);
            header.set_cksum();
            tar.append_data(&mut header, name, bytes.as_slice())
                .map_err(err)?;
        }
        tar.into_inner().map_err(err)?.finish().map_err(err)?;
    }
    tmp.persist(out).map_err(|e| err(e.error))?;
    Ok(())
}

/// What `verify-bundle` found wrong, worst first. The exit code is that of the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// A file differs from the manifest, or is not in it, or the run's files disagree.
    Tampered,
    /// `--pubkey` given and the signature is missing or does not verify.
    BadSignature,
    /// The archive cannot be read, or lacks its manifest, `bundle.json` or results.
    Unreadable,
    /// A registered secret or a credential shape appears in a file.
    SecretFound,
    /// A case of the suites is not in the results (filtered, cut short, or removed).
    MissingCase,
    /// A case failed (not recorded as a known failure) or errored.
    UnexpectedFailure,
    /// A waiver or known failure is past its date today.
    ExpiredWaiver,
}

impl Problem {
    /// Every problem, worst first (the order [`Verification::exit_code`] applies).
    pub const ALL: [Problem; 7] = [
        Problem::Tampered,
        Problem::BadSignature,
        Problem::Unreadable,
        Problem::SecretFound,
        Problem::MissingCase,
        Problem::UnexpectedFailure,
        Problem::ExpiredWaiver,
    ];

    /// The documented exit code (README, "verify-bundle").
    pub fn exit_code(self) -> i32 {
        match self {
            Problem::UnexpectedFailure => 1,
            Problem::Unreadable => 2,
            Problem::ExpiredWaiver => 4,
            Problem::SecretFound => 5,
            Problem::Tampered => 7,
            Problem::BadSignature => 8,
            Problem::MissingCase => 9,
        }
    }
}

/// One finding of the check, with the sentence a reader needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub problem: Problem,
    pub message: String,
}

/// The outcome of `verify-bundle`.
#[derive(Debug, Default)]
pub struct Verification {
    pub findings: Vec<Finding>,
    /// What was checked and holds, for the report.
    pub notes: Vec<String>,
}

impl Verification {
    fn fail(&mut self, problem: Problem, message: impl Into<String>) {
        self.findings.push(Finding {
            problem,
            message: message.into(),
        });
    }

    pub fn exit_code(&self) -> i32 {
        self.findings
            .iter()
            .map(|f| f.problem)
            .min()
            .map_or(0, Problem::exit_code)
    }
}

/// Reads every regular file of the archive (refusing links, absolute and `..` paths).
pub fn read_archive(path: &Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("open {}: {e}", path.display()))?;
    let gz = flate2::read::GzDecoder::new(file);
    let mut archive = tar::Archive::new(gz.take(MAX_UNPACKED + 1));
    let mut out = BTreeMap::new();
    let entries = archive
        .entries()
        .map_err(|e| format!("read {}: {e}", path.display()))?;
    let mut total = 0u64;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("read {}: {e}", path.display()))?;
        let name = entry
            .path()
            .map_err(|e| format!("read an entry name: {e}"))?
            .to_string_lossy()
            .into_owned();
        if !entry.header().entry_type().is_file() {
            return Err(format!("entry `{name}` is not a regular file"));
        }
        if name.starts_with('/') || name.split('/').any(|c| c == "..") {
            return Err(format!("entry `{name}` points outside the bundle"));
        }
        total += entry.size();
        if total > MAX_UNPACKED {
            return Err(format!("it unpacks to more than {MAX_UNPACKED} bytes"));
        }
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| format!("read entry `{name}`: {e}"))?;
        if out.insert(name.clone(), bytes).is_some() {
            return Err(format!("entry `{name}` appears twice"));
        }
    }
    Ok(out)
}

/// Checks a bundle offline. `redactor` holds the secrets to look for (those set where
/// the check runs); credential shapes are looked for besides. `today` decides expiry.
pub fn verify(
    path: &Path,
    pubkey: Option<&VerifyingKey>,
    redactor: &Redactor,
    today: time::Date,
) -> Verification {
    let mut v = Verification::default();
    let mut files = match read_archive(path) {
        Ok(f) => f,
        Err(e) => {
            v.fail(Problem::Unreadable, format!("cannot read the bundle: {e}"));
            return v;
        }
    };
    let Some(manifest_bytes) = files.remove(MANIFEST) else {
        v.fail(Problem::Unreadable, format!("the bundle has no {MANIFEST}"));
        return v;
    };
    let signature = files.remove(SIGNATURE);
    check_manifest(&manifest_bytes, &files, &mut v);
    check_signature(&manifest_bytes, signature.as_deref(), pubkey, &mut v);

    let meta: Option<Meta> = parse_json(&files, META, &mut v);
    let results: Option<ResultsFile> = parse_json(&files, "reports/results.json", &mut v);
    check_secrets(&files, redactor, &mut v);
    if let (Some(meta), Some(results)) = (meta, results) {
        check_run(&meta, &results, today, &mut v);
    }
    v
}

fn check_manifest(manifest: &[u8], files: &BTreeMap<String, Vec<u8>>, v: &mut Verification) {
    let Ok(text) = std::str::from_utf8(manifest) else {
        v.fail(Problem::Tampered, format!("{MANIFEST} is not UTF-8"));
        return;
    };
    let mut listed = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let Some((hash, name)) = line.split_once("  ") else {
            v.fail(
                Problem::Tampered,
                format!("{MANIFEST} line {} is not `<sha256>  <file>`", i + 1),
            );
            continue;
        };
        listed.insert(name.to_string(), hash.to_string());
    }
    for (name, hash) in &listed {
        match files.get(name) {
            None => v.fail(
                Problem::Tampered,
                format!("`{name}` is in the manifest but not in the bundle"),
            ),
            Some(bytes) if hex::encode(Sha256::digest(bytes)) != *hash => v.fail(
                Problem::Tampered,
                format!("`{name}` does not match its SHA-256 in the manifest"),
            ),
            Some(_) => {}
        }
    }
    for name in files.keys().filter(|n| !listed.contains_key(*n)) {
        v.fail(
            Problem::Tampered,
            format!("`{name}` is in the bundle but not in the manifest"),
        );
    }
    if !v.findings.iter().any(|f| f.problem == Problem::Tampered) {
        v.notes.push(format!(
            "manifest: {} files match their SHA-256",
            files.len()
        ));
    }
}

fn check_signature(
    manifest: &[u8],
    signature: Option<&[u8]>,
    pubkey: Option<&VerifyingKey>,
    v: &mut Verification,
) {
    let Some(key) = pubkey else {
        v.notes.push(match signature {
            Some(_) => "signature: present, NOT checked (no --pubkey given)".into(),
            None => "signature: none (unsigned bundle)".into(),
        });
        return;
    };
    let Some(sig) = signature else {
        v.fail(
            Problem::BadSignature,
            format!("--pubkey given but the bundle has no {SIGNATURE}"),
        );
        return;
    };
    let parsed = std::str::from_utf8(sig)
        .ok()
        .and_then(|s| hex::decode(s.trim()).ok())
        .and_then(|b| Signature::from_slice(&b).ok());
    match parsed {
        Some(s) if key.verify(manifest, &s).is_ok() => {
            v.notes
                .push("signature: valid for the given public key".into());
        }
        Some(_) => v.fail(
            Problem::BadSignature,
            "the signature does not verify with the given public key",
        ),
        None => v.fail(
            Problem::BadSignature,
            format!("{SIGNATURE} is not a hex ed25519 signature"),
        ),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(
    files: &BTreeMap<String, Vec<u8>>,
    name: &str,
    v: &mut Verification,
) -> Option<T> {
    let Some(bytes) = files.get(name) else {
        v.fail(Problem::Unreadable, format!("the bundle has no `{name}`"));
        return None;
    };
    match serde_json::from_slice(bytes) {
        Ok(t) => Some(t),
        Err(e) => {
            v.fail(Problem::Unreadable, format!("cannot parse `{name}`: {e}"));
            None
        }
    }
}

/// Credential shapes that are never evidence: a JWT, and an `Authorization` value that
/// is neither redacted nor a template.
fn credential_shapes() -> &'static [regex::Regex] {
    static SHAPES: std::sync::OnceLock<Vec<regex::Regex>> = std::sync::OnceLock::new();
    SHAPES.get_or_init(|| {
        [
            r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
            r"(?i)\b(?:bearer|basic) [A-Za-z0-9._~+/=-]{16,}",
        ]
        .iter()
        .map(|p| regex::Regex::new(p).expect("valid pattern"))
        .collect()
    })
}

fn check_secrets(files: &BTreeMap<String, Vec<u8>>, redactor: &Redactor, v: &mut Verification) {
    let before = v.findings.len();
    let names: Vec<&String> = files.keys().collect();
    let texts: Vec<std::borrow::Cow<'_, str>> =
        files.values().map(|b| String::from_utf8_lossy(b)).collect();
    let refs: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
    for hit in crate::redact::scan_for_secrets(&[], &refs, redactor) {
        if let crate::redact::SecretHit::Found {
            location: crate::redact::HitLocation::Output(i),
            offset,
            form,
            ..
        } = hit
        {
            v.fail(
                Problem::SecretFound,
                format!(
                    "`{}` holds a registered secret ({form} form) at byte {offset}",
                    names[i]
                ),
            );
        }
    }
    for (name, text) in names.iter().zip(&texts) {
        for shape in credential_shapes() {
            if let Some(m) = shape.find(text) {
                v.fail(
                    Problem::SecretFound,
                    format!(
                        "`{name}` holds a credential-shaped value at byte {}",
                        m.start()
                    ),
                );
            }
        }
    }
    if v.findings.len() == before {
        v.notes.push(format!(
            "secret scan: clean ({} registered secrets, JWT and Authorization shapes)",
            redactor.secrets().len()
        ));
    }
}

fn check_run(meta: &Meta, results: &ResultsFile, today: time::Date, v: &mut Verification) {
    let run = &results.run;
    if meta.schema != META_SCHEMA {
        v.fail(
            Problem::Unreadable,
            format!(
                "`{META}` is {}, this harness reads {META_SCHEMA}",
                meta.schema
            ),
        );
    }
    if meta.run_id != run.run_id || meta.suites_hash != run.suites_hash {
        v.fail(
            Problem::Tampered,
            "`bundle.json` and `reports/results.json` name different runs or suites",
        );
    }
    let by_name: BTreeMap<String, &CaseResult> =
        run.cases.iter().map(|c| (c.full_name(), c)).collect();
    let mut missing = Vec::new();
    for name in &meta.required_cases {
        match by_name.get(name) {
            None => missing.push(format!("{name} (not in the results)")),
            Some(c) if c.status == Status::Disabled && c.expectation.is_none() => {
                missing.push(format!("{name} (disabled: not run)"))
            }
            Some(_) => {}
        }
    }
    for m in &missing {
        v.fail(Problem::MissingCase, format!("required case {m}"));
    }
    for c in &run.cases {
        let unexpected = match c.status {
            Status::Fail => !c.is_expected_failure(),
            Status::Error => true,
            _ => false,
        };
        if unexpected {
            v.fail(
                Problem::UnexpectedFailure,
                format!(
                    "{} {}: {}",
                    c.full_name(),
                    c.status.as_str().to_uppercase(),
                    c.message.as_deref().unwrap_or("")
                ),
            );
        }
        if let Some(e) = &c.expectation {
            let expired = crate::expectations::parse_date(&e.expires).is_none_or(|d| d < today);
            if expired {
                v.fail(
                    Problem::ExpiredWaiver,
                    format!(
                        "{}: {} owned by {} expired {} (today is {today})",
                        c.full_name(),
                        e.kind.as_str(),
                        e.owner,
                        e.expires
                    ),
                );
            }
        }
    }
    let skipped = run
        .cases
        .iter()
        .filter(|c| c.status == Status::Skip)
        .count();
    let passed = run
        .cases
        .iter()
        .filter(|c| c.status == Status::Pass)
        .count();
    v.notes.push(format!(
        "run {}: {passed} passed, {skipped} skipped (NOT verified), {} cases required, suites {}, target {} ({})",
        run.run_id,
        meta.required_cases.len(),
        meta.suites_hash,
        meta.target_fingerprint,
        meta.target_kind
    ));
}
