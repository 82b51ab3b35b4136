//! The vendor's own clients' expectations of GovAPI, restated as checks against the
//! mock over real HTTP. Each test names the vendor file and function it restates
//! (`atensecurity/terraform-provider-thoth` = TF, `atensecurity/thoth-operator` =
//! operator), sends the request that client sends and reads the fields it reads. No
//! vendor code is copied; `../shared/design/vendor-clients.md` lists the rows.

use crate::gov_support;

use gov_support::{legacy, start, Gov, T};
use serde_json::{json, Value};

fn evidence_count(dump: &Value) -> usize {
    dump["evidence"]["records"].as_array().unwrap().len()
}

fn has_fields(row: &Value, fields: &[&str]) {
    for field in fields {
        assert!(row.get(field).is_some(), "{field} missing from {row}");
    }
}

async fn with_chrome(gov: &Gov) {
    let provider = gov
        .post(
            "browser/providers",
            json!({"provider": "chrome", "name": "Chrome", "enabled": true, "config": {}}),
        )
        .await;
    assert_eq!(provider.status, 201, "{:?}", provider.body);
}

/// TF `browser_enrollment_resource.go:upsert` sends `browser_profile, status, metadata,
/// last_seen_at`; `Delete` sends `status: "disabled"`; `flattenBrowserEnrollment`
/// reads them all back plus `created_at, updated_at`. `findEnrollment` lists with
/// `?provider=` (the data source adds `?status=`).
#[tokio::test]
async fn tf_browser_enrollment_upsert_delete_and_list_filters() {
    let gov = start().await;
    with_chrome(&gov).await;
    gov.post("browser/providers", json!({"provider": "firefox"}))
        .await;
    for status in ["active", "pending"] {
        let created = gov
            .post("browser/enrollments", json!({"enrollment_id": format!("enr-{status}"), "provider": "chrome", "user_id": "u@example.com", "device_id": format!("dev-{status}"), "browser_profile": "Default", "status": status, "metadata": {"team": "sec"}, "last_seen_at": "2026-11-24T12:00:00Z"}))
            .await;
        assert_eq!(created.status, 201, "{status}: {:?}", created.body);
        has_fields(
            &created.body,
            &[
                "enrollment_id",
                "provider",
                "user_id",
                "device_id",
                "browser_profile",
                "status",
                "metadata",
                "last_seen_at",
                "created_at",
                "updated_at",
            ],
        );
        assert_eq!(created.body["status"], status);
        assert_eq!(created.body["metadata"]["team"], "sec");
        assert!(created.body.get("policy_id").is_none(), "no policy field");
    }
    gov.post(
        "browser/enrollments",
        json!({"provider": "firefox", "user_id": "u", "device_id": "dev-ff"}),
    )
    .await;

    // Delete: the stored identity with status disabled.
    let deleted = gov
        .post("browser/enrollments", json!({"enrollment_id": "enr-active", "provider": "chrome", "user_id": "u@example.com", "device_id": "dev-active", "status": "disabled"}))
        .await;
    assert_eq!(
        (deleted.status, &deleted.body["status"]),
        (200, &json!("disabled"))
    );
    assert_eq!(
        deleted.body["browser_profile"], "Default",
        "a delete without the optional fields keeps them"
    );

    let ids = |answer: &Value| -> Vec<String> {
        answer["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["enrollment_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let chrome = gov.get("browser/enrollments?provider=chrome").await.body;
    assert_eq!(ids(&chrome), ["enr-active", "enr-pending"]);
    let pending = gov
        .get("browser/enrollments?provider=chrome&status=pending")
        .await
        .body;
    assert_eq!(ids(&pending), ["enr-pending"]);
    let disabled = gov.get("browser/enrollments?status=disabled").await.body;
    assert_eq!(ids(&disabled), ["enr-active"]);
    assert_eq!(ids(&gov.get("browser/enrollments").await.body).len(), 3);

    // The vocabulary the suites used to send is refused, as the vendor's would be.
    let revoked = gov
        .post(
            "browser/enrollments",
            json!({"provider": "chrome", "user_id": "u", "device_id": "d", "status": "revoked"}),
        )
        .await;
    assert_eq!(revoked.status, 400);
}

/// TF `browser_policy_resource.go:upsert` sends `version, metadata, created_by,
/// updated_by`; `Delete` sends `{policy_id, name, provider, active: false, policy}`
/// with no `enforcement_mode`; `findPolicy` lists with `?provider=`.
#[tokio::test]
async fn tf_browser_policy_optional_fields_delete_and_provider_filter() {
    let gov = start().await;
    with_chrome(&gov).await;
    gov.post("browser/providers", json!({"provider": "island"}))
        .await;
    let created = gov
        .post("browser/policies", json!({"policy_id": "pol-1", "name": "base", "provider": "chrome", "policy": {"a": 1}, "enforcement_mode": "enforce", "active": true, "version": 7, "metadata": {"owner": "sec"}, "created_by": "tf", "updated_by": "tf"}))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(
        (
            &created.body["version"],
            &created.body["metadata"]["owner"],
            &created.body["created_by"],
            &created.body["updated_by"]
        ),
        (&json!(7), &json!("sec"), &json!("tf"), &json!("tf"))
    );
    let deleted = gov
        .post("browser/policies", json!({"policy_id": "pol-1", "name": "base", "provider": "chrome", "active": false, "policy": {"a": 1}}))
        .await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(
        (&deleted.body["active"], &deleted.body["enforcement_mode"]),
        (&json!(false), &json!("enforce")),
        "a delete without enforcement_mode keeps the mode"
    );
    assert_eq!(deleted.body["version"], 8, "no explicit version counts up");
    gov.post(
        "browser/policies",
        json!({"name": "island-base", "provider": "island", "policy": {}}),
    )
    .await;
    let chrome = gov.get("browser/policies?provider=chrome").await.body;
    assert_eq!(chrome["data"].as_array().unwrap().len(), 1);
    assert_eq!(chrome["data"][0]["policy_id"], "pol-1");
    assert_eq!(
        gov.get("browser/policies").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// TF `browser_provider_resource.go:upsert` sends `status` and `last_error`; the
/// provider row reads them back.
#[tokio::test]
async fn tf_browser_provider_status_and_last_error() {
    let gov = start().await;
    let created = gov
        .post("browser/providers", json!({"provider": "safari", "name": "Safari", "enabled": true, "status": "active", "last_error": "", "config": {}}))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(
        (&created.body["status"], &created.body["last_error"]),
        (&json!("active"), &json!(""))
    );
    let listed = gov.get("browser/providers").await.body;
    has_fields(
        &listed["data"][0],
        &["status", "last_error", "created_at", "updated_at"],
    );
}

/// Operator `thothtenant_controller.go:governanceEvidenceBackfillPayload` sends the
/// knobs as a JSON body; TF `evidence_backfill_resource.go:runBackfill` as query
/// parameters. Either way a dry run writes nothing; TF reads `source_collection,
/// examined, candidates, created, would_create, skipped_existing`.
#[tokio::test]
async fn evidence_backfill_dry_run_is_dry_as_body_or_query() {
    let gov = start().await;
    gov.seed(json!([
        legacy("a", "low"),
        legacy("b", "medium"),
        legacy("c", "high")
    ]))
    .await;
    let before = evidence_count(&gov.state_dump().await);

    let operator = gov
        .gov_post(
            "evidence/thoth/backfill",
            json!({"limit": 200, "include_blocked_events": true, "dry_run": true, "integration_id": "thoth-runtime"}),
        )
        .await;
    assert_eq!(operator.status, 200, "{:?}", operator.body);
    has_fields(
        &operator.body,
        &[
            "source_collection",
            "examined",
            "candidates",
            "created",
            "would_create",
            "skipped_existing",
        ],
    );
    assert_eq!(
        (&operator.body["created"], &operator.body["would_create"]),
        (&json!(0), &json!(3)),
        "blocked events included by default-true knob"
    );
    assert_eq!(operator.body["integration_id"], "thoth-runtime");
    let terraform = gov
        .gov_post(
            "evidence/thoth/backfill?limit=200&include_blocked_events=true&dry_run=true",
            Value::Null,
        )
        .await;
    assert_eq!(
        (&terraform.body["created"], &terraform.body["would_create"]),
        (&json!(0), &json!(3))
    );
    assert_eq!(evidence_count(&gov.state_dump().await), before);

    // The harness sends both; they must agree, or the mock refuses.
    let both = gov
        .gov_post(
            "evidence/thoth/backfill?dry_run=true&limit=500",
            json!({"dry_run": true, "limit": 500}),
        )
        .await;
    assert_eq!((both.status, &both.body["created"]), (200, &json!(0)));
    let conflict = gov
        .gov_post(
            "evidence/thoth/backfill?dry_run=true",
            json!({"dry_run": false}),
        )
        .await;
    assert_eq!(
        (conflict.status, conflict.body["error"].as_str()),
        (400, Some("conflicting_parameter"))
    );
    assert_eq!(evidence_count(&gov.state_dump().await), before);

    // The operator's real run (body, dry_run false) writes.
    let real = gov
        .gov_post("evidence/thoth/backfill", json!({"dry_run": false}))
        .await;
    assert_eq!(real.body["created"], 3);
}

/// Operator `governanceDecisionFieldBackfillPayload` (body) and TF
/// `decision_field_backfill_resource.go` (query): a dry run updates nothing; TF reads
/// `examined, candidates, updated, would_update, skipped_no_change` and six
/// `patched_*` counters.
#[tokio::test]
async fn decision_field_backfill_dry_run_as_body_and_the_counters_tf_reads() {
    let gov = start().await;
    gov.seed(json!([legacy("a", "low"), legacy("b", "high")]))
        .await;
    let dry = gov
        .post(
            "governance/backfill-decision-fields",
            json!({"limit": 5000, "window_hours": 720, "include_blocked_events": true, "dry_run": true}),
        )
        .await;
    assert_eq!(dry.status, 200, "{:?}", dry.body);
    let counters = [
        "examined",
        "candidates",
        "updated",
        "would_update",
        "skipped_no_change",
        "patched_violation_id",
        "patched_decision_reason_code",
        "patched_authorization_decision",
        "patched_enforcement_trace_id",
        "patched_decision_evidence",
        "patched_deepllm_enrichment",
    ];
    for counter in counters {
        assert!(dry.body[counter].is_u64(), "{counter}: {}", dry.body);
    }
    assert_eq!(
        (&dry.body["updated"], &dry.body["would_update"]),
        (&json!(0), &json!(2))
    );
    assert_eq!(
        dry.body["patched_decision_reason_code"], 0,
        "dry: nothing patched"
    );
    let dump = gov.state_dump().await;
    assert!(
        dump.to_string().contains("\"reason_code\":null"),
        "still unpatched"
    );

    let without_blocked = gov
        .post(
            "governance/backfill-decision-fields?include_blocked_events=false",
            Value::Null,
        )
        .await;
    assert_eq!(
        without_blocked.body["updated"], 1,
        "{:?}",
        without_blocked.body
    );
    let rest = gov
        .post("governance/backfill-decision-fields", Value::Null)
        .await;
    assert_eq!(
        (
            &rest.body["updated"],
            &rest.body["skipped_no_change"],
            &rest.body["patched_decision_reason_code"]
        ),
        (&json!(1), &json!(1), &json!(1))
    );
}

/// TF `mdm_sync_job_data_source.go` and `mdm_sync_resource.go:flattenMDMSync` read
/// `job_id, provider, status, synced_endpoints, unassigned_count, error, started_at,
/// completed_at, created_at, updated_at`, polling until succeeded.
#[tokio::test]
async fn tf_mdm_sync_job_fields() {
    let gov = start().await;
    gov.post(
        "mdm/providers",
        json!({"provider": "jamf", "name": "Jamf", "enabled": true, "config": {"base_url": "https://jamf.example", "client_id": "tf", "client_secret": "tf-secret"}}),
    )
    .await;
    let started = gov.post("mdm/providers/jamf/sync", json!({})).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    let job_id = started.body["job_id"].as_str().unwrap().to_owned();
    let mut job = Value::Null;
    for _ in 0..100 {
        job = gov.get(&format!("mdm/sync-jobs/{job_id}")).await.body;
        if job["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(job["status"], "succeeded", "{job}");
    has_fields(
        &job,
        &[
            "job_id",
            "provider",
            "status",
            "synced_endpoints",
            "unassigned_count",
            "error",
            "started_at",
            "completed_at",
            "created_at",
            "updated_at",
        ],
    );
    assert!(job["started_at"].is_string() && job["completed_at"].is_string());
    assert_eq!(job["updated_at"], job["completed_at"]);
}

/// Operator `thothtenant_controller.go:mdmPayload` upserts `{provider, endpoint_url,
/// enabled, api_key}` at the top level; the fields are kept, the key redacted.
#[tokio::test]
async fn operator_mdm_top_level_fields_are_kept() {
    let gov = start().await;
    let answer = gov
        .post(
            "mdm/providers",
            json!({"provider": "kandji", "endpoint_url": "https://kandji.example", "enabled": true, "api_key": "kandji-secret-1"}),
        )
        .await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(answer.body["endpoint_url"], "https://kandji.example");
    let listed = gov.get("mdm/providers").await.body;
    assert_eq!(listed["data"][0]["endpoint_url"], "https://kandji.example");
    assert!(!listed.to_string().contains("kandji-secret-1"));
    let dump = gov.state_dump().await.to_string();
    assert!(dump.contains("kandji-secret-1"), "stored, only hidden");
}

/// TF `endpoint_resource.go:upsert` sends `risk_score` as a float (schema Float64);
/// `flattenEndpoint` reads `created_at` and the Computed `runtime_auth_mode,
/// identity_binding_user, managed_runtime_key_id`.
#[tokio::test]
async fn tf_endpoint_float_risk_score_and_read_fields() {
    let gov = start().await;
    let registered = gov
        .post(
            "endpoints",
            json!({"endpoint_id": "ep-tf", "hostname": "h", "risk_score": 42.5, "violations_today": 1, "sessions_today": 2, "status": "active"}),
        )
        .await;
    assert!(
        [200, 201].contains(&registered.status),
        "{:?}",
        registered.body
    );
    let row = gov.get("endpoints/ep-tf").await.body;
    assert_eq!(row["risk_score"], 42.5);
    has_fields(
        &row,
        &[
            "created_at",
            "updated_at",
            "last_seen",
            "runtime_auth_mode",
            "identity_binding_user",
            "managed_runtime_key_id",
        ],
    );
    assert_eq!(row["created_at"], row["registered_at"]);
    let integral = gov
        .post(
            "endpoints",
            json!({"endpoint_id": "ep-int", "hostname": "h", "risk_score": 10}),
        )
        .await;
    assert!([200, 201].contains(&integral.status));
    assert_eq!(gov.get("endpoints/ep-int").await.body["risk_score"], 10);
    let out_of_range = gov
        .post(
            "endpoints",
            json!({"endpoint_id": "ep-bad", "hostname": "h", "risk_score": 100.5}),
        )
        .await;
    assert_eq!(out_of_range.status, 400);
}

/// TF `scoped_api_key_resource.go:Create`: `name` is optional.
#[tokio::test]
async fn tf_api_key_without_a_name() {
    let gov = start().await;
    let created = gov
        .post(
            "api-keys",
            json!({"scope_level": "organization", "permissions": ["read"], "ttl_seconds": 600, "jit_reason": "ci"}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    has_fields(
        &created.body,
        &[
            "key_id",
            "name",
            "api_key",
            "prefix",
            "created_at",
            "expires_at",
        ],
    );
    let empty = gov
        .post(
            "api-keys",
            json!({"name": " ", "scope_level": "organization", "permissions": ["read"]}),
        )
        .await;
    assert_eq!(empty.status, 400, "an explicit empty name is a mistake");
}

/// TF `governance_evidence_slos_data_source.go` reads `tenant_id, generated_at`,
/// `thresholds` and `metrics.{violation_relevant_rows, deepllm_enrichment_join_rate}`
/// beside the other metrics.
#[tokio::test]
async fn tf_evidence_slo_report_fields() {
    let gov = start().await;
    let report = gov
        .get("governance/evidence-slos?window_hours=24&scan_limit=20000")
        .await
        .body;
    assert_eq!(report["tenant_id"], T);
    assert!(report["generated_at"].is_string(), "{report}");
    has_fields(
        &report,
        &[
            "passed",
            "failures",
            "thresholds",
            "window_hours",
            "scan_limit",
        ],
    );
    has_fields(
        &report["metrics"],
        &[
            "rows_scanned",
            "violation_relevant_rows",
            "violation_id_presence_rate",
            "decision_reason_code_coverage",
            "policy_reference_coverage_non_allow",
            "evidence_chain_verification_success",
            "deepllm_enrichment_join_rate",
            "decision_to_api_visibility_latency_p95_seconds",
        ],
    );
    assert_eq!(report["metrics"]["deepllm_enrichment_join_rate"], 1.0);
}
