//! Safe on a live tenant, through the library: the read-only profile sends no write to
//! tenant routes, and a full run against a mock in "live" mode leaves the tenant's state
//! as it was found (apart from the documented append-only records).

use crate::safety_support;

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;
use thoth_conformance::outcome::Status;
use thoth_conformance::redact::Redactor;
use thoth_conformance::runner::{run_project, RunOptions};
use thoth_conformance::safety::session::{finish_ledger, start_ledger};
use thoth_conformance::safety::undo::CleanupOutcome;
use thoth_conformance::safety::{Profile, Recorder};
use thoth_conformance::suite::load::load_project;
use thoth_conformance::target::{MockOptions, Target};

use safety_support::*;

fn project() -> thoth_conformance::suite::load::Project {
    let root = project_root();
    load_project(&root.join("suites"), &root.join("fixtures")).expect("project loads")
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_profile_sends_no_write_to_tenant_routes() {
    let project = project();
    let redactor = Redactor::new();
    let target = Target::start_mock(&MockOptions::default(), &redactor)
        .await
        .unwrap();
    let admin = target.admin_url.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = start_ledger(&dir.path().join("ledger.jsonl"), &target, "0badc0de").unwrap();
    let recorder = Arc::new(Recorder::new(ledger));
    let opts = RunOptions {
        profile: Profile::ReadOnly,
        recorder: Some(recorder.clone()),
        run_id: Some("0badc0de".into()),
        ..RunOptions::default()
    };
    let run = run_project(&project, &target, &opts, &redactor).await;
    let client = thoth_conformance::client::HttpClient::new(opts.client.clone()).unwrap();
    let cleanup = finish_ledger(&recorder.ledger, &target, &client)
        .await
        .unwrap();

    let seen = journal(&admin).await;
    assert!(
        writes(&seen).is_empty(),
        "read-only sent writes: {:?}",
        writes(&seen)
    );
    assert!(seen
        .iter()
        .any(|l| l == "GET /conformance/thoth/endpoints/stats"));
    assert!(
        cleanup.entries.is_empty() && cleanup.complete,
        "nothing to undo"
    );

    let by_id = |phase: &str, id: &str| {
        run.cases
            .iter()
            .find(|c| c.phase == phase && c.case_id == id)
            .unwrap_or_else(|| panic!("{phase}::{id}"))
    };
    assert!(run.cases.iter().any(|c| c.status == Status::Pass));
    for c in &run.cases {
        assert!(
            !matches!(c.status, Status::Fail | Status::Error),
            "{}: {:?}",
            c.full_name(),
            c.message
        );
    }
    let key = by_id("scoped_keys", "create_endpoint_scoped_key");
    assert_eq!(key.status, Status::Disabled);
    assert_eq!(
        key.message.as_deref(),
        Some("profile read-only excludes mutate cases")
    );
    // A read case whose `needs` are disabled is skipped, saying so.
    let list = by_id("scoped_keys", "list_shows_key_without_plaintext");
    assert_eq!(list.status, Status::Skip);
    assert!(list
        .message
        .as_deref()
        .unwrap()
        .contains("create_endpoint_scoped_key"));
    // A read case of a suite whose setup writes is disabled with the rule's reason.
    let mdm = by_id("mdm", "provider_listed_enabled");
    assert_eq!(mdm.status, Status::Disabled);
    assert_eq!(
        mdm.message.as_deref(),
        Some("profile read-only excludes this suite: its setup sends POST /thoth/mdm/providers")
    );
    // A read case that POSTs (authorize) is excluded too, whatever its `needs`.
    let authorize = by_id("scoped_keys", "authorize_in_scope");
    assert_eq!(authorize.status, Status::Disabled);
    assert_eq!(
        authorize.message.as_deref(),
        Some(
            "profile read-only excludes cases that send POST /thoth/api-keys/{{key_id}}/authorize"
        )
    );
    assert_eq!(by_id("endpoints", "stats_readable").status, Status::Pass);
    assert_plan_matches_run(&project, &target, Profile::ReadOnly, &run);
    target.shutdown().await;
}

/// The dry-run plan and the run follow the same rules: what the plan disables is
/// disabled with the same reason, what it skips is skipped, what it runs ran.
fn assert_plan_matches_run(
    project: &thoth_conformance::suite::load::Project,
    target: &Target,
    profile: Profile,
    run: &thoth_conformance::outcome::RunResult,
) {
    use thoth_conformance::safety::plan::{suite_plan, Decision};
    for s in &project.suites {
        let plan = suite_plan(&s.suite, &[], profile, target);
        for (c, d) in s.suite.cases.iter().zip(plan) {
            let r = run
                .cases
                .iter()
                .find(|r| r.phase == s.suite.phase && r.case_id == c.id)
                .unwrap();
            match d {
                Decision::Disabled(why) => {
                    assert_eq!((r.status, r.message.clone()), (Status::Disabled, Some(why)))
                }
                Decision::Skip(_) => assert_eq!(r.status, Status::Skip, "{}", r.full_name()),
                Decision::Run => assert!(
                    !matches!(r.status, Status::Disabled | Status::Skip),
                    "{}: {:?}",
                    r.full_name(),
                    r.message
                ),
            }
        }
    }
}

/// What a production tenant might hold before the run: settings with secrets (the ones
/// the SecOps team passes as THOTH_WEBHOOK_SECRET / THOTH_PAM_CALLBACK_SECRET), an MDM
/// provider and a browser provider of the same keys the suites upsert, a key and a policy.
async fn seed_production_state(base: &str) -> String {
    tenant(
        base,
        Method::PUT,
        "/thoth/settings",
        json!({
            "compliance_profile": "financial",
            "shadow_policy": {"low": "step_up", "medium": "block", "high": "block", "critical": "block"},
            "webhook": {"enabled": true, "url": format!("{base}/__sink/prod"), "secret": WEBHOOK_SECRET},
            "pam": {"enabled": false, "provider": "cyberark", "callback_secret": PAM_SECRET,
                    "request_url": "https://pam.corp.example/requests"},
            "custom_field": {"kept": true}
        }),
    )
    .await;
    tenant(
        base,
        Method::POST,
        "/thoth/mdm/providers",
        json!({"provider": "jamf", "name": "Prod Jamf", "enabled": true,
               "config": {"base_url": "https://jamf.corp.example", "client_id": "prod-client"}}),
    )
    .await;
    tenant(
        base,
        Method::POST,
        "/thoth/browser/providers",
        json!({"provider": "chrome", "name": "Corp Chrome", "enabled": true,
               "config": {"extension_id": "corp-extension"}}),
    )
    .await;
    tenant(
        base,
        Method::POST,
        "/thoth/browser/policies",
        json!({"policy_id": "corp-policy", "provider": "chrome", "name": "corp",
               "enforcement_mode": "enforce", "policy": {"blocked_domains": ["x.example"]}}),
    )
    .await;
    let key = tenant(
        base,
        Method::POST,
        "/thoth/api-keys",
        json!({"name": "prod-ci", "scope_level": "organization", "permissions": ["read"]}),
    )
    .await;
    key["key_id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_run_leaves_a_live_tenant_as_it_found_it() {
    full_run_leaves_the_tenant_as_found(mock_govapi::secrets::SecretReadback::Mask, Profile::Full)
        .await;
}

/// Issue 13 "Secrets on GET": the suites pass and the snapshot/restore is exact (secrets
/// included) whether the tenant masks set secrets, omits them or shows them empty, under
/// the live default profile (staging never overwrites the tenant's own provider rows;
/// under `full` with `omit`, a secret the run set on a row that had none cannot be
/// cleared by the restore: docs/live-safety.md).
#[tokio::test(flavor = "multi_thread")]
async fn a_full_run_leaves_the_tenant_as_found_when_secrets_read_back_omitted_or_empty() {
    for mode in [
        mock_govapi::secrets::SecretReadback::Omit,
        mock_govapi::secrets::SecretReadback::Empty,
    ] {
        full_run_leaves_the_tenant_as_found(mode, Profile::Staging).await;
    }
}

/// A tenant keeps what earlier runs could not undo (feed events, alerts, approvals,
/// evidence): a second run, with its own run id, must not trip over the first one's
/// leftovers. Keyed by a fixed name, the alerts case saw two alerts on the second run.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_on_the_same_tenant_passes_as_the_first() {
    let mock = standalone_mock().await;
    let base = mock.base_url.trim_end_matches('/').to_string();
    let project = project();
    for run_id in ["f1r5700e", "5ec0nd00"] {
        let redactor = Redactor::new();
        let dir = tempfile::tempdir().unwrap();
        // With the data plane (the enforcer is the same listener), so the decisions,
        // feed, alerts and approvals cases run too.
        let mut target = live_target(&base, dir.path(), &redactor);
        target.api_url = Some(base.clone());
        let ledger = start_ledger(&dir.path().join("ledger.jsonl"), &target, run_id).unwrap();
        let recorder = Arc::new(Recorder::new(ledger));
        let opts = RunOptions {
            profile: Profile::Full,
            recorder: Some(recorder.clone()),
            run_id: Some(run_id.into()),
            ..RunOptions::default()
        };
        let run = run_project(&project, &target, &opts, &redactor).await;
        let broken: Vec<String> = run
            .cases
            .iter()
            .filter(|c| matches!(c.status, Status::Fail | Status::Error))
            .map(|c| format!("{}: {:?}", c.full_name(), c.message))
            .collect();
        assert!(broken.is_empty(), "run {run_id}: {broken:#?}");
        let alerts = run
            .cases
            .iter()
            .find(|c| c.full_name() == "evidence::alerts_reflect_block")
            .expect("the alerts case");
        assert_eq!(alerts.status, Status::Pass, "{:?}", alerts.message);
        let client = thoth_conformance::client::HttpClient::new(opts.client.clone()).unwrap();
        let cleanup = finish_ledger(&recorder.ledger, &target, &client)
            .await
            .unwrap();
        assert!(cleanup.complete, "{}", cleanup.render(&redactor));
    }
    mock.shutdown().await;
}

async fn full_run_leaves_the_tenant_as_found(
    readback: mock_govapi::secrets::SecretReadback,
    profile: Profile,
) {
    let mock = standalone_mock_with(readback).await;
    let base = mock.base_url.trim_end_matches('/').to_string();
    let prod_key = seed_production_state(&base).await;
    let before = state(&base).await;

    let project = project();
    let redactor = Redactor::new();
    let dir = tempfile::tempdir().unwrap();
    let target = live_target(&base, dir.path(), &redactor);
    let ledger_path = dir.path().join("ledger.jsonl");
    let ledger = start_ledger(&ledger_path, &target, "1ive5afe").unwrap();
    let recorder = Arc::new(Recorder::new(ledger));
    let opts = RunOptions {
        // Full, so the append-only endpoint is created and shows as "cannot delete".
        profile,
        recorder: Some(recorder.clone()),
        run_id: Some("1ive5afe".into()),
        ..RunOptions::default()
    };
    let run = run_project(&project, &target, &opts, &redactor).await;
    for c in &run.cases {
        assert!(
            !matches!(c.status, Status::Fail | Status::Error),
            "{}: {:?}",
            c.full_name(),
            c.message
        );
    }
    let passed = run
        .cases
        .iter()
        .filter(|c| c.status == Status::Pass)
        .count();
    assert!(
        passed > if profile == Profile::Full { 40 } else { 20 },
        "{passed} passed"
    );
    if profile == Profile::Full {
        assert_plan_matches_run(&project, &target, Profile::Full, &run);
    }
    // The run did change the tenant (so the comparison below proves the undo).
    let during = state(&base).await;
    assert_ne!(comparable(&during), comparable(&before));

    let client = thoth_conformance::client::HttpClient::new(opts.client.clone()).unwrap();
    let cleanup = finish_ledger(&recorder.ledger, &target, &client)
        .await
        .unwrap();
    assert!(cleanup.complete, "{}", cleanup.render(&redactor));
    assert_eq!(cleanup.count(CleanupOutcome::Failed), 0);
    let kept: Vec<_> = cleanup
        .entries
        .iter()
        .filter(|e| e.outcome == CleanupOutcome::CannotDelete)
        .map(|e| (e.kind.as_str(), e.id.as_str()))
        .collect();
    // The one canary endpoint every run reuses is retired by quarantine (undone), so
    // nothing is kept as "cannot delete".
    assert!(kept.is_empty(), "{kept:?}");

    let after = state(&base).await;
    assert_eq!(comparable(&after), comparable(&before));
    assert!(active_keys(&after).contains(&prod_key));
    // The secrets are the ones the tenant had (the same the run was given).
    assert_eq!(after["settings"]["webhook"]["secret"], WEBHOOK_SECRET);
    assert_eq!(
        after["settings"]["webhook"]["url"],
        format!("{base}/__sink/prod")
    );
    // Documented append-only records: the two canaries every run reuses (the endpoint
    // phase's, and the MDM phase's enrolled with jamf, when that phase runs: staging
    // leaves it out where it could not restore the tenant's own provider row) stay,
    // quarantined; never a run-unique conformance endpoint.
    let endpoints: Vec<&String> = after["endpoints"].as_object().unwrap().keys().collect();
    assert!(
        endpoints == ["conformance-canary", "conformance-canary-jamf"]
            || (profile != Profile::Full && endpoints == ["conformance-canary"]),
        "{profile:?}: {endpoints:?}"
    );
    for canary in endpoints {
        assert_eq!(
            after["endpoints"][canary]["status"], "quarantined",
            "{canary}"
        );
    }

    // The ledger marks every undone entry; a second pass has nothing left to send.
    let replay = thoth_conformance::safety::Replay::read(&ledger_path).unwrap();
    assert!(replay.pending().is_empty());
    let again = finish_ledger(&recorder.ledger, &target, &client)
        .await
        .unwrap();
    assert_eq!(again.count(CleanupOutcome::Undone), 0);
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn staging_never_overwrites_an_existing_record_whose_secrets_it_cannot_restore() {
    let mock = standalone_mock().await;
    let base = mock.base_url.trim_end_matches('/').to_string();
    tenant(
        &base,
        Method::POST,
        "/thoth/mdm/providers",
        json!({"provider": "jamf", "name": "Prod Jamf", "enabled": true,
               "config": {"base_url": "https://jamf.corp.example", "client_id": "prod",
                          "client_secret": "prod-jamf-secret-0123456789"}}),
    )
    .await;
    let before = state(&base).await;
    reqwest::Client::new()
        .delete(format!("{base}/__admin/journal"))
        .send()
        .await
        .unwrap();

    let redactor = Redactor::new();
    let dir = tempfile::tempdir().unwrap();
    let target = live_target(&base, dir.path(), &redactor);
    let ledger = start_ledger(&dir.path().join("ledger.jsonl"), &target, "5a5a5a5a").unwrap();
    let recorder = Arc::new(Recorder::new(ledger));
    let opts = RunOptions {
        profile: Profile::Staging,
        recorder: Some(recorder.clone()),
        filters: vec!["mdm::*".into(), "bootstrap::mdm_*".into()],
        ..RunOptions::default()
    };
    let run = run_project(&project(), &target, &opts, &redactor).await;
    let why = "profile staging excludes cases that overwrite the tenant's existing mdm_provider `jamf`: its secrets cannot be read back, so the restore could not bring them back (use --profile full)";
    for id in [
        "provider_listed_enabled",
        "sync_accepted",
        "mdm_provider_upsert",
    ] {
        let c = run.cases.iter().find(|c| c.case_id == id).unwrap();
        assert_eq!(c.status, Status::Disabled, "{id}");
        assert_eq!(c.message.as_deref(), Some(why), "{id}");
    }
    let after = state(&base).await;
    assert_eq!(after["mdm_providers"], before["mdm_providers"]);
    assert!(writes(&journal(&base).await)
        .iter()
        .all(|w| !w.contains("/mdm/")));
    mock.shutdown().await;
}

/// Every suite step that can create or change a tenant record (a successful write to a
/// creating route) declares it with `creates`, so the ledger learns of it.
#[test]
fn every_creating_step_in_the_suites_declares_what_it_creates() {
    use thoth_conformance::suite::model::{Action, Method, StatusSet};
    const CREATING: &[(Method, &str)] = &[
        (Method::Put, "/thoth/settings"),
        (Method::Post, "/thoth/api-keys"),
        (Method::Post, "/thoth/mdm/providers"),
        (Method::Post, "/thoth/browser/providers"),
        (Method::Post, "/thoth/browser/policies"),
        (Method::Post, "/thoth/browser/enrollments"),
        (Method::Post, "/thoth/endpoints"),
        (Method::Post, "/thoth/fleets"),
    ];
    let mut missing = Vec::new();
    for s in &project().suites {
        let cases = s.suite.cases.iter().flat_map(|c| &c.steps);
        for step in s.suite.setup.iter().chain(cases) {
            let Action::Request(r) = &step.action else {
                continue;
            };
            let may_succeed = match &step.expect.status {
                StatusSet::AnySuccess => true,
                StatusSet::One(c) => (200..300).contains(c),
                StatusSet::Many(v) => v.iter().any(|c| (200..300).contains(c)),
            };
            if may_succeed
                && CREATING.iter().any(|(m, p)| *m == r.method && r.path == *p)
                && step.creates.is_empty()
            {
                missing.push(format!(
                    "{}: {} {}",
                    s.suite.phase,
                    r.method.as_str(),
                    r.path
                ));
            }
        }
    }
    assert!(missing.is_empty(), "steps without `creates`: {missing:?}");
}

/// A tenant whose settings cannot be read (here: a token only good for the probe) is
/// not touched at all: without a snapshot there would be nothing to restore.
#[tokio::test(flavor = "multi_thread")]
async fn no_snapshot_means_no_mutation() {
    let mock = standalone_mock().await;
    let base = mock.base_url.trim_end_matches('/').to_string();
    let redactor = Redactor::new();
    let dir = tempfile::tempdir().unwrap();
    let mut target = live_target(&base, dir.path(), &redactor);
    target.admin_token = Some("adm_not_this_tenants_token_0123".into());
    let ledger = start_ledger(&dir.path().join("ledger.jsonl"), &target, "0ff0ff00").unwrap();
    let opts = RunOptions {
        recorder: Some(Arc::new(Recorder::new(ledger))),
        filters: vec!["bootstrap::settings_upsert".into()],
        ..RunOptions::default()
    };
    let run = run_project(&project(), &target, &opts, &redactor).await;
    let c = run
        .cases
        .iter()
        .find(|c| c.case_id == "settings_upsert")
        .unwrap();
    assert_eq!(c.status, Status::Error);
    assert_eq!(
        c.message.as_deref(),
        Some("failed to read the tenant settings before the first mutation: GET /thoth/settings answered 401")
    );
    assert!(writes(&journal(&base).await).is_empty());
    mock.shutdown().await;
}
