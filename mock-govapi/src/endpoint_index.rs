//! Ordered id lists behind `GET /endpoints`, so that paging through a large fleet costs
//! one page per request instead of a scan of the whole tenant.
//!
//! A list is the ids (in `endpoint_id` order, like the tenant's map) that one filter
//! selects: the caller's scope, `env` and `fleet_id`. It is built once from the map and
//! reused for every page until the endpoints change: [`EndpointLists::touch`] (called by
//! every registration) drops the lists, and a change in the number of endpoints does too,
//! so a route that inserts or removes rows without touching still never pages a stale
//! list. Check-ins change neither membership nor filters, so a fleet that checks in
//! while a client pages keeps its list.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::records::{Endpoint, ScopeLevel};
use crate::shared::Shared;

/// What one list selects.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListKey {
    pub scope_level: ScopeLevel,
    pub scope_target_id: Option<String>,
    pub env: Option<String>,
    pub fleet_id: Option<String>,
}

/// At most this many filters are kept at once: a client varying its filters costs a
/// rebuild, never unbounded memory.
const MAX_LISTS: usize = 16;

#[derive(Debug, Clone, Default)]
pub struct EndpointLists {
    /// The number of endpoints the lists were built over.
    built_over: usize,
    /// The ids are the rows' own shared copies: a list over a million endpoints is a
    /// million pointers, not a million strings.
    lists: HashMap<ListKey, Arc<Vec<Shared>>>,
}

impl EndpointLists {
    /// The endpoints changed (a row added, or its environment or fleet changed).
    pub fn touch(&mut self) {
        self.lists.clear();
    }

    /// The ids `key` selects, in id order; `selects` decides one row (scope and filters)
    /// and runs only when the list is (re)built.
    pub fn ids(
        &mut self,
        endpoints: &BTreeMap<Shared, Box<Endpoint>>,
        key: ListKey,
        selects: impl Fn(&Endpoint) -> bool,
    ) -> Arc<Vec<Shared>> {
        if self.built_over != endpoints.len() || self.lists.len() >= MAX_LISTS {
            self.lists.clear();
            self.built_over = endpoints.len();
        }
        self.lists
            .entry(key)
            .or_insert_with(|| {
                Arc::new(
                    endpoints
                        .values()
                        .filter(|row| selects(row))
                        .map(|row| row.endpoint_id.clone())
                        .collect(),
                )
            })
            .clone()
    }
}
