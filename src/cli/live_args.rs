//! The flags that say which live tenant to talk to and how, shared by `run`, `load` and
//! `cleanup` so the three commands cannot drift apart in names, defaults or meaning.

use std::path::PathBuf;

use clap::Args;

use crate::client::ClientOptions;
use crate::suite::duration::parse_duration;
use crate::target::LiveOptions;

/// Live-target flags: each falls back to its THOTH_* environment variable.
#[derive(Debug, Clone, Args)]
pub struct LiveArgs {
    /// Live: tenant id (else THOTH_TENANT_ID).
    #[arg(long)]
    pub tenant_id: Option<String>,
    /// Live: apex domain, for https://grid.<tenant>.<apex> (else THOTH_APEX_DOMAIN).
    #[arg(long)]
    pub apex_domain: Option<String>,
    /// Live: GovAPI base URL, https unless loopback (else THOTH_GOVAPI_URL).
    #[arg(long)]
    pub govapi_url: Option<String>,
    /// Live: enforcer (data plane) base URL, https unless loopback (else THOTH_API_URL;
    /// default https://enforce.<tenant>.<apex>, as the vendor SDKs document it).
    #[arg(long)]
    pub api_url: Option<String>,
    /// Live: file holding the admin bearer token (else THOTH_ADMIN_BEARER_TOKEN_FILE).
    #[arg(long, value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,
    /// Live: org API key (else THOTH_API_KEY or THOTH_ORG_API_KEY; prefer the env var).
    #[arg(long)]
    pub org_api_key: Option<String>,
    /// Extra root certificate (PEM) for a tenant behind a private CA.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Per HTTP request, connect to last body byte (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub request_timeout: String,
}

impl LiveArgs {
    /// The target half of the flags; `run` adds its own isolation and sink fields.
    pub fn live_options(&self) -> LiveOptions {
        LiveOptions {
            tenant_id: self.tenant_id.clone(),
            apex_domain: self.apex_domain.clone(),
            govapi_url: self.govapi_url.clone(),
            api_url: self.api_url.clone(),
            auth_token_file: self.auth_token_file.clone(),
            org_api_key: self.org_api_key.clone(),
            ..LiveOptions::default()
        }
    }

    /// The HTTP client half: the parsed `--request-timeout` and `--ca-cert`.
    pub fn client_options(&self) -> Result<ClientOptions, String> {
        let request_timeout = parse_duration(&self.request_timeout)
            .map_err(|e| format!("--request-timeout {}: {e}", self.request_timeout))?;
        Ok(ClientOptions {
            request_timeout,
            ca_cert: self.ca_cert.clone(),
            ..ClientOptions::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Probe {
        #[command(flatten)]
        live: LiveArgs,
    }

    #[test]
    fn flags_fill_the_live_options_and_default_the_timeout() {
        let p = Probe::parse_from([
            "probe",
            "--tenant-id",
            "t1",
            "--apex-domain",
            "example.test",
            "--govapi-url",
            "http://127.0.0.1:1",
            "--auth-token-file",
            "/tmp/tok",
            "--org-api-key",
            "k",
        ]);
        assert_eq!(p.live.request_timeout, "10s");
        let o = p.live.live_options();
        assert_eq!(o.tenant_id.as_deref(), Some("t1"));
        assert_eq!(o.apex_domain.as_deref(), Some("example.test"));
        assert_eq!(o.govapi_url.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(o.auth_token_file, Some(PathBuf::from("/tmp/tok")));
        assert_eq!(o.org_api_key.as_deref(), Some("k"));
        assert_eq!(o.other_tenant_id, None);
        let client = p.live.client_options().unwrap();
        assert_eq!(client.request_timeout, std::time::Duration::from_secs(10));
        assert_eq!(client.ca_cert, None);
    }

    #[test]
    fn a_bad_request_timeout_names_the_flag() {
        let p = Probe::parse_from(["probe", "--request-timeout", "soon"]);
        let err = p.live.client_options().unwrap_err();
        assert!(err.starts_with("--request-timeout soon: "), "{err}");
    }
}
