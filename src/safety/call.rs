//! One request to a tenant route with the target's default credential: what the lease,
//! the snapshot, the undo and the reachability probe send. The lowest layer of `safety`,
//! so every part of it can talk to the tenant without importing another.

use serde_json::Value;

use crate::client::{HttpClient, HttpRequest};
use crate::target::Target;

/// The target's default credential (admin token, else org key), as undo and snapshot
/// requests carry it.
pub fn default_auth(target: &Target) -> Vec<(String, String)> {
    target.default_credential().into_iter().collect()
}

/// One request to a tenant route with the default credential.
pub async fn tenant_call(
    client: &HttpClient,
    target: &Target,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, String), String> {
    let mut headers = default_auth(target);
    if body.is_some() {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let req = HttpRequest {
        method: method.into(),
        url: format!("{}{path}", target.tenant_base()),
        headers,
        body: body.map(|b| b.to_string().into_bytes()),
    };
    let (_, result) = client.send(&req).await;
    result
        .map(|r| (r.status, r.text()))
        .map_err(|e| e.to_string())
}
