//! The requirements catalogue (`suites/requirements.yaml`): every acceptance line and
//! fail criterion of the runbook and the seeds' checklists, with a stable ID, and the
//! capabilities (rows of the coverage matrix) they belong to.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// Rows of the coverage matrix, in display order.
    pub capabilities: Vec<Capability>,
    pub requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capability {
    /// snake_case id that cases name in `capability:`.
    pub id: String,
    /// The row label, as in the runbook's "Command coverage matrix" where it comes from there.
    pub title: String,
    /// True for rows of the runbook's own matrix; false for rows this project adds
    /// (browser governance, secret broker, evidence SLOs, access control).
    #[serde(default)]
    pub runbook_row: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Stable ID, e.g. `RB-P4-02`. Never renumbered: reports and waivers refer to it.
    pub id: String,
    /// The requirement, close to the source's own words.
    pub text: String,
    /// Seed and section it comes from, e.g. "002 Headless E2E Runbook / Phase 4 / Acceptance".
    pub source: String,
    pub severity: Severity,
    pub kind: RequirementKind,
    /// Why no case can check this requirement (e.g. "needs a real endpoint with the thoth
    /// runtime"); such a requirement shows as an explained gap, not a silent one.
    #[serde(default)]
    pub gap: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequirementKind {
    /// An "Acceptance" or "Expected" line of a runbook phase.
    Acceptance,
    /// A line of the runbook's "Fail criteria".
    FailCriterion,
    /// A line of a seed's verification checklist.
    Checklist,
    /// A security property the contract implies (auth, isolation, secret handling).
    Security,
}
