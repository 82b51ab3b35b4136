//! The request journal: every tenant API request (not `/__admin`, not `/__sink`) with its
//! outcome, so suites can assert what a client (e.g. `thothctl`) actually sent.

use std::collections::VecDeque;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;

use crate::auth::{api_key_header, bearer_token};
use crate::clock::Timestamp;
use crate::routes::tenant_of_path;
use crate::state::AppState;

/// One journal line.
#[derive(Debug, Clone, Serialize)]
pub struct JournalEntry {
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    /// The tenant named in the path, if the path is a tenant route.
    pub tenant: Option<String>,
    /// Which credential was presented: `admin`, `org_key`, `api_key` or `none`.
    pub credential: &'static str,
    pub at: Timestamp,
}

/// Bounded list of entries, oldest first.
#[derive(Debug, Default)]
pub struct Journal {
    next_seq: u64,
    entries: VecDeque<JournalEntry>,
}

/// Oldest entries are dropped past this.
const MAX_ENTRIES: usize = 10_000;

impl Journal {
    fn push(&mut self, mut entry: JournalEntry) {
        self.next_seq += 1;
        entry.seq = self.next_seq;
        self.entries.push_back(entry);
        if self.entries.len() > MAX_ENTRIES {
            self.entries.pop_front();
        }
    }

    /// Entries with `seq > since`.
    pub fn since(&self, since: u64) -> Vec<JournalEntry> {
        self.entries
            .iter()
            .filter(|e| e.seq > since)
            .cloned()
            .collect()
    }

    /// Forgets the entries; sequence numbers keep increasing.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// Is this path one of the mock's own (admin API, sinks), not the emulated GovAPI?
pub fn is_mock_internal(path: &str) -> bool {
    path.starts_with("/__admin") || path.starts_with("/__sink")
}

fn credential_kind(state: &AppState, headers: &HeaderMap) -> &'static str {
    if bearer_token(headers).is_some() {
        "admin"
    } else if let Some(key) = api_key_header(headers) {
        if state.tenant_of_configured_credential(key, false).is_some() {
            "org_key"
        } else {
            "api_key"
        }
    } else {
        "none"
    }
}

/// Middleware: records the request once the response is known.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if is_mock_internal(&path) {
        return next.run(request).await;
    }
    let method = request.method().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let credential = credential_kind(&state, request.headers());
    let tenant = tenant_of_path(&path).map(|(tenant, _, _)| tenant.to_string());
    let response = next.run(request).await;
    let entry = JournalEntry {
        seq: 0,
        method,
        path,
        query,
        status: response.status().as_u16(),
        tenant,
        credential,
        at: state.now(),
    };
    state.journal().push(entry);
    response
}
