//! Profiles: which cases may run on this tenant, decided from the suite files alone,
//! before any request is sent.
//!
//! - `read-only` runs only `effect: read` cases that send nothing but GETs (a POST that
//!   only reads, like key authorize or a backfill dry run, is still a POST and is left
//!   out). A suite whose `setup` sends anything but a GET is left out whole: every case
//!   of a suite depends on its setup. Cleanup steps that write are not run (nothing was
//!   created).
//! - `staging` (default for live targets) runs everything the ledger can take back: a
//!   case (or a suite setup) that creates a record without an `undo` (an endpoint, which
//!   no route deletes) is left out.
//! - `full` (default for the mock) runs everything.

use serde::{Deserialize, Serialize};

use crate::suite::model::{Action, Case, Effect, Method, Request, ResourceKind, Step, Suite};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    ReadOnly,
    Staging,
    Full,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::ReadOnly => "read-only",
            Profile::Staging => "staging",
            Profile::Full => "full",
        }
    }

    /// The default for a target kind: `full` on the disposable mock, `staging` on a tenant.
    pub fn default_for(live: bool) -> Profile {
        if live {
            Profile::Staging
        } else {
            Profile::Full
        }
    }
}

fn writes(r: &Request) -> Option<String> {
    (r.method != Method::Get).then(|| format!("{} {}", r.method.as_str(), r.path))
}

/// The first action of `step` that is not a plain read, as "METHOD path". Decided from
/// the variant, and closed: a kind counts as a write unless it is known to only read.
/// thothctl argv says nothing reliable about what it changes, so a thothctl step is a
/// write here; read-only then keeps only thothctl cases whose commands are reads by
/// declaration (`effect: read`), see [`case_excluded`].
pub fn step_write(step: &Step) -> Option<String> {
    match &step.action {
        Action::Request(r) | Action::Admin(r) => writes(r),
        Action::PamCallback(_) => Some("POST (PAM callback)".into()),
        // Reads deliveries from the sink; sends nothing to the tenant.
        Action::SinkWait(_) => None,
        Action::Thothctl(t) => Some(format!("thothctl {}", t.args.join(" "))),
    }
}

pub fn first_write<'a>(steps: impl IntoIterator<Item = &'a Step>) -> Option<String> {
    steps.into_iter().find_map(step_write)
}

/// The first record kind in `steps` that the ledger cannot take back.
fn irreversible<'a>(steps: impl IntoIterator<Item = &'a Step>) -> Option<&'static str> {
    steps
        .into_iter()
        .flat_map(|s| &s.creates)
        .find(|c| c.undo.is_none() && c.kind != ResourceKind::Settings)
        .map(|c| c.kind.as_str())
}

/// Why the profile leaves out every case of `suite` (because of its setup), if it does.
pub fn suite_excluded(profile: Profile, suite: &Suite) -> Option<String> {
    match profile {
        Profile::Full => None,
        Profile::ReadOnly => first_write(&suite.setup).map(|w| {
            format!("profile read-only excludes this suite: its setup sends {w}")
        }),
        Profile::Staging => irreversible(&suite.setup).map(|k| {
            format!("profile staging excludes this suite: its setup creates records it cannot delete ({k})")
        }),
    }
}

/// Why the profile leaves out `case`, if it does.
pub fn case_excluded(profile: Profile, case: &Case) -> Option<String> {
    match profile {
        Profile::Full => None,
        Profile::ReadOnly => match case.effect {
            Effect::Mutate => Some("profile read-only excludes mutate cases".into()),
            Effect::External => Some("profile read-only excludes external cases".into()),
            Effect::Read => first_write(case.steps.iter().chain(&case.cleanup))
                .map(|w| format!("profile read-only excludes cases that send {w}")),
        },
        Profile::Staging => irreversible(&case.steps).map(|k| {
            format!("profile staging excludes cases that create records it cannot delete ({k}; use --profile full)")
        }),
    }
}

/// Cleanup steps the profile lets run: under read-only only reads (nothing was created).
pub fn cleanup_allowed(profile: Profile, step: &Step) -> bool {
    profile != Profile::ReadOnly || step_write(step).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite(yaml: &str) -> Suite {
        serde_saphyr::from_str(yaml).unwrap()
    }

    const SUITE: &str = r#"
phase: p
title: t
runbook: r
setup:
  - request: { method: PUT, path: /thoth/settings, json: {} }
    creates: [{ kind: settings }]
cases:
  - id: reads
    title: t
    capability: c
    effect: read
    steps:
      - request: { method: GET, path: /thoth/settings }
  - id: read_by_post
    title: t
    capability: c
    effect: read
    steps:
      - request: { method: POST, path: "/thoth/api-keys/{{k}}/authorize", json: {} }
  - id: key
    title: t
    capability: c
    effect: mutate
    steps:
      - request: { method: POST, path: /thoth/api-keys, json: {} }
        creates: [{ kind: api_key, id: "{{k}}", undo: { method: DELETE, path: "/thoth/api-keys/{{k}}" } }]
  - id: endpoint
    title: t
    capability: c
    effect: mutate
    steps:
      - request: { method: POST, path: /thoth/endpoints, json: {} }
        creates: [{ kind: endpoint, id: ep }]
  - id: webhook
    title: t
    capability: c
    effect: external
    steps:
      - request: { method: POST, path: /thoth/settings/webhook/test, json: {} }
"#;

    #[test]
    fn read_only_keeps_only_get_only_read_cases_and_drops_writing_setups() {
        let s = suite(SUITE);
        let why: Vec<Option<String>> = s
            .cases
            .iter()
            .map(|c| case_excluded(Profile::ReadOnly, c))
            .collect();
        assert_eq!(why[0], None);
        assert_eq!(
            why[1].as_deref(),
            Some("profile read-only excludes cases that send POST /thoth/api-keys/{{k}}/authorize")
        );
        assert_eq!(
            why[2].as_deref(),
            Some("profile read-only excludes mutate cases")
        );
        assert_eq!(
            why[4].as_deref(),
            Some("profile read-only excludes external cases")
        );
        assert_eq!(
            suite_excluded(Profile::ReadOnly, &s).as_deref(),
            Some("profile read-only excludes this suite: its setup sends PUT /thoth/settings")
        );
        assert!(!cleanup_allowed(Profile::ReadOnly, &s.setup[0]));
        assert!(cleanup_allowed(Profile::Staging, &s.setup[0]));
    }

    #[test]
    fn staging_drops_only_what_cannot_be_undone_and_full_drops_nothing() {
        let s = suite(SUITE);
        assert_eq!(
            suite_excluded(Profile::Staging, &s),
            None,
            "settings restore themselves"
        );
        let staging: Vec<bool> = s
            .cases
            .iter()
            .map(|c| case_excluded(Profile::Staging, c).is_some())
            .collect();
        assert_eq!(staging, vec![false, false, false, true, false]);
        assert!(s
            .cases
            .iter()
            .all(|c| case_excluded(Profile::Full, c).is_none()));
        assert_eq!(suite_excluded(Profile::Full, &s), None);
    }
}
