//! Fault modes: defects the stand-in can be told to have (env `THOTHCTL_SIM_FAULT`,
//! comma-separated), so the kill matrix proves the thothctl cases catch a lying CLI
//! and not only a lying server.

use std::collections::BTreeSet;

use crate::api::Env;

pub const FAULT_ENV: &str = "THOTHCTL_SIM_FAULT";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// `bootstrap` skips the settings PUT and reports `settings_updated:false`, exit 0.
    BootstrapSettingsNotUpdated,
    /// `bootstrap` prints the webhook secret it was given in its JSON.
    BootstrapEchoesWebhookSecret,
    /// `api-keys revoke` reports the key revoked without sending the DELETE.
    ApiKeysRevokeNoop,
    /// `pam callback --dry-run` sends the callback anyway.
    PamDryRunSends,
    /// `endpoints list` prints an empty list whatever GovAPI answers.
    EndpointsListEmpty,
}

impl Fault {
    pub const ALL: &'static [Fault] = &[
        Fault::BootstrapSettingsNotUpdated,
        Fault::BootstrapEchoesWebhookSecret,
        Fault::ApiKeysRevokeNoop,
        Fault::PamDryRunSends,
        Fault::EndpointsListEmpty,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::BootstrapSettingsNotUpdated => "bootstrap-settings-not-updated",
            Fault::BootstrapEchoesWebhookSecret => "bootstrap-echoes-webhook-secret",
            Fault::ApiKeysRevokeNoop => "api-keys-revoke-noop",
            Fault::PamDryRunSends => "pam-dry-run-sends",
            Fault::EndpointsListEmpty => "endpoints-list-empty",
        }
    }
}

pub type Faults = BTreeSet<Fault>;

pub fn from_env(env: Env<'_>) -> Result<Faults, String> {
    let Some(list) = env(FAULT_ENV) else {
        return Ok(Faults::new());
    };
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            Fault::ALL
                .iter()
                .copied()
                .find(|f| f.name() == name)
                .ok_or_else(|| {
                    let known: Vec<_> = Fault::ALL.iter().map(|f| f.name()).collect();
                    format!(
                        "read {FAULT_ENV}: unknown fault `{name}` (known: {})",
                        known.join(", ")
                    )
                })
        })
        .collect()
}
