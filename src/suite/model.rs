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
    /// Reusable steps (and step parts), named with YAML anchors (`&name`) and used with
    /// aliases (`*name`) or merge keys (`<<: *name`) in `setup`, `cases` and `cleanup`.
    /// Never run by themselves; a use is checked where it is used, like any other step.
    /// See `docs/suite-format.md`, "Reuse".
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub templates: BTreeMap<String, Value>,
    /// Steps run once before the first case; if one fails every case ends as `error`.
    #[serde(default)]
    pub setup: Vec<Step>,
    /// As written, an entry is a case or a `for_each` entry, which the loader expands
    /// into one case per row ([`super::for_each`]); here, every case after expansion.
    #[schemars(with = "Vec<super::for_each::CaseEntry>")]
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
    /// Case variables (templated, resolved when the case starts), seen by this case's
    /// steps and cleanup only: what lets one template step serve several cases.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    pub steps: Vec<Step>,
    /// Always run after the steps, whatever happened, in reverse order.
    #[serde(default)]
    pub cleanup: Vec<Step>,
}

impl Case {
    /// Features the case needs: those it declares plus those its steps imply, so a case
    /// that forgot `requires: [mock_admin]` is skipped on a live target instead of
    /// erroring.
    pub fn required_features(&self) -> Vec<Feature> {
        let mut out = self.requires.clone();
        if self.surface == Surface::Thothctl {
            out.push(Feature::Thothctl);
        }
        out.extend(
            self.steps
                .iter()
                .chain(&self.cleanup)
                .filter_map(|s| s.action.feature()),
        );
        out.sort();
        out.dedup();
        out
    }
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
    /// The enforcer (data plane) base URL; implied by any `base: enforcer` request.
    Enforcer,
}

/// One action plus what must hold afterwards. The action is one [`Action`] by
/// construction: the loader rejects a step with none or two (see [`super::step_de`]).
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Shown in failure messages and transcripts; defaults to "step N".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub action: Action,
    pub expect: Expect,
    /// Variables taken from the response for later steps and cases.
    pub capture: BTreeMap<String, Capture>,
    /// Poll the action until `expect` holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eventually: Option<Eventually>,
    /// Declared retry on transient statuses; only allowed on idempotent requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// What this step leaves on the tenant. Recorded in the run's ledger the moment the
    /// step passes and undone at the end of the run (or by `cleanup --ledger` after a crash).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub creates: Vec<Creates>,
}

/// What a step does. Adding a kind is adding a variant here: every `match` on it
/// (runner, validation, profiles, plan, schema) then stops compiling until it says what
/// the new kind means, so no site can silently treat it as "not a write".
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A GovAPI request (`base: govapi`, relative to `{govapi_url}/{tenant}`) or a
    /// data-plane request (`base: enforcer`, relative to the enforcer base URL).
    Request(Request),
    /// A request to the bundled mock's admin API (`/__admin/...`); needs `mock_admin`.
    Admin(Request),
    /// A signed PAM approval callback, sent without tenant credentials.
    PamCallback(PamCallback),
    /// Wait for a SIEM delivery.
    SinkWait(SinkWait),
    /// Run the `thothctl` binary.
    Thothctl(Thothctl),
}

/// Paths of the SIEM sink's API (`GET /__sink/{name}`, `PUT /__sink/{name}/config`).
pub const SINK_PREFIX: &str = "/__sink/";

impl Action {
    /// The YAML keys of the kinds, in declaration order.
    pub const KEYS: [&'static str; 5] =
        ["request", "admin", "pam_callback", "sink_wait", "thothctl"];

    /// The YAML key of this kind.
    pub fn key(&self) -> &'static str {
        match self {
            Action::Request(_) => "request",
            Action::Admin(_) => "admin",
            Action::PamCallback(_) => "pam_callback",
            Action::SinkWait(_) => "sink_wait",
            Action::Thothctl(_) => "thothctl",
        }
    }

    /// The target feature this kind cannot run without.
    pub fn feature(&self) -> Option<Feature> {
        match self {
            // The sink's own config routes belong to the sink (`--sink-url`), not the
            // tenant: a readable sink is all they need.
            Action::Admin(r) if r.path.starts_with(SINK_PREFIX) => Some(Feature::Sink),
            Action::Admin(_) => Some(Feature::MockAdmin),
            Action::Request(r) if r.base == Base::Enforcer => Some(Feature::Enforcer),
            Action::SinkWait(_) => Some(Feature::Sink),
            Action::Thothctl(_) => Some(Feature::Thothctl),
            Action::Request(_) | Action::PamCallback(_) => None,
        }
    }

    /// The HTTP request of a `request` or `admin` step.
    pub fn http(&self) -> Option<&Request> {
        match self {
            Action::Request(r) | Action::Admin(r) => Some(r),
            Action::PamCallback(_) | Action::SinkWait(_) | Action::Thothctl(_) => None,
        }
    }
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
    /// No route deletes an endpoint: without an `undo` it is kept as "cannot delete";
    /// with one (quarantine) it is retired, and the record itself stays on the tenant.
    Endpoint,
    /// A pending approval the run opened (a STEP_UP); its undo resolves it (deny), so
    /// a run that stops half-way leaves no approval pending. The resolved row stays.
    Approval,
    /// A fleet the run created (`POST /thoth/fleets`); its undo deletes it
    /// (`DELETE /thoth/fleets/<id>`, as the vendor's Terraform `thoth_fleet` does).
    Fleet,
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
            ResourceKind::Approval => "approval",
            ResourceKind::Fleet => "fleet",
        }
    }

    /// What stays on the tenant after this kind's undo ran, for the plan and the
    /// cleanup report: an undo that retires a record is not one that removes it.
    pub fn after_undo(self) -> Option<&'static str> {
        match self {
            ResourceKind::Endpoint => {
                Some("retired, not removed: the record stays, quarantined (no route deletes an endpoint)")
            }
            ResourceKind::Approval => Some("resolved (deny); the resolved row stays"),
            ResourceKind::Settings
            | ResourceKind::ApiKey
            | ResourceKind::MdmProvider
            | ResourceKind::BrowserProvider
            | ResourceKind::BrowserPolicy
            | ResourceKind::BrowserEnrollment
            | ResourceKind::Fleet => None,
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
    /// Which API the path is under: GovAPI (default) or the enforcer (data plane).
    #[serde(default, skip_serializing_if = "Base::is_govapi")]
    pub base: Base,
    pub method: Method,
    /// Templated. For `request`: relative to `{govapi_url}/{tenant}`, e.g. `/thoth/settings`
    /// or `/governance/evidence/thoth/backfill`; with `base: enforcer` relative to the
    /// enforcer base URL, e.g. `/v1/enforce`. For `admin`: relative to the mock root.
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
    /// Walk a paged list: send `page=1, 2, ...` until `expect` holds on a page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<Pages>,
}

/// The API a request path is relative to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Base {
    /// `{govapi_url}/{tenant}` (tenant routes of the control plane).
    #[default]
    Govapi,
    /// The enforcer base URL (`THOTH_API_URL`): `/v1/enforce`, `/v1/enforce/hold/...`,
    /// `/v1/events/batch`, `/v1/explain`. Tenant comes from the key, not the path.
    Enforcer,
}

impl Base {
    pub fn is_govapi(&self) -> bool {
        *self == Base::Govapi
    }
}

/// Paging of a list request, as the vendor's approvals and feed data sources page:
/// `page` (1-based) and `per_page` query parameters.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pages {
    /// Rows per page, sent as `per_page`.
    #[serde(default = "default_per_page")]
    pub per_page: u32,
    /// Pages walked at most before the step fails (a tenant with more pending rows
    /// than this is not one to test on).
    #[serde(default = "default_max_pages")]
    pub max: u32,
    /// Read every page (to the end of the list) and check `expect` once, on all the
    /// rows together (`{"data": [every row], "total": N}`), instead of stopping at the
    /// first page where it holds: `count` and `absent` then mean the whole list. The
    /// walk also asserts that paging neither loses nor duplicates rows: no row twice
    /// (by `key`), and as many rows as the pages' `total` when it stayed the same.
    #[serde(default)]
    pub all: bool,
    /// The field that identifies a row (`endpoint_id`, `id`), for the duplicate check
    /// of `all`; without it a row is identified by its whole JSON value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

fn default_per_page() -> u32 {
    50
}
fn default_max_pages() -> u32 {
    20
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
    pub timeout: SuiteDuration,
}

fn yes() -> bool {
    true
}
fn default_sink_timeout() -> SuiteDuration {
    SuiteDuration::from_millis(5_000)
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
    /// How the HTTP answer must be framed, whatever its values: `json` or `error`
    /// (see [`Shape`]). Not for `thothctl` and `sink_wait` steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<Shape>,
}

/// The framing of an HTTP answer, checked by `expect.shape`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// `Content-Type` is JSON (`application/json` or `application/<name>+json`,
    /// parameters such as `charset` allowed) and the body parses as JSON.
    Json,
    /// `json`, and the body is the GovAPI error envelope: an object whose `error` is a
    /// snake_case code and whose `message` (or `error_description`, which the vendor's
    /// clients fall back to) is a string. Only for steps that expect an error status.
    Error,
}

impl Shape {
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Json => "json",
            Shape::Error => "error",
        }
    }
}

/// The statuses a step accepts: absent means any 2xx. Untagged for the schema and for
/// serialising; deserialised by hand, so that a wrong value is named by what the field
/// accepts and what it got, rather than by serde's "did not match any variant".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum StatusSet {
    #[default]
    AnySuccess,
    One(u16),
    Many(Vec<u16>),
}

impl<'de> Deserialize<'de> for StatusSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StatusVisitor;
        impl<'de> serde::de::Visitor<'de> for StatusVisitor {
            type Value = StatusSet;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "an HTTP status code (e.g. `200`) or a list of them (e.g. `[200, 204]`)",
                )
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<StatusSet, E> {
                Ok(StatusSet::AnySuccess)
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<StatusSet, E> {
                Ok(StatusSet::AnySuccess)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<StatusSet, E> {
                u16::try_from(v)
                    .map(StatusSet::One)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<StatusSet, E> {
                u64::try_from(v)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<StatusSet, A::Error> {
                Vec::<u16>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(StatusSet::Many)
            }
        }
        d.deserialize_any(StatusVisitor)
    }
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
    /// The (number) node equals the sum of the numbers at these JSONPaths of the same
    /// answer, each selecting one node: `{path: "$.total", sum_of: ["$.online",
    /// "$.stale"]}`. Counters that must agree with each other.
    #[serde(default)]
    pub sum_of: Option<Vec<String>>,
    /// The node's JSON type: `array`, `object`, `string`, `number`, `boolean` or `null`
    /// (a list that answers `null` for "no rows" is not a list).
    #[serde(default)]
    pub is: Option<JsonType>,
}

/// A JSON value's type, for `is`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonType {
    Array,
    Object,
    String,
    Number,
    Boolean,
    Null,
}

impl JsonType {
    pub fn of(v: &Value) -> JsonType {
        match v {
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
            Value::String(_) => JsonType::String,
            Value::Number(_) => JsonType::Number,
            Value::Bool(_) => JsonType::Boolean,
            Value::Null => JsonType::Null,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            JsonType::Array => "array",
            JsonType::Object => "object",
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
            JsonType::Null => "null",
        }
    }
}

/// One assertion operator: its key and whether it needs the path to select exactly
/// one node (the others judge the node set itself).
#[derive(Debug, Clone, Copy)]
pub struct Operator {
    pub key: &'static str,
    pub needs_one_node: bool,
    set: fn(&JsonAssert) -> bool,
}

/// Every operator of [`JsonAssert`], the one list the validator ("checks nothing") and
/// the runner ("needs exactly one node") both read; a new operator is a field plus a row.
pub const OPERATORS: &[Operator] = &[
    Operator {
        key: "equals",
        needs_one_node: true,
        set: |a| a.equals.is_some(),
    },
    Operator {
        key: "not_equals",
        needs_one_node: true,
        set: |a| a.not_equals.is_some(),
    },
    Operator {
        key: "exists",
        needs_one_node: false,
        set: |a| a.exists.is_some(),
    },
    Operator {
        key: "absent",
        needs_one_node: false,
        set: |a| a.absent.is_some(),
    },
    Operator {
        key: "count",
        needs_one_node: false,
        set: |a| a.count.is_some(),
    },
    Operator {
        key: "matches",
        needs_one_node: true,
        set: |a| a.matches.is_some(),
    },
    Operator {
        key: "one_of",
        needs_one_node: true,
        set: |a| a.one_of.is_some(),
    },
    Operator {
        key: "contains",
        needs_one_node: true,
        set: |a| a.contains.is_some(),
    },
    Operator {
        key: "gt",
        needs_one_node: true,
        set: |a| a.gt.is_some(),
    },
    Operator {
        key: "gte",
        needs_one_node: true,
        set: |a| a.gte.is_some(),
    },
    Operator {
        key: "lt",
        needs_one_node: true,
        set: |a| a.lt.is_some(),
    },
    Operator {
        key: "lte",
        needs_one_node: true,
        set: |a| a.lte.is_some(),
    },
    Operator {
        key: "delta",
        needs_one_node: true,
        set: |a| a.delta.is_some(),
    },
    Operator {
        key: "sum_of",
        needs_one_node: true,
        set: |a| a.sum_of.is_some(),
    },
    Operator {
        key: "is",
        needs_one_node: true,
        set: |a| a.is.is_some(),
    },
];

impl JsonAssert {
    /// The operators this assertion sets, in table order.
    pub fn operators(&self) -> impl Iterator<Item = &'static Operator> + '_ {
        OPERATORS.iter().filter(move |o| (o.set)(self))
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Delta {
    pub var: String,
    pub by: f64,
    /// A count others may change too: on a live tenant, where others may add records
    /// during the run, the node must be at least `var + by` ("my record is counted");
    /// on the in-process mock, where the run is the only writer, exactly `var + by`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared: bool,
}

/// A capture: a JSONPath into the response body, or a full spec. Deserialised by hand
/// (see [`StatusSet`]): a mapping is read as a [`CaptureSpec`], so a typo inside it is
/// reported as that field, not as "neither form".
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Capture {
    Path(String),
    Spec(CaptureSpec),
}

impl<'de> Deserialize<'de> for Capture {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CaptureVisitor;
        impl<'de> serde::de::Visitor<'de> for CaptureVisitor {
            type Value = Capture;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a JSONPath (e.g. `$.id`) or a mapping with `path` or `header` (and optionally `secret: true`)",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Capture, E> {
                Ok(Capture::Path(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Capture, A::Error> {
                CaptureSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Capture::Spec)
            }
        }
        d.deserialize_any(CaptureVisitor)
    }
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
    /// A path that selects no node leaves the variable unset instead of failing the
    /// step: for the id of a record a refusal should not have created (a `creates`
    /// entry that only matters when the target wrongly accepts the request).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// Capture how many nodes `path` selects (0 included) instead of the one node:
    /// `{path: "$.data[?@.enrollment == 'jamf']", count: true}` is the number of rows
    /// enrolled with jamf, for a later `delta` against it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub count: bool,
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
    pub timeout: SuiteDuration,
    /// e.g. "200ms".
    #[serde(default = "default_interval")]
    pub interval: SuiteDuration,
    /// Stop polling at once, as a failure, when any of these holds (a terminal bad state).
    #[serde(default)]
    pub fail_if: Vec<JsonAssert>,
}

fn default_interval() -> SuiteDuration {
    SuiteDuration::from_millis(250)
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
    pub backoff: SuiteDuration,
}

fn default_retry_statuses() -> Vec<u16> {
    vec![429, 502, 503, 504]
}
fn default_backoff() -> SuiteDuration {
    SuiteDuration::from_millis(200)
}

/// A duration as suites write it (`250ms`, `10s`, `2m`), parsed once when the file is
/// loaded, so a typo is a located load error and the runner never re-parses text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuiteDuration(pub std::time::Duration);

impl SuiteDuration {
    pub const fn from_millis(ms: u64) -> Self {
        SuiteDuration(std::time::Duration::from_millis(ms))
    }
    pub fn get(self) -> std::time::Duration {
        self.0
    }
}

impl<'de> Deserialize<'de> for SuiteDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        super::duration::parse_duration(&text)
            .map(SuiteDuration)
            .map_err(|e| serde::de::Error::custom(format!("invalid duration: {e}")))
    }
}

impl Serialize for SuiteDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}ms", self.0.as_millis()))
    }
}

impl JsonSchema for SuiteDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An integer and a unit: `250ms`, `10s`, `2m`.",
            "type": "string",
            "pattern": "^\\s*[0-9]+(ms|s|m)\\s*$"
        })
    }
}
