//! Named defect modes. Each one is the smallest change to the mock that breaks exactly one
//! property the runbook promises, so the harness's own tests can prove that a suite
//! catches it (a mutation test for the suites).

use std::fmt;
use std::str::FromStr;

macro_rules! faults {
    ($( $variant:ident => $name:literal, $description:literal; )*) => {
        /// A defect mode of the mock, named in kebab-case (`--fault NAME`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Fault {
            $( #[doc = $description] $variant, )*
        }

        impl Fault {
            /// Every fault, in declaration order.
            pub const ALL: &'static [Fault] = &[ $( Fault::$variant, )* ];

            /// The kebab-case name used on the command line and in the admin API.
            pub fn name(&self) -> &'static str {
                match self { $( Fault::$variant => $name, )* }
            }

            /// One sentence: which property this fault breaks.
            pub fn description(&self) -> &'static str {
                match self { $( Fault::$variant => $description, )* }
            }
        }
    };
}

faults! {
    SettingsNotPersisted => "settings-not-persisted",
        "Settings PUT answers 200 but the stored document is not changed.";
    SettingsFieldDropped => "settings-field-dropped",
        "Settings PUT stores pam.request_timeout_seconds as the server default (60), not as sent.";
    SettingsPutAnswers500 => "settings-put-answers-500",
        "Settings PUT stores the document but answers 500.";
    SecretsEchoed => "secrets-echoed",
        "Settings GET returns webhook, SIEM and PAM secrets in plaintext.";
    SecretsEchoedEncoded => "secrets-echoed-encoded",
        "Settings GETs return every set secret base64-encoded instead of hidden.";
    WebhookNeverDelivered => "webhook-never-delivered",
        "Webhook test reports delivered but no request is sent.";
    WebhookUnsigned => "webhook-unsigned",
        "Webhooks are sent without the timestamp and signature headers.";
    WebhookStaleTimestamp => "webhook-stale-timestamp",
        "Webhooks are correctly signed over a timestamp an hour old (a replayable delivery).";
    WebhookTestIgnoresDisabled => "webhook-test-ignores-disabled",
        "The webhook test delivers to the SIEM URL when `webhook` is disabled or has no URL, instead of refusing.";
    MdmSyncRefused => "mdm-sync-refused",
        "Starting an MDM sync answers 503.";
    MdmSyncStuck => "mdm-sync-stuck",
        "MDM sync jobs never leave the running state.";
    CheckinIgnoresStats => "checkin-ignores-stats",
        "Endpoint check-ins answer 200 but last_seen and stats do not change.";
    StatsInconsistent => "stats-inconsistent",
        "Endpoint stats count manually enrolled endpoints in total but in neither managed nor unmanaged.";
    EmptyListNull => "empty-list-null",
        "The endpoint list answers `\"data\": null` instead of `[]` when no row matches.";
    KeyScopeIgnored => "key-scope-ignored",
        "API key authorize reports scope_allowed=true for any resource.";
    KeyPermissionIgnored => "key-permission-ignored",
        "API key authorize reports permission_allowed=true for any permission.";
    RevokedKeyValid => "revoked-key-valid",
        "API key revoke answers 200 but the key stays valid.";
    TenantIsolationBroken => "tenant-isolation-broken",
        "Credentials of one tenant are accepted on another tenant's routes.";
    AuthNotEnforced => "auth-not-enforced",
        "Requests without any credentials are accepted as admin.";
    ReadonlyKeyCanMutate => "readonly-key-can-mutate",
        "Requests authenticated by a scoped API key skip the permission check.";
    PamBadSignatureAccepted => "pam-bad-signature-accepted",
        "PAM callbacks with a wrong or missing signature are accepted.";
    PamStaleTimestampAccepted => "pam-stale-timestamp-accepted",
        "PAM callbacks with a timestamp outside the allowed skew are accepted.";
    PamReplayReapplied => "pam-replay-reapplied",
        "A replayed PAM callback is applied again instead of being ignored.";
    PamRequestIdMismatchAccepted => "pam-request-id-mismatch-accepted",
        "A PAM callback whose request_id does not match the approval resolves it.";
    EvidenceSloBreached => "evidence-slo-breached",
        "Evidence SLO metrics report a breach although the evidence is complete.";
    FeedDropsDecisions => "feed-drops-decisions",
        "Governance decisions are not shown in the governance feed.";
    AlertsNotRaised => "alerts-not-raised",
        "Blocked decisions raise no alert.";
    StepUpCreatesNoApproval => "step-up-creates-no-approval",
        "A step_up decision creates no pending approval.";
    HoldNeverResolves => "hold-never-resolves",
        "A hold token stays pending whatever happens to its approval.";
    HoldAllowAfterDeny => "hold-allow-after-deny",
        "The hold of a denied approval resolves ALLOW.";
    EnforceIgnoresShadowPolicy => "enforce-ignores-shadow-policy",
        "POST /v1/enforce decides ALLOW for every in-scope call, whatever shadow_policy says.";
    StepUpOpensNoApproval => "step-up-opens-no-approval",
        "A STEP_UP answer of /v1/enforce carries a hold token but no approval is opened.";
    KeyScopeLevelIgnored => "key-scope-level-ignored",
        "API key authorize also allows any resource whose id equals the key's scope target, whatever its type (an agent key covers the endpoint of the same id).";
    KeyTtlIgnored => "key-ttl-ignored",
        "API keys created with ttl_seconds answer an expires_at but never expire.";
    NarrowKeyOnOrgRoutes => "narrow-key-on-org-routes",
        "Keys scoped narrower than the organization are served on organization-wide routes (settings, API keys, MDM).";
    KeyEscalationAllowed => "key-escalation-allowed",
        "An API key can create a key holding permissions it does not hold itself.";
    JsonContentTypeWrong => "json-content-type-wrong",
        "JSON success answers of tenant routes carry Content-Type: text/plain.";
    ErrorEnvelopeNested => "error-envelope-nested",
        "Error answers of tenant routes nest the envelope ({\"error\":{\"code\",\"message\"}}) instead of {\"error\",\"message\"}.";
    PagesSkipRow => "pages-skip-row",
        "The endpoint list serves at most 2 rows a page and starts each page one row past where the previous one ended (a row lost at every page boundary).";
    MdmSyncCountsNothing => "mdm-sync-counts-nothing",
        "Finished MDM sync jobs report 0 synced endpoints, whatever is enrolled with the provider.";
    StatsManagedUncounted => "stats-managed-uncounted",
        "Endpoint stats count MDM-enrolled endpoints as unmanaged (the counters still add up).";
    StatsOnlineSwapped => "stats-online-swapped",
        "Endpoint stats count checked-in endpoints as stale and the others as online (the counters still add up).";
    EvidenceSloScansNothing => "evidence-slo-scans-nothing",
        "The evidence SLO report scans no rows (every rate at its empty-window value) although the window holds decisions.";
    EvidenceSloBreachUnreported => "evidence-slo-breach-unreported",
        "The evidence SLO report shows chain verification below its threshold but answers passed with no failures.";
    BackfillDryRunWrites => "backfill-dry-run-writes",
        "An evidence backfill dry run creates the evidence records it reports as would_create.";
    ApprovalsStatusFilterIgnored => "approvals-status-filter-ignored",
        "The approvals list ignores `?status=` and answers every approval.";
    FeedAgentFilterIgnored => "feed-agent-filter-ignored",
        "The governance feed ignores `?agent_id=` and answers every agent's events.";
    ListsShowOtherTenants => "lists-show-other-tenants",
        "The feed, alerts and approvals lists include the rows of every tenant of the server.";
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name given is not one of [`Fault::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault `{0}` (see --list-faults)")]
pub struct UnknownFault(pub String);

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::ALL
            .iter()
            .copied()
            .find(|fault| fault.name() == s.trim())
            .ok_or_else(|| UnknownFault(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_round_trips_through_its_name() {
        for fault in Fault::ALL {
            assert_eq!(fault.name().parse::<Fault>(), Ok(*fault));
            assert_eq!(fault.to_string(), fault.name());
            assert!(fault.description().ends_with('.'));
        }
    }

    #[test]
    fn names_are_unique_kebab_case() {
        let mut names: Vec<_> = Fault::ALL.iter().map(Fault::name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Fault::ALL.len());
        assert!(names.iter().all(|n| n
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')));
    }

    #[test]
    fn unknown_name_is_an_error() {
        assert_eq!(
            "no-such-fault".parse::<Fault>(),
            Err(UnknownFault("no-such-fault".into()))
        );
    }
}
