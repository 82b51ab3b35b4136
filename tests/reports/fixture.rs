//! A hand-built run covering every case status, a thothctl cell on a machine without
//! thothctl, an unexplained requirement gap and an explained one.

use thoth_conformance::catalogue::{Capability, Catalogue, Requirement, RequirementKind, Severity};
use thoth_conformance::outcome::{CaseResult, Exchange, RunResult, Status, StepResult, TargetInfo};
use thoth_conformance::suite::model::{Effect, Surface};

pub fn catalogue() -> Catalogue {
    let cap = |id: &str, title: &str, runbook_row: bool| Capability {
        id: id.into(),
        title: title.into(),
        runbook_row,
    };
    let req = |id: &str, text: &str, kind, gap: Option<&str>| Requirement {
        id: id.into(),
        text: text.into(),
        source: "002 Headless E2E Runbook / test".into(),
        severity: Severity::High,
        kind,
        gap: gap.map(Into::into),
    };
    Catalogue {
        capabilities: vec![
            // Not a runbook row, listed first: the matrix still puts runbook rows first.
            cap("access_control", "Access control | isolation", false),
            cap("tenant_settings", "Tenant settings upsert", true),
            cap("scoped_keys", "Scoped key create/authorize/revoke", true),
            cap(
                "pam_callback",
                "PAM callback correlation and replay tests",
                true,
            ),
            cap("webhook_test", "Webhook test trigger", true),
            cap("approval_reads", "Approval queue reads", true),
        ],
        requirements: vec![
            req(
                "RB-P1-01",
                "bootstrap returns settings_updated=true",
                RequirementKind::Acceptance,
                None,
            ),
            req(
                "RB-P1A-02",
                "negative check: scope_allowed=false",
                RequirementKind::Acceptance,
                None,
            ),
            req(
                "RB-P4-02",
                "replayed callback is safely ignored",
                RequirementKind::Acceptance,
                None,
            ),
            req(
                "RB-P2-03",
                "webhook test reaches the destination",
                RequirementKind::FailCriterion,
                None,
            ),
            req(
                "SEC-07",
                "cross-tenant reads are refused",
                RequirementKind::Security,
                None,
            ),
            req(
                "RB-P5-04",
                "approval queue lists pending approvals",
                RequirementKind::Acceptance,
                None,
            ),
            req(
                "RB-P3-09",
                "thoth health reports the proxy healthy",
                RequirementKind::Checklist,
                Some("needs a real endpoint with the thoth runtime"),
            ),
        ],
    }
}

pub fn exchange(line: &str, status: Option<i64>, body: Option<&str>) -> Exchange {
    Exchange {
        request_line: line.into(),
        request_headers: vec![
            ("Authorization".into(), "Bearer dev-admin-token".into()),
            ("Content-Type".into(), "application/json".into()),
        ],
        request_body: None,
        status,
        response_headers: vec![("content-type".into(), "application/json".into())],
        response_body: body.map(Into::into),
        transport_error: None,
        duration_ms: 7,
        note: None,
        request_cut: None,
        response_cut: None,
    }
}

pub fn step(
    name: &str,
    status: Status,
    message: Option<&str>,
    exchanges: Vec<Exchange>,
) -> StepResult {
    StepResult {
        name: name.into(),
        status,
        message: message.map(Into::into),
        attempts: 1,
        exchanges,
        duration_ms: 9,
    }
}

#[allow(clippy::too_many_arguments)]
pub fn case(
    phase: &str,
    id: &str,
    status: Status,
    message: Option<&str>,
    requirement: &str,
    capability: &str,
    surface: Surface,
    steps: Vec<StepResult>,
) -> CaseResult {
    CaseResult {
        phase: phase.into(),
        case_id: id.into(),
        title: format!("{id} title"),
        status,
        message: message.map(Into::into),
        requirements: vec![requirement.into()],
        capability: capability.into(),
        surface,
        effect: Effect::Read,
        steps,
        cleanup: vec![],
        duration_ms: 12,
        started_at: "2026-11-24T13:00:00Z".into(),
        expectation: None,
    }
}

pub fn run() -> RunResult {
    let base = "http://127.0.0.1:4010/conformance/thoth";
    let mut fail = case(
        "scoped_keys",
        "authorize_out_of_scope",
        Status::Fail,
        Some("step 2 `authorize other endpoint`: expected $.scope_allowed == false, got true"),
        "RB-P1A-02",
        "scoped_keys",
        Surface::Api,
        vec![
            step(
                "create key",
                Status::Pass,
                None,
                vec![exchange(
                    &format!("POST {base}/api-keys"),
                    Some(201),
                    Some(r#"{"id":"k1"}"#),
                )],
            ),
            step(
                "authorize other endpoint",
                Status::Fail,
                Some("expected $.scope_allowed == false, got true"),
                vec![exchange(
                    &format!("POST {base}/api-keys/k1/authorize"),
                    Some(200),
                    Some(r#"{"valid":true,"scope_allowed":true}"#),
                )],
            ),
        ],
    );
    fail.cleanup = vec![step(
        "revoke key",
        Status::Pass,
        None,
        vec![exchange(
            &format!("DELETE {base}/api-keys/k1"),
            Some(204),
            None,
        )],
    )];
    let mut refused = exchange(&format!("POST {base}/pam/callback"), None, None);
    refused.transport_error = Some("connection refused".into());
    refused.response_headers.clear();
    RunResult {
        run_id: "0badc0de".into(),
        harness_version: "0.1.0".into(),
        suites_hash: "sha256:feedface".into(),
        target: TargetInfo {
            kind: "mock".into(),
            base_url: "http://127.0.0.1:4010".into(),
            tenant: "conformance".into(),
            mock_faults: vec!["scope-ignored".into()],
            surfaces: vec![Surface::Api],
            thothctl: None,
        },
        started_at: "2026-11-24T13:00:00Z".into(),
        finished_at: "2026-11-24T13:00:02Z".into(),
        duration_ms: 2000,
        cases: vec![
            case(
                "bootstrap",
                "settings_upsert_api",
                Status::Pass,
                None,
                "RB-P1-01",
                "tenant_settings",
                Surface::Api,
                vec![step(
                    "put settings",
                    Status::Pass,
                    None,
                    vec![exchange(
                        &format!("PUT {base}/settings"),
                        Some(200),
                        Some(r#"{"ok":true}"#),
                    )],
                )],
            ),
            case(
                "bootstrap",
                "bootstrap_flags",
                Status::Skip,
                Some("requires thothctl: thothctl not found"),
                "RB-P1-01",
                "tenant_settings",
                Surface::Thothctl,
                vec![],
            ),
            fail,
            case(
                "pam",
                "replay_ignored",
                Status::Error,
                Some("step 1 `send callback`: connection refused"),
                "RB-P4-02",
                "pam_callback",
                Surface::Api,
                vec![step(
                    "send callback",
                    Status::Error,
                    Some("connection refused"),
                    vec![refused],
                )],
            ),
            case(
                "webhook",
                "test_delivery",
                Status::Disabled,
                Some("profile read-only excludes effect external"),
                "RB-P2-03",
                "webhook_test",
                Surface::Api,
                vec![],
            ),
        ],
        interrupted: None,
        shard: None,
        evidence: None,
        conformance: None,
    }
}
