//! `run --bundle` and `verify-bundle`, through the binary: a good signed bundle verifies
//! (0); a tampered file (7), the wrong public key (8), a missing case (9) and a leaked
//! canary (5) each fail with the code the README documents.

use crate::cli_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cli_support::{cli, s, text};
use ed25519_dalek::pkcs8::{
    spki::der::pem::LineEnding, EncodePrivateKey as _, EncodePublicKey as _,
};
use ed25519_dalek::SigningKey;
use thoth_conformance::bundle;

struct Keys {
    private: PathBuf,
    public: PathBuf,
    other_public: PathBuf,
    key: SigningKey,
}

fn keys(dir: &Path) -> Keys {
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let other = SigningKey::from_bytes(&[9u8; 32]);
    let private = dir.join("bundle.key");
    let public = dir.join("bundle.pub");
    let other_public = dir.join("other.pub");
    std::fs::write(
        &private,
        key.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
    )
    .unwrap();
    std::fs::write(
        &public,
        key.verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
    )
    .unwrap();
    std::fs::write(
        &other_public,
        other
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
    )
    .unwrap();
    Keys {
        private,
        public,
        other_public,
        key,
    }
}

/// A signed bundle of a whole mock run (or of the cases matching `filter`).
fn signed_bundle(dir: &Path, keys: &Keys, name: &str, filter: Option<&str>) -> PathBuf {
    signed_bundle_with(dir, keys, name, filter.into_iter().collect(), 0)
}

fn signed_bundle_with(
    dir: &Path,
    keys: &Keys,
    name: &str,
    extra: Vec<&str>,
    want_run: i32,
) -> PathBuf {
    let out = dir.join(name);
    let reports = dir.join(format!("reports-{name}"));
    let mut args = vec![
        "run",
        "-q",
        "--reports",
        s(&reports),
        "--bundle",
        s(&out),
        "--bundle-key",
        s(&keys.private),
    ];
    args.extend(extra);
    let o = cli(&args, &[]);
    assert_eq!(o.status.code(), Some(want_run), "{}", text(&o));
    out
}

fn verify(bundle: &Path, pubkey: Option<&Path>, envs: &[(&str, &str)]) -> (i32, String) {
    let mut args = vec!["verify-bundle", s(bundle)];
    if let Some(k) = pubkey {
        args.extend(["--pubkey", s(k)]);
    }
    let o = cli(&args, envs);
    (o.status.code().unwrap_or(-1), text(&o))
}

/// Rewrites the archive's files with `edit`, keeping the old manifest and signature
/// (`keep_manifest`) or re-manifesting and re-signing with `key`.
fn rewrite(
    from: &Path,
    to: &Path,
    edit: impl FnOnce(&mut BTreeMap<String, Vec<u8>>),
    resign: Option<&SigningKey>,
) {
    let mut files = bundle::read_archive(from).unwrap();
    edit(&mut files);
    match resign {
        Some(k) => {
            files.remove(bundle::MANIFEST);
            files.remove(bundle::SIGNATURE);
            bundle::write(to, &files, Some(k)).unwrap();
        }
        None => {
            // By hand, so the old manifest and signature go in unchanged.
            let f = std::fs::File::create(to).unwrap();
            let gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
            let mut tar = tar::Builder::new(gz);
            for (name, bytes) in &files {
                let mut h = tar::Header::new_gnu();
                h.set_size(bytes.len() as u64);
                h.set_mode(0o644);
                h.set_cksum();
                tar.append_data(&mut h, name, bytes.as_slice()).unwrap();
            }
            tar.into_inner().unwrap().finish().unwrap();
        }
    }
}

#[test]
fn a_signed_bundle_verifies_and_every_breach_has_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys(dir.path());
    let good = signed_bundle(dir.path(), &keys, "good.tar.gz", None);

    // What is inside: every report, the manifest, the signature, config and meta.
    let files = bundle::read_archive(&good).unwrap();
    for want in [
        "reports/junit.xml",
        "reports/results.json",
        "reports/report.html",
        "reports/coverage.json",
        "config.json",
        "bundle.json",
        bundle::MANIFEST,
        bundle::SIGNATURE,
    ] {
        assert!(
            files.contains_key(want),
            "{want} missing: {:?}",
            files.keys()
        );
    }
    assert!(
        files.keys().any(|k| k.starts_with("ledger/")),
        "{:?}",
        files.keys()
    );
    let meta: serde_json::Value = serde_json::from_slice(&files["bundle.json"]).unwrap();
    assert_eq!(meta["target_fingerprint"].as_str().unwrap().len(), 64);
    assert!(
        meta["required_cases"].as_array().unwrap().len() > 20,
        "{meta}"
    );

    let (code, out) = verify(&good, Some(&keys.public), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("signature: valid"), "{out}");
    assert!(
        out.contains("NOT verified"),
        "skips must be named as not verified: {out}"
    );
    // Without a key the signature is reported as not checked, never as valid.
    let (code, out) = verify(&good, None, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("NOT checked"), "{out}");

    // Wrong key: 8.
    let (code, out) = verify(&good, Some(&keys.other_public), &[]);
    assert_eq!(code, 8, "{out}");

    // A report changed after the fact, manifest kept: 7.
    let tampered = dir.path().join("tampered.tar.gz");
    rewrite(
        &good,
        &tampered,
        |f| {
            // One byte of whitespace: still valid JSON, still the same run.
            f.get_mut("reports/results.json").unwrap().push(b' ');
        },
        None,
    );
    let (code, out) = verify(&tampered, Some(&keys.public), &[]);
    assert_eq!(code, 7, "{out}");
    assert!(out.contains("reports/results.json"), "{out}");
    // An extra file slipped in: 7 too.
    let extra = dir.path().join("extra.tar.gz");
    rewrite(
        &good,
        &extra,
        |f| {
            f.insert("reports/extra.txt".into(), b"x".to_vec());
        },
        None,
    );
    assert_eq!(verify(&extra, None, &[]).0, 7);

    // A canary secret in a report, re-manifested and re-signed so only the scan can
    // catch it: 5, by value (set where the check runs) and by shape (a JWT).
    let canary = "whsec_canary_bundle_0123456789abcdef";
    let leaked = dir.path().join("leaked.tar.gz");
    rewrite(
        &good,
        &leaked,
        |f| {
            let html = f.get_mut("reports/report.html").unwrap();
            html.extend_from_slice(format!("<!-- {canary} -->").as_bytes());
        },
        Some(&keys.key),
    );
    let (code, out) = verify(
        &leaked,
        Some(&keys.public),
        &[("THOTH_WEBHOOK_SECRET", canary)],
    );
    assert_eq!(code, 5, "{out}");
    assert!(
        !out.contains(canary),
        "the verifier printed the secret: {out}"
    );
    assert_eq!(
        verify(&leaked, Some(&keys.public), &[]).0,
        0,
        "only the value gives it away"
    );
    let jwt = dir.path().join("jwt.tar.gz");
    rewrite(
        &good,
        &jwt,
        |f| {
            f.get_mut("config.json").unwrap().extend_from_slice(
                b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlX2NhbmFyeQ",
            );
        },
        Some(&keys.key),
    );
    assert_eq!(verify(&jwt, Some(&keys.public), &[]).0, 5);

    // A run of one phase is not acceptance evidence for the suites: 9.
    let partial = signed_bundle(dir.path(), &keys, "partial.tar.gz", Some("bootstrap"));
    let (code, out) = verify(&partial, Some(&keys.public), &[]);
    assert_eq!(code, 9, "{out}");
    assert!(out.contains("required case"), "{out}");

    // A run the target failed: 1.
    let failed = signed_bundle_with(
        dir.path(),
        &keys,
        "failed.tar.gz",
        vec!["--mock-fault", "key-scope-ignored"],
        1,
    );
    let (code, out) = verify(&failed, Some(&keys.public), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL"), "{out}");

    // A waiver past its date (the run itself exits 4, and the bundle says so): 4.
    let ledger = dir.path().join("expectations.yaml");
    std::fs::write(
        &ledger,
        "expectations:\n  - case: browser::enrollment_read_back\n    kind: waiver\n    reason: \"tier\"\n    owner: qa\n    expires: 2020-01-31\n",
    )
    .unwrap();
    let stale = signed_bundle_with(
        dir.path(),
        &keys,
        "stale.tar.gz",
        vec!["--expectations", s(&ledger)],
        4,
    );
    let (code, out) = verify(&stale, Some(&keys.public), &[]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("expired 2020-01-31"), "{out}");
    assert!(bundle::read_archive(&stale)
        .unwrap()
        .contains_key("ledger/expectations.yaml"));

    // Not a bundle at all: 2.
    let junk = dir.path().join("junk.tar.gz");
    std::fs::write(&junk, b"not a tarball").unwrap();
    assert_eq!(verify(&junk, None, &[]).0, 2);
}
