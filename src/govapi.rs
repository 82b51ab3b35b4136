//! Where the GovAPI keeps each kind of record a run can create, as the vendor's clients
//! address it (Terraform provider, operator, SDKs; `docs/vendor-clients.md`): its
//! collection route, the field that keys it, how a run takes it back, and whether its
//! POST is an upsert. One row per kind, read by the undo allowlist, the ledger's read-
//! back, the snapshot of pre-existing rows and the retry policy: a new kind is one row
//! here, and the compiler lists every match that must learn it.

use crate::suite::model::ResourceKind;

/// How a run takes back a record of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UndoShape {
    /// `PUT <collection>` with the document read before the first mutation.
    PutDocument,
    /// `DELETE <collection>/<id>`.
    Delete,
    /// `POST <collection>` with a body keyed by the record's id (an upsert: disable it,
    /// or put the row read before the run back).
    Upsert,
    /// `POST <collection>/<id>/quarantine`: no route deletes the record, so it is
    /// retired and stays.
    Quarantine,
    /// `POST <collection>/<id>/resolve`: an approval the run opened is denied.
    Resolve,
}

/// One kind's place on the GovAPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindRoutes {
    /// The collection, relative to `{govapi_url}/{tenant}`.
    pub collection: &'static str,
    /// The field that names a row (and keys an upsert's body).
    pub key: &'static str,
    /// The envelope field of the collection's GET that holds the rows, where an undo
    /// is read back from the list. None: the undo's own status is all there is (the
    /// settings document, a quarantined endpoint, a resolved approval keep their rows).
    pub listed_under: Option<&'static str>,
    pub undo: UndoShape,
    /// Upserts that may overwrite a row the tenant already had: the fields of a row
    /// read before the run that its upsert accepts, so the row is put back as it was.
    /// Empty: the run's rows are its own (run-unique ids), nothing to put back.
    pub restore_fields: &'static [&'static str],
}

/// Fields of a provider row that its upsert accepts (the rest is server-computed).
const PROVIDER_FIELDS: &[&str] = &["provider", "name", "enabled", "config"];

/// The settings document's route.
pub const SETTINGS: &str = "/thoth/settings";

pub fn routes(kind: ResourceKind) -> KindRoutes {
    let row = |collection, key, listed_under, undo| KindRoutes {
        collection,
        key,
        listed_under,
        undo,
        restore_fields: &[],
    };
    match kind {
        ResourceKind::Settings => row(SETTINGS, "", None, UndoShape::PutDocument),
        ResourceKind::ApiKey => row(
            "/thoth/api-keys",
            "key_id",
            Some("api_keys"),
            UndoShape::Delete,
        ),
        ResourceKind::Fleet => row("/thoth/fleets", "fleet_id", Some("data"), UndoShape::Delete),
        ResourceKind::MdmProvider => KindRoutes {
            restore_fields: PROVIDER_FIELDS,
            ..row(
                "/thoth/mdm/providers",
                "provider",
                Some("data"),
                UndoShape::Upsert,
            )
        },
        ResourceKind::BrowserProvider => KindRoutes {
            restore_fields: PROVIDER_FIELDS,
            ..row(
                "/thoth/browser/providers",
                "provider",
                Some("data"),
                UndoShape::Upsert,
            )
        },
        ResourceKind::BrowserPolicy => row(
            "/thoth/browser/policies",
            "policy_id",
            Some("data"),
            UndoShape::Upsert,
        ),
        ResourceKind::BrowserEnrollment => row(
            "/thoth/browser/enrollments",
            "enrollment_id",
            Some("data"),
            UndoShape::Upsert,
        ),
        ResourceKind::Endpoint => row(
            "/thoth/endpoints",
            "endpoint_id",
            None,
            UndoShape::Quarantine,
        ),
        ResourceKind::Approval => row("/thoth/approvals", "approval_id", None, UndoShape::Resolve),
    }
}

impl KindRoutes {
    /// The undo request's path for record `id` (the collection for an upsert or the
    /// settings document).
    pub fn undo_path(&self, id: &str) -> String {
        match self.undo {
            UndoShape::PutDocument | UndoShape::Upsert => self.collection.to_owned(),
            UndoShape::Delete => format!("{}/{id}", self.collection),
            UndoShape::Quarantine => format!("{}/{id}/quarantine", self.collection),
            UndoShape::Resolve => format!("{}/{id}/resolve", self.collection),
        }
    }

    /// The undo's method.
    pub fn undo_method(&self) -> &'static str {
        match self.undo {
            UndoShape::PutDocument => "PUT",
            UndoShape::Delete => "DELETE",
            UndoShape::Upsert | UndoShape::Quarantine | UndoShape::Resolve => "POST",
        }
    }
}

/// Every kind, in declaration order.
pub const KINDS: [ResourceKind; 9] = [
    ResourceKind::Settings,
    ResourceKind::ApiKey,
    ResourceKind::MdmProvider,
    ResourceKind::BrowserProvider,
    ResourceKind::BrowserPolicy,
    ResourceKind::BrowserEnrollment,
    ResourceKind::Endpoint,
    ResourceKind::Approval,
    ResourceKind::Fleet,
];

/// The collections whose POST is an upsert keyed by the body (TF `UpsertMDMProvider`,
/// `UpsertBrowserProvider`, `UpsertBrowserPolicy`, `UpsertBrowserEnrollment`): the same
/// body sent twice leaves the same record, so the vendor retries them.
pub fn upsert_collections() -> impl Iterator<Item = &'static str> {
    KINDS
        .into_iter()
        .map(routes)
        .filter(|r| r.undo == UndoShape::Upsert)
        .map(|r| r.collection)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `KINDS` is every kind: a kind left out would have no retry or allowlist row.
    /// Read from the suite schema, which serde's own variant names make.
    #[test]
    fn kinds_lists_every_resource_kind() {
        let schema = serde_json::to_value(schemars::schema_for!(ResourceKind)).unwrap();
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        };
        let mut declared = strings(&schema["enum"]);
        for alt in schema["oneOf"].as_array().into_iter().flatten() {
            declared.extend(strings(&alt["enum"]));
            declared.extend(alt["const"].as_str().map(str::to_owned));
        }
        declared.sort();
        let mut listed: Vec<String> = KINDS.iter().map(|k| k.as_str().to_owned()).collect();
        listed.sort();
        assert_eq!(listed, declared);
    }

    #[test]
    fn undo_paths_follow_the_shape() {
        let p = |k| routes(k).undo_path("x1");
        assert_eq!(p(ResourceKind::ApiKey), "/thoth/api-keys/x1");
        assert_eq!(p(ResourceKind::Fleet), "/thoth/fleets/x1");
        assert_eq!(p(ResourceKind::Endpoint), "/thoth/endpoints/x1/quarantine");
        assert_eq!(p(ResourceKind::Approval), "/thoth/approvals/x1/resolve");
        assert_eq!(p(ResourceKind::MdmProvider), "/thoth/mdm/providers");
        assert_eq!(p(ResourceKind::Settings), "/thoth/settings");
        assert_eq!(
            upsert_collections().collect::<Vec<_>>(),
            [
                "/thoth/mdm/providers",
                "/thoth/browser/providers",
                "/thoth/browser/policies",
                "/thoth/browser/enrollments"
            ]
        );
    }
}
