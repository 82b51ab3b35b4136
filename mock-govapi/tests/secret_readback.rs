//! `--secret-readback mask|omit|empty`: one secret policy for every record kind. Each
//! mode hides every set secret of the settings, an MDM provider (config and top-level
//! `api_key`/`credential` included), a browser provider and an integration (the shared
//! upsert of `routes::book`); sending back what GET showed
//! keeps the stored secret (vendor clients GET, edit and send the document back:
//! Terraform's `GetTenantSettings`/`UpsertMDMProvider`, vendor-clients.md §2).

use crate::common;

use common::*;
use mock_govapi::secrets::SecretReadback;
use reqwest::Method;
use serde_json::{json, Value};

const SECRETS: &[&str] = &[
    "whsec_rb_1",
    "pam_rb_2",
    "jamf_rb_3",
    "mdmkey_rb_4",
    "cred_rb_5",
    "chrome_rb_6",
    "splunk_rb_7",
];

async fn call(h: &Harness, m: Method, tail: &str, body: Option<Value>) -> Value {
    call_at(h, m, &Harness::thoth(tail), body).await
}

async fn call_at(h: &Harness, m: Method, tail: &str, body: Option<Value>) -> Value {
    let a = h
        .raw(
            m,
            tail,
            Cred::Admin,
            body.map(|b| b.to_string().into_bytes()),
        )
        .await;
    assert!(
        (200..300).contains(&a.status),
        "{tail}: {} {}",
        a.status,
        a.body
    );
    a.body
}

async fn stored(h: &Harness) -> Value {
    h.client
        .get(h.url(&format!("/__admin/tenants/{T}/state")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_mode_hides_every_record_kinds_secrets_and_a_round_trip_keeps_them() {
    for policy in SecretReadback::ALL {
        let mut config = config();
        config.secret_readback = policy;
        let h = start_with(config).await;
        call(
            &h,
            Method::PUT,
            "settings",
            Some(json!({"compliance_profile": "soc2",
            "webhook": {"url": "https://siem.example", "secret": SECRETS[0]},
            "pam": {"enabled": true, "callback_secret": SECRETS[1]}})),
        )
        .await;
        call(
            &h,
            Method::POST,
            "mdm/providers",
            Some(json!({"provider": "jamf", "config": {
            "base_url": "https://jamf", "client_id": "id", "client_secret": SECRETS[2],
            "api_key": SECRETS[3], "credential": SECRETS[4]}})),
        )
        .await;
        call(
            &h,
            Method::POST,
            "browser/providers",
            Some(json!({"provider": "chrome",
            "config": {"enrollment_token": SECRETS[5], "ou": "eng"}})),
        )
        .await;

        let integrations = format!("/{T}/governance/integrations");
        let integration = |config: Value| {
            json!({"integration_id": "int-rb", "kind": "siem", "provider": "splunk",
                "name": "HEC", "config": config})
        };
        let body = integration(json!({"url": "https://hec", "hec_token": SECRETS[6]}));
        call_at(&h, Method::POST, &integrations, Some(body)).await;

        let settings = call(&h, Method::GET, "settings", None).await;
        let mdm = call(&h, Method::GET, "mdm/providers", None).await;
        let browser = call(&h, Method::GET, "browser/providers", None).await;
        let listed = call_at(&h, Method::GET, &integrations, None).await;
        for shown in [&settings, &mdm, &browser, &listed] {
            for s in SECRETS {
                assert!(!shown.to_string().contains(s), "{policy:?}: {s} in {shown}");
            }
        }
        let (secret, jamf, token) = (
            settings["webhook"].get("secret"),
            mdm["data"][0]["config"].get("client_secret"),
            browser["data"][0]["config"].get("enrollment_token"),
        );
        let hec = listed["data"][0]["config"].get("hec_token");
        for v in [
            secret,
            jamf,
            token,
            hec,
            mdm["data"][0]["config"].get("api_key"),
        ] {
            match policy {
                SecretReadback::Mask => assert_eq!(v, Some(&json!("********")), "{policy:?}"),
                SecretReadback::Omit => assert_eq!(v, None, "{policy:?}"),
                SecretReadback::Empty => assert_eq!(v, Some(&json!("")), "{policy:?}"),
            }
        }
        assert_eq!(
            mdm["data"][0]["config"]["client_id"], "id",
            "{policy:?}: non-secrets shown"
        );

        // Send back exactly what GET showed: every stored secret stays.
        let mut doc = settings.clone();
        doc.as_object_mut().unwrap().remove("updated_at");
        call(&h, Method::PUT, "settings", Some(doc)).await;
        let row = &mdm["data"][0];
        call(
            &h,
            Method::POST,
            "mdm/providers",
            Some(json!({"provider": "jamf", "config": row["config"]})),
        )
        .await;
        let row = &browser["data"][0];
        call(
            &h,
            Method::POST,
            "browser/providers",
            Some(json!({"provider": "chrome", "config": row["config"]})),
        )
        .await;
        let body = integration(listed["data"][0]["config"].clone());
        call_at(&h, Method::POST, &integrations, Some(body)).await;
        let state = stored(&h).await.to_string();
        for s in SECRETS {
            assert!(state.contains(s), "{policy:?}: {s} lost by a round trip");
        }
        h.mock.shutdown().await;
    }
}
