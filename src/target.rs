//! The system under test: where requests go, with which credentials, and what it offers.
//!
//! Two kinds: `mock` starts the bundled mock-govapi in-process with random per-run
//! credentials; `live` takes the runbook's env vars (or flags of the same names as
//! thothctl's). Every credential is registered with the [`Redactor`] the moment it is
//! known, so nothing written later can leak it.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rand::Rng;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;

use crate::outcome::TargetInfo;
use crate::redact::Redactor;
use crate::signing::Schemes;
use crate::suite::model::{Case, Feature, Surface};

/// Tenants of the in-process mock (interfaces.md §3).
pub const MOCK_TENANT: &str = "conformance";
pub const MOCK_OTHER_TENANT: &str = "conformance-other";
/// The mock's SIEM sink that `webhook_url` points at.
pub const MOCK_SINK: &str = "siem";
/// Longest `eventually` / `sink_wait` on the in-process mock. Its slowest settling state
/// (a sync job) takes 100 ms; 3 s leaves a wide margin on a loaded machine, while a
/// defect (a stuck job, a lost delivery) is reported in seconds instead of 30 s.
pub const MOCK_POLL_TIMEOUT_CAP: std::time::Duration = std::time::Duration::from_secs(3);
/// How long a sync job of the in-process mock takes from queued to succeeded. Still a
/// job that progresses over time and must be polled (the suites see it queued or
/// running first), but the gate does not wait the standalone mock's 300 ms for it.
pub const MOCK_SYNC_JOB_DURATION: std::time::Duration = std::time::Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Mock,
    Live,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Mock => "mock",
            TargetKind::Live => "live",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("failed to start the mock: unknown fault `{name}` (known: {known})")]
    UnknownFault { name: String, known: String },
    #[error("failed to start the mock: {0}")]
    MockStart(std::io::Error),
    #[error("failed to configure the live target: {0} is not set (env or flag)")]
    Missing(&'static str),
    #[error("failed to configure the live target: `{0}` is not a valid URL")]
    BadUrl(String),
    #[error("failed to configure the live target: {0} must use https (plain http only for loopback hosts)")]
    Insecure(String),
    #[error("failed to read the admin token file {path}: {source}")]
    TokenFile {
        path: String,
        source: std::io::Error,
    },
    #[error("failed to read the admin token file {0}: it is empty")]
    EmptyTokenFile(String),
    #[error("failed to configure the live target: {0}: {1}")]
    Secret(&'static str, String),
    #[error("failed to configure the live target: no credential (set THOTH_ADMIN_BEARER_TOKEN_FILE or THOTH_API_KEY)")]
    NoCredential,
}

/// Options for `--target mock`.
#[derive(Debug, Clone, Default)]
pub struct MockOptions {
    /// Fault mode names (kebab-case), validated against mock-govapi's list.
    pub faults: Vec<String>,
    /// Lists answer at most this many rows per page (the mock's `--page-size`), as a
    /// busy tenant's do: suites must page to find their rows.
    pub page_size: Option<usize>,
}

/// Options for `--target live`; every `None` falls back to the runbook env var.
#[derive(Clone, Default)]
pub struct LiveOptions {
    pub tenant_id: Option<String>,
    pub apex_domain: Option<String>,
    pub govapi_url: Option<String>,
    /// The enforcer (data plane) base URL, `THOTH_API_URL`.
    pub api_url: Option<String>,
    pub auth_token_file: Option<PathBuf>,
    pub org_api_key: Option<String>,
    pub other_tenant_id: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    pub pam_callback_secret: Option<String>,
    /// Where the harness reads deliveries (`GET {sink_url}/{name}`).
    pub sink_url: Option<String>,
    pub sink_name: Option<String>,
}

/// A running target. Hold it for the whole run: dropping a mock target stops the mock.
pub struct Target {
    pub kind: TargetKind,
    /// Root URL without trailing slash; tenant routes are `{govapi_url}/{tenant}/...`.
    pub govapi_url: String,
    /// Whether the URL was given explicitly (thothctl then gets `--govapi-url`).
    pub govapi_url_explicit: bool,
    /// The enforcer (data plane) base URL without trailing slash: `/v1/enforce`,
    /// `/v1/enforce/hold/{token}`, ... None when neither `THOTH_API_URL` nor an apex
    /// domain says where it is (data-plane cases then skip with that reason).
    pub api_url: Option<String>,
    pub tenant: String,
    pub apex_domain: Option<String>,
    pub other_tenant: Option<String>,
    /// Credentials and secrets are [`SecretString`]s: no `{:?}` can print them, and
    /// every use has to say `expose_secret` (see [`exposed`]).
    pub admin_token: Option<SecretString>,
    pub org_key: Option<SecretString>,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<SecretString>,
    pub webhook_sink: Option<String>,
    /// Base of the sink's read API; deliveries are at `{sink_url}/{name}`.
    pub sink_url: Option<String>,
    pub pam_callback_secret: Option<SecretString>,
    pub schemes: Schemes,
    /// The thothctl the thothctl cases run (real, or the stand-in), if any.
    pub thothctl: Option<crate::thothctl::ThothctlBin>,
    pub mock_faults: Vec<String>,
    /// Root of the mock's `/__admin` API; only on the mock target.
    pub admin_url: Option<String>,
    /// Things the user should know about the configuration (a token file others can
    /// read); the CLI prints them, redacted, to stderr.
    pub warnings: Vec<String>,
    /// Upper bound on poll timeouts (`eventually`, `sink_wait`); None = as declared.
    pub poll_timeout_cap: Option<std::time::Duration>,
    mock: Option<mock_govapi::RunningMock>,
}

/// The secret inside, for the one place that must send it.
pub fn exposed(secret: &Option<SecretString>) -> Option<&str> {
    secret.as_ref().map(|s| s.expose_secret())
}

fn secret(s: String) -> SecretString {
    SecretString::from(s)
}

impl std::fmt::Debug for LiveOptions {
    // Hand-written: the webhook and PAM secrets and the org key are plain strings here.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| if v.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("LiveOptions")
            .field("tenant_id", &self.tenant_id)
            .field("apex_domain", &self.apex_domain)
            .field("govapi_url", &self.govapi_url)
            .field("auth_token_file", &self.auth_token_file)
            .field("org_api_key", &set(&self.org_api_key))
            .field("other_tenant_id", &self.other_tenant_id)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &set(&self.webhook_secret))
            .field("pam_callback_secret", &set(&self.pam_callback_secret))
            .field("sink_url", &self.sink_url)
            .field("sink_name", &self.sink_name)
            .finish()
    }
}

impl std::fmt::Debug for Target {
    // Hand-written so that a stray `{:?}` can never print a credential.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("kind", &self.kind)
            .field("govapi_url", &self.govapi_url)
            .field("tenant", &self.tenant)
            .field("mock_faults", &self.mock_faults)
            .finish_non_exhaustive()
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    hex::encode(buf)
}

/// Names of all faults the mock knows, for error messages and `--help`.
pub fn known_faults() -> Vec<String> {
    mock_govapi::Fault::ALL
        .iter()
        .map(|f| f.to_string())
        .collect()
}

impl Target {
    /// Starts mock-govapi in-process on 127.0.0.1:0 with two tenants and random
    /// credentials and secrets, all registered with `redactor`.
    pub async fn start_mock(
        opts: &MockOptions,
        redactor: &Redactor,
    ) -> Result<Target, TargetError> {
        let mut faults = BTreeSet::new();
        for name in &opts.faults {
            let fault =
                mock_govapi::Fault::from_str(name).map_err(|_| TargetError::UnknownFault {
                    name: name.clone(),
                    known: known_faults().join(", "),
                })?;
            faults.insert(fault);
        }
        let admin_token = format!("adm_{}", random_hex(24));
        let org_key = format!("thoth_{}", random_hex(24));
        let other_admin = format!("adm_{}", random_hex(24));
        let other_key = format!("thoth_{}", random_hex(24));
        let webhook_secret = format!("whsec_{}", random_hex(24));
        let pam_secret = format!("pam_{}", random_hex(24));
        for s in [
            &admin_token,
            &org_key,
            &other_admin,
            &other_key,
            &webhook_secret,
            &pam_secret,
        ] {
            // Random and long: the redactor cannot refuse them.
            let _ = redactor.add_secret(s);
        }
        let config = mock_govapi::MockConfig {
            tenants: vec![
                mock_govapi::TenantConfig {
                    id: MOCK_TENANT.into(),
                    admin_tokens: vec![admin_token.clone()],
                    org_api_keys: vec![org_key.clone()],
                },
                mock_govapi::TenantConfig {
                    id: MOCK_OTHER_TENANT.into(),
                    admin_tokens: vec![other_admin],
                    org_api_keys: vec![other_key],
                },
            ],
            faults: faults.clone(),
            sync_job_duration: MOCK_SYNC_JOB_DURATION,
            realism: mock_govapi::Realism {
                page_size: opts.page_size,
                ..mock_govapi::Realism::default()
            },
            ..mock_govapi::MockConfig::dev_default()
        };
        // The enforcer on its own listener, as a tenant's `enforce.` host is not its
        // `grid.` host.
        let mock = mock_govapi::spawn_with_enforcer(config)
            .await
            .map_err(TargetError::MockStart)?;
        let root = mock.base_url.trim_end_matches('/').to_string();
        let enforcer = mock.enforcer_url.trim_end_matches('/').to_string();
        Ok(Target {
            kind: TargetKind::Mock,
            govapi_url: root.clone(),
            govapi_url_explicit: true,
            api_url: Some(enforcer),
            tenant: MOCK_TENANT.into(),
            apex_domain: None,
            other_tenant: Some(MOCK_OTHER_TENANT.into()),
            admin_token: Some(secret(admin_token)),
            org_key: Some(secret(org_key)),
            webhook_url: Some(format!("{root}/__sink/{MOCK_SINK}")),
            webhook_secret: Some(secret(webhook_secret)),
            webhook_sink: Some(MOCK_SINK.into()),
            sink_url: Some(format!("{root}/__sink")),
            pam_callback_secret: Some(secret(pam_secret)),
            schemes: Schemes::default(),
            thothctl: None,
            mock_faults: faults.iter().map(|f| f.to_string()).collect(),
            admin_url: Some(root),
            warnings: Vec::new(),
            poll_timeout_cap: Some(MOCK_POLL_TIMEOUT_CAP),
            mock: Some(mock),
        })
    }

    /// Builds a live target from flags, falling back to the runbook env vars via `env`.
    /// Reads the token file once, here.
    pub fn live(
        opts: &LiveOptions,
        env: &dyn Fn(&str) -> Option<String>,
        redactor: &Redactor,
    ) -> Result<Target, TargetError> {
        let pick = |flag: &Option<String>, names: &[&str]| -> Option<String> {
            flag.clone()
                .or_else(|| names.iter().find_map(|n| env(n)))
                .filter(|v| !v.trim().is_empty())
        };
        let tenant = pick(&opts.tenant_id, &["THOTH_TENANT_ID"])
            .ok_or(TargetError::Missing("THOTH_TENANT_ID"))?;
        let apex = pick(&opts.apex_domain, &["THOTH_APEX_DOMAIN"]);
        let explicit = pick(&opts.govapi_url, &["THOTH_GOVAPI_URL"]);
        let govapi_url = match (&explicit, &apex) {
            (Some(u), _) => u.trim_end_matches('/').to_string(),
            (None, Some(apex)) => format!("https://grid.{tenant}.{apex}"),
            (None, None) => {
                return Err(TargetError::Missing(
                    "THOTH_GOVAPI_URL or THOTH_APEX_DOMAIN",
                ))
            }
        };
        require_secure("the GovAPI URL", &govapi_url)?;
        // As the vendor SDKs document it: `https://enforce.<tenant>.<apex>`.
        let api_url = match (pick(&opts.api_url, &["THOTH_API_URL"]), &apex) {
            (Some(u), _) => Some(u.trim_end_matches('/').to_string()),
            (None, Some(apex)) => Some(format!("https://enforce.{tenant}.{apex}")),
            (None, None) => None,
        };
        if let Some(u) = &api_url {
            require_secure("the enforcer URL (THOTH_API_URL)", u)?;
        }

        let token_file = opts.auth_token_file.clone().or_else(|| {
            env("THOTH_ADMIN_BEARER_TOKEN_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
        let mut warnings = Vec::new();
        let admin_token = match &token_file {
            Some(path) => {
                warnings.extend(token_file_warning(path));
                Some(read_token_file(path)?)
            }
            None => None,
        };
        let org_key = pick(&opts.org_api_key, &["THOTH_API_KEY", "THOTH_ORG_API_KEY"]);
        if admin_token.is_none() && org_key.is_none() {
            return Err(TargetError::NoCredential);
        }
        let webhook_secret = pick(&opts.webhook_secret, &["THOTH_WEBHOOK_SECRET"]);
        let pam_secret = pick(&opts.pam_callback_secret, &["THOTH_PAM_CALLBACK_SECRET"]);
        let named = [
            ("the admin token", &admin_token),
            ("THOTH_API_KEY", &org_key),
            ("THOTH_WEBHOOK_SECRET", &webhook_secret),
            ("THOTH_PAM_CALLBACK_SECRET", &pam_secret),
        ];
        for (name, value) in named {
            if let Some(s) = value {
                // A secret the redactor refuses (too short) could not be kept out of the
                // reports, so it is a configuration error, not a warning.
                redactor
                    .add_secret(s)
                    .map_err(|e| TargetError::Secret(name, e.to_string()))?;
            }
        }
        let sink_url = opts
            .sink_url
            .clone()
            .map(|u| u.trim_end_matches('/').to_string());
        if let Some(u) = &sink_url {
            require_secure("the sink URL", u)?;
        }
        Ok(Target {
            kind: TargetKind::Live,
            govapi_url,
            govapi_url_explicit: explicit.is_some(),
            api_url,
            tenant,
            apex_domain: apex,
            other_tenant: pick(&opts.other_tenant_id, &["THOTH_OTHER_TENANT_ID"]),
            admin_token: admin_token.map(secret),
            org_key: org_key.map(secret),
            webhook_url: pick(&opts.webhook_url, &["THOTH_WEBHOOK_URL"]),
            webhook_secret: webhook_secret.map(secret),
            webhook_sink: sink_url
                .as_ref()
                .map(|_| opts.sink_name.clone().unwrap_or_else(|| MOCK_SINK.into())),
            sink_url,
            pam_callback_secret: pam_secret.map(secret),
            schemes: Schemes::default(),
            thothctl: None,
            mock_faults: Vec::new(),
            admin_url: None,
            warnings,
            poll_timeout_cap: None,
            mock: None,
        })
    }

    pub fn with_schemes(mut self, schemes: Schemes) -> Self {
        self.schemes = schemes;
        self
    }

    pub fn with_thothctl(mut self, bin: Option<crate::thothctl::ThothctlBin>) -> Self {
        self.thothctl = bin;
        self
    }

    /// Base of tenant routes: `{govapi_url}/{tenant}`.
    /// The header of the target's default credential (admin token preferred, else the
    /// org key), as undo, snapshot, load and bench requests carry it.
    pub fn default_credential(&self) -> Option<(String, String)> {
        if let Some(t) = exposed(&self.admin_token) {
            return Some(("Authorization".into(), format!("Bearer {t}")));
        }
        exposed(&self.org_key).map(|k| ("X-Api-Key".into(), k.to_owned()))
    }

    pub fn tenant_base(&self) -> String {
        format!("{}/{}", self.govapi_url, self.tenant)
    }

    pub fn has_feature(&self, feature: Feature) -> bool {
        match feature {
            Feature::MockAdmin => self.admin_url.is_some(),
            Feature::Sink => self.sink_url.is_some() && self.webhook_sink.is_some(),
            Feature::Thothctl => self.thothctl.is_some(),
            Feature::OtherTenant => self.other_tenant.is_some(),
            Feature::Enforcer => self.api_url.is_some(),
        }
    }

    /// Why `case` cannot run on this target, if it cannot.
    pub fn missing_feature(&self, case: &Case) -> Option<&'static str> {
        case.required_features()
            .into_iter()
            .find(|f| !self.has_feature(*f))
            .map(|f| self.missing_reason(f))
    }

    /// Why a case that needs `feature` cannot run here.
    pub fn missing_reason(&self, feature: Feature) -> &'static str {
        match feature {
            Feature::MockAdmin => "needs the mock admin API (mock target only)",
            Feature::Sink => "needs a readable SIEM sink (mock target, or --sink-url)",
            Feature::Thothctl => "not run: thothctl not found",
            Feature::OtherTenant => "needs a second tenant (THOTH_OTHER_TENANT_ID)",
            Feature::Enforcer => {
                "needs the enforcer URL (THOTH_API_URL or --api-url, or THOTH_APEX_DOMAIN)"
            }
        }
    }

    /// Template variables of interfaces.md §3 (unset ones are left out).
    pub fn template_vars(&self, run_id: &str) -> Vec<(&'static str, Value)> {
        let mut v: Vec<(&'static str, Value)> = vec![
            ("run_id", Value::String(run_id.into())),
            ("tenant", Value::String(self.tenant.clone())),
            ("govapi_url", Value::String(self.govapi_url.clone())),
            // Only the in-process mock is written to by this run alone.
            (
                crate::template::SOLE_WRITER_VAR,
                Value::Bool(self.kind == TargetKind::Mock),
            ),
        ];
        // Suites sign with the secrets, so they are template variables; the redactor
        // knows them, so nothing rendered from them leaves unredacted.
        let opt = [
            ("other_tenant", self.other_tenant.as_deref()),
            ("api_url", self.api_url.as_deref()),
            ("webhook_url", self.webhook_url.as_deref()),
            ("webhook_secret", exposed(&self.webhook_secret)),
            ("webhook_sink", self.webhook_sink.as_deref()),
            ("pam_callback_secret", exposed(&self.pam_callback_secret)),
        ];
        for (name, value) in opt {
            if let Some(s) = value {
                v.push((name, Value::String(s.to_string())));
            }
        }
        v
    }

    /// Where a credential came from, for messages: the env var or flag that set it.
    pub fn credential_source(&self, admin: bool) -> &'static str {
        match (self.kind, admin) {
            (TargetKind::Mock, true) => "the mock's admin token",
            (TargetKind::Mock, false) => "the mock's org API key",
            (TargetKind::Live, true) => {
                "the admin token (THOTH_ADMIN_BEARER_TOKEN_FILE / --auth-token-file)"
            }
            (TargetKind::Live, false) => "the org API key (THOTH_API_KEY / --org-api-key)",
        }
    }

    /// The URLs besides the GovAPI that the run reads from, each with the env var or
    /// flag that set it; the preflight checks that each answers. (A target option that
    /// adds a URL adds it here.)
    pub fn side_urls(&self) -> Vec<(&'static str, String)> {
        let mut urls = Vec::new();
        if let (Some(base), Some(name)) = (&self.sink_url, &self.webhook_sink) {
            urls.push(("the sink (--sink-url)", format!("{base}/{name}")));
        }
        urls
    }

    pub fn info(&self) -> TargetInfo {
        let mut surfaces = vec![Surface::Api];
        if self.thothctl.is_some() {
            surfaces.push(Surface::Thothctl);
        }
        TargetInfo {
            kind: self.kind.as_str().into(),
            base_url: self.govapi_url.clone(),
            tenant: self.tenant.clone(),
            mock_faults: self.mock_faults.clone(),
            surfaces,
            thothctl: self.thothctl.as_ref().map(|b| b.info.clone()),
        }
    }

    /// Stops the in-process mock (if any) gracefully.
    pub async fn shutdown(mut self) {
        if let Some(mock) = self.mock.take() {
            mock.shutdown().await;
        }
    }
}

/// The env var or flag behind a target template variable, for messages that tell the
/// user what to set (`{{pam_callback_secret}}` means nothing to them).
pub fn variable_source(name: &str) -> Option<&'static str> {
    Some(match name {
        "tenant" => "THOTH_TENANT_ID (--tenant-id)",
        "govapi_url" => "THOTH_GOVAPI_URL (--govapi-url)",
        "other_tenant" => "THOTH_OTHER_TENANT_ID (--other-tenant-id)",
        "webhook_url" => "THOTH_WEBHOOK_URL",
        "webhook_secret" => "THOTH_WEBHOOK_SECRET",
        "webhook_sink" => "--sink-url",
        "pam_callback_secret" => "THOTH_PAM_CALLBACK_SECRET",
        _ => return None,
    })
}

/// A warning when the token file can be read by its group or by others (unix mode bits
/// `0o077`): a bearer token is a tenant admin's whole power. Never names the token.
#[cfg(unix)]
pub fn token_file_warning(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "warning: the admin token file {} is readable by its group or others (mode {:o}); \
             `chmod 600` it",
            path.display(),
            mode & 0o777
        )
    })
}

#[cfg(not(unix))]
pub fn token_file_warning(_path: &Path) -> Option<String> {
    None
}

/// Read once, here; the token then lives only in the target, as a [`SecretString`].
fn read_token_file(path: &Path) -> Result<String, TargetError> {
    let text = std::fs::read_to_string(path).map_err(|source| TargetError::TokenFile {
        path: path.display().to_string(),
        source,
    })?;
    let token = text.trim().to_string();
    if token.is_empty() {
        return Err(TargetError::EmptyTokenFile(path.display().to_string()));
    }
    Ok(token)
}

/// HTTPS, or plain HTTP to a loopback host only: credentials never cross a network in clear.
pub fn require_secure(what: &str, url: &str) -> Result<(), TargetError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| TargetError::BadUrl(url.to_string()))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(parsed.host_str().unwrap_or("")) => Ok(()),
        "http" => Err(TargetError::Insecure(format!("{what} `{url}`"))),
        _ => Err(TargetError::BadUrl(url.to_string())),
    }
}

fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests;
