//! Everything the governance half of the mock remembers about one tenant.

use serde::Serialize;

use super::approvals::ApprovalBook;
use super::backfill::EvidenceStore;
use super::browser::BrowserState;
use super::decisions::Alert;
use super::events::EventStore;
use super::holds::HoldBook;
use super::integrations::IntegrationBook;
use super::replay::ReplayCache;

/// One tenant's governance state. It lives under the tenant's lock, so each operation
/// (a decision and its approval/alert/event, a callback and its replay record) is atomic.
#[derive(Debug, Default, Clone, Serialize)]
pub struct GovState {
    pub approvals: ApprovalBook,
    /// Hold tokens of STEP_UP answers, each linked to its approval.
    pub holds: HoldBook,
    /// Events the SDK posted to `/v1/events/batch`, as received [C].
    pub sdk_events: Vec<serde_json::Value>,
    /// Tools agents reported through `T/tool-inventory`, by (agent_id, name) [C].
    pub tools: std::collections::BTreeMap<String, serde_json::Value>,
    pub events: EventStore,
    pub alerts: Vec<Alert>,
    pub evidence: EvidenceStore,
    pub browser: BrowserState,
    pub integrations: IntegrationBook,
    /// Not dumped: the keys are signatures, which are of no use to a reader.
    #[serde(skip)]
    pub replay: ReplayCache,
}
