//! The approval queue: step-up decisions wait here until an admin or a signed PAM
//! callback resolves them.

use crate::clock::Timestamp;
use serde::{Deserialize, Serialize};

use super::events::RiskTier;
use super::replay::{ReplayCache, ReplayKey};
use super::GovError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Denied,
    /// Nobody decided before `expires_at` (Pulumi `getDecisions` resolution `expired`).
    Expired,
}

impl ApprovalStatus {
    pub fn parse(text: &str) -> Result<Self, GovError> {
        match text {
            "pending" => Ok(ApprovalStatus::Pending),
            "approved" => Ok(ApprovalStatus::Approved),
            "denied" => Ok(ApprovalStatus::Denied),
            "expired" => Ok(ApprovalStatus::Expired),
            other => Err(GovError::bad_request(
                "invalid_status",
                format!("filter approvals: unknown status {other:?} (expected pending, approved, denied or expired)"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Denied => "denied",
            ApprovalStatus::Expired => "expired",
        }
    }
}

/// What a resolver decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Approve,
    Deny,
}

impl Resolution {
    pub fn parse(text: &str) -> Result<Self, GovError> {
        // `approved` and `blocked` are what Terraform 0.1.15 also allows
        // (`approval_decision_resource.go`: OneOf("approve","deny","approved","blocked")).
        match text {
            "approve" | "approved" => Ok(Resolution::Approve),
            "deny" | "blocked" => Ok(Resolution::Deny),
            other => Err(GovError::bad_request(
                "invalid_decision",
                format!("resolve approval: unknown decision {other:?} (expected approve, deny, approved or blocked)"),
            )),
        }
    }

    pub fn status(self) -> ApprovalStatus {
        match self {
            Resolution::Approve => ApprovalStatus::Approved,
            Resolution::Deny => ApprovalStatus::Denied,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub approval_id: String,
    pub request_id: String,
    pub status: ApprovalStatus,
    pub agent_id: String,
    pub tool_name: String,
    pub risk_tier: RiskTier,
    pub event_id: String,
    pub endpoint_id: Option<String>,
    pub user_id: Option<String>,
    /// The session of the held call (data plane), if the caller named one.
    pub session_id: Option<String>,
    /// Why the call needs approval: the decision's reason code [C].
    pub reason: String,
    /// The hold the SDK polls (`GET /v1/enforce/hold/{hold_token}`) [C].
    pub hold_token: Option<String>,
    pub created_at: Timestamp,
    /// `created_at` + the step-up timeout; still pending then means `expired`.
    pub expires_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    pub decided_by: Option<String>,
}

impl Approval {
    fn apply(&mut self, resolution: Resolution, decided_by: &str, now: Timestamp) {
        self.status = resolution.status();
        self.decided_at = Some(now);
        self.decided_by = Some(decided_by.to_owned());
    }
}

/// A tenant's approvals in creation order.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(transparent)]
pub struct ApprovalBook {
    approvals: Vec<Approval>,
}

fn not_found(approval_id: &str) -> GovError {
    GovError::not_found(
        "approval_not_found",
        format!("find approval {approval_id:?}"),
    )
}

fn already_resolved(approval: &Approval) -> GovError {
    let status = approval.status.as_str();
    GovError::conflict(
        "already_resolved",
        format!(
            "resolve approval {:?}: it is already {status}",
            approval.approval_id
        ),
    )
}

impl ApprovalBook {
    pub fn insert(&mut self, approval: Approval) {
        self.approvals.push(approval);
    }

    /// Marks every pending approval whose `expires_at` has passed as expired. Called
    /// before each read or resolution, so expiry needs no background task.
    pub fn expire_due(&mut self, now: Timestamp) {
        for approval in &mut self.approvals {
            if approval.status == ApprovalStatus::Pending && now >= approval.expires_at {
                approval.status = ApprovalStatus::Expired;
                approval.decided_at = Some(approval.expires_at);
            }
        }
    }

    pub fn get(&self, approval_id: &str) -> Option<&Approval> {
        self.approvals.iter().find(|a| a.approval_id == approval_id)
    }

    fn get_mut(&mut self, approval_id: &str) -> Result<&mut Approval, GovError> {
        self.approvals
            .iter_mut()
            .find(|a| a.approval_id == approval_id)
            .ok_or_else(|| not_found(approval_id))
    }

    pub fn list(&self, status: Option<ApprovalStatus>) -> Vec<&Approval> {
        self.approvals
            .iter()
            .filter(|a| status.is_none_or(|s| a.status == s))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.approvals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.approvals.is_empty()
    }

    /// An admin's resolution through `POST approvals/{id}/resolve`.
    pub fn resolve(
        &mut self,
        approval_id: &str,
        resolution: Resolution,
        decided_by: &str,
        now: Timestamp,
    ) -> Result<&Approval, GovError> {
        self.expire_due(now);
        let approval = self.get_mut(approval_id)?;
        if approval.status != ApprovalStatus::Pending {
            return Err(already_resolved(approval));
        }
        approval.apply(resolution, decided_by, now);
        Ok(approval)
    }
}

/// The body of a PAM callback.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Callback {
    pub approval_id: String,
    pub request_id: String,
    pub decision: String,
}

/// Deliberate defects of the callback path (see `Fault`); all false in a healthy mock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallbackDefects {
    /// A replayed callback is applied again instead of ignored.
    pub reapply_replays: bool,
    /// A callback whose request_id is not the approval's still resolves it.
    pub accept_request_id_mismatch: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CallbackOutcome {
    Resolved(Box<Approval>),
    IgnoredReplay,
}

/// Applies a callback whose signature and timestamp were already verified. The caller
/// holds `book` and `replay` under one lock, which is what makes "at most once" hold
/// under concurrent deliveries.
pub fn apply_callback(
    book: &mut ApprovalBook,
    replay: &mut ReplayCache,
    key: ReplayKey,
    callback: &Callback,
    decided_by: &str,
    now: Timestamp,
    defects: CallbackDefects,
) -> Result<CallbackOutcome, GovError> {
    let resolution = Resolution::parse(&callback.decision)?;
    book.expire_due(now);
    if replay.contains(&key) {
        if !defects.reapply_replays {
            return Ok(CallbackOutcome::IgnoredReplay);
        }
        let approval = book.get_mut(&callback.approval_id)?;
        approval.apply(resolution, decided_by, now);
        return Ok(CallbackOutcome::Resolved(Box::new(approval.clone())));
    }
    let approval = book.get_mut(&callback.approval_id)?;
    if approval.request_id != callback.request_id && !defects.accept_request_id_mismatch {
        return Err(GovError::conflict(
            "request_id_mismatch",
            format!(
                "resolve approval {:?}: the callback's request_id is not the approval's",
                approval.approval_id
            ),
        ));
    }
    if approval.status != ApprovalStatus::Pending {
        return Err(already_resolved(approval));
    }
    approval.apply(resolution, decided_by, now);
    let resolved = Box::new(approval.clone());
    replay.remember(key, now.unix_seconds());
    Ok(CallbackOutcome::Resolved(resolved))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: Timestamp = Timestamp(datetime!(2026-11-24 12:00 UTC));

    fn book() -> ApprovalBook {
        let mut book = ApprovalBook::default();
        for n in 1..=2 {
            book.insert(Approval {
                approval_id: format!("apr-{n}"),
                request_id: format!("req-{n}"),
                status: ApprovalStatus::Pending,
                agent_id: "agent".into(),
                tool_name: "shell.exec".into(),
                risk_tier: RiskTier::Medium,
                event_id: format!("evt-{n}"),
                endpoint_id: None,
                user_id: None,
                session_id: None,
                reason: "shadow_policy.medium.step_up".into(),
                hold_token: None,
                created_at: NOW,
                expires_at: NOW.plus(std::time::Duration::from_secs(300)),
                decided_at: None,
                decided_by: None,
            });
        }
        book
    }

    fn callback(approval: &str, request: &str, decision: &str) -> Callback {
        Callback {
            approval_id: approval.into(),
            request_id: request.into(),
            decision: decision.into(),
        }
    }

    fn key(tag: &str) -> ReplayKey {
        ReplayKey::new(NOW.unix_seconds(), tag, tag.as_bytes())
    }

    #[test]
    fn resolve_decides_once_and_lists_filter_by_status() {
        let mut book = book();
        let approved = book
            .resolve("apr-1", Resolution::Approve, "admin", NOW)
            .unwrap();
        assert_eq!(approved.status, ApprovalStatus::Approved);
        assert_eq!(approved.decided_by.as_deref(), Some("admin"));
        let err = book
            .resolve("apr-1", Resolution::Deny, "admin", NOW)
            .unwrap_err();
        assert_eq!((err.status, err.code), (409, "already_resolved"));
        assert_eq!(book.get("apr-1").unwrap().status, ApprovalStatus::Approved);
        let err = book
            .resolve("apr-9", Resolution::Deny, "admin", NOW)
            .unwrap_err();
        assert_eq!(err.status, 404);
        assert_eq!(book.list(Some(ApprovalStatus::Pending)).len(), 1);
        assert_eq!(book.list(Some(ApprovalStatus::Approved)).len(), 1);
        assert_eq!(book.list(None).len(), 2);
        assert!(ApprovalStatus::parse("open").is_err());
        assert!(Resolution::parse("maybe").is_err());
    }

    #[test]
    fn a_callback_resolves_once_then_its_replay_is_ignored() {
        let (mut book, mut replay) = (book(), ReplayCache::default());
        let cb = callback("apr-1", "req-1", "deny");
        let outcome = apply_callback(
            &mut book,
            &mut replay,
            key("a"),
            &cb,
            "pam:cyberark",
            NOW,
            CallbackDefects::default(),
        )
        .unwrap();
        let CallbackOutcome::Resolved(approval) = outcome else {
            panic!("not resolved")
        };
        assert_eq!(approval.status, ApprovalStatus::Denied);
        let later = NOW.plus(std::time::Duration::from_secs(5));
        let again = apply_callback(
            &mut book,
            &mut replay,
            key("a"),
            &cb,
            "pam:cyberark",
            later,
            CallbackDefects::default(),
        )
        .unwrap();
        assert_eq!(again, CallbackOutcome::IgnoredReplay);
        assert_eq!(book.get("apr-1").unwrap().decided_at, Some(NOW));
        // Same approval, a differently signed callback: a conflict, not a replay.
        let other = callback("apr-1", "req-1", "approve");
        let err = apply_callback(
            &mut book,
            &mut replay,
            key("b"),
            &other,
            "pam",
            later,
            CallbackDefects::default(),
        )
        .unwrap_err();
        assert_eq!(err.code, "already_resolved");
        assert_eq!(book.get("apr-1").unwrap().status, ApprovalStatus::Denied);
    }

    #[test]
    fn a_mismatched_request_id_conflicts_and_leaves_the_approval_pending() {
        let (mut book, mut replay) = (book(), ReplayCache::default());
        let cb = callback("apr-1", "req-2", "approve");
        let err = apply_callback(
            &mut book,
            &mut replay,
            key("a"),
            &cb,
            "pam",
            NOW,
            CallbackDefects::default(),
        )
        .unwrap_err();
        assert_eq!((err.status, err.code), (409, "request_id_mismatch"));
        assert_eq!(book.get("apr-1").unwrap().status, ApprovalStatus::Pending);
        assert!(
            replay.is_empty(),
            "a refused callback must not count as applied"
        );
        let unknown = callback("apr-9", "req-9", "approve");
        let err = apply_callback(
            &mut book,
            &mut replay,
            key("c"),
            &unknown,
            "pam",
            NOW,
            CallbackDefects::default(),
        )
        .unwrap_err();
        assert_eq!(err.status, 404);
    }

    #[test]
    fn defects_break_only_their_own_rule() {
        let (mut book, mut replay) = (book(), ReplayCache::default());
        let mismatch = CallbackDefects {
            accept_request_id_mismatch: true,
            ..Default::default()
        };
        let cb = callback("apr-1", "req-2", "approve");
        let outcome =
            apply_callback(&mut book, &mut replay, key("a"), &cb, "pam", NOW, mismatch).unwrap();
        assert!(matches!(outcome, CallbackOutcome::Resolved(_)));

        let reapply = CallbackDefects {
            reapply_replays: true,
            ..Default::default()
        };
        let cb = callback("apr-2", "req-2", "approve");
        apply_callback(&mut book, &mut replay, key("b"), &cb, "pam", NOW, reapply).unwrap();
        let later = NOW.plus(std::time::Duration::from_secs(5));
        let outcome =
            apply_callback(&mut book, &mut replay, key("b"), &cb, "pam", later, reapply).unwrap();
        assert!(matches!(outcome, CallbackOutcome::Resolved(_)));
        assert_eq!(book.get("apr-2").unwrap().decided_at, Some(later));
        // The replay defect does not relax correlation.
        let wrong = callback("apr-2", "req-1", "deny");
        let err = apply_callback(
            &mut book,
            &mut replay,
            key("c"),
            &wrong,
            "pam",
            NOW,
            reapply,
        )
        .unwrap_err();
        assert_eq!(err.code, "request_id_mismatch");
    }
}
