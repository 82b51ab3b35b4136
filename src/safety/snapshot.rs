//! What the harness accepts as "the tenant as it was": list answers in a shape the
//! vendor clients understand (`vendor-clients.md` §3.4), and a settings document of this
//! tenant. Anything else is refused before the first mutation, since a snapshot that is
//! wrong turns the restore into the damage (a bare array read as "no providers" meant
//! "disable the production Jamf provider" at cleanup).

use serde_json::{Map, Value};

use super::call::tenant_call;
use crate::client::HttpClient;
use crate::target::Target;

/// The settings key that carries the lease (`lease.rs`) and marks a document as not an
/// original. Defined here because the snapshot leaves it out of every comparison.
pub const LEASE_KEY: &str = "thoth_conformance_lease";

/// Top-level keys of the settings document (vendor-clients.md §2, Settings): a document
/// without any of them is not a settings document.
const SETTINGS_KEYS: &[(&str, Shape)] = &[
    ("compliance_profile", Shape::String),
    ("regulatory_regimes", Shape::Array),
    ("shadow_policy", Shape::Object),
    ("tool_risk_overrides", Shape::Object),
    ("secret_broker", Shape::Object),
    ("model_router", Shape::Object),
    ("webhook", Shape::Object),
    ("siem", Shape::Object),
    ("pam", Shape::Object),
    ("updated_at", Shape::String),
];

#[derive(Clone, Copy)]
enum Shape {
    String,
    Array,
    Object,
}

impl Shape {
    fn fits(self, v: &Value) -> bool {
        v.is_null()
            || match self {
                Shape::String => v.is_string(),
                Shape::Array => v.is_array(),
                Shape::Object => v.is_object(),
            }
    }
}

/// Most pages a list snapshot follows before it gives up (and refuses to mutate).
const MAX_PAGES: usize = 50;

/// The rows of a list answer, in the shapes the vendor clients accept: `{"<envelope>":
/// [...]}`, or the envelope `null` or missing (an empty list) when nothing else in the
/// object looks like rows. A bare array, rows under another name, an error envelope or
/// a non-array envelope are refused.
pub fn list_rows(body: &Value, envelope: &str) -> Result<Vec<Value>, String> {
    let Some(obj) = body.as_object() else {
        return Err(format!(
            "not a list answer the vendor clients read (expected an object with `{envelope}[]`, got {})",
            kind_of(body)
        ));
    };
    if obj.contains_key("error") {
        return Err("an error envelope, not a list".into());
    }
    match obj.get(envelope) {
        Some(Value::Array(rows)) => Ok(rows.clone()),
        Some(Value::Null) | None => match obj.iter().find(|(_, v)| v.is_array()) {
            // Rows under another name: reading it as empty would undo the tenant's own.
            Some((k, _)) => Err(format!(
                "no `{envelope}[]` but an array under `{k}`: not a shape the vendor clients read"
            )),
            None => Ok(Vec::new()),
        },
        Some(other) => Err(format!("`{envelope}` is {}, not an array", kind_of(other))),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a bare array",
        Value::Object(_) => "an object",
    }
}

async fn get_json(client: &HttpClient, target: &Target, path: &str) -> Result<Value, String> {
    match tenant_call(client, target, "GET", path, None).await {
        Ok((200, text)) => {
            serde_json::from_str::<Value>(&text).map_err(|e| format!("GET {path}: not JSON: {e}"))
        }
        Ok((status, _)) => Err(format!("GET {path} answered {status}")),
        Err(e) => Err(format!("GET {path}: {e}")),
    }
}

/// Every row of a list, following `page` while the answer's `total` says rows are
/// missing; a list that cannot be read whole is refused.
pub async fn read_list(
    client: &HttpClient,
    target: &Target,
    path: &str,
    envelope: &str,
) -> Result<Vec<Value>, String> {
    let first = get_json(client, target, path).await?;
    let mut rows = list_rows(&first, envelope).map_err(|e| format!("GET {path}: {e}"))?;
    let Some(total) = first.get("total").and_then(Value::as_u64) else {
        return Ok(rows);
    };
    let per_page = first
        .get("per_page")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .unwrap_or(rows.len().max(1) as u64);
    let mut page = 1;
    while (rows.len() as u64) < total {
        page += 1;
        if page > MAX_PAGES {
            break;
        }
        let url = format!("{path}?page={page}&per_page={per_page}");
        let next = get_json(client, target, &url).await?;
        let more = list_rows(&next, envelope).map_err(|e| format!("GET {url}: {e}"))?;
        if more.is_empty() {
            break;
        }
        rows.extend(more);
    }
    if (rows.len() as u64) < total {
        return Err(format!(
            "GET {path}: read {} of the {total} rows it says it has",
            rows.len()
        ));
    }
    Ok(rows)
}

/// Checks that `doc` is a settings document of `tenant` before the harness relies on it
/// (to restore it, or to decide it is the original).
pub fn validate_settings(doc: &Value, tenant: &str) -> Result<(), String> {
    let Some(obj) = doc.as_object() else {
        return Err(format!(
            "the settings answer is {}, not a settings document",
            kind_of(doc)
        ));
    };
    if obj.contains_key("error") {
        return Err("the settings answer is an error envelope".into());
    }
    if obj.get("data").is_some_and(Value::is_array) {
        return Err("the settings answer is a list (`data[]`), not a settings document".into());
    }
    for key in ["tenant_id", "tenant"] {
        if let Some(Value::String(t)) = obj.get(key) {
            if t != tenant {
                return Err(format!(
                    "the settings answer is for tenant `{t}`, not `{tenant}`"
                ));
            }
        }
    }
    let mut known = 0;
    for (key, shape) in SETTINGS_KEYS {
        if let Some(v) = obj.get(*key) {
            known += 1;
            if !shape.fits(v) {
                return Err(format!(
                    "the settings answer has `{key}` as {}: not a settings document",
                    kind_of(v)
                ));
            }
        }
    }
    if known == 0 {
        return Err(format!(
            "the settings answer has none of the settings fields ({}): not a settings document",
            SETTINGS_KEYS
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(())
}

/// Reads and validates the tenant's settings document.
pub async fn read_settings(client: &HttpClient, target: &Target) -> Result<Value, String> {
    let doc = get_json(client, target, crate::govapi::SETTINGS).await?;
    validate_settings(&doc, &target.tenant)?;
    Ok(doc)
}

/// Whether a key names a secret, as GovAPI hides them on GET (the mock's own rule).
pub fn is_secret_key(key: &str) -> bool {
    mock_govapi::gov::is_secret_key(key)
}

/// `v` without what a read back cannot be compared on: secrets (masked, omitted or empty
/// depending on the server), `updated_at`, and the harness's own lease.
pub fn comparable(v: &Value) -> Value {
    fn strip(v: &Value, top: bool) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| !is_secret_key(k))
                    .filter(|(k, _)| !(top && (*k == "updated_at" || *k == LEASE_KEY)))
                    .map(|(k, v)| (k.clone(), strip(v, false)))
                    .collect::<Map<_, _>>(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|i| strip(i, false)).collect()),
            other => other.clone(),
        }
    }
    strip(v, true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn list_shapes_the_vendor_clients_read_and_the_rest_refused() {
        let row = json!({"provider": "jamf"});
        assert_eq!(
            list_rows(&json!({"data": [row.clone()]}), "data").unwrap(),
            vec![row.clone()]
        );
        assert!(list_rows(&json!({"data": null}), "data")
            .unwrap()
            .is_empty());
        assert!(list_rows(&json!({"total": 0}), "data").unwrap().is_empty());
        assert_eq!(
            list_rows(&json!({"api_keys": [row.clone()]}), "api_keys").unwrap(),
            vec![row.clone()]
        );
        for bad in [
            json!([row.clone()]),
            json!({"providers": [row.clone()]}),
            json!({"data": {"jamf": row}}),
            json!({"error": "boom", "message": "x"}),
            json!("ok"),
        ] {
            assert!(list_rows(&bad, "data").is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_settings_document_of_this_tenant_only() {
        let ok = json!({"compliance_profile": "soc2", "updated_at": null});
        assert!(validate_settings(&ok, "acme").is_ok());
        assert!(validate_settings(&json!({"updated_at": null}), "acme").is_ok());
        for bad in [
            json!({}),
            json!({"ok": true}),
            json!([]),
            json!({"data": [], "total": 0}),
            json!({"error": "nope", "message": "x", "compliance_profile": "soc2"}),
            json!({"tenant_id": "globex", "compliance_profile": "soc2"}),
            json!({"webhook": "https://x"}),
        ] {
            assert!(validate_settings(&bad, "acme").is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn comparison_ignores_secrets_in_any_readback_form_and_the_lease() {
        let masked = json!({"webhook": {"url": "u", "secret": "********"}, "updated_at": "t1",
            LEASE_KEY: {"group": "g"}});
        let omitted = json!({"webhook": {"url": "u"}, "updated_at": "t2"});
        let empty = json!({"webhook": {"url": "u", "secret": ""}});
        assert_eq!(comparable(&masked), comparable(&omitted));
        assert_eq!(comparable(&masked), comparable(&empty));
        assert_ne!(
            comparable(&masked),
            comparable(&json!({"webhook": {"url": "other"}}))
        );
    }
}
