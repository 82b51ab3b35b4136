//! Evidence quality SLOs (`GET T/governance/evidence-slos`), computed from the event
//! store itself: nothing is reported that the stored events do not show.

use crate::clock::Timestamp;
use serde::Serialize;

use super::events::{Decision, EventStore};
use super::window_start;

/// Minimum for the presence/coverage rates.
pub const MIN_COVERAGE_RATE: f64 = 0.99;
/// A hash chain either verifies or it does not: one broken link fails the SLO.
pub const MIN_CHAIN_VERIFICATION_RATE: f64 = 1.0;
/// Longest tolerated p95 delay between a decision and its visibility through the API.
pub const MAX_VISIBILITY_P95_SECS: f64 = 60.0;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub rows_scanned: usize,
    pub violation_id_presence_rate: f64,
    pub decision_reason_code_coverage: f64,
    pub policy_reference_coverage_non_allow: f64,
    pub evidence_chain_verification_success: f64,
    pub decision_to_api_visibility_latency_p95_seconds: f64,
    /// The rows a violation id is expected on (the blocked ones), under the name the
    /// vendor's Terraform data source reads (`governance_evidence_slos_data_source.go`).
    pub violation_relevant_rows: usize,
    /// Share of rows joined to a DeepLLM enrichment. The mock enriches nothing and
    /// expects nothing, so the population is empty and the rate 1.0 [C].
    pub deepllm_enrichment_join_rate: f64,
    pub block_rows: usize,
    pub non_allow_rows: usize,
    pub broken_chain_links: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    pub violation_id_presence_rate_min: f64,
    pub decision_reason_code_coverage_min: f64,
    pub policy_reference_coverage_non_allow_min: f64,
    pub evidence_chain_verification_success_min: f64,
    pub decision_to_api_visibility_latency_p95_seconds_max: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            violation_id_presence_rate_min: MIN_COVERAGE_RATE,
            decision_reason_code_coverage_min: MIN_COVERAGE_RATE,
            policy_reference_coverage_non_allow_min: MIN_COVERAGE_RATE,
            evidence_chain_verification_success_min: MIN_CHAIN_VERIFICATION_RATE,
            decision_to_api_visibility_latency_p95_seconds_max: MAX_VISIBILITY_P95_SECS,
        }
    }
}

/// One metric on the wrong side of its threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    pub metric: &'static str,
    pub observed: f64,
    pub threshold: f64,
    pub comparison: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloReport {
    pub passed: bool,
    pub failures: Vec<Failure>,
    pub thresholds: Thresholds,
    pub window_hours: u64,
    pub scan_limit: usize,
    pub metrics: Metrics,
}

/// Share of `hits` among `total`; an empty population meets any rate.
fn rate(hits: usize, total: usize) -> f64 {
    if total == 0 {
        1.0
    } else {
        hits as f64 / total as f64
    }
}

/// Nearest-rank percentile of unsorted samples (0 for none).
fn percentile(mut samples: Vec<f64>, pct: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_by(f64::total_cmp);
    let rank = (pct / 100.0 * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

/// Deliberate defect of the SLO computation (see `Fault::EvidenceSloBreached`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SloDefects {
    /// Checks each event's `prev_hash` against its own hash instead of its
    /// predecessor's, so every link of a sound chain reads as broken.
    pub verify_against_own_hash: bool,
    /// Scans no row, whatever the window holds (`Fault::EvidenceSloScansNothing`).
    pub scan_nothing: bool,
    /// Answers `passed` with no failures whatever the metrics show
    /// (`Fault::EvidenceSloBreachUnreported`).
    pub hide_failures: bool,
}

/// Scans the newest `scan_limit` events that occurred within `window_hours` of `now`.
pub fn evaluate(
    store: &EventStore,
    window_hours: u64,
    scan_limit: usize,
    now: Timestamp,
    defects: SloDefects,
) -> SloReport {
    let since = window_start(now, window_hours);
    let scanned: Vec<usize> = (0..store.len())
        .rev()
        .filter(|&i| store.as_slice()[i].occurred_at >= since)
        .take(if defects.scan_nothing { 0 } else { scan_limit })
        .collect();
    let events = store.as_slice();
    let rows = scanned.iter().map(|&i| &events[i]);

    let blocks: Vec<_> = rows
        .clone()
        .filter(|e| e.decision == Decision::Block)
        .collect();
    let non_allow: Vec<_> = rows
        .clone()
        .filter(|e| e.decision != Decision::Allow)
        .collect();
    let with_violation = blocks.iter().filter(|e| e.violation_id.is_some()).count();
    let with_reason = rows.clone().filter(|e| e.reason_code.is_some()).count();
    let with_reference = non_allow
        .iter()
        .filter(|e| e.policy_reference.is_some())
        .count();
    let verified = scanned
        .iter()
        .filter(|&&i| {
            if defects.verify_against_own_hash {
                let chain = &events[i].evidence_chain;
                chain.prev_hash == chain.hash
            } else {
                store.link_verifies(i)
            }
        })
        .count();
    let latencies = rows
        .map(|e| (e.visible_at.0 - e.occurred_at.0).as_seconds_f64().max(0.0))
        .collect();

    let metrics = Metrics {
        rows_scanned: scanned.len(),
        violation_id_presence_rate: rate(with_violation, blocks.len()),
        decision_reason_code_coverage: rate(with_reason, scanned.len()),
        policy_reference_coverage_non_allow: rate(with_reference, non_allow.len()),
        evidence_chain_verification_success: rate(verified, scanned.len()),
        decision_to_api_visibility_latency_p95_seconds: percentile(latencies, 95.0),
        violation_relevant_rows: blocks.len(),
        deepllm_enrichment_join_rate: rate(0, 0),
        block_rows: blocks.len(),
        non_allow_rows: non_allow.len(),
        broken_chain_links: scanned.len() - verified,
    };
    let thresholds = Thresholds::default();
    let mut failures = failures(&metrics, &thresholds);
    if defects.hide_failures {
        failures.clear();
    }
    SloReport {
        passed: failures.is_empty(),
        failures,
        thresholds,
        window_hours,
        scan_limit,
        metrics,
    }
}

fn failures(m: &Metrics, t: &Thresholds) -> Vec<Failure> {
    let minimums = [
        (
            "violation_id_presence_rate",
            m.violation_id_presence_rate,
            t.violation_id_presence_rate_min,
        ),
        (
            "decision_reason_code_coverage",
            m.decision_reason_code_coverage,
            t.decision_reason_code_coverage_min,
        ),
        (
            "policy_reference_coverage_non_allow",
            m.policy_reference_coverage_non_allow,
            t.policy_reference_coverage_non_allow_min,
        ),
        (
            "evidence_chain_verification_success",
            m.evidence_chain_verification_success,
            t.evidence_chain_verification_success_min,
        ),
    ];
    let mut failures: Vec<Failure> = minimums
        .into_iter()
        .filter(|(_, observed, threshold)| observed < threshold)
        .map(|(metric, observed, threshold)| Failure {
            metric,
            observed,
            threshold,
            comparison: ">=",
        })
        .collect();
    let p95 = m.decision_to_api_visibility_latency_p95_seconds;
    if p95 > t.decision_to_api_visibility_latency_p95_seconds_max {
        failures.push(Failure {
            metric: "decision_to_api_visibility_latency_p95_seconds",
            observed: p95,
            threshold: t.decision_to_api_visibility_latency_p95_seconds_max,
            comparison: "<=",
        });
    }
    failures
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::gov::events::tests::store_of as store;

    const NOW: Timestamp = Timestamp(datetime!(2026-11-24 13:00 UTC));

    fn failed_metrics(report: &SloReport) -> Vec<&'static str> {
        report.failures.iter().map(|f| f.metric).collect()
    }

    #[test]
    fn an_empty_store_passes_with_nothing_scanned() {
        let report = evaluate(&EventStore::default(), 24, 1000, NOW, SloDefects::default());
        assert!(report.passed);
        assert_eq!(report.metrics.rows_scanned, 0);
        assert_eq!(report.metrics.evidence_chain_verification_success, 1.0);
    }

    #[test]
    fn a_well_formed_store_passes_every_threshold() {
        let report = evaluate(
            &store(&[Decision::Allow, Decision::StepUp, Decision::Block]),
            24,
            1000,
            NOW,
            SloDefects::default(),
        );
        assert!(report.passed, "{:?}", report.failures);
        assert_eq!(report.metrics.rows_scanned, 3);
        assert_eq!(
            (report.metrics.block_rows, report.metrics.non_allow_rows),
            (1, 2)
        );
        assert_eq!(
            report
                .metrics
                .decision_to_api_visibility_latency_p95_seconds,
            0.0
        );
    }

    #[test]
    fn missing_violation_ids_reason_codes_and_references_each_fail_their_metric() {
        let mut events = store(&[
            Decision::Block,
            Decision::Block,
            Decision::StepUp,
            Decision::Allow,
        ]);
        let rows = events.as_mut_slice();
        rows[3].reason_code = None;
        rows[2].policy_reference = None;
        let report = evaluate(&events, 24, 1000, NOW, SloDefects::default());
        assert_eq!(
            failed_metrics(&report),
            [
                "decision_reason_code_coverage",
                "policy_reference_coverage_non_allow"
            ]
        );
        assert_eq!(report.metrics.decision_reason_code_coverage, 0.75);
        assert!((report.metrics.policy_reference_coverage_non_allow - 2.0 / 3.0).abs() < 1e-9);

        // Violation ids are hashed: re-seal the chain so only presence fails.
        events.as_mut_slice()[0].violation_id = None;
        events.reseal();
        let report = evaluate(&events, 24, 1000, NOW, SloDefects::default());
        assert!(failed_metrics(&report).contains(&"violation_id_presence_rate"));
        assert!(!failed_metrics(&report).contains(&"evidence_chain_verification_success"));
    }

    #[test]
    fn a_broken_hash_chain_fails_verification() {
        let mut events = store(&[Decision::Allow; 10]);
        events.as_mut_slice()[4].tool_name = "forged".into();
        let report = evaluate(&events, 24, 1000, NOW, SloDefects::default());
        assert_eq!(
            failed_metrics(&report),
            ["evidence_chain_verification_success"]
        );
        assert_eq!(report.metrics.evidence_chain_verification_success, 0.9);
        assert_eq!(report.metrics.broken_chain_links, 1);
    }

    #[test]
    fn a_removed_event_breaks_its_successors_link() {
        let mut rows = store(&[Decision::Allow; 4]).as_slice().to_vec();
        rows.remove(1);
        let gapped = EventStore::from_recorded(rows);
        let verdicts: Vec<bool> = (0..3).map(|i| gapped.link_verifies(i)).collect();
        assert_eq!(verdicts, [true, false, true]);
        assert!(!evaluate(&gapped, 24, 1000, NOW, SloDefects::default()).passed);
    }

    #[test]
    fn slow_visibility_fails_the_latency_p95() {
        let mut events = store(&[Decision::Allow; 20]);
        // One slow event in twenty is the 95th percentile's neighbour, not above it.
        events.as_mut_slice()[0].visible_at.0 += time::Duration::seconds(600);
        assert!(evaluate(&events, 24, 1000, NOW, SloDefects::default()).passed);
        events.as_mut_slice()[1].visible_at.0 += time::Duration::seconds(90);
        let report = evaluate(&events, 24, 1000, NOW, SloDefects::default());
        assert_eq!(
            failed_metrics(&report),
            ["decision_to_api_visibility_latency_p95_seconds"]
        );
        assert_eq!(
            report
                .metrics
                .decision_to_api_visibility_latency_p95_seconds,
            90.0
        );
    }

    #[test]
    fn window_and_scan_limit_bound_the_rows() {
        let mut events = store(&[Decision::Allow; 5]);
        events.as_mut_slice()[0].occurred_at.0 -= time::Duration::hours(48);
        events.as_mut_slice()[0].reason_code = None;
        // The old row is outside 24 h, but its tampered timestamp breaks its link only.
        let report = evaluate(&events, 24, 1000, NOW, SloDefects::default());
        assert_eq!(report.metrics.rows_scanned, 4);
        assert!(report.passed, "{:?}", report.failures);
        assert_eq!(
            evaluate(&events, 72, 1000, NOW, SloDefects::default())
                .metrics
                .rows_scanned,
            5
        );
        assert_eq!(
            evaluate(&events, 72, 2, NOW, SloDefects::default())
                .metrics
                .rows_scanned,
            2
        );
    }

    #[test]
    fn the_defect_fails_a_sound_chain_and_nothing_else() {
        let events = store(&[Decision::Allow, Decision::Block]);
        let defect = SloDefects {
            verify_against_own_hash: true,
            ..SloDefects::default()
        };
        let report = evaluate(&events, 24, 1000, NOW, defect);
        assert_eq!(
            failed_metrics(&report),
            ["evidence_chain_verification_success"]
        );
        assert_eq!(report.metrics.broken_chain_links, 2);
        assert!(evaluate(&EventStore::default(), 24, 1000, NOW, defect).passed);
    }

    /// The two report defects: no row scanned (a report that passes on nothing), and a
    /// breach in the metrics that `passed`/`failures` do not show.
    #[test]
    fn the_report_defects_break_rows_scanned_and_consistency() {
        let events = store(&[Decision::Allow, Decision::Block]);
        let blind = SloDefects {
            scan_nothing: true,
            ..SloDefects::default()
        };
        let report = evaluate(&events, 24, 1000, NOW, blind);
        assert_eq!(report.metrics.rows_scanned, 0);
        assert!(report.passed);
        let hidden = SloDefects {
            verify_against_own_hash: true,
            hide_failures: true,
            ..SloDefects::default()
        };
        let report = evaluate(&events, 24, 1000, NOW, hidden);
        assert_eq!(report.metrics.evidence_chain_verification_success, 0.0);
        assert!(report.passed && report.failures.is_empty());
    }

    #[test]
    fn percentile_uses_nearest_rank() {
        assert_eq!(percentile(vec![], 95.0), 0.0);
        assert_eq!(percentile(vec![5.0], 95.0), 5.0);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(hundred, 95.0), 95.0);
    }
}
