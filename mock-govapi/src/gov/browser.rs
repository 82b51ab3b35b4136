//! Browser governance records (`T/browser/providers|policies|enrollments`): which
//! managed browsers exist, the policy bundles for them, and which device/user is
//! enrolled under which policy.

use crate::clock::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{keep_redacted, new_id, redact_secrets, GovError};

pub const PROVIDERS: [&str; 4] = ["chrome", "firefox", "safari", "island"];
pub const ENFORCEMENT_MODES: [&str; 2] = ["monitor", "enforce"];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrowserProvider {
    pub provider: String,
    pub name: String,
    pub enabled: bool,
    pub config: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl BrowserProvider {
    /// The provider as GET shows it: secrets in its config redacted.
    pub fn view(&self) -> Value {
        let mut shown = serde_json::to_value(self).unwrap_or(Value::Null);
        shown["config"] = redact_secrets(&self.config);
        shown
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrowserPolicy {
    pub policy_id: String,
    pub provider: String,
    pub name: String,
    pub enforcement_mode: String,
    pub policy: Value,
    pub active: bool,
    pub version: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrowserEnrollment {
    pub enrollment_id: String,
    pub device_id: String,
    pub user_id: String,
    pub provider: String,
    pub policy_id: Option<String>,
    pub status: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderBody {
    provider: String,
    name: Option<String>,
    enabled: Option<bool>,
    config: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyBody {
    policy_id: Option<String>,
    provider: String,
    name: String,
    enforcement_mode: Option<String>,
    policy: Option<Value>,
    active: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollmentBody {
    enrollment_id: Option<String>,
    device_id: String,
    user_id: String,
    provider: String,
    policy_id: Option<String>,
    status: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct BrowserState {
    pub providers: Vec<BrowserProvider>,
    pub policies: Vec<BrowserPolicy>,
    pub enrollments: Vec<BrowserEnrollment>,
}

fn read<T: for<'de> Deserialize<'de>>(what: &str, body: Value) -> Result<T, GovError> {
    serde_json::from_value(body)
        .map_err(|e| GovError::bad_request("invalid_request", format!("read {what}: {e}")))
}

fn required(what: &str, field: &str, value: &str) -> Result<(), GovError> {
    if value.trim().is_empty() {
        return Err(GovError::bad_request(
            "invalid_request",
            format!("read {what}: {field} must not be empty"),
        ));
    }
    Ok(())
}

fn object(what: &str, field: &str, value: Option<Value>) -> Result<Value, GovError> {
    match value.unwrap_or_else(|| Value::Object(Default::default())) {
        object @ Value::Object(_) => Ok(object),
        _ => Err(GovError::bad_request(
            "invalid_request",
            format!("read {what}: {field} must be a JSON object"),
        )),
    }
}

fn known_provider(what: &str, provider: &str) -> Result<(), GovError> {
    if PROVIDERS.contains(&provider) {
        return Ok(());
    }
    Err(GovError::bad_request(
        "invalid_provider",
        format!("read {what}: unknown browser provider {provider:?} (expected chrome, firefox, safari or island)"),
    ))
}

impl BrowserState {
    fn registered(&self, what: &str, provider: &str) -> Result<(), GovError> {
        known_provider(what, provider)?;
        if self.providers.iter().any(|p| p.provider == provider) {
            return Ok(());
        }
        Err(GovError::conflict(
            "provider_not_registered",
            format!(
                "upsert {what}: browser provider {provider:?} is not registered; upsert it first"
            ),
        ))
    }

    /// Upserts by `provider`; returns the stored record and whether it was created.
    pub fn upsert_provider(
        &mut self,
        body: Value,
        now: Timestamp,
    ) -> Result<(BrowserProvider, bool), GovError> {
        const WHAT: &str = "browser provider";
        let body: ProviderBody = read(WHAT, body)?;
        known_provider(WHAT, &body.provider)?;
        let mut config = object(WHAT, "config", body.config)?;
        if let Some(existing) = self
            .providers
            .iter_mut()
            .find(|p| p.provider == body.provider)
        {
            keep_redacted(&mut config, &existing.config);
            existing.config = config;
            if let Some(name) = body.name {
                existing.name = name;
            }
            if let Some(enabled) = body.enabled {
                existing.enabled = enabled;
            }
            existing.updated_at = now;
            return Ok((existing.clone(), false));
        }
        let record = BrowserProvider {
            name: body.name.unwrap_or_else(|| body.provider.clone()),
            provider: body.provider,
            enabled: body.enabled.unwrap_or(true),
            config,
            created_at: now,
            updated_at: now,
        };
        self.providers.push(record.clone());
        Ok((record, true))
    }

    /// Upserts by `policy_id`, or by (provider, name) when no id is given, which is
    /// how `thothctl browser policies upsert --provider --name` addresses a policy.
    pub fn upsert_policy(
        &mut self,
        body: Value,
        now: Timestamp,
    ) -> Result<(BrowserPolicy, bool), GovError> {
        const WHAT: &str = "browser policy";
        let body: PolicyBody = read(WHAT, body)?;
        required(WHAT, "name", &body.name)?;
        self.registered(WHAT, &body.provider)?;
        let mode = body
            .enforcement_mode
            .unwrap_or_else(|| "monitor".to_owned());
        if !ENFORCEMENT_MODES.contains(&mode.as_str()) {
            return Err(GovError::bad_request(
                "invalid_enforcement_mode",
                format!(
                    "read {WHAT}: unknown enforcement_mode {mode:?} (expected monitor or enforce)"
                ),
            ));
        }
        let policy = object(WHAT, "policy", body.policy)?;
        let existing = self.policies.iter_mut().find(|p| match &body.policy_id {
            Some(id) => &p.policy_id == id,
            None => p.provider == body.provider && p.name == body.name,
        });
        if let Some(existing) = existing {
            existing.provider = body.provider;
            existing.name = body.name;
            existing.enforcement_mode = mode;
            existing.policy = policy;
            existing.active = body.active.unwrap_or(existing.active);
            existing.version += 1;
            existing.updated_at = now;
            return Ok((existing.clone(), false));
        }
        let record = BrowserPolicy {
            policy_id: body.policy_id.unwrap_or_else(|| new_id("bpol")),
            provider: body.provider,
            name: body.name,
            enforcement_mode: mode,
            policy,
            active: body.active.unwrap_or(true),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        self.policies.push(record.clone());
        Ok((record, true))
    }

    /// Upserts by `enrollment_id`, or by (device, provider) when no id is given: a
    /// device has one enrollment per browser.
    pub fn upsert_enrollment(
        &mut self,
        body: Value,
        now: Timestamp,
    ) -> Result<(BrowserEnrollment, bool), GovError> {
        const WHAT: &str = "browser enrollment";
        let body: EnrollmentBody = read(WHAT, body)?;
        required(WHAT, "device_id", &body.device_id)?;
        required(WHAT, "user_id", &body.user_id)?;
        self.registered(WHAT, &body.provider)?;
        if let Some(policy_id) = &body.policy_id {
            let policy = self
                .policies
                .iter()
                .find(|p| &p.policy_id == policy_id)
                .ok_or_else(|| {
                    GovError::conflict(
                        "policy_not_found",
                        format!("upsert {WHAT}: browser policy {policy_id:?} does not exist"),
                    )
                })?;
            if policy.provider != body.provider {
                return Err(GovError::conflict(
                    "policy_provider_mismatch",
                    format!(
                        "upsert {WHAT}: policy {policy_id:?} is for {}, not {}",
                        policy.provider, body.provider
                    ),
                ));
            }
        }
        let status = body.status.unwrap_or_else(|| "active".to_owned());
        if !["active", "revoked"].contains(&status.as_str()) {
            return Err(GovError::bad_request(
                "invalid_request",
                format!("read {WHAT}: unknown status {status:?} (expected active or revoked)"),
            ));
        }
        let existing = self
            .enrollments
            .iter_mut()
            .find(|e| match &body.enrollment_id {
                Some(id) => &e.enrollment_id == id,
                None => e.device_id == body.device_id && e.provider == body.provider,
            });
        if let Some(existing) = existing {
            existing.device_id = body.device_id;
            existing.user_id = body.user_id;
            existing.provider = body.provider;
            existing.policy_id = body.policy_id;
            existing.status = status;
            existing.updated_at = now;
            return Ok((existing.clone(), false));
        }
        let record = BrowserEnrollment {
            enrollment_id: body.enrollment_id.unwrap_or_else(|| new_id("benr")),
            device_id: body.device_id,
            user_id: body.user_id,
            provider: body.provider,
            policy_id: body.policy_id,
            status,
            created_at: now,
            updated_at: now,
        };
        self.enrollments.push(record.clone());
        Ok((record, true))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    const NOW: Timestamp = Timestamp(datetime!(2026-11-24 12:00 UTC));

    fn with_chrome() -> BrowserState {
        let mut state = BrowserState::default();
        state
            .upsert_provider(json!({"provider": "chrome", "name": "Chrome Enterprise", "config": {"enrollment_token": "tok"}}), NOW)
            .unwrap();
        state
    }

    #[test]
    fn providers_upsert_by_name_and_hide_secrets() {
        let mut state = with_chrome();
        let (updated, created) = state
            .upsert_provider(json!({"provider": "chrome", "config": {"enrollment_token": super::super::REDACTED, "ou": "eng"}}), NOW)
            .unwrap();
        assert!(!created);
        assert_eq!(updated.name, "Chrome Enterprise");
        assert_eq!(
            updated.config["enrollment_token"], "tok",
            "redacted echo keeps the secret"
        );
        assert_eq!(state.providers.len(), 1);
        assert_eq!(
            updated.view()["config"]["enrollment_token"],
            super::super::REDACTED
        );
        let err = state
            .upsert_provider(json!({"provider": "edge"}), NOW)
            .unwrap_err();
        assert_eq!((err.status, err.code), (400, "invalid_provider"));
        assert_eq!(
            state
                .upsert_provider(json!({"name": "x"}), NOW)
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn policies_need_a_registered_provider_and_a_known_mode() {
        let mut state = with_chrome();
        let body = json!({"provider": "chrome", "name": "chrome-baseline-v1", "enforcement_mode": "enforce", "policy": {"ExtensionSettings": {}}});
        let (first, created) = state.upsert_policy(body.clone(), NOW).unwrap();
        assert!(created);
        let (second, created) = state.upsert_policy(body, NOW).unwrap();
        assert!(!created);
        assert_eq!((second.policy_id, second.version), (first.policy_id, 2));

        let err = state
            .upsert_policy(json!({"provider": "firefox", "name": "p"}), NOW)
            .unwrap_err();
        assert_eq!((err.status, err.code), (409, "provider_not_registered"));
        let err = state
            .upsert_policy(json!({"provider": "opera", "name": "p"}), NOW)
            .unwrap_err();
        assert_eq!((err.status, err.code), (400, "invalid_provider"));
        let err = state
            .upsert_policy(
                json!({"provider": "chrome", "name": "p", "enforcement_mode": "block"}),
                NOW,
            )
            .unwrap_err();
        assert_eq!(err.code, "invalid_enforcement_mode");
        let err = state
            .upsert_policy(
                json!({"provider": "chrome", "name": "p", "policy": []}),
                NOW,
            )
            .unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(state.policies.len(), 1);
    }

    #[test]
    fn enrollments_reference_existing_policies_of_their_provider() {
        let mut state = with_chrome();
        state
            .upsert_provider(json!({"provider": "firefox"}), NOW)
            .unwrap();
        let (policy, _) = state
            .upsert_policy(json!({"provider": "chrome", "name": "base"}), NOW)
            .unwrap();
        let body = json!({"device_id": "tim-mac-01", "user_id": "tim@example.com", "provider": "chrome", "policy_id": policy.policy_id});
        let (first, created) = state.upsert_enrollment(body.clone(), NOW).unwrap();
        assert!(created);
        assert_eq!(first.status, "active");
        let (again, created) = state.upsert_enrollment(body, NOW).unwrap();
        assert!(!created, "same device and browser is the same enrollment");
        assert_eq!(again.enrollment_id, first.enrollment_id);

        let err = state
            .upsert_enrollment(json!({"device_id": "d", "user_id": "u", "provider": "chrome", "policy_id": "nope"}), NOW)
            .unwrap_err();
        assert_eq!((err.status, err.code), (409, "policy_not_found"));
        let err = state
            .upsert_enrollment(json!({"device_id": "d", "user_id": "u", "provider": "firefox", "policy_id": policy.policy_id}), NOW)
            .unwrap_err();
        assert_eq!(err.code, "policy_provider_mismatch");
        let err = state
            .upsert_enrollment(
                json!({"device_id": "d", "user_id": "u", "provider": "safari"}),
                NOW,
            )
            .unwrap_err();
        assert_eq!(err.code, "provider_not_registered");
        let err = state
            .upsert_enrollment(
                json!({"device_id": "", "user_id": "u", "provider": "chrome"}),
                NOW,
            )
            .unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(state.enrollments.len(), 1);
    }
}
