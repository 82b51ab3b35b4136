//! The runbook as a shell script of curl + jq calls, run against a fresh mock.

use std::path::Path;
use std::time::Instant;

use rand::Rng as _;

use super::{journal_count, BenchError, Timed};

/// Tenant of the script's mock (the harness's in-process mock uses the same name).
const TENANT: &str = crate::target::MOCK_TENANT;

/// Programs the script needs that are not on PATH.
pub fn missing_tools() -> Vec<&'static str> {
    ["bash", "curl", "jq", "openssl"]
        .into_iter()
        .filter(|tool| !on_path(tool))
        .collect()
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    hex::encode(buf)
}

/// One run of the script, with what it printed when it failed.
#[derive(Debug, Clone)]
pub struct ScriptRun {
    pub timed: Timed,
    pub exit_code: Option<i32>,
    /// The last lines of stderr (a failed check says which), secrets redacted.
    pub stderr_tail: String,
}

/// Runs `script` once against a fresh mock (random credentials and secrets) with
/// `faults` switched on.
pub async fn run_script_once(
    script: &Path,
    faults: &[mock_govapi::Fault],
) -> Result<ScriptRun, BenchError> {
    let token = format!("adm_{}", random_hex(24));
    let webhook_secret = format!("whsec_{}", random_hex(24));
    let pam_secret = format!("pam_{}", random_hex(24));
    let redactor = crate::redact::Redactor::new();
    for s in [&token, &webhook_secret, &pam_secret] {
        let _ = redactor.add_secret(s);
    }
    let mut config = mock_govapi::MockConfig::with_tenants(vec![mock_govapi::TenantConfig {
        id: TENANT.into(),
        admin_tokens: vec![token.clone()],
        org_api_keys: vec![format!("thoth_{}", random_hex(24))],
    }]);
    config.faults = faults.iter().copied().collect();
    // The same mock as the harness's in-process one, so both wait as long for a sync.
    config.sync_job_duration = crate::target::MOCK_SYNC_JOB_DURATION;
    let mock = mock_govapi::spawn(config)
        .await
        .map_err(|e| BenchError::Mock(e.to_string()))?;
    let dir = tempfile::tempdir().map_err(|e| BenchError::Mock(e.to_string()))?;
    let token_file = dir.path().join("admin.jwt");
    std::fs::write(&token_file, &token).map_err(|e| BenchError::Mock(e.to_string()))?;
    let root = mock.base_url.clone();
    let started = Instant::now();
    let output = tokio::process::Command::new("bash")
        .arg(script)
        .env("THOTH_GOVAPI_URL", &root)
        .env("THOTH_TENANT_ID", TENANT)
        .env("THOTH_ADMIN_BEARER_TOKEN_FILE", &token_file)
        .env("THOTH_WEBHOOK_URL", format!("{root}/__sink/siem"))
        .env("THOTH_WEBHOOK_SECRET", &webhook_secret)
        .env("THOTH_PAM_CALLBACK_SECRET", &pam_secret)
        .env("MOCK_ROOT", &root)
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    let wall = started.elapsed();
    let requests = journal_count(&root).await;
    mock.shutdown().await;
    let output = output.map_err(|e| BenchError::Mock(format!("run {}: {e}", script.display())))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Ok(ScriptRun {
        timed: Timed {
            wall,
            requests: requests?,
            passed: output.status.success(),
        },
        exit_code: output.status.code(),
        stderr_tail: redactor.redact(&tail.join("\n")),
    })
}
