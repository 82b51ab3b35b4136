//! The suite file format: what a runbook phase looks like as data.
//!
//! These types are the contract between the loader (which parses and validates them)
//! and the runner (which executes them). Every struct rejects unknown fields so that a
//! typo in a suite is an error, never a silently ignored check.
//!
//! Strings marked "templated" may contain `{{name}}` placeholders, resolved at run time
//! from (in order) captures, suite `vars`, target variables (`tenant`, `webhook_url`,
//! ...), `run_id`, and `env.NAME`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One YAML file in `suites/`: one runbook phase.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Stable identifier, used in `phase::case` test names (snake_case).
    pub phase: String,
    pub title: String,
    /// The runbook section this suite encodes, e.g. "002 Headless E2E Runbook / Phase 1A".
    pub runbook: String,
    /// Phases whose cases must have run (not necessarily passed) before this one starts.
    /// Phases without an ordering relation may run concurrently.
    #[serde(default)]
    pub after: Vec<String>,
    /// Suite-level variables (templated, resolved once when the phase starts).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Steps run once before the first case; if one fails every case ends as `error`.
    #[serde(default)]
    pub setup: Vec<Step>,
    pub cases: Vec<Case>,
    /// Steps run after the last case, always, in reverse order.
    #[serde(default)]
    pub cleanup: Vec<Step>,
}

/// One acceptance criterion. Cases in a suite run in file order and share captures.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique within the suite (snake_case).
    pub id: String,
    pub title: String,
    /// IDs from `suites/requirements.yaml`.
    #[serde(default)]
    pub requirements: Vec<String>,
    /// A row of the coverage matrix (an id from the catalogue's `capabilities`).
    pub capability: String,
    #[serde(default)]
    pub surface: Surface,
    pub effect: Effect,
    /// Cases of the same suite that must have passed; otherwise this case is skipped.
    #[serde(default)]
    pub needs: Vec<String>,
    /// Target features this case cannot run without; otherwise it is skipped with the reason.
    #[serde(default)]
    pub requires: Vec<Feature>,
    pub steps: Vec<Step>,
    /// Always run after the steps, whatever happened, in reverse order.
    #[serde(default)]
    pub cleanup: Vec<Step>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Deserialize,
    Serialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    #[default]
    Api,
    Thothctl,
}

/// What running the case does to the tenant; profiles (read-only, staging) filter on it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Only reads.
    Read,
    /// Changes tenant state reversibly (and cleans up after itself).
    Mutate,
    /// Reaches a system outside the tenant: webhook delivery, MDM sync.
    External,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// The bundled mock's `/__admin` API (decision simulation, state inspection).
    MockAdmin,
    /// A SIEM sink whose deliveries the harness can read.
    Sink,
    /// A `thothctl` binary on PATH (or `--thothctl`).
    Thothctl,
    /// A second tenant the harness may address, to test isolation.
    OtherTenant,
}

/// One action plus what must hold afterwards. Exactly one of the action fields
/// (`request`, `admin`, `pam_callback`, `sink_wait`, `thothctl`) is set.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Shown in failure messages and transcripts; defaults to "step N".
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub request: Option<Request>,
    /// A request to the bundled mock's admin API (`/__admin/...`); needs `mock_admin`.
    #[serde(default)]
    pub admin: Option<Request>,
    #[serde(default)]
    pub pam_callback: Option<PamCallback>,
    #[serde(default)]
    pub sink_wait: Option<SinkWait>,
    #[serde(default)]
    pub thothctl: Option<Thothctl>,
    #[serde(default)]
    pub expect: Expect,
    /// Variables taken from the response for later steps and cases.
    #[serde(default)]
    pub capture: BTreeMap<String, Capture>,
    /// Poll the action until `expect` holds.
    #[serde(default)]
    pub eventually: Option<Eventually>,
    /// Declared retry on transient statuses; only allowed on idempotent requests.
    #[serde(default)]
    pub retry: Option<Retry>,
    /// What this step leaves on the tenant. Recorded in the run's ledger the moment the
    /// step passes and undone at the end of the run (or by `cleanup --ledger` after a crash).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub creates: Vec<Creates>,
}

/// A record a step creates or changes on the tenant, and how to take it back.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Creates {
    pub kind: ResourceKind,
    /// The record's id (templated, rendered after the step's captures), e.g. `{{key_id}}`.
    /// Defaults to the kind's name (for the one-per-tenant settings document).
    #[serde(default)]
    pub id: Option<String>,
    /// The request that takes it back (templated when the record is created). None for
    /// append-only records (endpoints), which the ledger keeps as "cannot delete".
    /// `settings` needs none: the document read before the first mutation is PUT back.
    /// For `mdm_provider` and `browser_provider` this is used only when the record did
    /// not exist before the run; one that did is upserted back as it was read.
    #[serde(default)]
    pub undo: Option<Request>,
    /// Statuses that count as undone (default: any 2xx, and 404 "already gone").
    #[serde(default)]
    pub undo_status: Option<Vec<u16>>,
}

/// Kinds of tenant records the ledger knows.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// The tenant settings document (snapshot before the first mutation, PUT back at the end).
    Settings,
    ApiKey,
    MdmProvider,
    BrowserProvider,
    BrowserPolicy,
    BrowserEnrollment,
    /// Append-only: there is no route to delete an endpoint.
    Endpoint,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Settings => "settings",
            ResourceKind::ApiKey => "api_key",
            ResourceKind::MdmProvider => "mdm_provider",
            ResourceKind::BrowserProvider => "browser_provider",
            ResourceKind::BrowserPolicy => "browser_policy",
            ResourceKind::BrowserEnrollment => "browser_enrollment",
            ResourceKind::Endpoint => "endpoint",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// Safe to send twice: the only methods a declared retry may repeat.
    pub fn is_idempotent(self) -> bool {
        matches!(self, Method::Get | Method::Put | Method::Delete)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub method: Method,
    /// Templated. For `request`: relative to `{govapi_url}/{tenant}`, e.g. `/thoth/settings`
    /// or `/governance/evidence/thoth/backfill`. For `admin`: relative to the mock root.
    pub path: String,
    /// Templated query parameters.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Templated extra headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON body; every string in it is templated. A string that is exactly `{{name}}`
    /// is replaced by the captured JSON value (number, bool, object) itself.
    #[serde(default)]
    pub json: Option<Value>,
    /// A file under `fixtures/`, templated, sent as JSON (`.json`) or raw otherwise.
    #[serde(default)]
    pub body_file: Option<String>,
    /// Raw body, templated.
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub auth: Auth,
}

/// Which credential a request carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// The target's configured credential: admin bearer token if set, else the org key.
    #[default]
    Default,
    /// The admin bearer token.
    Admin,
    /// The org API key.
    OrgKey,
    /// No credential at all.
    None,
    /// This API key (templated), sent as `X-Api-Key`.
    ApiKey(String),
    /// This bearer token (templated).
    Bearer(String),
    /// Both the admin token and the org key at once (to test that it is refused).
    Both,
}

/// A PAM approval callback, signed with the target's PAM scheme.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PamCallback {
    /// Templated.
    pub approval_id: String,
    /// Templated.
    pub request_id: String,
    /// `approve` or `deny` (templated).
    pub decision: String,
    /// Secret to sign with (templated); defaults to `{{pam_callback_secret}}`.
    #[serde(default)]
    pub secret: Option<String>,
    /// Seconds added to the current time for the timestamp header (stale-timestamp tests).
    #[serde(default)]
    pub skew_seconds: i64,
    /// Damage the request after signing.
    #[serde(default)]
    pub tamper: Tamper,
    /// Resend, byte for byte (same timestamp and signature), the callback sent by the
    /// earlier step with this name; the other fields are then ignored.
    #[serde(default)]
    pub replay_of: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tamper {
    #[default]
    None,
    /// Flip one character of the signature.
    Signature,
    /// Change the body after signing (decision flipped).
    Body,
    /// Send no signature header.
    OmitSignature,
}

/// Wait until the SIEM sink has received a delivery whose body satisfies `expect.json`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SinkWait {
    /// Sink name (templated); the delivery URL is `{{sink_url}}/<name>`.
    pub sink: String,
    /// Verify the delivery's signature with this secret (templated); defaults to
    /// `{{webhook_secret}}`. Set `verify_signature: false` to only record.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default = "yes")]
    pub verify_signature: bool,
    /// How long to wait, e.g. "5s".
    #[serde(default = "default_sink_timeout")]
    pub timeout: String,
}

fn yes() -> bool {
    true
}
fn default_sink_timeout() -> String {
    "5s".to_string()
}

/// Run the `thothctl` binary with target flags appended and `--json` output parsed.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Thothctl {
    /// Templated arguments, e.g. `[api-keys, list]`; `--tenant-id`, `--apex-domain` or
    /// `--govapi-url`, `--auth-token-file`/`--org-api-key` and `--json` are added.
    pub args: Vec<String>,
    #[serde(default)]
    pub exit_code: Option<i32>,
}

/// What must hold after a step. All listed checks must pass.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Allowed HTTP status codes (or thothctl exit codes); empty means 2xx.
    #[serde(default)]
    pub status: StatusSet,
    #[serde(default)]
    pub json: Vec<JsonAssert>,
    /// Strings (templated) that must not appear anywhere in the raw response body.
    #[serde(default)]
    pub body_not_contains: Vec<String>,
    /// Response headers that must be present with these values (templated; name case-insensitive).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum StatusSet {
    #[default]
    AnySuccess,
    One(u16),
    Many(Vec<u16>),
}

/// One JSONPath assertion. `path` selects nodes; exactly the given checks apply.
/// Checks other than `exists`/`absent`/`count` need the path to select exactly one node.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonAssert {
    /// RFC 9535 JSONPath (templated), e.g. `$.data[?@.key_id == '{{key_id}}']`.
    pub path: String,
    #[serde(default)]
    pub equals: Option<Value>,
    #[serde(default)]
    pub not_equals: Option<Value>,
    /// true: at least one node; false: no node (same as `absent: true`).
    #[serde(default)]
    pub exists: Option<bool>,
    #[serde(default)]
    pub absent: Option<bool>,
    #[serde(default)]
    pub count: Option<usize>,
    /// Regex the (string) node must match (templated).
    #[serde(default)]
    pub matches: Option<String>,
    #[serde(default)]
    pub one_of: Option<Vec<Value>>,
    /// The node (string or array) contains this value.
    #[serde(default)]
    pub contains: Option<Value>,
    #[serde(default)]
    pub gt: Option<f64>,
    #[serde(default)]
    pub gte: Option<f64>,
    #[serde(default)]
    pub lt: Option<f64>,
    #[serde(default)]
    pub lte: Option<f64>,
    /// The node equals a captured number plus `by`: `{var: total_before, by: 1}`.
    #[serde(default)]
    pub delta: Option<Delta>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Delta {
    pub var: String,
    pub by: f64,
}

/// A capture: a JSONPath into the response body, or a full spec.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Capture {
    Path(String),
    Spec(CaptureSpec),
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureSpec {
    /// JSONPath selecting exactly one node of the response body.
    #[serde(default)]
    pub path: Option<String>,
    /// A response header instead of a body node.
    #[serde(default)]
    pub header: Option<String>,
    /// Redact this value in every output from now on.
    #[serde(default)]
    pub secret: bool,
}

impl Capture {
    pub fn is_secret(&self) -> bool {
        matches!(self, Capture::Spec(s) if s.secret)
    }
}

/// Poll until the expectations hold.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Eventually {
    /// e.g. "10s".
    pub timeout: String,
    /// e.g. "200ms".
    #[serde(default = "default_interval")]
    pub interval: String,
    /// Stop polling at once, as a failure, when any of these holds (a terminal bad state).
    #[serde(default)]
    pub fail_if: Vec<JsonAssert>,
}

fn default_interval() -> String {
    "250ms".to_string()
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    pub attempts: u32,
    /// Statuses that are retried; default 429, 502, 503, 504.
    #[serde(default = "default_retry_statuses")]
    pub on_status: Vec<u16>,
    /// Base backoff, e.g. "200ms"; `Retry-After` wins when the target sends it.
    #[serde(default = "default_backoff")]
    pub backoff: String,
}

fn default_retry_statuses() -> Vec<u16> {
    vec![429, 502, 503, 504]
}
fn default_backoff() -> String {
    "200ms".to_string()
}
