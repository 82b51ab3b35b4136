//! Running the closed-source `thothctl` binary as a step.
//!
//! The target's flags are appended to the suite's arguments, exactly as the runbook
//! writes them. The admin token goes through `--auth-token-file` (a 0600 temp file that
//! lives only for the invocation) so it never appears in a process listing.

use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::outcome::Exchange;
use crate::target::Target;

pub const DEFAULT_THOTHCTL_TIMEOUT: Duration = Duration::from_secs(60);
/// Output beyond this is cut in transcripts; the JSON is parsed from the full output.
const TRANSCRIPT_CAP: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThothctlError {
    #[error("write the token file: {0}")]
    TokenFile(String),
    #[error("start {bin}: {message}")]
    Spawn { bin: String, message: String },
    #[error("thothctl did not finish within {0:?}")]
    Timeout(Duration),
    #[error("wait for thothctl: {0}")]
    Wait(String),
    #[error("the target has no credential for thothctl")]
    NoCredential,
}

#[derive(Debug, Clone)]
pub struct CtlOutput {
    /// -1 when the process was killed by a signal.
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CtlOutput {
    /// `--json` output: the whole stdout, or else its last line that parses (some CLIs
    /// print progress lines before the document).
    pub fn json(&self) -> Option<Value> {
        let trimmed = self.stdout.trim();
        serde_json::from_str(trimmed).ok().or_else(|| {
            trimmed
                .lines()
                .rev()
                .find_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
                .filter(|v| v.is_object() || v.is_array())
        })
    }
}

/// The flags the target adds, with the path of the token file if one is used.
fn target_flags(target: &Target, token_file: Option<&Path>) -> Result<Vec<String>, ThothctlError> {
    let mut flags = vec!["--tenant-id".to_string(), target.tenant.clone()];
    match (&target.apex_domain, target.govapi_url_explicit) {
        (Some(apex), false) => flags.extend(["--apex-domain".into(), apex.clone()]),
        _ => flags.extend(["--govapi-url".into(), target.govapi_url.clone()]),
    }
    match (token_file, crate::target::exposed(&target.org_key)) {
        (Some(path), _) => flags.extend(["--auth-token-file".into(), path.display().to_string()]),
        (None, Some(key)) => flags.extend(["--org-api-key".into(), key.to_string()]),
        (None, None) => return Err(ThothctlError::NoCredential),
    }
    flags.push("--json".into());
    Ok(flags)
}

fn cap(s: &str) -> String {
    if s.len() <= TRANSCRIPT_CAP {
        return s.to_string();
    }
    let mut end = TRANSCRIPT_CAP;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &s[..end], s.len() - end)
}

/// Runs `bin args... <target flags>` once with a timeout; the child is killed on timeout.
pub async fn run(
    bin: &Path,
    target: &Target,
    args: &[String],
    timeout: Duration,
) -> (Exchange, Result<CtlOutput, ThothctlError>) {
    let started = Instant::now();
    let mut exchange = Exchange {
        request_line: format!("thothctl {}", args.join(" ")),
        ..Exchange::default()
    };
    let result = run_inner(bin, target, args, timeout, &mut exchange).await;
    exchange.duration_ms = started.elapsed().as_millis() as u64;
    match &result {
        Ok(out) => {
            exchange.status = Some(i64::from(out.exit_code));
            exchange.response_body = Some(cap(&out.stdout));
            if !out.stderr.is_empty() {
                exchange
                    .response_headers
                    .push(("stderr".into(), cap(&out.stderr)));
            }
        }
        Err(e) => exchange.transport_error = Some(e.to_string()),
    }
    (exchange, result)
}

async fn run_inner(
    bin: &Path,
    target: &Target,
    args: &[String],
    timeout: Duration,
    exchange: &mut Exchange,
) -> Result<CtlOutput, ThothctlError> {
    // The temp file is deleted when `token_file` drops, after the child has exited.
    let token_file = match crate::target::exposed(&target.admin_token) {
        Some(token) => Some(write_token_file(token)?),
        None => None,
    };
    let flags = target_flags(target, token_file.as_ref().map(|f| f.path()))?;
    let shown: Vec<String> = flags
        .iter()
        .scan(false, |after_key, f| {
            let out = if *after_key {
                crate::redact::REDACTED.to_string()
            } else {
                f.clone()
            };
            *after_key = f == "--org-api-key";
            Some(out)
        })
        .collect();
    exchange.request_line = format!("thothctl {} {}", args.join(" "), shown.join(" "));
    let child = tokio::process::Command::new(bin)
        .args(args)
        .args(&flags)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ThothctlError::Spawn {
            bin: bin.display().to_string(),
            message: e.to_string(),
        })?;
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(ThothctlError::Wait(e.to_string())),
        // Dropping the future drops the child, and kill_on_drop ends it.
        Err(_) => return Err(ThothctlError::Timeout(timeout)),
    };
    drop(token_file);
    Ok(CtlOutput {
        exit_code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

fn write_token_file(token: &str) -> Result<tempfile::NamedTempFile, ThothctlError> {
    // tempfile creates files with mode 0600 on Unix; set it again to not depend on that.
    let mut file = tempfile::Builder::new()
        .prefix("thoth-token-")
        .tempfile()
        .map_err(|e| ThothctlError::TokenFile(e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o600))
            .map_err(|e| ThothctlError::TokenFile(e.to_string()))?;
    }
    file.write_all(token.as_bytes())
        .and_then(|_| file.flush())
        .map_err(|e| ThothctlError::TokenFile(e.to_string()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_the_whole_stdout_or_its_last_json_line() {
        let out = |s: &str| CtlOutput {
            exit_code: 0,
            stdout: s.into(),
            stderr: String::new(),
        };
        assert_eq!(out("{\"a\":1}\n").json(), Some(serde_json::json!({"a":1})));
        assert_eq!(
            out("creating key...\n{\"key_id\":\"k1\"}\n").json(),
            Some(serde_json::json!({"key_id":"k1"}))
        );
        assert_eq!(out("done\n").json(), None);
    }

    #[test]
    fn flags_follow_the_runbook_names() {
        let env = |k: &str| match k {
            "THOTH_TENANT_ID" => Some("acme".to_string()),
            "THOTH_APEX_DOMAIN" => Some("example.com".to_string()),
            "THOTH_API_KEY" => Some("thoth_key_0123456789".to_string()),
            _ => None,
        };
        let r = crate::redact::Redactor::new();
        let t = Target::live(&crate::target::LiveOptions::default(), &env, &r).unwrap();
        // No explicit URL: the apex domain, and the org key (no token file).
        assert_eq!(
            target_flags(&t, None).unwrap(),
            [
                "--tenant-id",
                "acme",
                "--apex-domain",
                "example.com",
                "--org-api-key",
                "thoth_key_0123456789",
                "--json"
            ]
        );
        let p = Path::new("/tmp/tok");
        let flags = target_flags(&t, Some(p)).unwrap();
        assert_eq!(&flags[4..], ["--auth-token-file", "/tmp/tok", "--json"]);
    }

    #[cfg(unix)]
    #[test]
    fn token_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let f = write_token_file("tok").unwrap();
        let mode = std::fs::metadata(f.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(f.path()).unwrap(), "tok");
    }
}
