//! Running `thothctl` (the vendor's binary, or the stand-in `thothctl-sim`) as a step.
//!
//! The target's flags are appended to the suite's arguments, as the runbook writes them.
//! No secret is ever on the command line, where `ps` shows it to every local user:
//! - the admin token goes through `--auth-token-file`, a 0600 file in this process's
//!   private directory ([`workdir`]) that lives only for the invocation;
//! - the org key goes as `THOTH_API_KEY` in the environment (seed 003: "org API key auth
//!   via THOTH_API_KEY (or --org-api-key)");
//! - `bootstrap` gets the webhook secret as `THOTH_WEBHOOK_SECRET` and `pam` the
//!   callback secret as `THOTH_PAM_CALLBACK_SECRET` (the runbook's variable names). The
//!   documented interface has only `--webhook-secret <value>` and names no way to give
//!   thothctl the PAM secret: a thothctl that reads neither variable leaves the stored
//!   webhook secret as it is, and its callback is signed with whatever it uses.
//!
//! An argument that contains a registered secret is refused before anything starts.
//! The child runs in its own process group, killed whole on timeout or cancellation.

pub mod workdir;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::outcome::Exchange;
use crate::redact::Redactor;
use crate::target::Target;
use crate::thothctl::ThothctlBin;
use workdir::Workdir;

pub const DEFAULT_THOTHCTL_TIMEOUT: Duration = Duration::from_secs(60);
/// Stderr beyond this is cut in transcripts (stdout is stored as HTTP bodies are, see
/// `redact::stored_body`); the JSON is parsed from the full output.
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
    #[error("not run: argument {0} holds a secret, and a command line is visible to every local user in `ps`")]
    SecretOnArgv(usize),
    #[error("{0}")]
    Workdir(#[from] workdir::WorkdirError),
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
        // The key goes by environment (`child_env`).
        (None, Some(_)) => {}
        (None, None) => return Err(ThothctlError::NoCredential),
    }
    flags.push("--json".into());
    Ok(flags)
}

/// The secrets this invocation gets by environment: the org key when there is no token
/// file, and the one signing secret its command needs.
fn child_env(target: &Target, args: &[String], token_file: bool) -> Vec<(&'static str, String)> {
    let mut env = Vec::new();
    let mut put = |name: &'static str, v: Option<&str>| {
        if let Some(v) = v {
            env.push((name, v.to_string()));
        }
    };
    if !token_file {
        put("THOTH_API_KEY", crate::target::exposed(&target.org_key));
    }
    match args.first().map(String::as_str) {
        Some("bootstrap") => put(
            "THOTH_WEBHOOK_SECRET",
            crate::target::exposed(&target.webhook_secret),
        ),
        Some("pam") => put(
            "THOTH_PAM_CALLBACK_SECRET",
            crate::target::exposed(&target.pam_callback_secret),
        ),
        _ => {}
    }
    env
}

/// The index of the first argument that holds a secret the redactor knows.
pub fn secret_on_argv(args: &[String], redactor: &Redactor) -> Option<usize> {
    args.iter().position(|a| redactor.redact(a) != *a)
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

/// Runs `bin args... <target flags>` once with a timeout, in `cwd`; the child's process
/// group is killed on timeout.
pub async fn run(
    bin: &ThothctlBin,
    target: &Target,
    args: &[String],
    cwd: &Path,
    timeout: Duration,
    redactor: &Redactor,
) -> (Exchange, Result<CtlOutput, ThothctlError>) {
    let started = Instant::now();
    let mut exchange = Exchange {
        request_line: format!("thothctl {}", args.join(" ")),
        ..Exchange::default()
    };
    let result = match secret_on_argv(args, redactor) {
        Some(i) => Err(ThothctlError::SecretOnArgv(i + 1)),
        None => run_inner(bin, target, args, cwd, timeout, &mut exchange).await,
    };
    exchange.duration_ms = started.elapsed().as_millis() as u64;
    match &result {
        Ok(out) => {
            exchange.status = Some(i64::from(out.exit_code));
            // Stored like an HTTP answer (redacted across the cut, size and hash
            // noted), so a passed case's cut of it still names the whole output.
            exchange.store_response_body(&out.stdout);
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

/// Kills the child's process group unless the child was reaped, and drops its record.
struct GroupGuard {
    pgid: Option<u32>,
    record: Option<std::path::PathBuf>,
    reaped: bool,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let (false, Some(pgid)) = (self.reaped, self.pgid) {
            workdir::kill_group(pgid as i32);
        }
        if let Some(r) = &self.record {
            let _ = std::fs::remove_file(r);
        }
    }
}

async fn run_inner(
    bin: &ThothctlBin,
    target: &Target,
    args: &[String],
    cwd: &Path,
    timeout: Duration,
    exchange: &mut Exchange,
) -> Result<CtlOutput, ThothctlError> {
    let workdir = Workdir::get()?;
    // The temp file is deleted when `token_file` drops, after the child has exited.
    let token_file = match crate::target::exposed(&target.admin_token) {
        Some(token) => Some(write_token_file(&workdir.dir, token)?),
        None => None,
    };
    let flags = target_flags(target, token_file.as_ref().map(|f| f.path()))?;
    let env = child_env(target, args, token_file.is_some());
    let names: Vec<&str> = env.iter().map(|(k, _)| *k).collect();
    exchange.request_line = format!("thothctl {} {}", args.join(" "), flags.join(" "));
    if !names.is_empty() {
        exchange
            .request_line
            .push_str(&format!(" (secrets by env: {})", names.join(", ")));
    }
    let mut cmd = tokio::process::Command::new(&bin.path);
    cmd.args(args)
        .args(&flags)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // The child sees exactly the THOTH_* variables chosen here: never the operator's
    // own credentials for some other tenant.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("THOTH_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env).envs(bin.env.iter().map(|(k, v)| (k, v)));
    #[cfg(unix)]
    cmd.process_group(0);
    let child = cmd.spawn().map_err(|e| ThothctlError::Spawn {
        bin: bin.path.display().to_string(),
        message: e.to_string(),
    })?;
    let mut guard = GroupGuard {
        pgid: child.id(),
        record: child.id().map(|pgid| workdir.record_child(pgid, &bin.path)),
        reaped: false,
    };
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(ThothctlError::Wait(e.to_string())),
        // Dropping the future drops the child (kill_on_drop), the guard its group.
        Err(_) => return Err(ThothctlError::Timeout(timeout)),
    };
    guard.reaped = true;
    drop(guard);
    drop(token_file);
    Ok(CtlOutput {
        exit_code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

fn write_token_file(dir: &Path, token: &str) -> Result<tempfile::NamedTempFile, ThothctlError> {
    use std::io::Write as _;
    // tempfile creates files with mode 0600 on Unix; set it again to not depend on that.
    let mut file = tempfile::Builder::new()
        .prefix("thoth-token-")
        .tempfile_in(dir)
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
        // No explicit URL: the apex domain; the org key goes by environment.
        assert_eq!(
            target_flags(&t, None).unwrap(),
            [
                "--tenant-id",
                "acme",
                "--apex-domain",
                "example.com",
                "--json"
            ]
        );
        let env = child_env(&t, &["mdm".into(), "list".into()], false);
        assert_eq!(env, [("THOTH_API_KEY", "thoth_key_0123456789".to_string())]);
        let p = Path::new("/tmp/tok");
        let flags = target_flags(&t, Some(p)).unwrap();
        assert_eq!(&flags[4..], ["--auth-token-file", "/tmp/tok", "--json"]);
    }

    #[cfg(unix)]
    #[test]
    fn token_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let f = write_token_file(dir.path(), "tok").unwrap();
        let mode = std::fs::metadata(f.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(f.path()).unwrap(), "tok");
    }
}
