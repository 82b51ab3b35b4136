//! What every record of a run is stamped with: the run's id and the time. Below the
//! runner, so the ledger, the evidence log and the load mode stamp their records the way
//! the runner does without depending on it.

/// A fresh run id: eight hex digits, short enough to read in a ledger or a report name.
pub fn new_run_id() -> String {
    use rand::Rng;
    format!("{:08x}", rand::rng().random::<u32>())
}

/// Now, in RFC 3339 (UTC); empty only if the clock cannot be formatted.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
