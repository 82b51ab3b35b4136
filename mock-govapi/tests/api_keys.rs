//! API keys over real HTTP: create, list, authorize, TTL, revoke, validation.

use crate::common;

use std::time::Duration;

use common::start;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn api_key_lifecycle() {
    let h = start().await;
    let created = h
        .post("api-keys", json!({"name": "rightway-endpoint-e2e", "scope_level": "endpoint",
               "scope_target_id": "ep-e2e-01", "permissions": ["read", "execute"], "ttl_seconds": 3600}))
        .await;
    assert_eq!(created.status, 201);
    let key = created.body["api_key"].as_str().unwrap().to_string();
    let key_id = created.body["key_id"].as_str().unwrap().to_string();
    assert!(key.starts_with("thoth_") && key.len() > 30);
    assert!(key.starts_with(created.body["prefix"].as_str().unwrap()));
    assert!(created.body["expires_at"].is_string());

    let list = h.get("api-keys").await.body;
    let rows = list["api_keys"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["active"], true);
    assert!(!list.to_string().contains(&key), "plaintext in list");
    let dump = h
        .internal(Method::GET, "/__admin/tenants/conformance/state", None)
        .await
        .body;
    assert!(!dump.to_string().contains(&key), "plaintext stored");

    let authorize = |resource: &'static str, permission: &'static str| {
        let key = key.clone();
        let path = format!("api-keys/{key_id}/authorize");
        let h = &h;
        async move {
            h.post(
                &path,
                json!({"api_key": key, "permission": permission,
                                 "resource_type": "endpoint", "resource_id": resource}),
            )
            .await
            .body
        }
    };
    let yes = authorize("ep-e2e-01", "execute").await;
    assert_eq!(
        (
            yes["valid"].as_bool(),
            yes["permission_allowed"].as_bool(),
            yes["scope_allowed"].as_bool()
        ),
        (Some(true), Some(true), Some(true))
    );
    assert_eq!(yes["scope_level"], "endpoint");
    assert_eq!(
        authorize("ep-other-99", "execute").await["scope_allowed"],
        false
    );
    assert_eq!(
        authorize("ep-e2e-01", "write").await["permission_allowed"],
        false
    );

    // Wrong plaintext for this key id.
    let wrong = h
        .post(&format!("api-keys/{key_id}/authorize"),
              json!({"api_key": "thoth_wrong", "permission": "read", "resource_type": "endpoint", "resource_id": "ep-e2e-01"}))
        .await;
    assert_eq!(wrong.body["valid"], false);

    // TTL: an hour later the key is expired.
    h.mock.state.advance_clock(Duration::from_secs(3601));
    let expired = authorize("ep-e2e-01", "read").await;
    assert_eq!(
        (expired["valid"].as_bool(), expired["expired"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(h.get("api-keys").await.body["api_keys"][0]["active"], false);

    let revoked = h.delete(&format!("api-keys/{key_id}")).await;
    assert_eq!(
        (revoked.status, revoked.body["revoked"].as_bool()),
        (200, Some(true))
    );
    assert_eq!(h.delete(&format!("api-keys/{key_id}")).await.status, 200);
    assert_eq!(h.delete("api-keys/key_unknown").await.status, 404);
    let unknown = h
        .post("api-keys/key_unknown/authorize",
              json!({"api_key": "x", "permission": "read", "resource_type": "endpoint", "resource_id": "a"}))
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn revoked_key_is_invalid_and_create_errors() {
    let h = start().await;
    let (key_id, key) = h.create_key("organization", None, &["read"]).await;
    assert_eq!(h.delete(&format!("api-keys/{key_id}")).await.status, 200);
    let after = h
        .post(&format!("api-keys/{key_id}/authorize"),
              json!({"api_key": key, "permission": "read", "resource_type": "endpoint", "resource_id": "x"}))
        .await;
    assert_eq!(after.body["valid"], false);
    assert_eq!(h.get("api-keys").await.body["api_keys"][0]["active"], false);

    for bad in [
        json!({"name": "", "permissions": ["read"]}),
        json!({"name": "k", "permissions": []}),
        json!({"name": "k", "permissions": ["admin"]}),
        json!({"name": "k", "scope_level": "planet", "permissions": ["read"]}),
        json!({"name": "k", "scope_level": "endpoint", "permissions": ["read"]}),
        json!({"name": "k", "permissions": ["read"], "ttl_seconds": 0}),
    ] {
        let answer = h.post("api-keys", bad.clone()).await;
        assert_eq!(
            (answer.status, answer.body["error"].as_str()),
            (400, Some("invalid_api_key_request")),
            "{bad}"
        );
    }
    let bad_permission = h
        .post(&format!("api-keys/{key_id}/authorize"),
              json!({"api_key": key, "permission": "sudo", "resource_type": "endpoint", "resource_id": "x"}))
        .await;
    assert_eq!(bad_permission.status, 400);
}
