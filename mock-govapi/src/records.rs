//! The per-tenant data the mock keeps. Plain serialisable records: the admin state dump
//! (`GET /__admin/tenants/{t}/state`) is their JSON, secrets included.
//!
//! The governance domains (approvals, events, alerts, evidence, browser, integrations)
//! are typed in [`crate::gov`] and flattened into the dump.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::Timestamp;
use crate::shared::{Interner, Shared};

/// Everything one tenant owns. Cleared by `POST /__admin/reset`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TenantState {
    /// The settings document as stored: secrets in plaintext, `updated_at` included.
    pub settings: Map<String, Value>,
    pub mdm_providers: BTreeMap<String, MdmProvider>,
    pub sync_jobs: BTreeMap<String, SyncJob>,
    /// Boxed: a B-tree node holds eleven entries and is often about half full, so an
    /// inline row (some 500 bytes) would waste hundreds of bytes per endpoint in empty
    /// slots; a box wastes eight. `records::tests::an_endpoint_row_costs_at_most_its_bytes`.
    /// Keyed by the row's own `endpoint_id` (one shared copy for the key, the row and
    /// the list index).
    pub endpoints: BTreeMap<Shared, Box<Endpoint>>,
    pub api_keys: BTreeMap<String, ApiKey>,
    /// Fleets (`T/fleets`), by `fleet_id`.
    pub fleets: BTreeMap<String, Fleet>,
    /// Recent `POST T/api-keys/{id}/authorize` decisions, for `GET T/api-keys/metrics`:
    /// only the trailing 24 hours are kept.
    #[serde(skip)]
    pub key_authorizations: std::collections::VecDeque<KeyAuthorization>,
    /// Outgoing webhook attempts, newest last.
    pub webhook_deliveries: Vec<WebhookDelivery>,
    /// Approvals, governance events, alerts, evidence, the PAM replay cache, browser
    /// and integration records: typed, in their own module.
    #[serde(flatten)]
    pub gov: crate::gov::GovState,
    /// The id lists `GET /endpoints` pages through; derived from `endpoints`, so not
    /// part of the dump. Whatever adds an endpoint or changes its `environment` or
    /// `fleet_id` calls `endpoint_lists.touch()` (`upsert_endpoint` does).
    #[serde(skip)]
    pub endpoint_lists: crate::endpoint_index::EndpointLists,
    /// The values endpoint rows repeat (environment, fleet, versions, ...), one copy each.
    #[serde(skip)]
    pub strings: Interner,
}

/// A permission an API key can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    Read,
    Write,
    Execute,
}

/// How far an API key reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeLevel {
    Organization,
    Fleet,
    Endpoint,
    Agent,
}

/// An API key created through `POST /api-keys`. Only the SHA-256 of the key is kept.
#[derive(Debug, Clone, Serialize)]
pub struct ApiKey {
    pub key_id: String,
    pub name: String,
    /// First characters of the key, shown in lists so a human can tell keys apart.
    pub prefix: String,
    /// Lowercase hex SHA-256 of the plaintext key.
    pub key_hash: String,
    pub scope_level: ScopeLevel,
    pub scope_target_id: Option<String>,
    pub permissions: BTreeSet<Permission>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

impl ApiKey {
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && !self.is_expired(now)
    }
}

/// One authorize decision: when, and how long the mock took to reach it.
#[derive(Debug, Clone, Copy)]
pub struct KeyAuthorization {
    pub at: Timestamp,
    pub latency_ms: f64,
}

/// A fleet, as the vendor's Terraform `thoth_fleet` resource writes and reads it
/// (`fleet_resource.go:fleetPayload`, `flattenFleet`). The computed counters that
/// need a rollout engine (`drift_pct`, `drifted_endpoint_count`, `compliance_pct`,
/// `last_deployed_*`) read 0 or `null` on the mock [C]; `endpoint_count` is counted
/// from the endpoints naming the fleet.
#[derive(Debug, Clone, Serialize)]
pub struct Fleet {
    pub fleet_id: String,
    pub name: String,
    pub fleet_code: String,
    pub region: Option<String>,
    pub policy_id: Option<String>,
    pub policy_name: Option<String>,
    /// `active`, `paused`, `deploying` or `error` (TF schema); `active` by default [C].
    pub status: String,
    /// `canary` or `staged` (TF schema).
    pub rollout_strategy: Option<String>,
    pub rollout_pct: i64,
    /// TF's `provider_name` goes over the wire as `provider`.
    pub provider: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Fields the mock does not interpret, kept and returned as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An MDM provider row, keyed by `provider`.
#[derive(Debug, Clone, Serialize)]
pub struct MdmProvider {
    pub provider: String,
    pub name: String,
    pub enabled: bool,
    /// As given, secrets included; redacted when shown through the API.
    pub config: Map<String, Value>,
    pub status: String,
    pub last_sync_at: Option<Timestamp>,
    pub last_sync_status: Option<String>,
    pub last_sync_job_id: Option<String>,
    pub last_error: Option<String>,
    pub synced_endpoints: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Top-level fields other than the above, kept as sent: the vendor's operator
    /// upserts `{provider, endpoint_url, enabled, api_key}` with no `config`
    /// (`thothtenant_controller.go:mdmPayload`). Secrets redacted when shown.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An MDM sync job. Its status is a function of the time since `created_at`, so no
/// background task is needed; `outcome` is decided when the job starts.
#[derive(Debug, Clone, Serialize)]
pub struct SyncJob {
    pub job_id: String,
    pub provider: String,
    pub created_at: Timestamp,
    /// `Ok(endpoints synced)` or `Err(reason)`, revealed once the job finishes.
    pub outcome: Result<u64, String>,
}

/// A registered endpoint (a machine running the Thoth proxy).
///
/// The values a fleet repeats are [`Shared`] copies from the tenant's
/// [`TenantState::strings`]; only the hostname is the row's own.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub endpoint_id: Shared,
    pub hostname: String,
    pub employee_email: Option<Shared>,
    pub enrollment: Shared,
    pub environment: Option<Shared>,
    pub proxy_version: Option<Shared>,
    pub agent_ids: Vec<Shared>,
    pub os: Option<Shared>,
    pub fleet_id: Option<Shared>,
    /// 0–100; a float, as the vendor's Terraform provider sends it (schema Float64).
    #[serde(serialize_with = "score::serialize")]
    pub risk_score: f64,
    pub violations_today: u64,
    pub sessions_today: u64,
    pub status: EndpointStatus,
    pub last_seen: Option<Timestamp>,
    pub registered_at: Timestamp,
    /// The same instant as `registered_at`, under the name the vendor's Terraform
    /// provider reads (`endpoint_resource.go:flattenEndpoint`).
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Server-owned runtime fields TF reads as Computed (`runtime_auth_mode`,
    /// `identity_binding_user`, `managed_runtime_key_id`); the mock has no managed
    /// runtime, so they read `null` [C], and take no room in the row.
    pub runtime_auth_mode: NoRuntime,
    pub identity_binding_user: NoRuntime,
    pub managed_runtime_key_id: NoRuntime,
    /// Fields the mock does not interpret, kept and returned as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// Check-ins received but not yet visible (realism: check-in lag).
    #[serde(skip)]
    pub pending_checkins: Vec<PendingCheckin>,
}

/// An endpoint's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointStatus {
    Active,
    Quarantined,
}

impl EndpointStatus {
    /// The status a registration names, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "quarantined" => Some(Self::Quarantined),
            _ => None,
        }
    }
}

/// A server-owned field the mock never sets: serialises as `null`, and is zero bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoRuntime;

impl Serialize for NoRuntime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_none()
    }
}

/// The telemetry of one check-in, as sent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Checkin {
    pub proxy_version: Option<String>,
    pub agent_ids: Option<Vec<String>>,
    pub risk_score: Option<f64>,
    pub violations_today: Option<u64>,
    pub sessions_today: Option<u64>,
}

/// A check-in that becomes visible at `visible_at`, its strings already shared.
#[derive(Debug, Clone)]
pub struct PendingCheckin {
    pub received_at: Timestamp,
    pub visible_at: Timestamp,
    pub proxy_version: Option<Shared>,
    pub agent_ids: Option<Vec<Shared>>,
    pub risk_score: Option<f64>,
    pub violations_today: Option<u64>,
    pub sessions_today: Option<u64>,
}

/// One attempt to deliver an outgoing webhook.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookDelivery {
    pub event_type: String,
    pub url: String,
    pub status: String,
    pub http_status: u16,
    pub error: String,
    pub signed: bool,
    pub attempted_at: Timestamp,
}

/// Risk scores are floats, shown as integers when integral, so a score sent as `10`
/// reads back as `10` and one sent as `42.5` as `42.5`.
pub(crate) mod score {
    pub fn serialize<S: serde::Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        if value.fract() == 0.0 && value.abs() < 1e15 {
            s.serialize_i64(*value as i64)
        } else {
            s.serialize_f64(*value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes one entry of `map` takes inside a B-tree node: its key and its value.
    fn slot_of<K, V>(_map: &BTreeMap<K, V>) -> usize {
        std::mem::size_of::<K>() + std::mem::size_of::<V>()
    }

    /// A million-endpoint tenant lives in one B-tree whose nodes hold eleven slots and are
    /// often only half full: a slot must stay a key and a pointer, so the empty slots
    /// waste a few megabytes over the fleet, not the half gigabyte that inline rows
    /// (some 500 bytes each) wasted. The row itself holds its repeated values as shared
    /// pointers and no room for the fields the mock never sets; a larger row fails
    /// here.
    #[test]
    fn an_endpoint_row_costs_at_most_its_bytes() {
        const ROW_BYTES: usize = 304;
        let slot = slot_of(&TenantState::default().endpoints);
        assert!(slot <= 24, "an endpoint map slot is {slot} bytes");
        let row = std::mem::size_of::<Endpoint>();
        assert!(row <= ROW_BYTES, "an endpoint row is {row} bytes");
        assert!(row > 256, "the row is still large enough to be boxed");
    }
}
