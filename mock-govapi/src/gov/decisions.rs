//! Governance decisions: the tenant's shadow policy turns a tool call's risk tier into
//! allow / step_up / block, and each decision leaves an event, and, depending on the
//! outcome, a pending approval or an alert.

use crate::clock::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::approvals::{Approval, ApprovalStatus};
use super::events::{Decision, Event, EventDraft, RiskTier};
use super::{new_id, parse_rfc3339, GovError, GovState};

/// `shadow_policy` of tenant settings: what each risk tier leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShadowPolicy {
    pub low: Decision,
    pub medium: Decision,
    pub high: Decision,
    pub critical: Decision,
}

impl Default for ShadowPolicy {
    /// The runbook's baseline (`--shadow-low allow --shadow-medium step_up
    /// --shadow-high block --shadow-critical block`), used for tiers the tenant left unset.
    fn default() -> Self {
        ShadowPolicy {
            low: Decision::Allow,
            medium: Decision::StepUp,
            high: Decision::Block,
            critical: Decision::Block,
        }
    }
}

impl ShadowPolicy {
    /// Reads `settings.shadow_policy`; a tier that is missing or holds an unknown value
    /// keeps its default, because settings PUT does not validate every nested key.
    pub fn from_settings(settings: &Map<String, Value>) -> Self {
        let mut policy = ShadowPolicy::default();
        for tier in RiskTier::ALL {
            let configured = settings
                .get("shadow_policy")
                .and_then(|p| p.get(tier.as_str()))
                .and_then(Value::as_str)
                .and_then(|text| text.parse::<Decision>().ok());
            if let Some(decision) = configured {
                *policy.slot(tier) = decision;
            }
        }
        policy
    }

    fn slot(&mut self, tier: RiskTier) -> &mut Decision {
        match tier {
            RiskTier::Low => &mut self.low,
            RiskTier::Medium => &mut self.medium,
            RiskTier::High => &mut self.high,
            RiskTier::Critical => &mut self.critical,
        }
    }

    pub fn decide(mut self, tier: RiskTier) -> Decision {
        *self.slot(tier)
    }
}

/// `tool_risk_overrides.<tool>` of tenant settings, when it names a valid tier.
fn tool_override(settings: &Map<String, Value>, tool_name: &str) -> Option<RiskTier> {
    settings
        .get("tool_risk_overrides")?
        .get(tool_name)?
        .as_str()?
        .parse()
        .ok()
}

/// Body of `POST /__admin/tenants/{t}/decisions` and of each `decisions[]` of the seed.
/// `occurred_at`, `visible_at` and `legacy` let a test build a history: events in the
/// past, slow to become visible, or recorded before reason codes and policy references
/// existed (what the decision-field backfill repairs).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub agent_id: String,
    pub tool_name: String,
    pub risk_tier: String,
    #[serde(default)]
    pub endpoint_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<String>,
    #[serde(default)]
    pub visible_at: Option<String>,
    #[serde(default)]
    pub legacy: bool,
}

impl DecisionRequest {
    /// The requested tier, when it happened and when it became visible; refuses what
    /// [`apply`] would refuse, so a batch can be checked before any of it is recorded.
    pub fn validated(&self, now: Timestamp) -> Result<(RiskTier, Timestamp, Timestamp), GovError> {
        non_empty("agent_id", &self.agent_id)?;
        non_empty("tool_name", &self.tool_name)?;
        let tier: RiskTier = self.risk_tier.parse().map_err(|e| {
            GovError::bad_request("invalid_risk_tier", format!("read decision: {e}"))
        })?;
        let occurred_at = timestamp("occurred_at", self.occurred_at.as_deref())?.unwrap_or(now);
        // A back-dated event was visible as soon as it happened unless the caller says
        // otherwise; a live one becomes visible now.
        let visible_at =
            timestamp("visible_at", self.visible_at.as_deref())?.unwrap_or(occurred_at);
        Ok((tier, occurred_at, visible_at))
    }

    pub fn from_json(body: Value) -> Result<Self, GovError> {
        serde_json::from_value(body)
            .map_err(|e| GovError::bad_request("invalid_request", format!("read decision: {e}")))
    }
}

/// What the admin API answers for one decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionOutcome {
    pub event_id: String,
    pub decision: Decision,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub alert_id: String,
    pub event_id: String,
    pub violation_id: String,
    pub severity: RiskTier,
    pub title: String,
    pub agent_id: String,
    pub tool_name: String,
    pub endpoint_id: Option<String>,
    pub user_id: Option<String>,
    pub status: String,
    pub created_at: Timestamp,
}

/// Deliberate defects of the decision path (see `Fault`); all false in a healthy mock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecisionDefects {
    pub skip_approvals: bool,
    pub skip_alerts: bool,
}

pub fn reason_code(tier: RiskTier, decision: Decision, overridden: bool) -> String {
    let source = if overridden {
        "tool_risk_override"
    } else {
        "shadow_policy"
    };
    format!("{source}.{tier}.{decision}")
}

pub fn policy_reference(tier: RiskTier) -> String {
    format!("settings/shadow_policy/{tier}")
}

fn non_empty(field: &str, value: &str) -> Result<(), GovError> {
    if value.trim().is_empty() || value.len() > 256 {
        return Err(GovError::bad_request(
            "invalid_request",
            format!("read decision: {field} must be 1 to 256 characters"),
        ));
    }
    Ok(())
}

fn timestamp(field: &str, value: Option<&str>) -> Result<Option<Timestamp>, GovError> {
    value
        .map(|text| {
            parse_rfc3339(text).ok_or_else(|| {
                GovError::bad_request(
                    "invalid_request",
                    format!("read decision: {field} is not an RFC 3339 timestamp"),
                )
            })
        })
        .transpose()
}

/// Applies the tenant's policy to one tool call and records everything it leads to.
/// Returns the answer for the caller and the stored event (for webhook delivery).
pub fn apply(
    state: &mut GovState,
    settings: &Map<String, Value>,
    request: &DecisionRequest,
    now: Timestamp,
    defects: DecisionDefects,
) -> Result<(DecisionOutcome, Event), GovError> {
    let (requested_tier, occurred_at, visible_at) = request.validated(now)?;

    let override_tier = tool_override(settings, &request.tool_name);
    let tier = override_tier.unwrap_or(requested_tier);
    let decision = ShadowPolicy::from_settings(settings).decide(tier);

    let event_id = new_id("evt");
    let mut outcome = DecisionOutcome {
        event_id: event_id.clone(),
        decision,
        approval_id: None,
        request_id: None,
        alert_id: None,
    };
    let violation_id = (decision == Decision::Block).then(|| new_id("vio"));
    if decision == Decision::StepUp && !defects.skip_approvals {
        let approval = Approval {
            approval_id: new_id("apr"),
            request_id: new_id("req"),
            status: ApprovalStatus::Pending,
            agent_id: request.agent_id.clone(),
            tool_name: request.tool_name.clone(),
            risk_tier: tier,
            event_id: event_id.clone(),
            endpoint_id: request.endpoint_id.clone(),
            user_id: request.user_id.clone(),
            created_at: now,
            decided_at: None,
            decided_by: None,
        };
        outcome.approval_id = Some(approval.approval_id.clone());
        outcome.request_id = Some(approval.request_id.clone());
        state.approvals.insert(approval);
    }
    if let (Some(violation_id), false) = (&violation_id, defects.skip_alerts) {
        let alert = Alert {
            alert_id: new_id("alr"),
            event_id: event_id.clone(),
            violation_id: violation_id.clone(),
            severity: tier,
            title: format!(
                "{} blocked for agent {}",
                request.tool_name, request.agent_id
            ),
            agent_id: request.agent_id.clone(),
            tool_name: request.tool_name.clone(),
            endpoint_id: request.endpoint_id.clone(),
            user_id: request.user_id.clone(),
            status: "open".to_owned(),
            created_at: now,
        };
        outcome.alert_id = Some(alert.alert_id.clone());
        state.alerts.push(alert);
    }

    let documented = !request.legacy;
    let event = state.events.append(EventDraft {
        event_id,
        agent_id: request.agent_id.clone(),
        tool_name: request.tool_name.clone(),
        risk_tier: tier,
        decision,
        endpoint_id: request.endpoint_id.clone(),
        user_id: request.user_id.clone(),
        reason_code: documented.then(|| reason_code(tier, decision, override_tier.is_some())),
        policy_reference: (documented && decision != Decision::Allow)
            .then(|| policy_reference(tier)),
        violation_id,
        approval_id: outcome.approval_id.clone(),
        request_id: outcome.request_id.clone(),
        alert_id: outcome.alert_id.clone(),
        occurred_at,
        visible_at,
    });
    let event = event.clone();
    // Live decisions get their evidence record at once; legacy ones predate evidence
    // records, which is what the evidence backfill exists for.
    if !request.legacy {
        state
            .evidence
            .record(&event, now, super::backfill::EvidenceOrigin::Live);
    }
    Ok((outcome, event))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    const NOW: Timestamp = Timestamp(datetime!(2026-11-24 12:00 UTC));

    fn map(value: &Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn request(tool: &str, tier: &str) -> DecisionRequest {
        DecisionRequest::from_json(
            json!({"agent_id": "agent-7", "tool_name": tool, "risk_tier": tier}),
        )
        .unwrap()
    }

    fn decide(
        state: &mut GovState,
        settings: &Map<String, Value>,
        tier: &str,
    ) -> (DecisionOutcome, Event) {
        apply(
            state,
            settings,
            &request("fs.write", tier),
            NOW,
            DecisionDefects::default(),
        )
        .unwrap()
    }

    #[test]
    fn the_default_policy_is_the_runbook_baseline() {
        let mut state = GovState::default();
        let decisions: Vec<Decision> = ["low", "medium", "high", "critical"]
            .iter()
            .map(|tier| decide(&mut state, &Map::new(), tier).0.decision)
            .collect();
        assert_eq!(
            decisions,
            [
                Decision::Allow,
                Decision::StepUp,
                Decision::Block,
                Decision::Block
            ]
        );
    }

    #[test]
    fn allow_records_only_an_event() {
        let mut state = GovState::default();
        let (outcome, event) = decide(&mut state, &Map::new(), "low");
        assert_eq!((outcome.approval_id, outcome.alert_id), (None, None));
        assert_eq!(
            event.reason_code.as_deref(),
            Some("shadow_policy.low.allow")
        );
        assert_eq!((event.policy_reference, event.violation_id), (None, None));
        assert_eq!(
            (
                state.events.len(),
                state.approvals.len(),
                state.alerts.len()
            ),
            (1, 0, 0)
        );
    }

    #[test]
    fn step_up_adds_a_pending_approval_with_a_fresh_request_id() {
        let mut state = GovState::default();
        let (first, event) = decide(&mut state, &Map::new(), "medium");
        let (second, _) = decide(&mut state, &Map::new(), "medium");
        let approval = state
            .approvals
            .get(first.approval_id.as_deref().unwrap())
            .unwrap();
        assert_eq!(approval.status, ApprovalStatus::Pending);
        assert_eq!(Some(&approval.request_id), first.request_id.as_ref());
        assert_ne!(first.request_id, second.request_id);
        assert_eq!(event.approval_id, first.approval_id);
        assert_eq!(
            event.policy_reference.as_deref(),
            Some("settings/shadow_policy/medium")
        );
        assert!(state.alerts.is_empty());
    }

    #[test]
    fn block_adds_an_alert_and_a_violation() {
        let mut state = GovState::default();
        let (outcome, event) = decide(&mut state, &Map::new(), "critical");
        let alert = &state.alerts[0];
        assert_eq!(Some(&alert.alert_id), outcome.alert_id.as_ref());
        assert_eq!(Some(&alert.violation_id), event.violation_id.as_ref());
        assert_eq!(alert.severity, RiskTier::Critical);
        assert!(state.approvals.is_empty());
    }

    #[test]
    fn the_tenant_policy_and_tool_overrides_win_over_defaults() {
        let settings = json!({
            "shadow_policy": {"low": "block", "high": "allow", "medium": "bogus"},
            "tool_risk_overrides": {"fs.write": "low"},
        });
        let mut state = GovState::default();
        let (outcome, event) = decide(&mut state, &map(&settings), "critical");
        assert_eq!(
            outcome.decision,
            Decision::Block,
            "override to low, low blocks"
        );
        assert_eq!(event.risk_tier, RiskTier::Low);
        assert_eq!(
            event.reason_code.as_deref(),
            Some("tool_risk_override.low.block")
        );
        let policy = ShadowPolicy::from_settings(&map(&settings));
        assert_eq!(policy.decide(RiskTier::High), Decision::Allow);
        assert_eq!(
            policy.decide(RiskTier::Medium),
            Decision::StepUp,
            "invalid value keeps default"
        );
    }

    #[test]
    fn legacy_and_back_dated_requests_build_history() {
        let mut state = GovState::default();
        let mut req = request("fs.write", "high");
        req.legacy = true;
        req.occurred_at = Some("2026-11-20T08:00:00Z".into());
        let (_, event) = apply(
            &mut state,
            &Map::new(),
            &req,
            NOW,
            DecisionDefects::default(),
        )
        .unwrap();
        assert_eq!((event.reason_code, event.policy_reference), (None, None));
        assert_eq!(
            event.occurred_at,
            Timestamp(datetime!(2026-11-20 08:00 UTC))
        );
        assert_eq!(event.visible_at, event.occurred_at);
        assert!(state.evidence.is_empty());
    }

    #[test]
    fn bad_requests_are_refused_before_anything_is_recorded() {
        let mut state = GovState::default();
        for body in [
            json!({"agent_id": "a", "tool_name": "t", "risk_tier": "severe"}),
            json!({"agent_id": "", "tool_name": "t", "risk_tier": "low"}),
            json!({"agent_id": "a", "tool_name": "t", "risk_tier": "low", "occurred_at": "yesterday"}),
        ] {
            let req = DecisionRequest::from_json(body).unwrap();
            let err = apply(
                &mut state,
                &Map::new(),
                &req,
                NOW,
                DecisionDefects::default(),
            )
            .unwrap_err();
            assert_eq!(err.status, 400);
        }
        assert!(DecisionRequest::from_json(json!({"agent_id": "a"})).is_err());
        assert!(DecisionRequest::from_json(
            json!({"agent_id": "a", "tool_name": "t", "risk_tier": "low", "extra": 1})
        )
        .is_err());
        assert!(state.events.is_empty());
    }

    #[test]
    fn defects_remove_only_their_own_side_effect() {
        let mut state = GovState::default();
        let defects = DecisionDefects {
            skip_approvals: true,
            ..Default::default()
        };
        let (outcome, _) = apply(
            &mut state,
            &Map::new(),
            &request("t", "medium"),
            NOW,
            defects,
        )
        .unwrap();
        assert_eq!(
            (outcome.decision, outcome.approval_id),
            (Decision::StepUp, None)
        );
        let defects = DecisionDefects {
            skip_alerts: true,
            ..Default::default()
        };
        let (outcome, event) =
            apply(&mut state, &Map::new(), &request("t", "high"), NOW, defects).unwrap();
        assert_eq!(
            (outcome.decision, outcome.alert_id),
            (Decision::Block, None)
        );
        assert!(event.violation_id.is_some());
        assert!(state.approvals.is_empty());
        assert!(state.alerts.is_empty());
    }
}
