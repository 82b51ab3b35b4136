//! A stateful mock of the Thoth GovAPI control plane, in the style of Let's Encrypt's
//! Pebble: real HTTP, real per-tenant state, the auth rules, signed webhooks, sync jobs
//! that progress over time, an admin API (`/__admin`) to seed and inspect it, a SIEM
//! sink (`/__sink`), and named [`Fault`]s that each break one promised property.
//!
//! # Adding a route module
//! 1. Create `src/routes/<group>.rs` with `pub fn router() -> routes::Routes`; paths
//!    are relative to the area, and each route declares its access rule where it is
//!    registered: `.route("/approvals", Rule::DATA, get(list))` serves
//!    `/<tenant>/thoth/approvals`. Merge it in [`routes::routes`] ("other route groups
//!    are merged here").
//! 2. The rule ([`auth::Rule`]) says what the route needs; [`auth`] enforces it before
//!    the handler runs. Reads (GET/HEAD) always need `read`; `Rule::DATA`: changes need
//!    `write`; `Rule::ACTION` (`.../sync`, `.../resolve`): `write` or `execute`;
//!    `Rule::SIGNED`: no credentials, the handler verifies a signature;
//!    `.scope_checked_by_handler()`: keys of any scope, the handler applies resource
//!    scope ([`auth::Principal::require_covers`]); otherwise only organization-wide
//!    credentials. Outside the tenant area: `Rule::OPEN` (admin API, sinks) and
//!    `Rule::DATA_PLANE`. A route without a rule is refused (500 `undeclared_route`).
//!    Handlers take `State(state): State<AppState>` and the caller as a
//!    [`auth::Principal`] extractor (`principal.tenant` is the path's tenant, already
//!    checked).
//! 3. Data: `let mut data = state.tenant(&principal.tenant)?;` locks that tenant's
//!    [`records::TenantState`]. Do not hold the guard across an `.await`.
//! 4. Errors: return [`error::ApiResult<T>`]; build errors with [`error::ApiError`]
//!    (`ApiError::conflict("request_id_mismatch", "...")`). JSON bodies via
//!    [`extract::ApiJson`] (or [`extract::OptionalJson`] where `{}`/no body is fine);
//!    lists via [`extract::paginate_for`]. A record kind that is listed and upserted
//!    (like the browser records and integrations) is an `impl gov::book::Record` and
//!    one `.route(path, Rule::DATA, routes::book::book::<Kind>())`: the list, its
//!    filter, the upsert, 201/200 and the secrets are shared.
//! 5. Faults: `if state.fault(Fault::FeedDropsDecisions) { ... }`.
//! 6. The request journal, realism (jitter, 429s) and JSON error bodies are layers on
//!    every route; nothing to do. Time comes from `state.now()` (tests advance it).
//! 7. Outgoing webhooks: [`webhook::deliver_webhook`]; signatures: [`signing`].

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub mod auth;
pub mod clock;
pub mod endpoint_index;
pub mod error;
pub mod extract;
pub mod faults;
pub mod gov;
pub mod journal;
pub mod realism;
pub mod records;
pub mod routes;
pub mod scope;
pub mod secrets;
pub mod shape_faults;
pub mod shared;
pub mod signing;
pub mod sink;
pub mod state;
pub mod webhook;

pub use faults::Fault;
pub use state::AppState;

/// How the mock behaves. Credentials in here are secrets: never log it.
#[derive(Clone)]
pub struct MockConfig {
    /// At least one.
    pub tenants: Vec<TenantConfig>,
    /// Accept every request without credentials (`GOVAPI_SKIP_AUTH=true`).
    pub skip_auth: bool,
    pub faults: BTreeSet<Fault>,
    pub realism: Realism,
    /// A sync job goes queued -> running -> succeeded over this long.
    pub sync_job_duration: Duration,
    /// An endpoint is "online" if it checked in within this window.
    pub online_window: Duration,
    /// Larger request bodies get 413 `payload_too_large`.
    pub max_body_bytes: usize,
    /// How set secrets read back on GET, for every record kind (`secrets.rs`).
    pub secret_readback: secrets::SecretReadback,
}

/// One tenant and the credentials configured for it.
#[derive(Clone)]
pub struct TenantConfig {
    pub id: String,
    pub admin_tokens: Vec<String>,
    pub org_api_keys: Vec<String>,
}

/// Behaviour of a busy real tenant; everything off by default.
#[derive(Debug, Clone, Default)]
pub struct Realism {
    /// Seed of the RNG behind jitter, so runs are reproducible.
    pub seed: u64,
    /// Each request waits a random 0..=this many ms.
    pub latency_jitter_ms: u64,
    /// A check-in shows in lists and stats only this long after it was received.
    pub checkin_lag_ms: u64,
    /// Every Nth tenant API request gets 429 with `Retry-After: 1`.
    pub rate_limit_every: Option<u32>,
    /// Lists return at most this many rows per page.
    pub page_size: Option<usize>,
    /// Webhooks carry two signatures, `v1=<old secret>,v1=<current secret>`, as a sender
    /// does while it rotates its secret: a receiver must accept any one that matches.
    pub webhook_rotation: bool,
}

pub const DEV_TENANT: &str = "acme";
pub const DEV_ADMIN_TOKEN: &str = "dev-admin-token";
pub const DEV_ORG_API_KEY: &str = "thoth_dev_org_key";

impl MockConfig {
    /// One tenant `acme` with admin token `dev-admin-token` and org key
    /// `thoth_dev_org_key`; auth on, no faults, no realism.
    pub fn dev_default() -> Self {
        MockConfig::with_tenants(vec![TenantConfig {
            id: DEV_TENANT.into(),
            admin_tokens: vec![DEV_ADMIN_TOKEN.into()],
            org_api_keys: vec![DEV_ORG_API_KEY.into()],
        }])
    }

    /// The given tenants with default settings otherwise.
    pub fn with_tenants(tenants: Vec<TenantConfig>) -> Self {
        MockConfig {
            tenants,
            skip_auth: false,
            faults: BTreeSet::new(),
            realism: Realism::default(),
            sync_job_duration: Duration::from_millis(300),
            online_window: Duration::from_secs(300),
            max_body_bytes: 1024 * 1024,
            secret_readback: secrets::SecretReadback::Mask,
        }
    }
}

impl std::fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockConfig")
            .field(
                "tenants",
                &self.tenants.iter().map(|t| &t.id).collect::<Vec<_>>(),
            )
            .field("skip_auth", &self.skip_auth)
            .field("faults", &self.faults)
            .field("realism", &self.realism)
            .finish_non_exhaustive()
    }
}

/// The mock as an axum router.
pub fn app(state: AppState) -> axum::Router {
    routes::router(state)
}

/// A mock serving on a loopback port. Dropping it stops the server.
pub struct RunningMock {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    /// The enforcer (data plane) base URL, `THOTH_API_URL` for the SDKs: the separate
    /// enforcer listener when one was asked for, else `base_url` (the same listener
    /// serves the data plane).
    pub enforcer_url: String,
    pub state: AppState,
    shutdown: Option<watch::Sender<bool>>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningMock {
    /// Stops accepting connections, lets in-flight requests finish, and waits.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for RunningMock {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
    }
}

/// Starts the mock on `127.0.0.1:0`.
pub async fn spawn(config: MockConfig) -> std::io::Result<RunningMock> {
    spawn_at(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
}

/// Starts the mock on `addr`.
pub async fn spawn_at(config: MockConfig, addr: SocketAddr) -> std::io::Result<RunningMock> {
    spawn_listeners(config, addr, None).await
}

/// Starts the mock on `127.0.0.1:0` with a second listener on another free port for
/// the enforcer base URL (`RunningMock::enforcer_url`), as a tenant's
/// `https://enforce.<tenant>.<apex>` is a different host from its GovAPI.
pub async fn spawn_with_enforcer(config: MockConfig) -> std::io::Result<RunningMock> {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    spawn_listeners(config, loopback, Some(loopback)).await
}

/// Starts the mock on `addr`, and, with `enforcer`, the same routes on a second
/// listener. Both serve every route: the SDK documents one URL for everything
/// (`models.py:resolved_enforcer_url` "single-URL contract"; its tool inventory goes to
/// `THOTH_API_URL/<tenant>/thoth/tool-inventory`).
pub async fn spawn_listeners(
    config: MockConfig,
    addr: SocketAddr,
    enforcer: Option<SocketAddr>,
) -> std::io::Result<RunningMock> {
    if config.tenants.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "start mock: at least one tenant is required",
        ));
    }
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let enforcer_listener = match enforcer {
        Some(at) => Some(TcpListener::bind(at).await?),
        None => None,
    };
    let enforcer_url = match &enforcer_listener {
        Some(l) => format!("http://{}", l.local_addr()?),
        None => format!("http://{addr}"),
    };
    let state = AppState::new(config);
    let router = app(state.clone());
    let (tx, rx) = watch::channel(false);
    let mut tasks = vec![serve(listener, router.clone(), rx.clone())];
    if let Some(listener) = enforcer_listener {
        tasks.push(serve(listener, router, rx));
    }
    Ok(RunningMock {
        addr,
        base_url: format!("http://{addr}"),
        enforcer_url,
        state,
        shutdown: Some(tx),
        tasks,
    })
}

fn serve(
    listener: TcpListener,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                // A dropped sender also means stop.
                let _ = stop.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(err) = served {
            tracing::error!("mock-govapi server stopped: {err}");
        }
    })
}
