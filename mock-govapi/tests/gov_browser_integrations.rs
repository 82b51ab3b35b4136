//! Browser governance records and governance integrations over real HTTP.

use crate::gov_support;

use gov_support::{start, T};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn browser_providers_policies_and_enrollments_upsert_and_list() {
    let gov = start().await;
    let provider = gov
        .post("browser/providers", json!({"provider": "chrome", "name": "Chrome Enterprise", "config": {"enrollment_token": "cbcm-secret", "ou": "eng"}}))
        .await;
    assert_eq!(provider.status, 201, "{:?}", provider.body);
    assert_eq!(provider.body["config"]["enrollment_token"], "********");
    let again = gov.post("browser/providers", json!({"provider": "chrome", "enabled": false, "config": {"enrollment_token": "********"}})).await;
    assert_eq!(again.status, 200);
    assert_eq!(
        (&again.body["name"], &again.body["enabled"]),
        (&json!("Chrome Enterprise"), &json!(false))
    );
    let providers = gov.get("browser/providers").await;
    assert_eq!(providers.body["data"].as_array().unwrap().len(), 1);
    assert!(!providers.body.to_string().contains("cbcm-secret"));
    let dump = gov.state_dump().await;
    assert_eq!(
        dump["browser"]["providers"][0]["config"]["enrollment_token"], "cbcm-secret",
        "the placeholder kept the secret"
    );

    let policy_body = json!({"provider": "chrome", "name": "chrome-baseline-v1", "enforcement_mode": "enforce", "policy": {"ExtensionSettings": {"*": {"installation_mode": "blocked"}}}});
    let policy = gov.post("browser/policies", policy_body.clone()).await;
    assert_eq!(policy.status, 201, "{:?}", policy.body);
    let policy_id = policy.body["policy_id"].as_str().unwrap().to_owned();
    let updated = gov.post("browser/policies", policy_body).await;
    assert_eq!(
        (
            updated.status,
            &updated.body["policy_id"],
            &updated.body["version"]
        ),
        (200, &json!(policy_id), &json!(2))
    );
    let explicit = gov
        .post(
            "browser/policies",
            json!({"policy_id": "pol-fixed", "provider": "chrome", "name": "monitor-only"}),
        )
        .await;
    assert_eq!(
        (explicit.status, &explicit.body["enforcement_mode"]),
        (201, &json!("monitor"))
    );
    assert_eq!(
        gov.get("browser/policies").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let enrollment = gov
        .post(
            "browser/enrollments",
            json!({"device_id": "tim-mac-01", "user_id": "tim@example.com", "provider": "chrome"}),
        )
        .await;
    assert_eq!(enrollment.status, 201, "{:?}", enrollment.body);
    let enrollment_id = enrollment.body["enrollment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let disabled = gov
        .post("browser/enrollments", json!({"enrollment_id": enrollment_id, "device_id": "tim-mac-01", "user_id": "tim@example.com", "provider": "chrome", "status": "disabled"}))
        .await;
    assert_eq!(
        (disabled.status, &disabled.body["status"]),
        (200, &json!("disabled"))
    );
    let list = gov.get("browser/enrollments").await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn browser_errors_name_the_problem() {
    let gov = start().await;
    let cases = [
        (
            "browser/providers",
            json!({"provider": "edge"}),
            400,
            "invalid_provider",
        ),
        (
            "browser/providers",
            json!({"name": "no provider"}),
            400,
            "invalid_request",
        ),
        (
            "browser/providers",
            json!({"provider": "chrome", "config": "flat"}),
            400,
            "invalid_request",
        ),
        (
            "browser/policies",
            json!({"provider": "firefox", "name": "p"}),
            409,
            "provider_not_registered",
        ),
        (
            "browser/policies",
            json!({"provider": "netscape", "name": "p"}),
            400,
            "invalid_provider",
        ),
        (
            "browser/enrollments",
            json!({"device_id": "d", "user_id": "u", "provider": "safari"}),
            409,
            "provider_not_registered",
        ),
    ];
    for (route, body, status, code) in cases {
        let answer = gov.post(route, body.clone()).await;
        assert_eq!(
            (answer.status, answer.body["error"].as_str()),
            (status, Some(code)),
            "{route} {body}"
        );
    }
    gov.post("browser/providers", json!({"provider": "firefox"}))
        .await;
    let mode = gov
        .post(
            "browser/policies",
            json!({"provider": "firefox", "name": "p", "enforcement_mode": "strict"}),
        )
        .await;
    assert_eq!(mode.body["error"], "invalid_enforcement_mode");
    let revoked = gov
        .post(
            "browser/enrollments",
            json!({"device_id": "d", "user_id": "u", "provider": "firefox", "status": "revoked"}),
        )
        .await;
    assert_eq!(
        (revoked.status, revoked.body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let not_json = gov
        .call(
            Method::POST,
            &format!("/{T}/thoth/browser/providers"),
            Some(gov_support::ADMIN),
            None,
        )
        .await;
    assert_eq!(not_json.status, 400);
    for list in [
        "browser/providers",
        "browser/policies",
        "browser/enrollments",
    ] {
        assert_eq!(
            gov.call(Method::GET, &format!("/{T}/thoth/{list}"), None, None)
                .await
                .status,
            401
        );
    }
}

#[tokio::test]
async fn integrations_create_list_redact_and_sync() {
    let gov = start().await;
    let created = gov
        .gov_post("integrations", json!({"kind": "siem", "provider": "splunk", "name": "Splunk HEC", "config": {"url": "https://hec.example", "hec_token": "splunk-secret"}}))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["config"]["hec_token"], "********");
    let id = created.body["integration_id"].as_str().unwrap().to_owned();
    let pam = gov
        .gov_post("integrations", json!({"integration_id": "int-pam", "kind": "pam", "provider": "cyberark", "name": "PAM"}))
        .await;
    assert_eq!(
        (pam.status, &pam.body["integration_id"]),
        (201, &json!("int-pam"))
    );

    let list = gov.gov_get("integrations").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["data"].as_array().unwrap().len(), 2);
    assert!(!list.body.to_string().contains("splunk-secret"));

    let sync = gov
        .gov_post(&format!("integrations/{id}/sync"), json!({}))
        .await;
    assert_eq!(sync.status, 202, "{:?}", sync.body);
    assert_eq!(sync.body["status"], "accepted");
    assert_eq!(sync.body["integration_id"], id.as_str());
    let row = gov.gov_get("integrations").await.body["data"][0].clone();
    assert_eq!(row["sync_count"], 1);
    assert_eq!(row["last_sync_id"], sync.body["sync_id"]);

    let unknown = gov.gov_post("integrations/int-nope/sync", json!({})).await;
    assert_eq!(
        (unknown.status, unknown.body["error"].as_str()),
        (404, Some("integration_not_found"))
    );
    let bad_kind = gov
        .gov_post(
            "integrations",
            json!({"kind": "mdm", "provider": "jamf", "name": "x"}),
        )
        .await;
    assert_eq!(
        (bad_kind.status, bad_kind.body["error"].as_str()),
        (400, Some("invalid_kind"))
    );
    let anonymous = gov
        .call(
            Method::GET,
            &format!("/{T}/governance/integrations"),
            None,
            None,
        )
        .await;
    assert_eq!(anonymous.status, 401);
}
