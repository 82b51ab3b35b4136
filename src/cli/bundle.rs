//! `run --bundle FILE [--bundle-key KEY]` (the writing side, called by `run`) and
//! `verify-bundle FILE [--pubkey KEY]`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use crate::bundle::{
    read_signing_key, read_verifying_key, target_fingerprint, Meta, META, META_SCHEMA,
};
use crate::outcome::RunResult;
use crate::redact::Redactor;
use crate::suite::load::Project;

/// The flags of `run` that make a bundle.
#[derive(Debug, Clone, Default, Args)]
pub struct BundleArgs {
    /// Also write the signed evidence bundle (`.tar.gz`: reports, redacted configuration,
    /// suites hash, target fingerprint, ledger, SHA-256 manifest); see `verify-bundle`.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Sign the bundle's manifest with this ed25519 private key (PKCS#8 PEM, as
    /// `openssl genpkey -algorithm ed25519` writes it).
    #[arg(long, value_name = "KEY", requires = "bundle")]
    pub bundle_key: Option<PathBuf>,
}

/// What a run hands over for its bundle.
pub struct RunEvidence<'a> {
    pub result: &'a RunResult,
    pub project: &'a Project,
    /// Every report file the run wrote.
    pub reports: Vec<PathBuf>,
    /// The run's undo ledger and the expectations ledger, when they exist.
    pub ledgers: Vec<PathBuf>,
    /// The effective configuration, before redaction.
    pub config: serde_json::Value,
}

impl BundleArgs {
    /// Reads the signing key once up front, so a wrong path or format stops the run
    /// before it touches the tenant.
    pub fn check_key(&self) -> Result<(), String> {
        match &self.bundle_key {
            Some(p) => read_signing_key(p)
                .map(drop)
                .map_err(|e| format!("failed to {e}")),
            None => Ok(()),
        }
    }

    /// Writes the bundle when `--bundle` was given. Everything in it is redacted text the
    /// run already scanned, or built from redacted values here.
    pub fn write(&self, ev: &RunEvidence<'_>, redactor: &Redactor) -> Result<(), String> {
        let Some(out) = &self.bundle else {
            return Ok(());
        };
        let key = match &self.bundle_key {
            Some(p) => Some(read_signing_key(p).map_err(|e| format!("failed to {e}"))?),
            None => None,
        };
        let mut files = BTreeMap::new();
        for (prefix, paths) in [("reports", &ev.reports), ("ledger", &ev.ledgers)] {
            for path in paths {
                let Some(name) = path.file_name() else {
                    continue;
                };
                match std::fs::read(path) {
                    Ok(bytes) => {
                        files.insert(format!("{prefix}/{}", name.to_string_lossy()), bytes);
                    }
                    // A report the run did not write (none of that kind) is not evidence.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(format!("failed to read {}: {e}", path.display())),
                }
            }
        }
        let run = ev.result;
        let meta = Meta {
            schema: META_SCHEMA.into(),
            run_id: run.run_id.clone(),
            harness_version: run.harness_version.clone(),
            suites_hash: run.suites_hash.clone(),
            target_kind: run.target.kind.clone(),
            target_base_url: redactor.redact(&run.target.base_url),
            tenant: redactor.redact(&run.target.tenant),
            target_fingerprint: target_fingerprint(
                &run.target.kind,
                &run.target.base_url,
                &run.target.tenant,
            ),
            required_cases: ev
                .project
                .suites
                .iter()
                .flat_map(|s| {
                    s.suite
                        .cases
                        .iter()
                        .map(move |c| format!("{}::{}", s.suite.phase, c.id))
                })
                .collect(),
            created_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        };
        let pretty = |v: &serde_json::Value| {
            let mut s = serde_json::to_string_pretty(v).expect("JSON values serialise");
            s.push('\n');
            s.into_bytes()
        };
        files.insert(
            META.into(),
            pretty(&serde_json::to_value(&meta).expect("serialise")),
        );
        files.insert(
            "config.json".into(),
            pretty(&redactor.redact_json(&ev.config)),
        );
        crate::bundle::write(out, &files, key.as_ref()).map_err(|e| format!("failed to {e}"))
    }
}

/// The effective configuration of a run, as JSON (redacted by the caller): what a
/// reviewer needs to see how the evidence was produced, never a credential (only which
/// kinds were given).
pub fn effective_config(
    args: &super::RunArgs,
    profile: &str,
    target: &RunResult,
) -> serde_json::Value {
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    json!({
        "target": {
            "kind": target.target.kind,
            "base_url": target.target.base_url,
            "tenant": target.target.tenant,
            "mock_faults": args.mock_faults,
            "surfaces": target.target.surfaces,
        },
        "profile": profile,
        "suites": path(&args.project.suites).unwrap_or_else(|| "built-in".into()),
        "fixtures": path(&args.project.fixtures).unwrap_or_else(|| "built-in".into()),
        "filters": args.filter_args.iter().chain(&args.filters).collect::<Vec<_>>(),
        "shard": args.shard.map(|s| s.to_string()),
        "rerun_failed": path(&args.rerun_failed),
        "fail_fast": args.fail_fast,
        "jobs": args.jobs,
        "request_timeout": args.live.request_timeout,
        "run_timeout": args.run_timeout,
        "thothctl_timeout": args.thothctl_timeout,
        "expectations": path(&args.expectations),
        "target_config": path(&args.target_config),
        "ca_cert": path(&args.live.ca_cert),
        "sink_url": args.sink_url,
        "sink_name": args.sink_name,
        "other_tenant_id": args.other_tenant_id,
        "evidence_jsonl": path(&args.evidence_jsonl),
        "evidence_webhook": args.evidence_webhook,
        "credentials": {
            "admin_token_file": path(&args.live.auth_token_file)
                .or_else(|| std::env::var("THOTH_ADMIN_BEARER_TOKEN_FILE").ok()),
            "org_api_key": args.live.org_api_key.is_some()
                || std::env::var_os("THOTH_API_KEY").is_some()
                || std::env::var_os("THOTH_ORG_API_KEY").is_some(),
        },
    })
}

#[derive(Debug, Args)]
pub struct VerifyBundleArgs {
    /// The bundle written by `run --bundle`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Require a valid signature by this ed25519 public key (SPKI PEM, as
    /// `openssl pkey -pubout` writes it).
    #[arg(long, value_name = "KEY")]
    pub pubkey: Option<PathBuf>,
    /// A file holding one secret per line to scan the bundle for (repeatable), besides
    /// the THOTH_* secrets set in the environment.
    #[arg(long = "secret-file", value_name = "FILE")]
    pub secret_files: Vec<PathBuf>,
}

/// The secrets to scan for where the check runs: the runbook's secret variables, the
/// admin token file they name, and `--secret-file` lines.
fn secrets_here(
    args: &VerifyBundleArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Redactor, String> {
    let redactor = Redactor::new();
    let mut values: Vec<String> = [
        "THOTH_WEBHOOK_SECRET",
        "THOTH_PAM_CALLBACK_SECRET",
        "THOTH_API_KEY",
        "THOTH_ORG_API_KEY",
    ]
    .iter()
    .filter_map(|k| env(k))
    .collect();
    let mut files: Vec<PathBuf> = env("THOTH_ADMIN_BEARER_TOKEN_FILE")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    files.extend(args.secret_files.iter().cloned());
    for f in &files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| format!("failed to read {}: {e}", f.display()))?;
        values.extend(text.lines().map(str::to_owned));
    }
    for v in values.iter().filter(|v| !v.trim().is_empty()) {
        // Too short to scan for without false alarms: such a value is not a credential.
        let _ = redactor.add_secret(v);
    }
    Ok(redactor)
}

/// Runs `verify-bundle`; prints what holds and what does not; returns the exit code.
pub fn verify_bundle(args: &VerifyBundleArgs) -> i32 {
    let unreadable = crate::bundle::Problem::Unreadable.exit_code();
    let key = match &args.pubkey {
        Some(p) => match read_verifying_key(p) {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("error: failed to {e}");
                return unreadable;
            }
        },
        None => None,
    };
    let redactor = match secrets_here(args, &|k| std::env::var(k).ok()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return unreadable;
        }
    };
    let v = crate::bundle::verify(
        &args.file,
        key.as_ref(),
        &redactor,
        crate::expectations::today_utc(),
    );
    for n in &v.notes {
        println!("ok: {n}");
    }
    for f in &v.findings {
        // The messages quote case messages from the bundle: never a raw secret.
        eprintln!("FAIL [{:?}]: {}", f.problem, redactor.redact(&f.message));
    }
    let code = v.exit_code();
    if code == 0 {
        println!("bundle verified: {}", display(&args.file));
    } else {
        eprintln!("bundle NOT verified: {} (exit {code})", display(&args.file));
    }
    code
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
