//! The only undo requests the harness sends: the ones it can produce itself, per record
//! kind, under this tenant's base. A ledger is a file on disk; `cleanup --ledger` replays
//! it with admin credentials, so a tampered one must not reach `/__admin/reset`, another
//! tenant (`/../globex/...`), or any route the harness never undoes through.

use serde_json::Value;

use super::ledger::{Created, UndoRequest};
use super::snapshot::validate_settings;
use crate::suite::model::ResourceKind;

/// An id as the harness's records carry them: letters, digits and `_ - . :`, no `..`.
pub fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && !id.contains("..")
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '@'))
}

/// Why this entry's undo is not one the harness would send (None: it may be sent).
pub fn refuse(c: &Created, undo: &UndoRequest, tenant: &str) -> Option<String> {
    let body_field = |f: &str| {
        undo.body
            .as_ref()
            .and_then(|b| b.get(f))
            .and_then(Value::as_str)
    };
    let upsert = |path: &str, key: &str| -> Option<String> {
        if undo.method != "POST" || undo.path != path {
            return Some(format!("a {} is undone by POST {path}", c.kind.as_str()));
        }
        match body_field(key) {
            Some(v) if v == c.id && is_plain_id(v) => None,
            _ => Some(format!(
                "the undo body's `{key}` must be the record's id `{}`",
                c.id
            )),
        }
    };
    match c.kind {
        ResourceKind::Settings => {
            if undo.method != "PUT" || undo.path != "/thoth/settings" {
                return Some("the settings are restored by PUT /thoth/settings".into());
            }
            match &undo.body {
                // A fresh tenant's document is `{}` once `updated_at` is dropped.
                Some(doc) if doc.as_object().is_some_and(|o| o.is_empty()) => None,
                Some(doc) => validate_settings(doc, tenant).err(),
                None => Some("a settings restore needs the document".into()),
            }
        }
        ResourceKind::Fleet => {
            let expected = format!("/thoth/fleets/{}", c.id);
            (undo.method != "DELETE" || undo.path != expected || !is_plain_id(&c.id))
                .then(|| "a fleet is undone by DELETE /thoth/fleets/<its plain id>".into())
        }
        ResourceKind::ApiKey => {
            let expected = format!("/thoth/api-keys/{}", c.id);
            (undo.method != "DELETE" || undo.path != expected || !is_plain_id(&c.id))
                .then(|| "an api_key is undone by DELETE /thoth/api-keys/<its plain id>".into())
        }
        ResourceKind::MdmProvider => upsert("/thoth/mdm/providers", "provider"),
        ResourceKind::BrowserProvider => upsert("/thoth/browser/providers", "provider"),
        ResourceKind::BrowserPolicy => upsert("/thoth/browser/policies", "policy_id"),
        ResourceKind::BrowserEnrollment => upsert("/thoth/browser/enrollments", "enrollment_id"),
        // Endpoints cannot be deleted: the run's canary is retired by quarantine.
        ResourceKind::Endpoint => {
            let expected = format!("/thoth/endpoints/{}/quarantine", c.id);
            (undo.method != "POST" || undo.path != expected || !is_plain_id(&c.id)).then(|| {
                "an endpoint is retired by POST /thoth/endpoints/<its plain id>/quarantine".into()
            })
        }
        // A step-up approval the run opened is closed by denying it.
        ResourceKind::Approval => {
            let expected = format!("/thoth/approvals/{}/resolve", c.id);
            (undo.method != "POST" || undo.path != expected || !is_plain_id(&c.id)).then(|| {
                "an approval is closed by POST /thoth/approvals/<its plain id>/resolve".into()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entry(
        kind: ResourceKind,
        id: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (Created, UndoRequest) {
        let undo = UndoRequest {
            method: method.into(),
            path: path.into(),
            body,
            ok_status: Vec::new(),
        };
        let c = Created {
            seq: 1,
            kind,
            id: id.into(),
            phase: None,
            case: None,
            step: None,
            at: "x".into(),
            undo: Some(undo.clone()),
            note: None,
            lost: None,
        };
        (c, undo)
    }

    #[test]
    fn only_the_harness_own_undos_pass() {
        let ok = [
            entry(
                ResourceKind::ApiKey,
                "key_1",
                "DELETE",
                "/thoth/api-keys/key_1",
                None,
            ),
            entry(
                ResourceKind::MdmProvider,
                "jamf",
                "POST",
                "/thoth/mdm/providers",
                Some(json!({"provider": "jamf", "enabled": false})),
            ),
            entry(
                ResourceKind::Settings,
                "settings",
                "PUT",
                "/thoth/settings",
                Some(json!({"compliance_profile": "soc2"})),
            ),
            entry(
                ResourceKind::Fleet,
                "conformance-fleet-r1",
                "DELETE",
                "/thoth/fleets/conformance-fleet-r1",
                None,
            ),
        ];
        for (c, u) in &ok {
            assert_eq!(refuse(c, u, "acme"), None, "{c:?}");
        }
        let bad = [
            entry(
                ResourceKind::ApiKey,
                "key_1",
                "DELETE",
                "/../globex/thoth/api-keys/key_1",
                None,
            ),
            entry(
                ResourceKind::ApiKey,
                "..",
                "DELETE",
                "/thoth/api-keys/..",
                None,
            ),
            entry(ResourceKind::ApiKey, "x", "POST", "/__admin/reset", None),
            entry(
                ResourceKind::MdmProvider,
                "jamf",
                "POST",
                "/thoth/mdm/providers/../../__admin/reset",
                Some(json!({"provider": "jamf"})),
            ),
            entry(
                ResourceKind::MdmProvider,
                "jamf",
                "POST",
                "/thoth/mdm/providers",
                Some(json!({"provider": "intune"})),
            ),
            entry(
                ResourceKind::Settings,
                "settings",
                "PUT",
                "/thoth/settings",
                Some(json!({"ok": true})),
            ),
            entry(
                ResourceKind::Settings,
                "settings",
                "PUT",
                "/thoth/settings",
                Some(json!({"tenant_id": "globex", "compliance_profile": "soc2"})),
            ),
            entry(
                ResourceKind::Endpoint,
                "ep",
                "DELETE",
                "/thoth/endpoints/ep",
                None,
            ),
            // A fleet's undo deletes that fleet and nothing else.
            entry(
                ResourceKind::Fleet,
                "fleet-a",
                "DELETE",
                "/thoth/fleets/fleet-b",
                None,
            ),
            entry(
                ResourceKind::Fleet,
                "fleet-a",
                "PUT",
                "/thoth/fleets/fleet-a",
                Some(json!({"name": "x"})),
            ),
            entry(
                ResourceKind::Fleet,
                "..",
                "DELETE",
                "/thoth/fleets/..",
                None,
            ),
            entry(
                ResourceKind::Fleet,
                "fleet-a",
                "DELETE",
                "/../globex/thoth/fleets/fleet-a",
                None,
            ),
        ];
        for (c, u) in &bad {
            assert!(refuse(c, u, "acme").is_some(), "{c:?} {u:?}");
        }
    }
}
