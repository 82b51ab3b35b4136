//! The governance event store: one event per policy decision, chained by SHA-256 so
//! that a removed, reordered or edited event is detectable.

use std::fmt;
use std::str::FromStr;

use crate::clock::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev_hash` of the first event in a tenant's chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Event type of decision events, also the `X-Thoth-Event` of their webhook deliveries.
pub const DECISION_EVENT_TYPE: &str = "governance.decision";

/// `Display` and `FromStr` of an enum from its `ALL` and `as_str`, so printing and
/// parsing use the one list of wire names and cannot disagree.
macro_rules! wire_name_traits {
    ($ty:ty, $what:literal, $expected:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| {
                        format!(
                            concat!("unknown ", $what, " {:?} (expected ", $expected, ")"),
                            s
                        )
                    })
            }
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskTier {
    Low,
    Medium,
    High,
    Critical,
}

impl RiskTier {
    pub const ALL: [RiskTier; 4] = [
        RiskTier::Low,
        RiskTier::Medium,
        RiskTier::High,
        RiskTier::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RiskTier::Low => "low",
            RiskTier::Medium => "medium",
            RiskTier::High => "high",
            RiskTier::Critical => "critical",
        }
    }
}

wire_name_traits!(RiskTier, "risk tier", "low, medium, high or critical");

/// A governance decision. On the wire (feed rows, decision answers, webhook payloads) it
/// is UPPERCASE, the vendor's vocabulary (SDK `DecisionType`, Pulumi `getDecisions`
/// "ALLOW, STEP_UP or BLOCK"); in settings (`shadow_policy`) and reason codes it is the
/// lowercase policy value the runbook's `--shadow-low allow` sets. Parsing accepts both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Decision {
    Allow,
    StepUp,
    Block,
}

impl Decision {
    pub const ALL: [Decision; 3] = [Decision::Allow, Decision::StepUp, Decision::Block];

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::StepUp => "step_up",
            Decision::Block => "block",
        }
    }

    /// The UPPERCASE wire name (`ALLOW`, `STEP_UP`, `BLOCK`).
    pub fn wire(self) -> &'static str {
        match self {
            Decision::Allow => "ALLOW",
            Decision::StepUp => "STEP_UP",
            Decision::Block => "BLOCK",
        }
    }

    /// Either spelling, case-insensitively (`block`, `BLOCK`, `Step_Up`).
    pub fn parse_any(text: &str) -> Result<Self, String> {
        text.to_ascii_lowercase().parse()
    }

    /// How strict a decision is, so "at least STEP_UP" can be a `max`.
    pub fn severity(self) -> u8 {
        match self {
            Decision::Allow => 0,
            Decision::StepUp => 1,
            Decision::Block => 2,
        }
    }
}

wire_name_traits!(Decision, "decision", "allow, step_up or block");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceChain {
    pub prev_hash: String,
    pub hash: String,
}

/// Where a decision came from and what the caller said about the call: the data plane
/// (`POST /v1/enforce`) fills these in; the admin simulation leaves them empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallContext {
    pub session_id: Option<String>,
    /// `observe`, `step_up`, `block` or `progressive`, as the SDK sent it.
    pub enforcement_mode: Option<String>,
    /// In `observe` mode: the decision the policy would have taken [C].
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shadow_decision: Option<Decision>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub caller_agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hold_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub enforcement_trace_id: Option<String>,
}

/// One governance decision as the feed shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: String,
    pub seq: u64,
    pub event_type: String,
    pub agent_id: String,
    pub tool_name: String,
    pub risk_tier: RiskTier,
    pub decision: Decision,
    pub endpoint_id: Option<String>,
    pub user_id: Option<String>,
    pub reason_code: Option<String>,
    pub policy_reference: Option<String>,
    pub violation_id: Option<String>,
    pub approval_id: Option<String>,
    pub request_id: Option<String>,
    pub alert_id: Option<String>,
    pub occurred_at: Timestamp,
    pub visible_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub decision_fields_backfilled_at: Option<Timestamp>,
    pub evidence_chain: EvidenceChain,
    #[serde(flatten, default)]
    pub context: CallContext,
}

/// An event before it joins the chain (no sequence number or hashes yet).
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub event_id: String,
    pub agent_id: String,
    pub tool_name: String,
    pub risk_tier: RiskTier,
    pub decision: Decision,
    pub endpoint_id: Option<String>,
    pub user_id: Option<String>,
    pub reason_code: Option<String>,
    pub policy_reference: Option<String>,
    pub violation_id: Option<String>,
    pub approval_id: Option<String>,
    pub request_id: Option<String>,
    pub alert_id: Option<String>,
    pub occurred_at: Timestamp,
    pub visible_at: Timestamp,
    pub context: CallContext,
}

/// The hash of an event given its predecessor's. It covers what the decision *was*
/// (who, what, which tier, which outcome, when, which violation) and not the
/// explanatory `reason_code`/`policy_reference`, which the decision-field backfill is
/// allowed to fill in later without rewriting history.
pub fn chain_hash(prev_hash: &str, event: &Event) -> String {
    // A JSON array is an unambiguous encoding: no field can bleed into the next.
    let fields = serde_json::json!([
        event.seq,
        event.event_id,
        event.event_type,
        event.agent_id,
        event.tool_name,
        event.risk_tier,
        event.decision,
        event.endpoint_id,
        event.user_id,
        event.violation_id,
        event.occurred_at.to_string(),
    ]);
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(fields.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// A tenant's events in the order they were recorded.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(transparent)]
pub struct EventStore {
    events: Vec<Event>,
}

impl EventStore {
    pub fn append(&mut self, draft: EventDraft) -> &Event {
        let prev_hash = self.events.last().map_or_else(
            || GENESIS_HASH.to_owned(),
            |e| e.evidence_chain.hash.clone(),
        );
        let mut event = Event {
            event_id: draft.event_id,
            seq: self.events.last().map_or(1, |e| e.seq + 1),
            event_type: DECISION_EVENT_TYPE.to_owned(),
            agent_id: draft.agent_id,
            tool_name: draft.tool_name,
            risk_tier: draft.risk_tier,
            decision: draft.decision,
            endpoint_id: draft.endpoint_id,
            user_id: draft.user_id,
            reason_code: draft.reason_code,
            policy_reference: draft.policy_reference,
            violation_id: draft.violation_id,
            approval_id: draft.approval_id,
            request_id: draft.request_id,
            alert_id: draft.alert_id,
            occurred_at: draft.occurred_at,
            visible_at: draft.visible_at,
            decision_fields_backfilled_at: None,
            evidence_chain: EvidenceChain {
                prev_hash: prev_hash.clone(),
                hash: String::new(),
            },
            context: draft.context,
        };
        event.evidence_chain.hash = chain_hash(&prev_hash, &event);
        self.events.push(event);
        let last = self.events.len() - 1;
        &self.events[last]
    }

    /// Whether the event at `index` is correctly linked: it names its predecessor's
    /// hash and its own hash matches its content.
    pub fn link_verifies(&self, index: usize) -> bool {
        let Some(event) = self.events.get(index) else {
            return false;
        };
        let expected_prev = match index.checked_sub(1) {
            None => GENESIS_HASH,
            Some(prev) => self.events[prev].evidence_chain.hash.as_str(),
        };
        event.evidence_chain.prev_hash == expected_prev
            && chain_hash(expected_prev, event) == event.evidence_chain.hash
    }

    /// A store holding events exactly as given, without re-sealing them, so tests can
    /// build histories with gaps or forgeries.
    #[cfg(test)]
    pub(crate) fn from_recorded(events: Vec<Event>) -> Self {
        EventStore { events }
    }

    /// Recomputes every link, as a forger with write access to the whole store would.
    #[cfg(test)]
    pub(crate) fn reseal(&mut self) {
        let mut prev = GENESIS_HASH.to_owned();
        for event in &mut self.events {
            event.evidence_chain.prev_hash = prev;
            event.evidence_chain.hash = chain_hash(&event.evidence_chain.prev_hash, event);
            prev = event.evidence_chain.hash.clone();
        }
    }

    pub fn as_slice(&self) -> &[Event] {
        &self.events
    }

    pub fn get(&self, event_id: &str) -> Option<&Event> {
        self.events.iter().find(|e| e.event_id == event_id)
    }

    /// Mutable access for the backfills, which may only touch the unhashed
    /// decision fields. (Tests also use it to corrupt the chain on purpose.)
    pub fn as_mut_slice(&mut self) -> &mut [Event] {
        &mut self.events
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use time::macros::datetime;

    use super::*;

    /// A store holding one drafted event per decision, numbered from 0.
    pub(crate) fn store_of(decisions: &[Decision]) -> EventStore {
        let mut store = EventStore::default();
        for (n, decision) in decisions.iter().enumerate() {
            store.append(draft(u32::try_from(n).unwrap(), *decision));
        }
        store
    }

    pub(crate) fn draft(n: u32, decision: Decision) -> EventDraft {
        let at = Timestamp(datetime!(2026-11-24 12:00 UTC) + time::Duration::seconds(i64::from(n)));
        EventDraft {
            event_id: format!("evt-{n}"),
            agent_id: "agent-a".into(),
            tool_name: format!("tool-{n}"),
            risk_tier: RiskTier::High,
            decision,
            endpoint_id: Some("ep-1".into()),
            user_id: None,
            reason_code: Some("shadow_policy.high.block".into()),
            policy_reference: (decision != Decision::Allow)
                .then(|| "settings/shadow_policy/high".into()),
            violation_id: (decision == Decision::Block).then(|| format!("vio-{n}")),
            approval_id: None,
            request_id: None,
            alert_id: None,
            occurred_at: at,
            visible_at: at,
            context: CallContext::default(),
        }
    }

    #[test]
    fn appended_events_form_a_verifiable_chain() {
        let mut store = EventStore::default();
        for n in 0..5 {
            store.append(draft(n, Decision::Block));
        }
        let events = store.as_slice();
        assert_eq!(events[0].evidence_chain.prev_hash, GENESIS_HASH);
        assert_eq!(events[0].seq, 1);
        for i in 1..events.len() {
            assert_eq!(
                events[i].evidence_chain.prev_hash,
                events[i - 1].evidence_chain.hash
            );
            assert_eq!(events[i].seq, events[i - 1].seq + 1);
        }
        assert!((0..5).all(|i| store.link_verifies(i)));
        assert!(!store.link_verifies(5));
    }

    #[test]
    fn editing_hashed_content_breaks_exactly_that_link() {
        let mut store = EventStore::default();
        for n in 0..4 {
            store.append(draft(n, Decision::Block));
        }
        store.as_mut_slice()[2].violation_id = None;
        let verdicts: Vec<bool> = (0..4).map(|i| store.link_verifies(i)).collect();
        assert_eq!(verdicts, [true, true, false, true]);
    }

    #[test]
    fn rehashing_a_forged_event_breaks_its_successor() {
        let mut store = EventStore::default();
        for n in 0..3 {
            store.append(draft(n, Decision::Allow));
        }
        let events = store.as_mut_slice();
        events[1].decision = Decision::Block;
        events[1].evidence_chain.hash =
            chain_hash(&events[0].evidence_chain.hash.clone(), &events[1]);
        let verdicts: Vec<bool> = (0..3).map(|i| store.link_verifies(i)).collect();
        assert_eq!(verdicts, [true, true, false]);
    }

    #[test]
    fn filling_decision_fields_keeps_the_chain_intact() {
        let mut store = EventStore::default();
        let mut legacy = draft(0, Decision::StepUp);
        legacy.reason_code = None;
        legacy.policy_reference = None;
        store.append(legacy);
        store.as_mut_slice()[0].reason_code = Some("shadow_policy.high.step_up".into());
        assert!(store.link_verifies(0));
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for tier in RiskTier::ALL {
            assert_eq!(tier.to_string().parse::<RiskTier>(), Ok(tier));
        }
        for decision in Decision::ALL {
            assert_eq!(decision.to_string().parse::<Decision>(), Ok(decision));
        }
        assert_eq!(
            "severe".parse::<RiskTier>(),
            Err("unknown risk tier \"severe\" (expected low, medium, high or critical)".into())
        );
        assert_eq!(
            "deny".parse::<Decision>(),
            Err("unknown decision \"deny\" (expected allow, step_up or block)".into())
        );
    }
}
