//! The only undo requests the harness sends: the ones it can produce itself, per record
//! kind, under this tenant's base. A ledger is a file on disk; `cleanup --ledger` replays
//! it with admin credentials, so a tampered one must not reach `/__admin/reset`, another
//! tenant (`/../globex/...`), or any route the harness never undoes through.

use serde_json::Value;

use super::ledger::{Created, UndoRequest};
use super::snapshot::validate_settings;
use crate::govapi::{self, UndoShape};

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
    let routes = govapi::routes(c.kind);
    let (method, collection) = (routes.undo_method(), routes.collection);
    let kind = c.kind.as_str();
    match routes.undo {
        UndoShape::PutDocument => {
            if undo.method != method || undo.path != collection {
                return Some(format!("the {kind} are restored by {method} {collection}"));
            }
            match &undo.body {
                // A fresh tenant's document is `{}` once `updated_at` is dropped.
                Some(doc) if doc.as_object().is_some_and(|o| o.is_empty()) => None,
                Some(doc) => validate_settings(doc, tenant).err(),
                None => Some("a settings restore needs the document".into()),
            }
        }
        UndoShape::Upsert => {
            if undo.method != method || undo.path != collection {
                return Some(format!("a {kind} is undone by {method} {collection}"));
            }
            let key = routes.key;
            match undo
                .body
                .as_ref()
                .and_then(|b| b.get(key))
                .and_then(Value::as_str)
            {
                Some(v) if v == c.id && is_plain_id(v) => None,
                _ => Some(format!(
                    "the undo body's `{key}` must be the record's id `{}`",
                    c.id
                )),
            }
        }
        // Deleted, retired (no route deletes an endpoint: the run's canary is
        // quarantined) or closed (a step-up approval the run opened is denied): by the
        // record's own route, under a plain id.
        UndoShape::Delete | UndoShape::Quarantine | UndoShape::Resolve => {
            let expected = routes.undo_path(&c.id);
            (undo.method != method || undo.path != expected || !is_plain_id(&c.id)).then(|| {
                format!(
                    "a {kind} is undone by {method} {}",
                    routes.undo_path("<its plain id>")
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::suite::model::ResourceKind;

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
