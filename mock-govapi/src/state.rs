//! Shared server state: configuration, per-tenant data behind its own lock, active
//! faults, the request journal, SIEM sinks and the clock.
//!
//! Locks are `std::sync::Mutex`: handlers take them briefly and never hold one across
//! an `.await` (outgoing HTTP, sleeps), which is what keeps them cheap and deadlock-free.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::clock::{Clock, Timestamp};
use crate::error::ApiError;
use crate::faults::Fault;
use crate::journal::Journal;
use crate::records::TenantState;
use crate::sink::Sinks;
use crate::MockConfig;

/// Cheap-to-clone handle on the whole mock (an `Arc` inside).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What [`AppState`] points at.
pub struct Inner {
    config: MockConfig,
    tenants: BTreeMap<String, Mutex<TenantState>>,
    faults: RwLock<BTreeSet<Fault>>,
    pub journal: Mutex<Journal>,
    pub sinks: Mutex<Sinks>,
    pub clock: Clock,
    rng: Mutex<StdRng>,
    requests_seen: AtomicU64,
    http: OnceLock<Result<reqwest::Client, String>>,
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately not the config: it holds credentials.
        f.debug_struct("AppState")
            .field("tenants", &self.tenants.keys().collect::<Vec<_>>())
            .field("faults", &self.faults())
            .finish_non_exhaustive()
    }
}

/// A poisoned lock only means another handler panicked mid-update; the data is plain
/// records, so keep serving rather than turning every later request into a 500.
fn relock<T>(guard: std::sync::LockResult<T>) -> T {
    guard.unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AppState {
    pub fn new(config: MockConfig) -> Self {
        let tenants = config
            .tenants
            .iter()
            .map(|t| (t.id.clone(), Mutex::new(TenantState::default())))
            .collect();
        let faults = RwLock::new(config.faults.clone());
        let rng = Mutex::new(StdRng::seed_from_u64(config.realism.seed));
        AppState(Arc::new(Inner {
            tenants,
            faults,
            journal: Mutex::new(Journal::default()),
            sinks: Mutex::new(Sinks::default()),
            clock: Clock::default(),
            rng,
            requests_seen: AtomicU64::new(0),
            http: OnceLock::new(),
            config,
        }))
    }

    pub fn config(&self) -> &MockConfig {
        &self.config
    }

    /// Is this defect mode switched on?
    pub fn fault(&self, fault: Fault) -> bool {
        relock(self.faults.read()).contains(&fault)
    }

    pub fn faults(&self) -> BTreeSet<Fault> {
        relock(self.faults.read()).clone()
    }

    pub fn set_faults(&self, faults: BTreeSet<Fault>) {
        *relock(self.faults.write()) = faults;
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Moves the mock's clock forward (tests: sync progress, online window, lag).
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.clock.advance(by);
    }

    pub fn tenant_ids(&self) -> impl Iterator<Item = &str> {
        self.tenants.keys().map(String::as_str)
    }

    pub fn has_tenant(&self, id: &str) -> bool {
        self.tenants.contains_key(id)
    }

    /// Locks one tenant's state; 404 `tenant_not_found` for an unknown tenant.
    pub fn tenant(&self, id: &str) -> Result<MutexGuard<'_, TenantState>, ApiError> {
        self.tenants
            .get(id)
            .map(|lock| relock(lock.lock()))
            .ok_or_else(|| {
                ApiError::not_found("tenant_not_found", format!("unknown tenant `{id}`"))
            })
    }

    /// Clears every tenant's data and the sinks; credentials and faults stay.
    pub fn reset(&self) {
        for lock in self.tenants.values() {
            *relock(lock.lock()) = TenantState::default();
        }
        *relock(self.sinks.lock()) = Sinks::default();
    }

    /// A uniformly drawn number in `0..=max` from the seeded realism RNG.
    pub fn random_up_to(&self, max: u64) -> u64 {
        relock(self.rng.lock()).random_range(0..=max)
    }

    /// Counts a tenant API request; returns its 1-based sequence number.
    pub fn count_request(&self) -> u64 {
        self.requests_seen.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The HTTP client for outgoing webhooks, built on first use.
    pub fn http(&self) -> Result<&reqwest::Client, String> {
        self.http
            .get_or_init(|| {
                // Generous: the kill matrix runs some thirty mocks at once on two
                // cores, and a delivery that times out there reads as a failed webhook
                // test (seen at load 40 with 5 s). A sink that is down refuses at once.
                reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(15))
                    .connect_timeout(std::time::Duration::from_secs(5))
                    // Deliveries usually go to a sink on loopback; a proxy from the
                    // environment would only get in the way.
                    .no_proxy()
                    .build()
                    .map_err(|err| format!("build HTTP client: {err}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Locks the journal.
    pub fn journal(&self) -> MutexGuard<'_, Journal> {
        relock(self.journal.lock())
    }

    /// Locks the SIEM sinks.
    pub fn sinks(&self) -> MutexGuard<'_, Sinks> {
        relock(self.sinks.lock())
    }

    /// Which tenant, if any, a credential belongs to, checking admin tokens (`bearer`)
    /// or org API keys, compared in constant time.
    pub fn tenant_of_configured_credential(&self, value: &str, bearer: bool) -> Option<&str> {
        self.config.tenants.iter().find_map(|tenant| {
            let list = if bearer {
                &tenant.admin_tokens
            } else {
                &tenant.org_api_keys
            };
            list.iter()
                .any(|known| crate::signing::constant_time_eq(known.as_bytes(), value.as_bytes()))
                .then_some(tenant.id.as_str())
        })
    }
}
