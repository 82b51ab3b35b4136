//! Everything the governance half of the mock remembers about one tenant.

use serde::Serialize;

use super::approvals::ApprovalBook;
use super::backfill::EvidenceStore;
use super::browser::BrowserState;
use super::decisions::Alert;
use super::events::EventStore;
use super::integrations::IntegrationBook;
use super::replay::ReplayCache;

/// One tenant's governance state. It lives under the tenant's lock, so each operation
/// (a decision and its approval/alert/event, a callback and its replay record) is atomic.
#[derive(Debug, Default, Clone, Serialize)]
pub struct GovState {
    pub approvals: ApprovalBook,
    pub events: EventStore,
    pub alerts: Vec<Alert>,
    pub evidence: EvidenceStore,
    pub browser: BrowserState,
    pub integrations: IntegrationBook,
    /// Not dumped: the keys are signatures, which are of no use to a reader.
    #[serde(skip)]
    pub replay: ReplayCache,
}
