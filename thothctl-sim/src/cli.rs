//! The command line: the commands and flags the vendor's seeds and runbooks show.
//! Flags that only the stand-in has say so in their help (README.md lists them).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (stand-in for thothctl, not the vendor binary)"
);

#[derive(Debug, Parser)]
#[command(name = "thothctl-sim", version = VERSION, about = "Stand-in for thothctl over GovAPI HTTP")]
pub struct Cli {
    #[command(flatten)]
    pub conn: Conn,
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Where to send requests and with which credential; accepted before or after the
/// command, as the runbooks write them after it.
#[derive(Debug, Clone, Args)]
pub struct Conn {
    /// Tenant (default: THOTH_TENANT_ID).
    #[arg(long, global = true)]
    pub tenant_id: Option<String>,
    /// GovAPI is https://grid.<tenant>.<apex-domain> (default: THOTH_APEX_DOMAIN).
    #[arg(long, global = true)]
    pub apex_domain: Option<String>,
    /// Explicit GovAPI root URL (default: THOTH_GOVAPI_URL).
    #[arg(long, global = true)]
    pub govapi_url: Option<String>,
    /// Admin bearer token on the command line (visible in `ps`; prefer the file).
    #[arg(long, global = true)]
    pub auth_token: Option<String>,
    /// File holding the admin bearer token.
    #[arg(long, global = true)]
    pub auth_token_file: Option<PathBuf>,
    /// Org API key on the command line (visible in `ps`; prefer THOTH_API_KEY).
    #[arg(long, global = true)]
    pub org_api_key: Option<String>,
    /// Per-request timeout (default: THOTH_TIMEOUT_SECONDS, else 20).
    #[arg(long, global = true)]
    pub timeout_seconds: Option<u64>,
    /// Print one JSON document on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Admin session.
    #[command(subcommand)]
    Auth(AuthCmd),
    /// Apply tenant settings, test the webhook, upsert an MDM provider, start a sync.
    Bootstrap(Box<Bootstrap>),
    #[command(subcommand)]
    Settings(SettingsCmd),
    #[command(subcommand)]
    Mdm(MdmCmd),
    #[command(subcommand)]
    Endpoints(EndpointsCmd),
    #[command(subcommand)]
    ApiKeys(ApiKeysCmd),
    #[command(subcommand)]
    Approvals(ApprovalsCmd),
    #[command(subcommand)]
    Pam(PamCmd),
    #[command(subcommand)]
    Evidence(EvidenceCmd),
    #[command(subcommand)]
    Browser(BrowserCmd),
    /// Print the full help of every command.
    Manual,
}

#[derive(Debug, Subcommand)]
pub enum AuthCmd {
    /// Headless only: checks a token given by file or environment and stores it as the
    /// session; interactive SSO is not available in the stand-in.
    Login {
        #[arg(long)]
        admin_email: Option<String>,
        /// Where to store the session (default: THOTH_AUTH_SESSION_FILE, else
        /// ~/.thoth/admin-token.jwt).
        #[arg(long)]
        session_file: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct Bootstrap {
    #[arg(long)]
    pub compliance_profile: Option<String>,
    #[arg(long)]
    pub shadow_low: Option<String>,
    #[arg(long)]
    pub shadow_medium: Option<String>,
    #[arg(long)]
    pub shadow_high: Option<String>,
    #[arg(long)]
    pub shadow_critical: Option<String>,
    /// `tool=tier`, repeatable.
    #[arg(long = "tool-risk-override")]
    pub tool_risk_overrides: Vec<String>,
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// Visible in `ps`: prefer THOTH_WEBHOOK_SECRET or --webhook-secret-file.
    #[arg(long)]
    pub webhook_secret: Option<String>,
    /// Stand-in only: file holding the webhook signing secret.
    #[arg(long)]
    pub webhook_secret_file: Option<PathBuf>,
    #[arg(long)]
    pub webhook_enabled: Option<bool>,
    #[arg(long)]
    pub test_webhook: bool,
    #[arg(long)]
    pub mdm_provider: Option<String>,
    #[arg(long)]
    pub mdm_name: Option<String>,
    #[arg(long)]
    pub mdm_enabled: Option<bool>,
    #[arg(long)]
    pub mdm_config_file: Option<PathBuf>,
    #[arg(long)]
    pub start_sync: bool,
    #[arg(long)]
    pub secret_broker_provider: Option<String>,
    #[arg(long)]
    pub secret_broker_enabled: Option<bool>,
    #[arg(long)]
    pub secret_broker_strict_endpoint_mode: bool,
    #[arg(long)]
    pub secret_broker_fail_on_missing_secret: bool,
    /// Repeatable; replaces the list.
    #[arg(long = "secret-broker-allowed-host")]
    pub secret_broker_allowed_hosts: Vec<String>,
    /// `host:header:secret_ref:prefix`, repeatable; replaces the list.
    #[arg(long = "secret-broker-auth-binding")]
    pub secret_broker_auth_bindings: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum SettingsCmd {
    Get,
}

#[derive(Debug, Subcommand)]
pub enum MdmCmd {
    List,
    Sync {
        #[arg(long)]
        provider: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EndpointsCmd {
    List {
        #[arg(long)]
        env: Option<String>,
        #[arg(long)]
        fleet_id: Option<String>,
    },
    Stats,
}

/// One scope selector (the quickstart's `--fleet-id` etc.) or `--scope-level` +
/// `--scope-target-id` (the runbook's form).
#[derive(Debug, Clone, Args)]
pub struct Scope {
    #[arg(long)]
    pub scope_level: Option<String>,
    #[arg(long)]
    pub scope_target_id: Option<String>,
    #[arg(long)]
    pub organization: bool,
    #[arg(long)]
    pub fleet_id: Option<String>,
    #[arg(long)]
    pub endpoint_id: Option<String>,
    #[arg(long)]
    pub agent_id: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeysCmd {
    Create {
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        scope: Scope,
        #[arg(long = "permission")]
        permissions: Vec<String>,
        #[arg(long)]
        ttl_seconds: Option<u64>,
    },
    List,
    Authorize {
        #[arg(long)]
        key_id: String,
        /// The key to check, on the command line (visible in `ps`); given without a
        /// value, it is read from stdin.
        #[arg(long, num_args = 0..=1, default_missing_value = "-")]
        api_key: Option<String>,
        #[arg(long)]
        api_key_file: Option<PathBuf>,
        #[arg(long)]
        permission: String,
        #[arg(long)]
        resource_type: Option<String>,
        #[arg(long)]
        resource_id: Option<String>,
        #[command(flatten)]
        scope: Scope,
    },
    Revoke {
        #[arg(long)]
        key_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApprovalsCmd {
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PamCmd {
    /// Sign a PAM decision callback and send it (or print it with --dry-run).
    Callback {
        #[arg(long)]
        approval_id: String,
        #[arg(long)]
        request_id: String,
        #[arg(long)]
        decision: String,
        #[arg(long)]
        dry_run: bool,
        /// Stand-in only: file holding the callback secret (default:
        /// THOTH_PAM_CALLBACK_SECRET).
        #[arg(long)]
        callback_secret_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCmd {
    Slos {
        #[arg(long)]
        window_hours: Option<u32>,
        #[arg(long)]
        scan_limit: Option<u32>,
    },
    Backfill {
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        include_blocked_events: Option<bool>,
    },
    DecisionBackfill {
        #[arg(long)]
        window_hours: Option<u32>,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BrowserCmd {
    #[command(subcommand)]
    Providers(ProvidersCmd),
    #[command(subcommand)]
    Policies(PoliciesCmd),
    #[command(subcommand)]
    Enrollments(EnrollmentsCmd),
    /// Resolve this endpoint's active enrollments and policies and write the managed
    /// policy files (or list them with --dry-run).
    Sync {
        #[arg(long)]
        device_id: String,
        #[arg(long)]
        user_id: String,
        #[arg(long)]
        dry_run: bool,
        /// Stand-in only: directory the managed policy paths are under (default `/`).
        #[arg(long, default_value = "/")]
        policy_root: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProvidersCmd {
    Upsert {
        #[arg(long)]
        provider: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        config_file: Option<PathBuf>,
        #[arg(long)]
        enabled: Option<bool>,
    },
    List,
}

#[derive(Debug, Subcommand)]
pub enum PoliciesCmd {
    Upsert {
        #[arg(long)]
        provider: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        enforcement_mode: Option<String>,
        #[arg(long)]
        policy_file: Option<PathBuf>,
        #[arg(long)]
        policy_id: Option<String>,
        #[arg(long)]
        active: Option<bool>,
    },
    List {
        #[arg(long)]
        provider: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnrollmentsCmd {
    Upsert {
        #[arg(long)]
        provider: String,
        #[arg(long)]
        device_id: String,
        #[arg(long)]
        user_id: String,
        #[arg(long)]
        enrollment_id: Option<String>,
        #[arg(long)]
        policy_id: Option<String>,
        #[arg(long)]
        status: Option<String>,
    },
    List {
        #[arg(long)]
        provider: Option<String>,
        #[arg(long)]
        status: Option<String>,
    },
}
