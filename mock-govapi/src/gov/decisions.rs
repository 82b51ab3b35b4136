//! Governance decisions: the tenant's shadow policy turns a tool call's risk tier into
//! ALLOW / STEP_UP / BLOCK, and each decision leaves an event, and, depending on the
//! outcome, a pending approval with its hold, or an alert and evidence.
//!
//! Two callers share this one path: the data plane (`POST /v1/enforce`, what the vendor
//! SDKs call) and the admin simulation (`POST /__admin/tenants/{t}/decisions`, kept for
//! back-dated histories and legacy rows).

use crate::clock::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::approvals::{Approval, ApprovalStatus};
use super::events::{CallContext, Decision, Event, EventDraft, RiskTier};
use super::holds::Hold;
use super::{new_id, parse_rfc3339, GovError, GovState};

/// Step-up timeout when `settings.pam.request_timeout_seconds` is unset [C].
pub const DEFAULT_STEP_UP_TIMEOUT_SECS: u64 = 300;

/// How long a STEP_UP waits for a human: `settings.pam.request_timeout_seconds`.
pub fn step_up_timeout_secs(settings: &Map<String, Value>) -> u64 {
    settings
        .get("pam")
        .and_then(|p| p.get("request_timeout_seconds"))
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_STEP_UP_TIMEOUT_SECS)
}

/// The SDK's `enforcement_mode` (`thoth/models.py:EnforcementMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnforcementMode {
    Observe,
    StepUp,
    Block,
    Progressive,
}

impl EnforcementMode {
    pub fn parse(text: &str) -> Result<Self, GovError> {
        match text {
            "observe" => Ok(EnforcementMode::Observe),
            "step_up" => Ok(EnforcementMode::StepUp),
            "block" => Ok(EnforcementMode::Block),
            "progressive" => Ok(EnforcementMode::Progressive),
            other => Err(GovError::bad_request(
                "invalid_request",
                format!("read enforce request: unknown enforcement_mode {other:?} (expected observe, step_up, block or progressive)"),
            )),
        }
    }
}

/// What the policy makes of one call, before anything is recorded (`/v1/explain`
/// answers exactly this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub tier: RiskTier,
    /// The decision the caller gets.
    pub decision: Decision,
    /// In observe mode, the decision the policy would have taken.
    pub shadow_decision: Option<Decision>,
    pub reason_code: String,
    pub overridden: bool,
}

/// The tenant's policy applied to a call (DATAPLANE.md "Decision"):
/// 1. tier: `tool_risk_overrides[tool]`, else the requested tier, else `low` [C];
/// 2. `shadow_policy[tier]` (`ignore_policy`: ALLOW, the fault);
/// 3. a tool outside a non-empty `approved_scope` is BLOCK in `block` mode, at least
///    STEP_UP otherwise (SDK README: "tools outside this list are blocked"; step-up
///    mode: "suspicious calls trigger a human approval request");
/// 4. `block` mode turns STEP_UP into BLOCK [C]; `observe` answers ALLOW and keeps the
///    policy's decision as `shadow_decision` [C].
pub fn decide(
    settings: &Map<String, Value>,
    tool_name: &str,
    requested_tier: Option<RiskTier>,
    mode: Option<EnforcementMode>,
    approved_scope: &[String],
    ignore_policy: bool,
) -> Verdict {
    let override_tier = tool_override(settings, tool_name);
    let tier = override_tier.or(requested_tier).unwrap_or(RiskTier::Low);
    let mut decision = if ignore_policy {
        Decision::Allow
    } else {
        ShadowPolicy::from_settings(settings).decide(tier)
    };
    let out_of_scope = !approved_scope.is_empty() && !approved_scope.iter().any(|t| t == tool_name);
    if out_of_scope {
        decision = if mode == Some(EnforcementMode::Block) {
            Decision::Block
        } else if decision.severity() < Decision::StepUp.severity() {
            Decision::StepUp
        } else {
            decision
        };
    }
    if mode == Some(EnforcementMode::Block) && decision == Decision::StepUp {
        decision = Decision::Block;
    }
    let reason_code = if out_of_scope {
        "approved_scope.out_of_scope".to_owned()
    } else {
        reason_code(tier, decision, override_tier.is_some())
    };
    let (decision, shadow_decision) = if mode == Some(EnforcementMode::Observe) {
        (Decision::Allow, Some(decision))
    } else {
        (decision, None)
    };
    Verdict {
        tier,
        decision,
        shadow_decision,
        reason_code,
        overridden: override_tier.is_some(),
    }
}

/// One tool call to decide and record, from either caller.
#[derive(Debug, Clone, Default)]
pub struct Call {
    pub agent_id: String,
    pub tool_name: String,
    /// The admin simulation names a tier; the data plane does not.
    pub requested_tier: Option<RiskTier>,
    pub endpoint_id: Option<String>,
    pub user_id: Option<String>,
    pub occurred_at: Option<Timestamp>,
    pub visible_at: Option<Timestamp>,
    pub legacy: bool,
    pub mode: Option<EnforcementMode>,
    pub approved_scope: Vec<String>,
    pub context: CallContext,
}

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

    /// The validated request as a [`Call`].
    pub fn to_call(&self, now: Timestamp) -> Result<Call, GovError> {
        let (tier, occurred_at, visible_at) = self.validated(now)?;
        Ok(Call {
            agent_id: self.agent_id.clone(),
            tool_name: self.tool_name.clone(),
            requested_tier: Some(tier),
            endpoint_id: self.endpoint_id.clone(),
            user_id: self.user_id.clone(),
            occurred_at: Some(occurred_at),
            visible_at: Some(visible_at),
            legacy: self.legacy,
            ..Call::default()
        })
    }

    pub fn from_json(body: Value) -> Result<Self, GovError> {
        serde_json::from_value(body)
            .map_err(|e| GovError::bad_request("invalid_request", format!("read decision: {e}")))
    }
}

/// What one recorded decision led to (the admin API answers it as is; `/v1/enforce`
/// builds the SDK's answer from it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionOutcome {
    pub event_id: String,
    pub decision: Decision,
    pub decision_reason_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_up_timeout_seconds: Option<u64>,
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
    /// Every in-scope call is ALLOW whatever `shadow_policy` says.
    pub ignore_shadow_policy: bool,
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

/// Applies the tenant's policy to one admin-simulated request (see [`apply_call`]).
pub fn apply(
    state: &mut GovState,
    settings: &Map<String, Value>,
    request: &DecisionRequest,
    now: Timestamp,
    defects: DecisionDefects,
) -> Result<(DecisionOutcome, Event), GovError> {
    let call = request.to_call(now)?;
    Ok(apply_call(state, settings, &call, now, defects))
}

/// Applies the tenant's policy to one tool call and records everything it leads to:
/// the feed event (always), an alert, violation and evidence (BLOCK), a pending
/// approval linked to a hold token (STEP_UP). Returns the answer for the caller and
/// the stored event (for webhook delivery).
pub fn apply_call(
    state: &mut GovState,
    settings: &Map<String, Value>,
    call: &Call,
    now: Timestamp,
    defects: DecisionDefects,
) -> (DecisionOutcome, Event) {
    let occurred_at = call.occurred_at.unwrap_or(now);
    let visible_at = call.visible_at.unwrap_or(occurred_at);
    let verdict = decide(
        settings,
        &call.tool_name,
        call.requested_tier,
        call.mode,
        &call.approved_scope,
        defects.ignore_shadow_policy,
    );
    let (tier, decision) = (verdict.tier, verdict.decision);

    let event_id = new_id("evt");
    let mut outcome = DecisionOutcome {
        event_id: event_id.clone(),
        decision,
        decision_reason_code: verdict.reason_code.clone(),
        violation_id: None,
        hold_token: None,
        step_up_timeout_seconds: None,
        approval_id: None,
        request_id: None,
        alert_id: None,
    };
    let violation_id = (decision == Decision::Block).then(|| new_id("vio"));
    outcome.violation_id = violation_id.clone();
    let mut context = call.context.clone();
    context.shadow_decision = verdict.shadow_decision;
    if decision == Decision::StepUp {
        let timeout = step_up_timeout_secs(settings);
        let expires_at = now.plus(std::time::Duration::from_secs(timeout));
        let hold_token = new_id("hold");
        let approval_id = (!defects.skip_approvals).then(|| new_id("apr"));
        if let Some(approval_id) = &approval_id {
            let approval = Approval {
                approval_id: approval_id.clone(),
                request_id: new_id("req"),
                status: ApprovalStatus::Pending,
                agent_id: call.agent_id.clone(),
                tool_name: call.tool_name.clone(),
                risk_tier: tier,
                event_id: event_id.clone(),
                endpoint_id: call.endpoint_id.clone(),
                user_id: call.user_id.clone(),
                session_id: call.context.session_id.clone(),
                reason: verdict.reason_code.clone(),
                hold_token: Some(hold_token.clone()),
                created_at: now,
                expires_at,
                decided_at: None,
                decided_by: None,
            };
            outcome.request_id = Some(approval.request_id.clone());
            state.approvals.insert(approval);
        }
        outcome.approval_id = approval_id.clone();
        state.holds.insert(Hold {
            hold_token: hold_token.clone(),
            approval_id,
            agent_id: call.agent_id.clone(),
            tool_name: call.tool_name.clone(),
            session_id: call.context.session_id.clone(),
            created_at: now,
            expires_at,
        });
        context.hold_token = Some(hold_token.clone());
        outcome.hold_token = Some(hold_token);
        outcome.step_up_timeout_seconds = Some(timeout);
    }
    if let (Some(violation_id), false) = (&violation_id, defects.skip_alerts) {
        let alert = Alert {
            alert_id: new_id("alr"),
            event_id: event_id.clone(),
            violation_id: violation_id.clone(),
            severity: tier,
            title: format!("{} blocked for agent {}", call.tool_name, call.agent_id),
            agent_id: call.agent_id.clone(),
            tool_name: call.tool_name.clone(),
            endpoint_id: call.endpoint_id.clone(),
            user_id: call.user_id.clone(),
            status: "open".to_owned(),
            created_at: now,
        };
        outcome.alert_id = Some(alert.alert_id.clone());
        state.alerts.push(alert);
    }

    let documented = !call.legacy;
    let event = state.events.append(EventDraft {
        event_id,
        agent_id: call.agent_id.clone(),
        tool_name: call.tool_name.clone(),
        risk_tier: tier,
        decision,
        endpoint_id: call.endpoint_id.clone(),
        user_id: call.user_id.clone(),
        reason_code: documented.then(|| verdict.reason_code.clone()),
        policy_reference: (documented && decision != Decision::Allow)
            .then(|| policy_reference(tier)),
        violation_id,
        approval_id: outcome.approval_id.clone(),
        request_id: outcome.request_id.clone(),
        alert_id: outcome.alert_id.clone(),
        occurred_at,
        visible_at,
        context,
    });
    let event = event.clone();
    // Live decisions get their evidence record at once; legacy ones predate evidence
    // records, which is what the evidence backfill exists for.
    if !call.legacy {
        state
            .evidence
            .record(&event, now, super::backfill::EvidenceOrigin::Live);
    }
    (outcome, event)
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
