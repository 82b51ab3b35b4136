//! Shared helpers: start the mock on 127.0.0.1:0 with two tenants and call it over HTTP.
#![allow(dead_code)] // each test binary uses a different subset

use mock_govapi::{spawn, Fault, MockConfig, RunningMock, TenantConfig};
use reqwest::Method;
use serde_json::Value;

pub const T: &str = "conformance";
pub const OTHER: &str = "conformance-other";
pub const ADMIN: &str = "admin-token-conformance";
pub const ORG_KEY: &str = "thoth_org_key_conformance";
pub const ADMIN_OTHER: &str = "admin-token-other";
pub const ORG_KEY_OTHER: &str = "thoth_org_key_other";

/// Which credentials a request carries.
#[derive(Debug, Clone)]
pub enum Cred {
    Admin,
    Org,
    Bearer(String),
    Key(String),
    Both,
    None,
}

pub fn config() -> MockConfig {
    MockConfig::with_tenants(vec![
        TenantConfig {
            id: T.into(),
            admin_tokens: vec![ADMIN.into()],
            org_api_keys: vec![ORG_KEY.into()],
        },
        TenantConfig {
            id: OTHER.into(),
            admin_tokens: vec![ADMIN_OTHER.into()],
            org_api_keys: vec![ORG_KEY_OTHER.into()],
        },
    ])
}

pub fn config_with(faults: &[Fault]) -> MockConfig {
    let mut config = config();
    config.faults = faults.iter().copied().collect();
    config
}

pub struct Harness {
    pub mock: RunningMock,
    pub client: reqwest::Client,
}

pub async fn start() -> Harness {
    start_with(config()).await
}

pub async fn start_with(config: MockConfig) -> Harness {
    let mock = spawn(config).await.expect("start mock");
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    Harness { mock, client }
}

/// An HTTP answer: status and JSON body (`Null` when empty), plus headers.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.mock.base_url, path)
    }

    /// `/conformance/thoth/<tail>`.
    pub fn thoth(tail: &str) -> String {
        format!("/{T}/thoth/{tail}")
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        cred: Cred,
        body: Option<Vec<u8>>,
    ) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        request = match cred {
            Cred::Admin => request.bearer_auth(ADMIN),
            Cred::Org => request.header("x-api-key", ORG_KEY),
            Cred::Bearer(token) => request.bearer_auth(token),
            Cred::Key(key) => request.header("x-api-key", key),
            Cred::Both => request.bearer_auth(ADMIN).header("x-api-key", ORG_KEY),
            Cred::None => request,
        };
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.expect("send request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("read body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|err| {
                panic!("non-JSON body ({err}): {}", String::from_utf8_lossy(&bytes))
            })
        };
        Answer {
            status,
            body,
            headers,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        cred: Cred,
        body: Option<Value>,
    ) -> Answer {
        let bytes = body.map(|b| serde_json::to_vec(&b).expect("serialise"));
        self.raw(method, path, cred, bytes).await
    }

    /// Admin GET of a `thoth` route of the main tenant.
    pub async fn get(&self, tail: &str) -> Answer {
        self.call(Method::GET, &Self::thoth(tail), Cred::Admin, None)
            .await
    }

    pub async fn post(&self, tail: &str, body: Value) -> Answer {
        self.call(Method::POST, &Self::thoth(tail), Cred::Admin, Some(body))
            .await
    }

    pub async fn put(&self, tail: &str, body: Value) -> Answer {
        self.call(Method::PUT, &Self::thoth(tail), Cred::Admin, Some(body))
            .await
    }

    pub async fn delete(&self, tail: &str) -> Answer {
        self.call(Method::DELETE, &Self::thoth(tail), Cred::Admin, None)
            .await
    }

    /// A mock-internal route (`/__admin`, `/__sink`), no credentials.
    pub async fn internal(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.call(method, path, Cred::None, body).await
    }

    pub async fn register(&self, id: &str, extra: Value) -> Answer {
        let mut body = serde_json::json!({
            "endpoint_id": id,
            "hostname": format!("{id}.local"),
            "employee_email": "secops@example.com",
            "enrollment": "manual",
            "environment": "prod",
            "proxy_version": "0.2.8",
            "agent_ids": ["filesystem-safe"],
        });
        if let (Some(base), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        self.post("endpoints", body).await
    }

    /// Creates an API key; returns `(key_id, plaintext)`.
    pub async fn create_key(
        &self,
        scope: &str,
        target: Option<&str>,
        permissions: &[&str],
    ) -> (String, String) {
        let answer = self
            .post(
                "api-keys",
                serde_json::json!({
                    "name": "test-key",
                    "scope_level": scope,
                    "scope_target_id": target,
                    "permissions": permissions,
                }),
            )
            .await;
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        (
            answer.body["key_id"].as_str().unwrap().to_string(),
            answer.body["api_key"].as_str().unwrap().to_string(),
        )
    }

    /// Points the tenant's webhook at sink `name` on this mock with `secret`, and tells
    /// the sink the secret so it checks signatures.
    pub async fn webhook_to_sink(&self, name: &str, secret: &str) {
        let sink_url = self.url(&format!("/__sink/{name}"));
        let answer = self
            .put("settings", serde_json::json!({"webhook": {"enabled": true, "url": sink_url, "secret": secret}}))
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        let answer = self
            .internal(
                Method::PUT,
                &format!("/__sink/{name}/config"),
                Some(serde_json::json!({"status": 200, "secret": secret})),
            )
            .await;
        assert_eq!(answer.status, 200);
    }

    pub async fn sink(&self, name: &str) -> Vec<Value> {
        let answer = self
            .internal(Method::GET, &format!("/__sink/{name}"), None)
            .await;
        answer.body["data"].as_array().cloned().unwrap_or_default()
    }
}
