//! The GovAPI connection: base URL, the one credential, and JSON requests.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::cli::Conn;
use crate::SimError;

/// The environment as the stand-in reads it; a function so tests need not touch the
/// process environment.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Default apex domain: the runbooks' `THOTH_APEX_DOMAIN="atensecurity.com"`.
const DEFAULT_APEX: &str = "atensecurity.com";
const DEFAULT_TIMEOUT_SECONDS: u64 = 20;

#[derive(Clone)]
pub enum Credential {
    Bearer(String),
    ApiKey(String),
}

pub struct Api {
    pub root: String,
    pub tenant: String,
    credential: Credential,
    client: reqwest::Client,
}

/// One answer: status and the JSON body (`Null` when empty, a string when not JSON).
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body if 2xx, else the GovAPI error as a [`SimError`].
    pub fn into_ok(self, what: &str) -> Result<Value, SimError> {
        if self.ok() {
            return Ok(self.body);
        }
        Err(SimError::Http {
            what: what.to_string(),
            status: self.status,
            body: self.body,
        })
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

pub fn read_secret_file(path: &Path, what: &str) -> Result<String, SimError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SimError::Config(format!("read {what} {}: {e}", path.display())))?;
    let value = text.trim().to_string();
    if value.is_empty() {
        return Err(SimError::Config(format!(
            "read {what} {}: it is empty",
            path.display()
        )));
    }
    Ok(value)
}

/// The credential, in the stand-in's order: flags first (file, token, org key), then
/// the environment (token, token file, org key), then the `auth login` session file.
pub fn credential(conn: &Conn, env: Env<'_>) -> Result<Credential, SimError> {
    if let Some(path) = &conn.auth_token_file {
        return Ok(Credential::Bearer(read_secret_file(
            path,
            "the token file",
        )?));
    }
    if let Some(t) = non_empty(conn.auth_token.clone()) {
        return Ok(Credential::Bearer(t));
    }
    if let Some(k) = non_empty(conn.org_api_key.clone()) {
        return Ok(Credential::ApiKey(k));
    }
    if let Some(t) = non_empty(env("THOTH_ADMIN_BEARER_TOKEN")) {
        return Ok(Credential::Bearer(t));
    }
    if let Some(path) = non_empty(env("THOTH_ADMIN_BEARER_TOKEN_FILE")) {
        let t = read_secret_file(Path::new(&path), "THOTH_ADMIN_BEARER_TOKEN_FILE")?;
        return Ok(Credential::Bearer(t));
    }
    if let Some(k) = non_empty(env("THOTH_API_KEY")).or_else(|| non_empty(env("THOTH_ORG_API_KEY")))
    {
        return Ok(Credential::ApiKey(k));
    }
    let session = session_file(None, env);
    if let Some(path) = session.filter(|p| p.is_file()) {
        return Ok(Credential::Bearer(read_secret_file(
            &path,
            "the session file",
        )?));
    }
    Err(SimError::Config(
        "find a credential: pass --auth-token-file, or set THOTH_ADMIN_BEARER_TOKEN_FILE or THOTH_API_KEY"
            .into(),
    ))
}

/// Where `auth login` keeps the session (seed 003's THOTH_AUTH_SESSION_FILE).
pub fn session_file(explicit: Option<&Path>, env: Env<'_>) -> Option<std::path::PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = non_empty(env("THOTH_AUTH_SESSION_FILE")) {
        return Some(p.into());
    }
    non_empty(env("HOME")).map(|h| Path::new(&h).join(".thoth/admin-token.jwt"))
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The GovAPI root: `--govapi-url`, THOTH_GOVAPI_URL, else `https://grid.<tenant>.<apex>`.
/// Plain http only to loopback: a credential never crosses a network in clear.
pub fn root_url(conn: &Conn, tenant: &str, env: Env<'_>) -> Result<String, SimError> {
    let explicit =
        non_empty(conn.govapi_url.clone()).or_else(|| non_empty(env("THOTH_GOVAPI_URL")));
    let root = match explicit {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let apex = non_empty(conn.apex_domain.clone())
                .or_else(|| non_empty(env("THOTH_APEX_DOMAIN")))
                .unwrap_or_else(|| DEFAULT_APEX.to_string());
            format!("https://grid.{tenant}.{apex}")
        }
    };
    let url = reqwest::Url::parse(&root)
        .map_err(|e| SimError::Config(format!("parse the GovAPI URL {root}: {e}")))?;
    match url.scheme() {
        "https" => Ok(root),
        "http" if is_loopback(url.host_str().unwrap_or("")) => Ok(root),
        _ => Err(SimError::Config(format!(
            "use the GovAPI URL {root}: https is required (plain http only for loopback)"
        ))),
    }
}

pub fn tenant(conn: &Conn, env: Env<'_>) -> Result<String, SimError> {
    non_empty(conn.tenant_id.clone())
        .or_else(|| non_empty(env("THOTH_TENANT_ID")))
        .ok_or_else(|| {
            SimError::Config("find the tenant: pass --tenant-id or set THOTH_TENANT_ID".into())
        })
}

impl Api {
    pub fn connect(conn: &Conn, env: Env<'_>) -> Result<Api, SimError> {
        let tenant = tenant(conn, env)?;
        let root = root_url(conn, &tenant, env)?;
        let credential = credential(conn, env)?;
        let timeout = conn
            .timeout_seconds
            .or_else(|| env("THOTH_TIMEOUT_SECONDS").and_then(|s| s.trim().parse().ok()))
            .unwrap_or(DEFAULT_TIMEOUT_SECONDS);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(timeout.max(1)))
            .user_agent(concat!("thothctl-sim/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SimError::Config(format!("build the HTTP client: {e}")))?;
        Ok(Api {
            root,
            tenant,
            credential,
            client,
        })
    }

    /// `{root}/{tenant}/{area}{path}`; area is `thoth` or `governance`.
    pub fn url(&self, area: &str, path: &str) -> String {
        format!("{}/{}/{area}{path}", self.root, self.tenant)
    }

    pub async fn send(
        &self,
        method: Method,
        area: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Answer, SimError> {
        self.send_with(method, area, path, query, body.map(|b| b.to_string()), &[])
            .await
    }

    /// Sends a raw body with extra headers (a signed PAM callback).
    pub async fn send_with(
        &self,
        method: Method,
        area: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<String>,
        headers: &[(&str, String)],
    ) -> Result<Answer, SimError> {
        let mut url = reqwest::Url::parse(&self.url(area, path))
            .map_err(|e| SimError::Config(format!("build the URL of {path}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut req = self
            .client
            .request(method.clone(), url)
            .header("Accept", "application/json");
        req = match &self.credential {
            Credential::Bearer(t) => req.bearer_auth(t),
            Credential::ApiKey(k) => req.header("X-Api-Key", k),
        };
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b);
        }
        let what = format!("{method} {path}");
        let resp = req
            .send()
            .await
            .map_err(|e| SimError::Transport(format!("{what}: {}", without_url(&e))))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| {
            SimError::Transport(format!("{what}: read the answer: {}", without_url(&e)))
        })?;
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok(Answer { status, body })
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, SimError> {
        self.send(Method::GET, "thoth", path, query, None)
            .await?
            .into_ok(&format!("GET {path}"))
    }

    /// Every row of a paged list (`{"data": [...], "total": N}`), read page by page as
    /// a CLI that lists "all" must on a tenant whose server caps the page size.
    pub async fn get_all(&self, path: &str, query: &[(&str, String)]) -> Result<Value, SimError> {
        const PER_PAGE: u64 = 100;
        const MAX_PAGES: u64 = 100;
        let mut rows: Vec<Value> = Vec::new();
        let mut total = None;
        for page in 1..=MAX_PAGES {
            let mut q = query.to_vec();
            q.push(("page", page.to_string()));
            q.push(("per_page", PER_PAGE.to_string()));
            let body = self.get(path, &q).await?;
            let Some(data) = body.get("data").and_then(Value::as_array) else {
                // Not a paged answer: shown as it came.
                return Ok(body);
            };
            let size = body
                .get("per_page")
                .and_then(Value::as_u64)
                .filter(|n| *n > 0)
                .unwrap_or(PER_PAGE);
            total = body.get("total").and_then(Value::as_u64).or(total);
            let short = (data.len() as u64) < size || data.is_empty();
            rows.extend(data.iter().cloned());
            if short || total.is_some_and(|t| rows.len() as u64 >= t) {
                break;
            }
        }
        let total = total.unwrap_or(rows.len() as u64);
        Ok(serde_json::json!({ "data": rows, "total": total }))
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, SimError> {
        self.send(Method::POST, "thoth", path, &[], Some(body))
            .await?
            .into_ok(&format!("POST {path}"))
    }
}

/// reqwest errors name the URL; the message keeps the reason only.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

/// The rows of a list answer, in every envelope the vendor clients accept.
pub fn rows(body: &Value) -> Vec<Value> {
    match body {
        Value::Array(a) => a.clone(),
        Value::Object(o) => ["data", "items", "api_keys"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_array))
            .cloned()
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}
