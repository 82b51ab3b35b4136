//! The one HTTP client every step uses.
//!
//! Deliberately strict, because it speaks to a tenant with admin credentials: redirects
//! are never followed (a 3xx is a response like any other, and a credential never reaches
//! a host the user did not name), each request has a timeout, and a response body larger
//! than the cap is an error instead of an unbounded allocation.
//!
//! [`HttpClient::send`] sends once. [`HttpClient::send_retrying`] resends an idempotent
//! request after a transient answer, with the vendor clients' policy ([`crate::retry`]),
//! and notes every retry on the exchange, so the transcript says it happened; a request
//! marked not idempotent is sent once whatever comes back.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::outcome::Exchange;
use crate::retry::{Next, RetryPolicy};

/// Largest response body the harness reads by default.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    /// Extra root certificate (PEM) for a live tenant behind a private CA.
    pub ca_cert: Option<std::path::PathBuf>,
    /// How [`HttpClient::send_retrying`] retries idempotent requests.
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            ca_cert: None,
            retry: RetryPolicy::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("failed to read CA certificate {path}: {source}")]
    ReadCa {
        path: String,
        source: std::io::Error,
    },
    #[error("failed to parse CA certificate {path}: {message}")]
    ParseCa { path: String, message: String },
    #[error("failed to build the HTTP client: {0}")]
    Build(String),
}

/// Why an exchange did not complete. Always the harness's or the network's problem,
/// never a verdict on the target, so it maps to `error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("connect to {0}: {1}")]
    Connect(String, String),
    #[error("no complete response within {0:?} (request timeout)")]
    Timeout(Duration),
    #[error("response body larger than {0} bytes")]
    BodyTooLarge(usize),
    #[error("read response body: {0}")]
    Body(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("send request: {0}")]
    Other(String),
}

impl TransportError {
    /// Worth a retry of an idempotent request: the connection failed or broke. A
    /// timeout is not retried [C]: the vendor clients would, but a target that is
    /// slow enough to time out once is likely to again, and each try costs a full
    /// request timeout of the run's budget.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TransportError::Connect(..) | TransportError::Body(_) | TransportError::Other(_)
        )
    }
}

/// A fully prepared request: templating and signing are done, these are the bytes sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Default)]
pub struct HttpResponse {
    pub status: u16,
    /// Names lowercase, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Clients with a root store built by this process (see [`tls_clients_built`]).
static TLS_CLIENTS_BUILT: AtomicUsize = AtomicUsize::new(0);

/// How many HTTP clients that trust the system's roots this process has built: each one
/// reads the system CA store (hundreds of files). A run whose targets are all plain
/// http builds none.
pub fn tls_clients_built() -> usize {
    TLS_CLIENTS_BUILT.load(Ordering::Relaxed)
}

#[derive(Debug, Clone)]
pub struct HttpClient {
    /// For `http://` URLs: built with an empty root store, so a run against plain-http
    /// targets (a loopback mock) never reads the system CA store.
    plain: reqwest::Client,
    /// For `https://` URLs: the system roots plus `--ca-cert`, built on the first https
    /// request and shared by the clones.
    tls: Arc<OnceLock<Result<reqwest::Client, String>>>,
    extra_roots: Arc<Vec<reqwest::Certificate>>,
    opts: ClientOptions,
    /// [`Exchange`]s this client and its clones have recorded ([`HttpClient::send`]).
    recorded: Arc<AtomicUsize>,
}

impl HttpClient {
    /// Reads and checks `--ca-cert` now (a bad file is a configuration error before
    /// anything is sent); the system roots are read only when an https URL is used.
    pub fn new(opts: ClientOptions) -> Result<HttpClient, ClientError> {
        let extra_roots = match &opts.ca_cert {
            Some(path) => load_ca(path)?,
            None => Vec::new(),
        };
        let plain = Self::builder(&opts)
            .tls_certs_only(Vec::new())
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        Ok(HttpClient {
            plain,
            tls: Arc::new(OnceLock::new()),
            extra_roots: Arc::new(extra_roots),
            opts,
            recorded: Arc::new(AtomicUsize::new(0)),
        })
    }

    fn builder(opts: &ClientOptions) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .timeout(opts.request_timeout)
            .connect_timeout(opts.request_timeout)
            .user_agent(concat!("thoth-conformance/", env!("CARGO_PKG_VERSION")))
    }

    /// The client for `url`: the root-less one for plain http, the TLS one otherwise.
    fn inner_for(&self, url: &reqwest::Url) -> Result<&reqwest::Client, TransportError> {
        if url.scheme() == "http" {
            return Ok(&self.plain);
        }
        self.tls
            .get_or_init(|| {
                TLS_CLIENTS_BUILT.fetch_add(1, Ordering::Relaxed);
                Self::builder(&self.opts)
                    .tls_certs_merge(self.extra_roots.iter().cloned())
                    .build()
                    .map_err(|e| format!("failed to build the TLS client: {}", error_chain(&e)))
            })
            .as_ref()
            .map_err(|e| TransportError::Other(e.clone()))
    }

    /// Whether this client (or a clone) has built its TLS client.
    pub fn tls_built(&self) -> bool {
        self.tls.get().is_some()
    }

    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// Sends the request once. The [`Exchange`] records what was sent and what came back,
    /// also when the exchange failed half way.
    pub async fn send(
        &self,
        req: &HttpRequest,
    ) -> (Exchange, Result<HttpResponse, TransportError>) {
        self.recorded.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let mut exchange = Exchange {
            request_line: format!("{} {}", req.method, req.url),
            request_headers: req
                .headers
                .iter()
                .map(|(k, v)| {
                    let shown = crate::redact::mask_credential_header(k, v);
                    (k.clone(), shown.unwrap_or_else(|| v.clone()))
                })
                .collect(),
            ..Exchange::default()
        };
        if let Some(b) = &req.body {
            exchange.store_request_body(&String::from_utf8_lossy(b));
        }
        let result = self.send_inner(req, &mut exchange).await;
        exchange.duration_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(resp) => {
                exchange.status = Some(i64::from(resp.status));
                exchange.response_headers = resp.headers.clone();
                exchange.store_response_body(&resp.text());
            }
            Err(e) => exchange.transport_error = Some(e.to_string()),
        }
        (exchange, result)
    }

    /// Sends the request once and records nothing: for the load, whose millions of
    /// answers (list pages of hundreds of kilobytes among them) are counted, never
    /// reported, so copying, hashing and redacting each into an [`Exchange`] that is
    /// dropped at once would only slow the run down.
    pub async fn send_unrecorded(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.send_inner(req, &mut Exchange::default()).await
    }

    /// How many [`Exchange`]s this client and its clones have recorded.
    pub fn exchanges_recorded(&self) -> usize {
        self.recorded.load(Ordering::Relaxed)
    }

    /// Sends the request, and when `idempotent` sends it again after a transient answer
    /// (429, 500, 502, 503, 504) or a connection failure, as the client's
    /// [`RetryPolicy`] says. Returns every exchange, in order; each one that led to a
    /// retry, or ended the retries early, carries a note saying so.
    pub async fn send_retrying(
        &self,
        req: &HttpRequest,
        idempotent: bool,
    ) -> (Vec<Exchange>, Result<HttpResponse, TransportError>) {
        let policy = if idempotent {
            self.opts.retry
        } else {
            RetryPolicy::never()
        };
        let mut exchanges = Vec::new();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (mut exchange, result) = self.send(req).await;
            let (status, retry_after) = match &result {
                Ok(resp) => (Some(resp.status), resp.header("retry-after")),
                Err(e) if e.is_transient() => (None, None),
                Err(_) => {
                    exchanges.push(exchange);
                    return (exchanges, result);
                }
            };
            match policy.next(attempt, status, retry_after, std::time::SystemTime::now()) {
                Next::Stop => {
                    exchanges.push(exchange);
                    return (exchanges, result);
                }
                Next::GiveUp { why } => {
                    exchange.note = Some(why);
                    exchanges.push(exchange);
                    return (exchanges, result);
                }
                Next::RetryIn { wait, why } => {
                    exchange.note = Some(why);
                    exchanges.push(exchange);
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Fills `exchange` with the status and headers as soon as they arrive, so an
    /// exchange that breaks in the body still shows that the target answered.
    async fn send_inner(
        &self,
        req: &HttpRequest,
        exchange: &mut Exchange,
    ) -> Result<HttpResponse, TransportError> {
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|e| TransportError::Invalid(e.to_string()))?;
        let url = reqwest::Url::parse(&req.url)
            .map_err(|e| TransportError::Invalid(format!("url `{}`: {e}", req.url)))?;
        let mut builder = self.inner_for(&url)?.request(method, url);
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let mut resp = builder
            .send()
            .await
            .map_err(|e| self.classify(&req.url, e))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect::<Vec<_>>();
        exchange.status = Some(i64::from(status));
        exchange.response_headers = headers.clone();
        let cap = self.opts.max_body_bytes;
        if resp.content_length().is_some_and(|n| n > cap as u64) {
            return Err(TransportError::BodyTooLarge(cap));
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > cap {
                        return Err(TransportError::BodyTooLarge(cap));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => {
                    return Err(TransportError::Timeout(self.opts.request_timeout))
                }
                Err(e) => return Err(TransportError::Body(error_chain(&e))),
            }
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    fn classify(&self, url: &str, e: reqwest::Error) -> TransportError {
        if e.is_timeout() {
            TransportError::Timeout(self.opts.request_timeout)
        } else if e.is_connect() {
            let host = reqwest::Url::parse(url)
                .ok()
                .and_then(|u| {
                    u.host_str()
                        .map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0)))
                })
                .unwrap_or_else(|| url.to_string());
            TransportError::Connect(host, error_chain(&e))
        } else {
            TransportError::Other(error_chain(&e))
        }
    }
}

/// reqwest's Display hides the cause ("error sending request"); the chain says why.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_msg = s.to_string();
        if !msg.contains(&s_msg) {
            msg.push_str(": ");
            msg.push_str(&s_msg);
        }
        cur = s.source();
    }
    msg
}

fn load_ca(path: &Path) -> Result<Vec<reqwest::Certificate>, ClientError> {
    let pem = std::fs::read(path).map_err(|source| ClientError::ReadCa {
        path: path.display().to_string(),
        source,
    })?;
    let parse_err = |message: String| ClientError::ParseCa {
        path: path.display().to_string(),
        message,
    };
    let certs =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| parse_err(e.to_string()))?;
    // A file with no certificate in it would silently trust nothing extra: say so.
    if certs.is_empty() {
        return Err(parse_err("no PEM certificate in the file".into()));
    }
    Ok(certs)
}
