//! SIEM, PAM and SOAR integrations (`G/integrations`): seed 003 names the routes
//! (create, list, sync); their shape is this project's choice (contract [C]).

use crate::clock::Timestamp;
use crate::secrets::{keep_config, SecretReadback, Secrets};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::book::{Book, NoFilter, Record};
use super::{new_id, GovError, GovState};

pub const KINDS: [&str; 3] = ["siem", "pam", "soar"];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Integration {
    pub integration_id: String,
    pub kind: String,
    pub provider: String,
    pub name: String,
    pub enabled: bool,
    pub config: Value,
    pub status: String,
    pub sync_count: u32,
    pub last_sync_at: Option<Timestamp>,
    pub last_sync_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Integration {
    /// The integration as the API shows it: secrets in its config hidden.
    pub fn view(&self) -> Value {
        let mut shown = serde_json::to_value(self).unwrap_or(Value::Null);
        shown["config"] = Secrets::Named.hide(&self.config, SecretReadback::Mask);
        shown
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationBody {
    integration_id: Option<String>,
    kind: String,
    provider: String,
    name: String,
    enabled: Option<bool>,
    config: Option<Value>,
}

/// Answer of `POST G/integrations/{id}/sync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncReceipt {
    pub status: &'static str,
    pub integration_id: String,
    pub kind: String,
    pub provider: String,
    pub sync_id: String,
    pub requested_at: String,
}

/// The integrations of a tenant, in the order they were created.
pub type IntegrationBook = Book<Integration>;

fn invalid(message: String) -> GovError {
    GovError::bad_request("invalid_request", message)
}

/// Created, or updated when `integration_id` names an existing one.
impl Record for Integration {
    type Filter = NoFilter;
    /// The body and its config as an object.
    type Input = (IntegrationBody, Value);

    fn book(gov: &mut GovState) -> &mut Book<Self> {
        &mut gov.integrations
    }

    fn read(body: Value, _: &GovState) -> Result<Self::Input, GovError> {
        let body: IntegrationBody =
            serde_json::from_value(body).map_err(|e| invalid(format!("read integration: {e}")))?;
        if !KINDS.contains(&body.kind.as_str()) {
            return Err(GovError::bad_request(
                "invalid_kind",
                format!(
                    "read integration: unknown kind {:?} (expected siem, pam or soar)",
                    body.kind
                ),
            ));
        }
        for (field, value) in [("provider", &body.provider), ("name", &body.name)] {
            if value.trim().is_empty() {
                return Err(invalid(format!(
                    "read integration: {field} must not be empty"
                )));
            }
        }
        let config = match body
            .config
            .clone()
            .unwrap_or_else(|| Value::Object(Default::default()))
        {
            object @ Value::Object(_) => object,
            _ => {
                return Err(invalid(
                    "read integration: config must be a JSON object".into(),
                ))
            }
        };
        Ok((body, config))
    }

    fn addressed_by(&self, (body, _): &Self::Input) -> bool {
        body.integration_id.as_ref() == Some(&self.integration_id)
    }

    fn update(
        &mut self,
        (body, mut config): Self::Input,
        now: Timestamp,
        secrets: SecretReadback,
    ) -> Result<(), GovError> {
        if self.kind != body.kind {
            return Err(GovError::conflict(
                "kind_mismatch",
                format!(
                    "update integration {:?}: it is a {} integration, not {}",
                    self.integration_id, self.kind, body.kind
                ),
            ));
        }
        keep_config(&mut config, body.config.is_some(), &self.config, secrets);
        self.provider = body.provider;
        self.name = body.name;
        self.enabled = body.enabled.unwrap_or(self.enabled);
        self.config = config;
        self.updated_at = now;
        Ok(())
    }

    fn create((body, config): Self::Input, now: Timestamp) -> Self {
        Integration {
            integration_id: body.integration_id.unwrap_or_else(|| new_id("int")),
            kind: body.kind,
            provider: body.provider,
            name: body.name,
            enabled: body.enabled.unwrap_or(true),
            config,
            status: "configured".to_owned(),
            sync_count: 0,
            last_sync_at: None,
            last_sync_id: None,
            created_at: now,
            updated_at: now,
        }
    }

    fn view(&self) -> Value {
        Integration::view(self)
    }
}

impl Book<Integration> {
    /// Starts a sync: recorded on the integration and acknowledged as accepted.
    pub fn sync(&mut self, integration_id: &str, now: Timestamp) -> Result<SyncReceipt, GovError> {
        let item = self
            .find_mut(|i| i.integration_id == integration_id)
            .ok_or_else(|| {
                GovError::not_found(
                    "integration_not_found",
                    format!("find integration {integration_id:?}"),
                )
            })?;
        if !item.enabled {
            return Err(GovError::conflict(
                "integration_disabled",
                format!("sync integration {integration_id:?}: it is disabled"),
            ));
        }
        let sync_id = new_id("isync");
        item.sync_count += 1;
        item.last_sync_at = Some(now);
        item.last_sync_id = Some(sync_id.clone());
        item.status = "syncing".to_owned();
        Ok(SyncReceipt {
            status: "accepted",
            integration_id: item.integration_id.clone(),
            kind: item.kind.clone(),
            provider: item.provider.clone(),
            sync_id,
            requested_at: now.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::gov::book::upsert;

    fn up(gov: &mut GovState, body: Value) -> Result<(Integration, bool), GovError> {
        upsert::<Integration>(gov, body, NOW, SecretReadback::Mask)
    }

    const NOW: Timestamp = Timestamp(datetime!(2026-11-24 12:00 UTC));

    #[test]
    fn create_list_update_and_sync() {
        let mut gov = GovState::default();
        let body = json!({"kind": "siem", "provider": "splunk", "name": "Splunk HEC", "config": {"url": "https://hec", "hec_token": "t0k"}});
        let (created, is_new) = up(&mut gov, body).unwrap();
        assert!(is_new);
        assert!(!created.view().to_string().contains("t0k"));
        assert_eq!(gov.integrations.rows().len(), 1);

        let update = json!({"integration_id": created.integration_id, "kind": "siem", "provider": "splunk", "name": "renamed", "config": {"url": "https://hec", "hec_token": crate::secrets::MASK}});
        let (updated, is_new) = up(&mut gov, update).unwrap();
        assert!(!is_new);
        assert_eq!(updated.name, "renamed");
        assert_eq!(updated.config["hec_token"], "t0k");

        let receipt = gov.integrations.sync(&created.integration_id, NOW).unwrap();
        assert_eq!(receipt.status, "accepted");
        assert_eq!(gov.integrations.rows()[0].sync_count, 1);
        assert_eq!(
            gov.integrations.rows()[0].last_sync_id.as_ref(),
            Some(&receipt.sync_id)
        );
        assert_eq!(
            gov.integrations
                .sync("int-missing", NOW)
                .unwrap_err()
                .status,
            404
        );
    }

    #[test]
    fn invalid_integrations_are_refused() {
        let mut gov = GovState::default();
        for (body, code) in [
            (
                json!({"kind": "mdm", "provider": "jamf", "name": "x"}),
                "invalid_kind",
            ),
            (
                json!({"kind": "pam", "provider": "", "name": "x"}),
                "invalid_request",
            ),
            (
                json!({"kind": "pam", "provider": "cyberark", "name": "x", "config": "s"}),
                "invalid_request",
            ),
            (
                json!({"kind": "pam", "provider": "cyberark"}),
                "invalid_request",
            ),
        ] {
            assert_eq!(up(&mut gov, body).unwrap_err().code, code);
        }
        let (pam, _) = up(&mut gov, json!({"integration_id": "int-pam", "kind": "pam", "provider": "cyberark", "name": "PAM", "enabled": false}))
            .unwrap();
        assert_eq!(pam.integration_id, "int-pam");
        assert_eq!(
            gov.integrations.sync("int-pam", NOW).unwrap_err().code,
            "integration_disabled"
        );
        let err = up(
            &mut gov,
            json!({"integration_id": "int-pam", "kind": "soar", "provider": "x", "name": "y"}),
        )
        .unwrap_err();
        assert_eq!((err.status, err.code), (409, "kind_mismatch"));
    }
}
