//! The harness against a `mock-govapi` binary as a live target, the way a tenant
//! answers it: bearer auth, two tenants, the SIEM sink read through `--sink-url`, and no
//! mock admin API (the cases that need it are skipped, as on a real tenant). Each run is
//! a whole `run --target live` process against a fresh mock, so the figures include
//! what a live run adds: the preflight, the lease, the snapshot, the undo.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt as _;

use super::process::{run_timed, ProcRun};
use super::BenchError;
use crate::outcome::RunResult;

/// The tenant the runs target, and the second one the cross-tenant cases need.
const TENANT: &str = "acme";
const OTHER_TENANT: &str = "globex";
/// How long the mock may take to print where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `mock-govapi` process with bearer auth; killed when dropped.
pub struct LiveMock {
    child: tokio::process::Child,
    /// `http://127.0.0.1:PORT`, as the mock printed it.
    pub url: String,
    token: String,
    /// The admin token's file (the harness reads `THOTH_ADMIN_BEARER_TOKEN_FILE`) and
    /// the mock's stdout drain live as long as the mock.
    dir: tempfile::TempDir,
    webhook_secret: String,
    pam_secret: String,
}

fn random_secret(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

impl LiveMock {
    /// Starts `binary` on 127.0.0.1 port 0 with sync jobs of `sync_job` and waits until
    /// it prints its address.
    pub async fn start(binary: &Path, sync_job: Duration) -> Result<LiveMock, BenchError> {
        let err = |what: &str, e: &dyn std::fmt::Display| {
            BenchError::Live(format!("{what} {}: {e}", binary.display()))
        };
        let token = random_secret("adm_bench_");
        let dir = tempfile::tempdir().map_err(|e| err("make a directory for", &e))?;
        write_private(&dir.path().join("admin-token"), &token)
            .map_err(|e| err("write the admin token for", &e))?;
        let mut child = tokio::process::Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--tenant", TENANT])
            .args(["--tenant", OTHER_TENANT, "--admin-token"])
            .arg(format!("{TENANT}={token}"))
            .arg("--admin-token")
            .arg(format!(
                "{OTHER_TENANT}={}",
                random_secret("adm_bench_other_")
            ))
            .arg("--sync-job-ms")
            .arg(sync_job.as_millis().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| err("start", &e))?;
        let mut out = child
            .stdout
            .take()
            .ok_or_else(|| BenchError::Live("read the mock's stdout: it is not piped".into()))?;
        let url = tokio::time::timeout(START_TIMEOUT, read_url(&mut out))
            .await
            .map_err(|_| err("wait for the address of", &"no address printed in 10 s"))?
            .map_err(|e| err("read the address of", &e))?;
        // Keep draining its stdout so a chatty mock never blocks on a full pipe.
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut out, &mut tokio::io::sink()).await;
        });
        Ok(LiveMock {
            child,
            url,
            token,
            dir,
            webhook_secret: random_secret("whsec_bench_"),
            pam_secret: random_secret("pamsec_bench_"),
        })
    }

    /// `exe run --target live` against this mock, reports in `reports`, configured as a
    /// tenant's CI job would be (environment variables, the token in a 0600 file).
    pub fn run_command(&self, exe: &Path, reports: &Path) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(exe);
        let sink = format!("{}/__sink", self.url);
        cmd.args(["run", "--target", "live", "--sink-url", &sink, "--reports"])
            .arg(reports)
            .env("CI", "true")
            .env("THOTH_TENANT_ID", TENANT)
            .env("THOTH_OTHER_TENANT_ID", OTHER_TENANT)
            .env("THOTH_GOVAPI_URL", &self.url)
            .env("THOTH_API_URL", &self.url)
            .env("THOTH_ADMIN_BEARER_TOKEN_FILE", self.token_file())
            .env("THOTH_WEBHOOK_URL", format!("{sink}/siem"))
            .env("THOTH_WEBHOOK_SECRET", &self.webhook_secret)
            .env("THOTH_PAM_CALLBACK_SECRET", &self.pam_secret);
        cmd
    }

    fn token_file(&self) -> PathBuf {
        self.dir.path().join("admin-token")
    }

    /// The loopback round trip to this mock: the mean of `n` sequential authenticated
    /// `GET /thoth/endpoints/stats` on one connection (after one that opens it).
    pub async fn round_trip(&self, n: usize) -> Result<Duration, BenchError> {
        let url = format!("{}/{TENANT}/thoth/endpoints/stats", self.url);
        let total = super::raw_round_trips(&url, &self.token, n).await?;
        Ok(total / u32::try_from(n.max(1)).unwrap_or(u32::MAX))
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Reads the mock's stdout until it names its `http://127.0.0.1:PORT`.
async fn read_url(out: &mut tokio::process::ChildStdout) -> std::io::Result<String> {
    let pattern = regex::Regex::new(r"http://127\.0\.0\.1:[0-9]+").expect("a valid pattern");
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let n = out.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "it exited before naming its address; it printed: {}",
                    String::from_utf8_lossy(&seen)
                ),
            ));
        }
        seen.extend_from_slice(&buf[..n]);
        if let Some(m) = pattern.find(&String::from_utf8_lossy(&seen)) {
            return Ok(m.as_str().to_string());
        }
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, text.as_bytes())
}

/// One whole `run --target live` process against a fresh mock.
pub struct LiveRun {
    pub process: ProcRun,
    /// What the run wrote to `results.json` (its `duration_ms` is the run alone).
    pub result: RunResult,
}

/// Starts a fresh mock from `binary`, runs `exe run --target live` against it with
/// reports in `reports`, and reads the run's `results.json`.
pub async fn live_run_once(
    exe: &Path,
    binary: &Path,
    sync_job: Duration,
    reports: &Path,
) -> Result<LiveRun, BenchError> {
    let mock = LiveMock::start(binary, sync_job).await?;
    let process = run_timed(&mut mock.run_command(exe, reports))
        .await
        .map_err(|e| BenchError::Live(format!("start `run --target live`: {e}")));
    mock.stop().await;
    let process = process?;
    let results = reports.join("results.json");
    let result = crate::report::read_results(&results).map_err(|e| {
        BenchError::Live(format!(
            "read {} of `run --target live` (exit {:?}): {e}",
            results.display(),
            process.exit
        ))
    })?;
    Ok(LiveRun { process, result })
}
