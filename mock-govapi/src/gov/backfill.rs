//! Governance evidence records, and the two repair jobs of seed 003: materialising
//! missing evidence records for older events, and filling in decision fields
//! (`reason_code`, `policy_reference`) on events recorded before they existed.

use std::collections::{HashMap, HashSet};

use crate::clock::Timestamp;
use serde::Serialize;
use serde_json::Value;

use super::decisions::{policy_reference, reason_code};
use super::events::{Decision, Event, EventStore};
use super::{new_id, window_start, GovError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceOrigin {
    /// Written when the decision was made.
    Live,
    /// Materialised later by `POST G/evidence/thoth/backfill`.
    Backfill,
}

/// A governance evidence record: the durable, hash-bound proof of one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceRecord {
    pub evidence_id: String,
    pub source: &'static str,
    pub event_id: String,
    pub decision: Decision,
    pub event_hash: String,
    pub origin: EvidenceOrigin,
    pub created_at: Timestamp,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct EvidenceStore {
    records: Vec<EvidenceRecord>,
    #[serde(skip)]
    by_event: HashSet<String>,
}

impl EvidenceStore {
    pub fn record(&mut self, event: &Event, now: Timestamp, origin: EvidenceOrigin) -> String {
        let evidence_id = new_id("evd");
        self.by_event.insert(event.event_id.clone());
        self.records.push(EvidenceRecord {
            evidence_id: evidence_id.clone(),
            source: "thoth",
            event_id: event.event_id.clone(),
            decision: event.decision,
            event_hash: event.evidence_chain.hash.clone(),
            origin,
            created_at: now,
        });
        evidence_id
    }

    pub fn covers(&self, event_id: &str) -> bool {
        self.by_event.contains(event_id)
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// Reads an optional integer query parameter within bounds.
pub fn bounded(
    name: &str,
    raw: Option<&str>,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, GovError> {
    let Some(raw) = raw else { return Ok(default) };
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            GovError::bad_request(
                "invalid_parameter",
                format!("read query parameter {name}: expected an integer from {min} to {max}, got {raw:?}"),
            )
        })
}

/// Reads an optional boolean query parameter (`true`/`false`/`1`/`0`).
pub fn flag(name: &str, raw: Option<&str>, default: bool) -> Result<bool, GovError> {
    match raw.map(str::trim) {
        None => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(other) => Err(GovError::bad_request(
            "invalid_parameter",
            format!("read query parameter {name}: expected true or false, got {other:?}"),
        )),
    }
}

/// The knobs of a backfill request. The vendor's two clients send the same knobs in
/// two places: Terraform as query parameters with no body
/// (`evidence_backfill_resource.go:runBackfill`, `decision_field_backfill_resource.go`),
/// the operator as a JSON body (`thothtenant_controller.go:
/// governanceEvidenceBackfillPayload`, `governanceDecisionFieldBackfillPayload`). The
/// mock honours both, so a dry run is dry whichever form a client uses; a knob given
/// in both places with different values is refused rather than guessed at [C].
#[derive(Debug, Default)]
pub struct BackfillKnobs {
    query: HashMap<String, String>,
    body: serde_json::Map<String, Value>,
}

impl BackfillKnobs {
    /// `body` is the parsed request body: `null` (none) or a JSON object.
    pub fn new(query: HashMap<String, String>, body: Value) -> Result<Self, GovError> {
        let body = match body {
            Value::Null => serde_json::Map::new(),
            Value::Object(map) => map,
            _ => {
                return Err(GovError::bad_request(
                    "invalid_request",
                    "read backfill request body: expected a JSON object",
                ))
            }
        };
        Ok(BackfillKnobs { query, body })
    }

    /// The knob as text, from whichever place carries it.
    fn raw(&self, name: &str) -> Result<Option<String>, GovError> {
        let from_body = match self.body.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(v @ (Value::Bool(_) | Value::Number(_))) => Some(v.to_string()),
            Some(other) => {
                return Err(GovError::bad_request(
                    "invalid_parameter",
                    format!(
                        "read body field {name}: expected a string, number or boolean, got {other}"
                    ),
                ))
            }
        };
        match (self.query.get(name), from_body) {
            (Some(q), Some(b)) if q.trim() != b.trim() => Err(GovError::bad_request(
                "conflicting_parameter",
                format!("read {name}: the query says {q:?} and the body says {b:?}"),
            )),
            (Some(q), _) => Ok(Some(q.clone())),
            (None, b) => Ok(b),
        }
    }

    pub fn int(&self, name: &str, default: u64, min: u64, max: u64) -> Result<u64, GovError> {
        bounded(name, self.raw(name)?.as_deref(), default, min, max)
    }

    pub fn flag(&self, name: &str, default: bool) -> Result<bool, GovError> {
        flag(name, self.raw(name)?.as_deref(), default)
    }

    /// An optional text knob; empty counts as absent.
    pub fn text(&self, name: &str) -> Result<Option<String>, GovError> {
        Ok(self.raw(name)?.filter(|t| !t.trim().is_empty()))
    }
}

/// Where the evidence backfill reads its events from, as its report names it
/// (TF reads `source_collection`; the value is [C]).
pub const EVIDENCE_SOURCE_COLLECTION: &str = "governance_events";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceBackfillReport {
    pub source_collection: &'static str,
    /// The integration the request named, echoed [C]; `null` when none.
    pub integration_id: Option<String>,
    pub examined: usize,
    pub candidates: usize,
    pub created: usize,
    pub would_create: usize,
    pub skipped_existing: usize,
    pub evidence_ids: Vec<String>,
}

/// `POST G/evidence/thoth/backfill`: examines the newest `limit` events and creates an
/// evidence record for each one that has none. Blocked events are left out unless asked
/// for: their violation and alert already document them.
pub fn backfill_evidence(
    events: &EventStore,
    evidence: &mut EvidenceStore,
    limit: usize,
    dry_run: bool,
    include_blocked_events: bool,
    now: Timestamp,
) -> EvidenceBackfillReport {
    let mut report = EvidenceBackfillReport {
        source_collection: EVIDENCE_SOURCE_COLLECTION,
        integration_id: None,
        examined: 0,
        candidates: 0,
        created: 0,
        would_create: 0,
        skipped_existing: 0,
        evidence_ids: Vec::new(),
    };
    for event in events.as_slice().iter().rev().take(limit) {
        report.examined += 1;
        if evidence.covers(&event.event_id) {
            report.skipped_existing += 1;
            continue;
        }
        if event.decision == Decision::Block && !include_blocked_events {
            continue;
        }
        report.candidates += 1;
        if dry_run {
            report.would_create += 1;
        } else {
            report
                .evidence_ids
                .push(evidence.record(event, now, EvidenceOrigin::Backfill));
            report.created += 1;
        }
    }
    report
}

/// What the decision-field backfill reports. The `patched_*` counters are the ones
/// the vendor's Terraform resource reads (`decision_field_backfill_resource.go`); they
/// count fields written, so a dry run reports 0 for each. The mock's events only ever
/// lack a reason code or a policy reference, so the other five vendor counters stay 0
/// and `patched_policy_reference` is the mock's own [C].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionFieldsReport {
    pub examined: usize,
    pub candidates: usize,
    pub updated: usize,
    pub would_update: usize,
    pub skipped_no_change: usize,
    pub patched_violation_id: usize,
    pub patched_decision_reason_code: usize,
    pub patched_authorization_decision: usize,
    pub patched_enforcement_trace_id: usize,
    pub patched_decision_evidence: usize,
    pub patched_deepllm_enrichment: usize,
    pub patched_policy_reference: usize,
    pub row_ids: Vec<String>,
}

fn lacks_decision_fields(event: &Event) -> bool {
    event.reason_code.is_none()
        || (event.decision != Decision::Allow && event.policy_reference.is_none())
}

/// `POST T/governance/backfill-decision-fields`: among the newest `limit` events that
/// occurred in the last `window_hours`, fills in a missing reason code and (for non-allow
/// decisions) policy reference, derived from the recorded tier and decision. `row_ids`
/// lists the events updated, or in a dry run those that would be.
pub fn backfill_decision_fields(
    events: &mut EventStore,
    limit: usize,
    window_hours: u64,
    dry_run: bool,
    include_blocked_events: bool,
    now: Timestamp,
) -> DecisionFieldsReport {
    let since = window_start(now, window_hours);
    let mut report = DecisionFieldsReport {
        examined: 0,
        candidates: 0,
        updated: 0,
        would_update: 0,
        skipped_no_change: 0,
        patched_violation_id: 0,
        patched_decision_reason_code: 0,
        patched_authorization_decision: 0,
        patched_enforcement_trace_id: 0,
        patched_decision_evidence: 0,
        patched_deepllm_enrichment: 0,
        patched_policy_reference: 0,
        row_ids: Vec::new(),
    };
    let in_window = events
        .as_mut_slice()
        .iter_mut()
        .rev()
        .filter(|e| e.occurred_at >= since)
        .take(limit);
    for event in in_window {
        if event.decision == Decision::Block && !include_blocked_events {
            continue;
        }
        report.examined += 1;
        if !lacks_decision_fields(event) {
            report.skipped_no_change += 1;
            continue;
        }
        report.candidates += 1;
        report.row_ids.push(event.event_id.clone());
        if dry_run {
            report.would_update += 1;
            continue;
        }
        if event.reason_code.is_none() {
            event.reason_code = Some(reason_code(event.risk_tier, event.decision, false));
            report.patched_decision_reason_code += 1;
        }
        if event.decision != Decision::Allow && event.policy_reference.is_none() {
            event.policy_reference = Some(policy_reference(event.risk_tier));
            report.patched_policy_reference += 1;
        }
        event.decision_fields_backfilled_at = Some(now);
        report.updated += 1;
    }
    report
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::gov::events::tests::store_of as store;

    const NOW: Timestamp = Timestamp(datetime!(2026-11-24 13:00 UTC));

    #[test]
    fn evidence_dry_run_changes_nothing_and_a_real_run_is_idempotent() {
        let events = store(&[Decision::Allow, Decision::StepUp, Decision::Block]);
        let mut evidence = EvidenceStore::default();
        evidence.record(&events.as_slice()[0], NOW, EvidenceOrigin::Live);

        let dry = backfill_evidence(&events, &mut evidence, 100, true, false, NOW);
        assert_eq!(
            (dry.examined, dry.candidates, dry.would_create, dry.created),
            (3, 1, 1, 0)
        );
        assert_eq!(dry.skipped_existing, 1);
        assert!(dry.evidence_ids.is_empty());
        assert_eq!(evidence.len(), 1);

        let real = backfill_evidence(&events, &mut evidence, 100, false, true, NOW);
        assert_eq!(
            (real.candidates, real.created, real.would_create),
            (2, 2, 0)
        );
        assert_eq!(real.evidence_ids.len(), 2);
        assert!(events
            .as_slice()
            .iter()
            .all(|e| evidence.covers(&e.event_id)));

        let again = backfill_evidence(&events, &mut evidence, 100, false, true, NOW);
        assert_eq!((again.created, again.skipped_existing), (0, 3));
    }

    #[test]
    fn evidence_limit_takes_the_newest_events() {
        let events = store(&[Decision::Allow, Decision::Allow, Decision::Allow]);
        let mut evidence = EvidenceStore::default();
        let report = backfill_evidence(&events, &mut evidence, 2, false, false, NOW);
        assert_eq!(report.examined, 2);
        assert!(!evidence.covers("evt-0"));
        assert!(evidence.covers("evt-2"));
    }

    #[test]
    fn decision_fields_are_filled_only_where_missing_and_only_for_real() {
        let mut events = store(&[
            Decision::Allow,
            Decision::StepUp,
            Decision::Block,
            Decision::Allow,
        ]);
        {
            let rows = events.as_mut_slice();
            rows[1].policy_reference = None;
            rows[2].reason_code = None;
            rows[2].policy_reference = None;
            rows[3].reason_code = None;
        }
        let dry = backfill_decision_fields(&mut events, 100, 720, true, true, NOW);
        assert_eq!(
            (dry.examined, dry.candidates, dry.would_update, dry.updated),
            (4, 3, 3, 0)
        );
        assert_eq!(dry.row_ids, ["evt-3", "evt-2", "evt-1"]);
        assert!(events.as_slice()[3].reason_code.is_none());

        let real = backfill_decision_fields(&mut events, 100, 720, false, true, NOW);
        assert_eq!((real.updated, real.would_update), (3, 0));
        let rows = events.as_slice();
        assert_eq!(
            rows[2].reason_code.as_deref(),
            Some("shadow_policy.high.block")
        );
        assert_eq!(
            rows[2].policy_reference.as_deref(),
            Some("settings/shadow_policy/high")
        );
        assert_eq!(
            rows[3].policy_reference, None,
            "allow needs no policy reference"
        );
        assert!(rows[3].decision_fields_backfilled_at.is_some());
        assert!(
            (0..4).all(|i| events.link_verifies(i)),
            "backfill must not break the chain"
        );
        assert_eq!(
            backfill_decision_fields(&mut events, 100, 720, false, true, NOW).candidates,
            0
        );
    }

    #[test]
    fn decision_fields_respect_the_window() {
        let mut events = store(&[Decision::Block]);
        events.as_mut_slice()[0].reason_code = None;
        // The draft happened at 12:00, an hour before NOW.
        let report = backfill_decision_fields(&mut events, 100, 0, false, true, NOW);
        assert_eq!((report.examined, report.updated), (0, 0));
        let report = backfill_decision_fields(&mut events, 100, 1, false, true, NOW);
        assert_eq!(report.updated, 1);
    }

    #[test]
    fn query_parameters_are_bounded_and_refused_clearly() {
        assert_eq!(bounded("limit", None, 500, 1, 10_000), Ok(500));
        assert_eq!(bounded("limit", Some("20"), 500, 1, 10_000), Ok(20));
        for bad in ["0", "-1", "ten", "10001", ""] {
            let err = bounded("limit", Some(bad), 500, 1, 10_000).unwrap_err();
            assert_eq!((err.status, err.code), (400, "invalid_parameter"));
        }
        assert_eq!(flag("dry_run", Some("true"), false), Ok(true));
        assert_eq!(flag("dry_run", None, false), Ok(false));
        assert!(flag("dry_run", Some("yes"), false).is_err());
    }
}
