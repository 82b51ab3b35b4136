//! Hold tokens: a STEP_UP answer of `POST /v1/enforce` carries one, and the vendor SDK
//! polls `GET /v1/enforce/hold/{hold_token}` (`thoth/step_up.py:StepUpClient.wait`)
//! until it reads `{resolved: true, resolution: "ALLOW" | "BLOCK"}`.
//!
//! A hold has no state of its own: it follows the approval it is linked to, so whatever
//! resolves the approval (the resolve route, a valid PAM callback, expiry) resolves the
//! hold, and whatever is refused (a mismatched or badly signed callback) leaves it
//! pending.

use serde::Serialize;

use super::approvals::{ApprovalBook, ApprovalStatus};
use super::events::Decision;
use crate::clock::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    pub hold_token: String,
    /// `None` only when a fault kept the approval from being opened.
    pub approval_id: Option<String>,
    pub agent_id: String,
    pub tool_name: String,
    pub session_id: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What a poll of the hold reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldState {
    Pending,
    /// Approved (ALLOW) or denied (BLOCK).
    Resolved(Decision),
    /// Past its timeout with nobody deciding: BLOCK, as the SDK's own timeout is.
    Expired,
}

/// Deliberate defects of the hold path (see `Fault`); all false in a healthy mock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HoldDefects {
    pub never_resolves: bool,
    pub allow_after_deny: bool,
}

/// A tenant's holds in creation order.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(transparent)]
pub struct HoldBook {
    holds: Vec<Hold>,
}

impl HoldBook {
    pub fn insert(&mut self, hold: Hold) {
        self.holds.push(hold);
    }

    pub fn get(&self, hold_token: &str) -> Option<&Hold> {
        self.holds.iter().find(|h| h.hold_token == hold_token)
    }

    pub fn len(&self) -> usize {
        self.holds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.holds.is_empty()
    }
}

/// The state of `hold` now. The caller has run `approvals.expire_due(now)`.
pub fn hold_state(
    hold: &Hold,
    approvals: &ApprovalBook,
    now: Timestamp,
    defects: HoldDefects,
) -> HoldState {
    if defects.never_resolves {
        return HoldState::Pending;
    }
    let status = hold
        .approval_id
        .as_deref()
        .and_then(|id| approvals.get(id))
        .map(|a| a.status);
    match status {
        Some(ApprovalStatus::Approved) => HoldState::Resolved(Decision::Allow),
        Some(ApprovalStatus::Denied) if defects.allow_after_deny => {
            HoldState::Resolved(Decision::Allow)
        }
        Some(ApprovalStatus::Denied) => HoldState::Resolved(Decision::Block),
        Some(ApprovalStatus::Expired) => HoldState::Expired,
        // Without an approval nothing can resolve the hold, but it still times out.
        Some(ApprovalStatus::Pending) | None if now >= hold.expires_at => HoldState::Expired,
        Some(ApprovalStatus::Pending) | None => HoldState::Pending,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::macros::datetime;

    use super::*;
    use crate::gov::approvals::{Approval, Resolution};
    use crate::gov::events::RiskTier;

    const NOW: Timestamp = Timestamp(datetime!(2026-11-24 12:00 UTC));

    fn linked() -> (Hold, ApprovalBook) {
        let expires_at = NOW.plus(Duration::from_secs(300));
        let mut book = ApprovalBook::default();
        book.insert(Approval {
            approval_id: "apr-1".into(),
            request_id: "req-1".into(),
            status: ApprovalStatus::Pending,
            agent_id: "a".into(),
            tool_name: "t".into(),
            risk_tier: RiskTier::Medium,
            event_id: "evt-1".into(),
            endpoint_id: None,
            user_id: None,
            session_id: None,
            reason: "shadow_policy.medium.step_up".into(),
            hold_token: Some("hold-1".into()),
            created_at: NOW,
            expires_at,
            decided_at: None,
            decided_by: None,
        });
        let hold = Hold {
            hold_token: "hold-1".into(),
            approval_id: Some("apr-1".into()),
            agent_id: "a".into(),
            tool_name: "t".into(),
            session_id: None,
            created_at: NOW,
            expires_at,
        };
        (hold, book)
    }

    #[test]
    fn a_hold_follows_its_approval() {
        let ok = HoldDefects::default();
        let (hold, mut book) = linked();
        assert_eq!(hold_state(&hold, &book, NOW, ok), HoldState::Pending);
        book.resolve("apr-1", Resolution::Approve, "admin", NOW)
            .unwrap();
        assert_eq!(
            hold_state(&hold, &book, NOW, ok),
            HoldState::Resolved(Decision::Allow)
        );
        let (hold, mut book) = linked();
        book.resolve("apr-1", Resolution::Deny, "admin", NOW)
            .unwrap();
        assert_eq!(
            hold_state(&hold, &book, NOW, ok),
            HoldState::Resolved(Decision::Block)
        );
    }

    #[test]
    fn an_undecided_hold_expires_with_its_approval() {
        let (hold, mut book) = linked();
        let later = NOW.plus(Duration::from_secs(300));
        book.expire_due(later);
        assert_eq!(book.get("apr-1").unwrap().status, ApprovalStatus::Expired);
        assert_eq!(
            hold_state(&hold, &book, later, HoldDefects::default()),
            HoldState::Expired
        );
        let orphan = Hold {
            approval_id: None,
            ..hold
        };
        assert_eq!(
            hold_state(&orphan, &book, NOW, HoldDefects::default()),
            HoldState::Pending
        );
        assert_eq!(
            hold_state(&orphan, &book, later, HoldDefects::default()),
            HoldState::Expired
        );
    }

    #[test]
    fn defects_break_only_their_own_rule() {
        let (hold, mut book) = linked();
        book.resolve("apr-1", Resolution::Deny, "admin", NOW)
            .unwrap();
        let allow = HoldDefects {
            allow_after_deny: true,
            ..Default::default()
        };
        assert_eq!(
            hold_state(&hold, &book, NOW, allow),
            HoldState::Resolved(Decision::Allow)
        );
        let never = HoldDefects {
            never_resolves: true,
            ..Default::default()
        };
        assert_eq!(hold_state(&hold, &book, NOW, never), HoldState::Pending);
        let (hold, mut book) = linked();
        book.resolve("apr-1", Resolution::Approve, "admin", NOW)
            .unwrap();
        assert_eq!(
            hold_state(&hold, &book, NOW, allow),
            HoldState::Resolved(Decision::Allow)
        );
    }
}
