//! A copy of a run with every string redacted, field by field.
//!
//! Redacting the typed values, rather than serialised JSON, keeps enum fields intact (a
//! secret that happened to be a substring of `disabled` could otherwise corrupt a status
//! and make `results.json` unreadable), keeps the JSON valid whatever characters a secret
//! holds, and means escaping can never hide a secret from the redactor. The structs are
//! destructured whole, so a field added to `outcome` fails to compile here until someone
//! decides how it is redacted.

use crate::outcome::{
    CaseResult, Conformance, EvidenceDelivery, Exchange, ExpectationNote, RunResult, StepResult,
    TargetInfo, Unverified,
};
use crate::redact::Redactor;

fn strings(v: &[String], r: &Redactor) -> Vec<String> {
    v.iter().map(|s| r.redact(s)).collect()
}

fn pairs(v: &[(String, String)], r: &Redactor) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (r.redact(a), r.redact(b))).collect()
}

fn opt(v: &Option<String>, r: &Redactor) -> Option<String> {
    v.as_deref().map(|s| r.redact(s))
}

fn exchange(x: &Exchange, r: &Redactor) -> Exchange {
    let Exchange {
        request_line,
        request_headers,
        request_body,
        status,
        response_headers,
        response_body,
        transport_error,
        duration_ms,
        note,
        request_cut,
        response_cut,
    } = x;
    Exchange {
        request_line: r.redact(request_line),
        request_headers: pairs(request_headers, r),
        request_body: opt(request_body, r),
        status: *status,
        response_headers: pairs(response_headers, r),
        response_body: opt(response_body, r),
        transport_error: opt(transport_error, r),
        duration_ms: *duration_ms,
        note: opt(note, r),
        // Sizes and hashes of the whole bodies: nothing to redact.
        request_cut: request_cut.clone(),
        response_cut: response_cut.clone(),
    }
}

fn step(s: &StepResult, r: &Redactor) -> StepResult {
    let StepResult {
        name,
        status,
        message,
        attempts,
        exchanges,
        duration_ms,
    } = s;
    StepResult {
        name: r.redact(name),
        status: *status,
        message: opt(message, r),
        attempts: *attempts,
        exchanges: exchanges.iter().map(|x| exchange(x, r)).collect(),
        duration_ms: *duration_ms,
    }
}

pub fn redact_case(c: &CaseResult, r: &Redactor) -> CaseResult {
    let CaseResult {
        phase,
        case_id,
        title,
        status,
        message,
        requirements,
        capability,
        surface,
        effect,
        steps,
        cleanup,
        duration_ms,
        started_at,
        expectation,
    } = c;
    CaseResult {
        phase: r.redact(phase),
        case_id: r.redact(case_id),
        title: r.redact(title),
        status: *status,
        message: opt(message, r),
        requirements: strings(requirements, r),
        capability: r.redact(capability),
        surface: *surface,
        effect: *effect,
        steps: steps.iter().map(|s| step(s, r)).collect(),
        cleanup: cleanup.iter().map(|s| step(s, r)).collect(),
        duration_ms: *duration_ms,
        started_at: r.redact(started_at),
        expectation: expectation.as_ref().map(|e| ExpectationNote {
            reason: r.redact(&e.reason),
            owner: r.redact(&e.owner),
            expires: r.redact(&e.expires),
            requirement: opt(&e.requirement, r),
            ..e.clone()
        }),
    }
}

/// `run` with every string in it redacted.
pub fn redact_run(run: &RunResult, r: &Redactor) -> RunResult {
    let RunResult {
        run_id,
        harness_version,
        suites_hash,
        target,
        started_at,
        finished_at,
        duration_ms,
        cases,
        interrupted,
        shard,
        evidence,
        conformance,
    } = run;
    let TargetInfo {
        kind,
        base_url,
        tenant,
        mock_faults,
        surfaces,
        thothctl,
    } = target;
    RunResult {
        run_id: r.redact(run_id),
        harness_version: r.redact(harness_version),
        suites_hash: r.redact(suites_hash),
        target: TargetInfo {
            kind: r.redact(kind),
            base_url: r.redact(base_url),
            tenant: r.redact(tenant),
            mock_faults: strings(mock_faults, r),
            surfaces: surfaces.clone(),
            thothctl: thothctl.as_ref().map(|t| crate::thothctl::ThothctlInfo {
                path: r.redact(&t.path),
                version: r.redact(&t.version),
                stand_in: t.stand_in,
                found_by: r.redact(&t.found_by),
            }),
        },
        started_at: r.redact(started_at),
        finished_at: r.redact(finished_at),
        duration_ms: *duration_ms,
        cases: cases.iter().map(|c| redact_case(c, r)).collect(),
        interrupted: opt(interrupted, r),
        shard: *shard,
        evidence: evidence.as_ref().map(|e| EvidenceDelivery {
            jsonl: opt(&e.jsonl, r),
            webhook: opt(&e.webhook, r),
            events: e.events,
            delivered: e.delivered,
            failures: strings(&e.failures, r),
        }),
        conformance: conformance.as_ref().map(|c| Conformance {
            unverified: c
                .unverified
                .iter()
                .map(|u| Unverified {
                    id: r.redact(&u.id),
                    severity: u.severity,
                    state: r.redact(&u.state),
                    why: strings(&u.why, r),
                })
                .collect(),
            ..c.clone()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;
    use crate::suite::model::{Effect, Surface};

    #[test]
    fn every_string_is_redacted_and_enums_survive_a_secret_that_spells_one() {
        let r = Redactor::new();
        r.add_secret("disabled").unwrap();
        r.add_secret("s3cret-value").unwrap();
        let s = "x s3cret-value y".to_owned();
        let x = Exchange {
            request_line: s.clone(),
            request_headers: vec![(s.clone(), s.clone())],
            request_body: Some(s.clone()),
            status: Some(200),
            response_headers: vec![(s.clone(), s.clone())],
            response_body: Some(s.clone()),
            transport_error: Some(s.clone()),
            duration_ms: 1,
            note: Some(s.clone()),
            ..Exchange::default()
        };
        let case = CaseResult {
            phase: s.clone(),
            case_id: s.clone(),
            title: s.clone(),
            status: Status::Disabled,
            message: Some(s.clone()),
            requirements: vec![s.clone()],
            capability: s.clone(),
            surface: Surface::Api,
            effect: Effect::Read,
            steps: vec![StepResult {
                name: s.clone(),
                status: Status::Disabled,
                message: Some(s.clone()),
                attempts: 1,
                exchanges: vec![x],
                duration_ms: 1,
            }],
            cleanup: vec![],
            duration_ms: 1,
            started_at: s.clone(),
            expectation: None,
        };
        let run = RunResult {
            run_id: s.clone(),
            harness_version: s.clone(),
            suites_hash: s.clone(),
            target: TargetInfo {
                kind: s.clone(),
                base_url: s.clone(),
                tenant: s.clone(),
                mock_faults: vec![s.clone()],
                surfaces: vec![Surface::Api],
                thothctl: None,
            },
            started_at: s.clone(),
            finished_at: s.clone(),
            duration_ms: 1,
            cases: vec![case],
            interrupted: Some(s),
            shard: None,
            evidence: None,
            conformance: None,
        };
        let planted = serde_json::to_string(&run)
            .unwrap()
            .matches("x s3cret-value y")
            .count();
        let json = serde_json::to_string(&redact_run(&run, &r)).unwrap();
        assert!(!json.contains("s3cret-value"), "{json}");
        assert_eq!(json.matches("x [REDACTED] y").count(), planted, "{json}");
        let back: RunResult = serde_json::from_str(&json).unwrap();
        assert_eq!(back.cases[0].status, Status::Disabled);
    }
}
