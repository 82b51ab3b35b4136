//! Helpers for the governance route tests: a mock on 127.0.0.1:0 with two tenants,
//! calls with admin credentials, PAM configuration and signed callbacks.
#![allow(dead_code)] // each test binary uses a different subset

use mock_govapi::{spawn, Fault, MockConfig, RunningMock, TenantConfig};
use reqwest::Method;
use serde_json::{json, Value};

pub const T: &str = "conformance";
pub const OTHER: &str = "conformance-other";
pub const ADMIN: &str = "gov-admin-token";
pub const ADMIN_OTHER: &str = "gov-admin-token-other";
pub const PAM_SECRET: &str = "pam-callback-secret-for-tests";

pub struct Gov {
    pub mock: RunningMock,
    pub http: reqwest::Client,
}

/// A response: status and parsed JSON body (`Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

pub fn config(faults: &[Fault]) -> MockConfig {
    let mut config = MockConfig::with_tenants(vec![
        TenantConfig {
            id: T.into(),
            admin_tokens: vec![ADMIN.into()],
            org_api_keys: vec!["thoth_gov_org_key".into()],
        },
        TenantConfig {
            id: OTHER.into(),
            admin_tokens: vec![ADMIN_OTHER.into()],
            org_api_keys: vec![],
        },
    ]);
    config.faults = faults.iter().copied().collect();
    config
}

pub async fn start() -> Gov {
    start_with(&[]).await
}

pub async fn start_with(faults: &[Fault]) -> Gov {
    let mock = spawn(config(faults)).await.expect("start mock");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("build client");
    Gov { mock, http }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let text = response.text().await.expect("read body");
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

impl Gov {
    /// `path` is absolute (`/conformance/thoth/approvals`, `/__admin/...`).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.mock.base_url));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.expect("send request")).await
    }

    /// GET `/conformance/thoth/<tail>` as admin.
    pub async fn get(&self, tail: &str) -> Answer {
        self.call(
            Method::GET,
            &format!("/{T}/thoth/{tail}"),
            Some(ADMIN),
            None,
        )
        .await
    }

    /// POST `/conformance/thoth/<tail>` as admin.
    pub async fn post(&self, tail: &str, body: Value) -> Answer {
        self.call(
            Method::POST,
            &format!("/{T}/thoth/{tail}"),
            Some(ADMIN),
            Some(body),
        )
        .await
    }

    /// POST `/conformance/governance/<tail>` as admin.
    pub async fn gov_post(&self, tail: &str, body: Value) -> Answer {
        self.call(
            Method::POST,
            &format!("/{T}/governance/{tail}"),
            Some(ADMIN),
            Some(body),
        )
        .await
    }

    pub async fn gov_get(&self, tail: &str) -> Answer {
        self.call(
            Method::GET,
            &format!("/{T}/governance/{tail}"),
            Some(ADMIN),
            None,
        )
        .await
    }

    pub async fn put_settings(&self, settings: Value) -> Answer {
        self.call(
            Method::PUT,
            &format!("/{T}/thoth/settings"),
            Some(ADMIN),
            Some(settings),
        )
        .await
    }

    pub async fn enable_pam(&self) {
        let answer = self
            .put_settings(json!({"pam": {"enabled": true, "provider": "cyberark", "callback_secret": PAM_SECRET}}))
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }

    /// `POST /__admin/tenants/conformance/decisions`.
    pub async fn decide(&self, body: Value) -> Answer {
        self.call(
            Method::POST,
            &format!("/__admin/tenants/{T}/decisions"),
            None,
            Some(body),
        )
        .await
    }

    /// A decision for `tool` at `tier`, which must succeed.
    pub async fn decide_tier(&self, tool: &str, tier: &str) -> Value {
        let answer = self
            .decide(json!({"agent_id": "agent-7", "tool_name": tool, "risk_tier": tier}))
            .await;
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        answer.body
    }

    /// A step_up decision under the default policy: `(approval_id, request_id)`.
    pub async fn pending_approval(&self) -> (String, String) {
        let outcome = self.decide_tier("shell.exec", "medium").await;
        (
            outcome["approval_id"]
                .as_str()
                .expect("approval_id")
                .to_owned(),
            outcome["request_id"]
                .as_str()
                .expect("request_id")
                .to_owned(),
        )
    }

    pub async fn state_dump(&self) -> Value {
        self.call(
            Method::GET,
            &format!("/__admin/tenants/{T}/state"),
            None,
            None,
        )
        .await
        .body
    }

    /// Seeds decisions through the admin API (`legacy: true` ones lack the decision
    /// fields and evidence records, as events recorded before those existed).
    pub async fn seed(&self, decisions: Value) {
        let answer = self
            .call(
                Method::POST,
                &format!("/__admin/tenants/{T}/seed"),
                None,
                Some(json!({"decisions": decisions})),
            )
            .await;
        assert_eq!(answer.status, 201, "{:?}", answer.body);
    }

    /// The mock's clock in unix seconds.
    pub fn now(&self) -> i64 {
        self.mock.state.now().unix_seconds()
    }

    /// Sends a PAM callback with raw body and optional headers, no credentials.
    pub async fn raw_callback(
        &self,
        body: &str,
        timestamp: Option<String>,
        signature: Option<String>,
    ) -> Answer {
        let mut request = self
            .http
            .post(format!("{}/{T}/thoth/pam/callback", self.mock.base_url))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(ts) = timestamp {
            request = request.header("X-Thoth-Timestamp", ts);
        }
        if let Some(sig) = signature {
            request = request.header("X-Thoth-Signature", sig);
        }
        answer(request.send().await.expect("send callback")).await
    }

    /// A correctly signed callback at `timestamp`.
    pub async fn signed_callback(&self, body: &str, timestamp: i64) -> Answer {
        let signature = sign(PAM_SECRET, timestamp, body);
        self.raw_callback(body, Some(timestamp.to_string()), Some(signature))
            .await
    }

    pub async fn approval(&self, approval_id: &str) -> Value {
        let list = self.get("approvals").await;
        list.body["data"]
            .as_array()
            .and_then(|rows| rows.iter().find(|a| a["approval_id"] == approval_id))
            .cloned()
            .unwrap_or(Value::Null)
    }
}

pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    mock_govapi::signing::sign(secret.as_bytes(), timestamp, body.as_bytes())
}

pub fn callback_body(approval_id: &str, request_id: &str, decision: &str) -> String {
    json!({"approval_id": approval_id, "request_id": request_id, "decision": decision}).to_string()
}

/// A decision recorded before decision fields and evidence existed, for [`Gov::seed`].
pub fn legacy(tool: &str, tier: &str) -> Value {
    json!({"agent_id": "agent-7", "tool_name": tool, "risk_tier": tier, "legacy": true})
}
