//! The evidence hash chain as the vendor's clients read it: its records
//! (`GET T/evidence/chain`, Terraform `evidence_chain_data_source.go`: `limit` 1-500,
//! `from_sequence` = "rows with chain_index greater than this value", reads `total` and
//! `data[]`, falling back to `chain[]`) and its verification (`GET
//! G/evidence/verify-chain`, `evidence_verify_data_source.go`: `limit`, reads
//! `verified, records_checked, chain_head` (int, "highest verified chain index") and
//! `breach_detail` ("failure detail when verified is false")).
//!
//! The chain is the event store's own SHA-256 chain ([`super::events`]): a chain
//! index is an event's `seq` (1-based), so `from_sequence=0` reads from the start.
//! Row fields beyond `chain_index` and the hashes are [C].

use serde::Serialize;

use super::events::{EventStore, GENESIS_HASH};
use crate::clock::Timestamp;

/// Rows `GET T/evidence/chain` returns when no `limit` is given [C].
pub const DEFAULT_CHAIN_LIMIT: u64 = 100;
/// Terraform documents `limit` as 1-500.
pub const MAX_CHAIN_LIMIT: u64 = 500;
/// Links `verify-chain` checks when no `limit` is given [C]: enough for any tenant
/// the mock holds, so by default the whole chain is verified.
pub const DEFAULT_VERIFY_LIMIT: u64 = 100_000;

/// One record of the chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainRow {
    pub chain_index: u64,
    pub event_id: String,
    pub event_type: String,
    pub decision: super::events::Decision,
    pub tool_name: String,
    pub agent_id: String,
    pub violation_id: Option<String>,
    pub occurred_at: Timestamp,
    pub prev_hash: String,
    pub hash: String,
}

/// The answer of `GET T/evidence/chain`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainPage {
    pub data: Vec<ChainRow>,
    /// Rows returned, as Terraform describes `total` ("Total evidence chain records
    /// returned").
    pub total: usize,
    /// How many records the whole chain holds [C].
    pub chain_length: usize,
    /// Highest chain index on the tenant, 0 for an empty chain [C].
    pub chain_head: u64,
}

/// Up to `limit` records after `from_sequence`, oldest first, so a client can walk the
/// chain by passing the last `chain_index` it saw.
pub fn chain_page(store: &EventStore, from_sequence: u64, limit: usize) -> ChainPage {
    let events = store.as_slice();
    let data: Vec<ChainRow> = events
        .iter()
        .filter(|e| e.seq > from_sequence)
        .take(limit)
        .map(|e| ChainRow {
            chain_index: e.seq,
            event_id: e.event_id.clone(),
            event_type: e.event_type.clone(),
            decision: e.decision,
            tool_name: e.tool_name.clone(),
            agent_id: e.agent_id.clone(),
            violation_id: e.violation_id.clone(),
            occurred_at: e.occurred_at,
            prev_hash: e.evidence_chain.prev_hash.clone(),
            hash: e.evidence_chain.hash.clone(),
        })
        .collect();
    ChainPage {
        total: data.len(),
        chain_length: events.len(),
        chain_head: events.last().map_or(0, |e| e.seq),
        data,
    }
}

/// The answer of `GET G/evidence/verify-chain`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    pub verified: bool,
    pub records_checked: usize,
    /// The highest chain index up to which every checked link verified (0 when the
    /// first checked link is already broken, or nothing was checked).
    pub chain_head: u64,
    /// Which link broke and how; `null` when verified.
    pub breach_detail: Option<String>,
    /// Chain index of the first broken link [C].
    pub first_broken_index: Option<u64>,
}

/// Checks the oldest `limit` links from the genesis on and stops at the first broken
/// one: after a breach no later link can be trusted, so `chain_head` is the last good
/// index and `records_checked` counts the links examined, the broken one included.
pub fn verify(store: &EventStore, limit: usize) -> Verification {
    let events = store.as_slice();
    let mut head = 0;
    let mut checked = 0;
    for (index, event) in events.iter().enumerate().take(limit) {
        checked += 1;
        if !store.link_verifies(index) {
            let expected_prev = index
                .checked_sub(1)
                .map_or(GENESIS_HASH, |p| events[p].evidence_chain.hash.as_str());
            let how = if event.evidence_chain.prev_hash != expected_prev {
                "its prev_hash is not the hash of the record before it (a record was removed, \
                 reordered or inserted)"
            } else {
                "its hash does not match its contents (the record was edited)"
            };
            return Verification {
                verified: false,
                records_checked: checked,
                chain_head: head,
                breach_detail: Some(format!(
                    "chain_index {} (event {}): {how}",
                    event.seq, event.event_id
                )),
                first_broken_index: Some(event.seq),
            };
        }
        head = event.seq;
    }
    Verification {
        verified: true,
        records_checked: checked,
        chain_head: head,
        breach_detail: None,
        first_broken_index: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gov::events::tests::store_of as store;
    use crate::gov::events::Decision;

    #[test]
    fn pages_walk_the_chain_from_a_sequence_cursor() {
        let events = store(&[Decision::Allow; 5]);
        let first = chain_page(&events, 0, 2);
        assert_eq!(
            first.data.iter().map(|r| r.chain_index).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(
            (first.total, first.chain_length, first.chain_head),
            (2, 5, 5)
        );
        assert_eq!(first.data[0].prev_hash, GENESIS_HASH);
        assert_eq!(first.data[1].prev_hash, first.data[0].hash);
        let rest = chain_page(&events, 2, 100);
        assert_eq!(
            rest.data.iter().map(|r| r.chain_index).collect::<Vec<_>>(),
            [3, 4, 5]
        );
        assert!(chain_page(&events, 5, 100).data.is_empty());
        assert_eq!(chain_page(&EventStore::default(), 0, 10).chain_head, 0);
    }

    #[test]
    fn a_sound_chain_verifies_to_its_head() {
        let events = store(&[Decision::Allow, Decision::Block, Decision::StepUp]);
        let v = verify(&events, 1000);
        assert!(v.verified);
        assert_eq!((v.records_checked, v.chain_head), (3, 3));
        assert_eq!(v.breach_detail, None);
        let empty = verify(&EventStore::default(), 1000);
        assert!(empty.verified);
        assert_eq!((empty.records_checked, empty.chain_head), (0, 0));
    }

    #[test]
    fn an_edited_record_stops_verification_there() {
        let mut events = store(&[Decision::Allow; 6]);
        events.as_mut_slice()[3].tool_name = "forged".into();
        let v = verify(&events, 1000);
        assert!(!v.verified);
        assert_eq!(v.chain_head, 3, "links 1..=3 verified");
        assert_eq!(v.records_checked, 4);
        assert_eq!(v.first_broken_index, Some(4));
        let detail = v.breach_detail.unwrap();
        assert!(
            detail.contains("chain_index 4") && detail.contains("edited"),
            "{detail}"
        );
    }

    #[test]
    fn a_limit_checks_only_the_oldest_links() {
        let mut events = store(&[Decision::Allow; 6]);
        events.as_mut_slice()[4].tool_name = "forged".into();
        let v = verify(&events, 3);
        assert!(v.verified);
        assert_eq!((v.records_checked, v.chain_head), (3, 3));
        assert!(!verify(&events, 5).verified);
    }
}
