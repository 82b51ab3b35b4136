//! One attempt of a step: turn its action into bytes on the wire (templating, auth,
//! signing), send it, and read every page of the answer. The step (`step.rs`) and its
//! send policies (`poll.rs`, `sink.rs`) sit above this and call [`StepExec::attempt`]
//! as often as their policy says.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::expect::{check, Failure, Observed, StatusKind};
use crate::client::{HttpClient, HttpRequest};
use crate::outcome::Exchange;
use crate::redact::Redactor;
use crate::suite::model::{
    Action, Auth, Base, Expect, Pages, PamCallback, Request, Step, Tamper, SINK_PREFIX,
};
use crate::target::Target;
use crate::template::{render, render_json, Vars};

/// Everything a step needs from the run, shared by all steps.
pub struct StepEnv<'a> {
    pub target: &'a Target,
    pub client: &'a HttpClient,
    pub redactor: &'a Redactor,
    pub fixtures_dir: &'a Path,
    pub thothctl_timeout: Duration,
    pub cancel: &'a CancellationToken,
    /// Where `creates` are recorded (None: no ledger).
    pub recorder: Option<&'a crate::safety::Recorder>,
    /// The phase running, for the ledger.
    pub phase: &'a str,
    /// Set once an `eventually` poll of this phase ran out of time (see
    /// [`super::poll::AFTER_A_TIMEOUT`]); None outside a phase.
    pub poll_timed_out: Option<&'a std::sync::atomic::AtomicBool>,
}

/// State shared by the steps of one case: the PAM callbacks sent, for `replay_of`.
#[derive(Default)]
pub struct CaseState {
    pub sent_pam: HashMap<String, HttpRequest>,
    /// The case these steps belong to (None in suite setup/cleanup), for the ledger.
    pub case_id: Option<String>,
}

/// One send of the action and what came back.
pub struct Attempt {
    pub exchanges: Vec<Exchange>,
    pub result: Result<Observed, Failure>,
}

impl Attempt {
    pub(super) fn failed(f: Failure) -> Attempt {
        Attempt {
            exchanges: Vec::new(),
            result: Err(f),
        }
    }
}

/// A step being executed: the action is re-prepared on every attempt, because a PAM
/// callback signs a fresh timestamp each time and templates may read new captures.
pub struct StepExec<'a> {
    pub env: &'a StepEnv<'a>,
    pub cancel: &'a CancellationToken,
    pub(super) step: &'a Step,
    name: &'a str,
    state: &'a mut CaseState,
    /// What the step expects: a paged request walks pages until it holds.
    expect: &'a Expect,
    kind: StatusKind,
}

impl<'a> StepExec<'a> {
    pub(super) fn new(
        env: &'a StepEnv<'a>,
        step: &'a Step,
        name: &'a str,
        state: &'a mut CaseState,
        expect: &'a Expect,
        kind: StatusKind,
    ) -> Self {
        StepExec {
            env,
            cancel: env.cancel,
            step,
            name,
            state,
            expect,
            kind,
        }
    }
}

impl StepExec<'_> {
    /// Sends the action once, racing the run's cancellation.
    pub async fn attempt(&mut self, vars: &Vars) -> Attempt {
        let cancel = self.cancel.clone();
        tokio::select! {
            a = self.attempt_inner(vars) => a,
            _ = cancel.cancelled() => Attempt::failed(Failure::error("interrupted")),
        }
    }

    async fn attempt_inner(&mut self, vars: &Vars) -> Attempt {
        let step = self.step;
        let prepared = match &step.action {
            Action::Thothctl(ctl) => return self.thothctl(&ctl.args, vars).await,
            Action::Request(r) if r.pages.is_some() => return self.paged(r, vars).await,
            Action::Request(r) => self.prepare_request(r, vars, false),
            Action::Admin(r) => self.prepare_request(r, vars, true),
            Action::PamCallback(pam) => self.prepare_pam(pam, vars).inspect(|req| {
                self.state
                    .sent_pam
                    .insert(self.name.to_string(), req.clone());
            }),
            // The sink poller sends its own requests (see `sink::sink_wait`).
            Action::SinkWait(_) => Err(Failure::error("sink_wait is not sent as one request")),
        };
        match prepared {
            Ok(mut req) => {
                if let Some(rec) = self.env.recorder {
                    // The settings PUTs carry the tenant lease (src/safety/lease.rs).
                    rec.stamp_request(&mut req, &self.env.target.tenant_base());
                }
                self.send(&req).await
            }
            Err(f) => Attempt::failed(f),
        }
    }

    /// Walks a paged list (`page=1, 2, ...`) until the step's expectations hold on a
    /// page, the list ends (a page without `data` rows, or the same page again from a
    /// server that ignores paging), or `pages.max` pages were read. The attempt is the
    /// page that settled it, with every page's exchange.
    async fn paged(&mut self, r: &Request, vars: &Vars) -> Attempt {
        let Some(pages) = &r.pages else {
            return Attempt::failed(Failure::error("not a paged request"));
        };
        if pages.all {
            return self.paged_all(r, pages, vars).await;
        }
        let mut exchanges = Vec::new();
        let mut previous: Option<String> = None;
        let mut last = Err(Failure::error("pages: no page read"));
        for page in 1..=pages.max {
            let attempt = match self.send_page(r, pages, page, vars).await {
                Ok(a) => a,
                Err(f) => return Attempt::failed(f),
            };
            exchanges.extend(attempt.exchanges);
            let obs = match attempt.result {
                Ok(obs) => obs,
                Err(f) => {
                    last = Err(f);
                    break;
                }
            };
            let holds = check(self.expect, self.kind, &obs, vars).is_ok();
            let repeated = previous.as_deref() == Some(obs.body.as_str());
            let end = holds || last_page(&obs, pages, None) || repeated;
            previous = Some(obs.body.clone());
            last = Ok(obs);
            if end {
                break;
            }
        }
        Attempt {
            exchanges,
            result: last,
        }
    }

    /// Sends page `page` of the paged request `r`.
    async fn send_page(
        &self,
        r: &Request,
        pages: &Pages,
        page: u32,
        vars: &Vars,
    ) -> Result<Attempt, Failure> {
        let mut paged = r.clone();
        paged.query.insert("page".into(), page.to_string());
        paged
            .query
            .insert("per_page".into(), pages.per_page.to_string());
        let req = self.prepare_request(&paged, vars, false)?;
        Ok(self.send(&req).await)
    }

    /// `pages: {all: true}`: reads every page to the end of the list and answers one
    /// observation of all the rows (`{"data": [...], "total": N}`, the bodies joined for
    /// `body_not_contains`). A row seen twice, or fewer or more rows than a `total`
    /// every page agreed on, fails the step: the target's paging loses or duplicates
    /// rows. A list longer than `pages.max` pages is an error (raise `max`), never a
    /// verdict on the part that was read.
    async fn paged_all(&mut self, r: &Request, pages: &Pages, vars: &Vars) -> Attempt {
        let mut exchanges = Vec::new();
        let mut rows: Vec<Value> = Vec::new();
        let mut bodies: Vec<String> = Vec::new();
        let mut totals: Vec<u64> = Vec::new();
        let mut first: Option<Observed> = None;
        let mut ended = false;
        for page in 1..=pages.max {
            let attempt = match self.send_page(r, pages, page, vars).await {
                Ok(a) => a,
                Err(f) => return Attempt::failed(f),
            };
            exchanges.extend(attempt.exchanges);
            let obs = match attempt.result {
                Ok(obs) => obs,
                Err(f) => {
                    return Attempt {
                        exchanges,
                        result: Err(f),
                    }
                }
            };
            if !(200..300).contains(&obs.status) {
                // Not a list page: the expectations judge this answer as it is.
                return Attempt {
                    exchanges,
                    result: Ok(obs),
                };
            }
            let data = obs
                .json
                .as_ref()
                .and_then(|j| j.get("data"))
                .and_then(Value::as_array)
                .cloned();
            let Some(data) = data else {
                let f = Failure::fail(format!(
                    "pages: page {page} has no `data` array (body: {})",
                    super::expect::cut(obs.body.trim())
                ));
                return Attempt {
                    exchanges,
                    result: Err(Failure { shape: true, ..f }),
                };
            };
            if let Some(t) = obs
                .json
                .as_ref()
                .and_then(|j| j.get("total"))
                .and_then(Value::as_u64)
            {
                totals.push(t);
            }
            rows.extend(data);
            let end = last_page(&obs, pages, Some(rows.len()));
            bodies.push(obs.body.clone());
            first.get_or_insert(obs);
            if end {
                ended = true;
                break;
            }
        }
        let Some(first) = first else {
            return Attempt {
                exchanges,
                result: Err(Failure::error("pages: no page read")),
            };
        };
        if !ended {
            return Attempt {
                exchanges,
                result: Err(Failure::error(format!(
                    "pages: the list did not end within {} pages of {} rows; raise `pages.max`",
                    pages.max, pages.per_page
                ))),
            };
        }
        let result = page_accounting(&rows, &totals, pages.key.as_deref()).map(|()| {
            let total = totals.last().copied().unwrap_or(rows.len() as u64);
            Observed {
                status: first.status,
                headers: first.headers,
                body: bodies.join("\n"),
                json: Some(serde_json::json!({ "data": rows, "total": total })),
            }
        });
        Attempt { exchanges, result }
    }

    /// Sends through the client's retry policy when the request is idempotent and the
    /// step does not repeat itself already (`retry:` or `eventually:` own the
    /// repetition of their step, so the client sends those once).
    pub(super) async fn send(&self, req: &HttpRequest) -> Attempt {
        let repeats_itself = self.step.retry.is_some() || self.step.eventually.is_some();
        let idempotent = !repeats_itself && crate::retry::idempotent(&req.method, &req.url);
        let (exchanges, result) = self.env.client.send_retrying(req, idempotent).await;
        let result = result
            .map(|r| Observed::new(i64::from(r.status), r.headers.clone(), r.text()))
            .map_err(|e| Failure::error(e.to_string()));
        Attempt { exchanges, result }
    }

    fn prepare_request(
        &self,
        r: &Request,
        vars: &Vars,
        admin: bool,
    ) -> Result<HttpRequest, Failure> {
        let target = self.env.target;
        let path = render(&r.path, vars)?;
        let base = match (admin, r.base) {
            (true, _) => match (&target.admin_url, &target.sink_url) {
                (Some(admin), _) => admin.clone(),
                // A sink route without the mock: the sink's own root (`--sink-url` is
                // `<root>/__sink`).
                (None, Some(sink)) if path.starts_with(SINK_PREFIX) => sink
                    .strip_suffix(SINK_PREFIX.trim_end_matches('/'))
                    .ok_or_else(|| {
                        Failure::error(format!(
                            "sink route `{path}`: --sink-url `{sink}` does not end in `/__sink`"
                        ))
                    })?
                    .to_string(),
                _ => {
                    return Err(Failure::error(
                        "admin steps need the mock admin API (mock target only)",
                    ))
                }
            },
            (false, Base::Govapi) => target.tenant_base(),
            (false, Base::Enforcer) => target
                .api_url
                .clone()
                .ok_or_else(|| Failure::error("the target has no enforcer URL (THOTH_API_URL)"))?,
        };
        let root = match r.base {
            Base::Govapi => target.govapi_url.as_str(),
            Base::Enforcer => target.api_url.as_deref().unwrap_or_default(),
        };
        let joined = if path.starts_with("http://") || path.starts_with("https://") {
            // Absolute URLs are allowed only under the target's own root, so a suite can
            // address another tenant but credentials never go to a foreign host.
            if !path.starts_with(&format!("{root}/")) {
                return Err(Failure::error(format!(
                    "path `{path}` is outside the target's {} URL",
                    match r.base {
                        Base::Govapi => "GovAPI",
                        Base::Enforcer => "enforcer",
                    }
                )));
            }
            path
        } else if path.starts_with('/') {
            format!("{base}{path}")
        } else {
            format!("{base}/{path}")
        };
        let mut url = reqwest::Url::parse(&joined)
            .map_err(|e| Failure::error(format!("url `{joined}`: {e}")))?;
        if !r.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &r.query {
                pairs.append_pair(k, &render(v, vars)?);
            }
        }
        let mut headers = Vec::new();
        if !admin {
            headers.extend(self.auth_headers(&r.auth, vars)?);
        }
        let body = self.request_body(r, vars, &mut headers)?;
        for (k, v) in &r.headers {
            headers.push((k.clone(), render(v, vars)?));
        }
        Ok(HttpRequest {
            method: r.method.as_str().to_string(),
            url: url.to_string(),
            headers,
            body,
        })
    }

    fn auth_headers(&self, auth: &Auth, vars: &Vars) -> Result<Vec<(String, String)>, Failure> {
        let t = self.env.target;
        let bearer = |tok: &str| ("Authorization".to_string(), format!("Bearer {tok}"));
        let key = |k: &str| ("X-Api-Key".to_string(), k.to_string());
        let admin = || {
            crate::target::exposed(&t.admin_token)
                .ok_or_else(|| Failure::error("auth: admin: the target has no admin token"))
        };
        let org = || {
            crate::target::exposed(&t.org_key)
                .ok_or_else(|| Failure::error("auth: org_key: the target has no org API key"))
        };
        Ok(match auth {
            Auth::Default => match (
                crate::target::exposed(&t.admin_token),
                crate::target::exposed(&t.org_key),
            ) {
                (Some(tok), _) => vec![bearer(tok)],
                (None, Some(k)) => vec![key(k)],
                (None, None) => return Err(Failure::error("auth: the target has no credential")),
            },
            Auth::Admin => vec![bearer(admin()?)],
            Auth::OrgKey => vec![key(org()?)],
            Auth::None => Vec::new(),
            Auth::ApiKey(k) => vec![key(&render(k, vars)?)],
            Auth::Bearer(tok) => vec![bearer(&render(tok, vars)?)],
            Auth::Both => vec![bearer(admin()?), key(org()?)],
        })
    }

    fn request_body(
        &self,
        r: &Request,
        vars: &Vars,
        headers: &mut Vec<(String, String)>,
    ) -> Result<Option<Vec<u8>>, Failure> {
        let json_ct = || ("Content-Type".to_string(), "application/json".to_string());
        if let Some(json) = &r.json {
            headers.push(json_ct());
            let v = render_json(json, vars)?;
            return Ok(Some(v.to_string().into_bytes()));
        }
        if let Some(file) = &r.body_file {
            let rel = render(file, vars)?;
            let text = crate::suite::fixture::read_fixture(self.env.fixtures_dir, &rel)
                .map_err(|e| Failure::error(e.to_string()))?;
            if rel.ends_with(".json") {
                let doc: Value = serde_json::from_str(&text)
                    .map_err(|e| Failure::error(format!("body_file {rel}: not JSON: {e}")))?;
                // Users point `--fixtures` at files with real credentials: every value
                // under a secret-looking key is a secret of the run from here on.
                crate::redact::register_secret_fields(&doc, self.env.redactor);
                headers.push(json_ct());
                return Ok(Some(render_json(&doc, vars)?.to_string().into_bytes()));
            }
            return Ok(Some(render(&text, vars)?.into_bytes()));
        }
        if let Some(body) = &r.body {
            return Ok(Some(render(body, vars)?.into_bytes()));
        }
        Ok(None)
    }

    fn prepare_pam(&self, pam: &PamCallback, vars: &Vars) -> Result<HttpRequest, Failure> {
        if let Some(earlier) = &pam.replay_of {
            return self.state.sent_pam.get(earlier).cloned().ok_or_else(|| {
                Failure::error(format!(
                    "replay_of: no earlier PAM callback step named \"{earlier}\" in this case"
                ))
            });
        }
        let target = self.env.target;
        let secret = match &pam.secret {
            Some(s) => render(s, vars)?,
            None => crate::target::exposed(&target.pam_callback_secret).map(str::to_owned).ok_or_else(|| {
                Failure::error("pam_callback: the target has no PAM callback secret (THOTH_PAM_CALLBACK_SECRET)")
            })?,
        };
        let decision = render(&pam.decision, vars)?;
        let body_of = |decision: &str| -> Result<Vec<u8>, Failure> {
            Ok(serde_json::json!({
                "approval_id": render(&pam.approval_id, vars)?,
                "request_id": render(&pam.request_id, vars)?,
                "decision": decision,
            })
            .to_string()
            .into_bytes())
        };
        let body = body_of(&decision)?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let ts = (now + pam.skew_seconds).to_string();
        let scheme = &target.schemes.pam;
        let mut signature = scheme.sign(secret.as_bytes(), &ts, &body);
        let mut sent_body = body;
        match pam.tamper {
            Tamper::None | Tamper::OmitSignature => {}
            Tamper::Signature => signature = flip_mac_char(&signature, scheme.prefix.len()),
            Tamper::Body => {
                let flipped = if decision == "approve" {
                    "deny"
                } else {
                    "approve"
                };
                sent_body = body_of(flipped)?;
            }
        }
        // No tenant credential: a PAM system holds only the callback secret, so the
        // signature alone must be what the target trusts.
        let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        headers.push((scheme.timestamp_header.clone(), ts));
        if pam.tamper != Tamper::OmitSignature {
            headers.push((scheme.signature_header.clone(), signature));
        }
        Ok(HttpRequest {
            method: "POST".into(),
            url: format!(
                "{}{}",
                target.tenant_base(),
                target.schemes.pam_callback_path
            ),
            headers,
            body: Some(sent_body),
        })
    }

    async fn thothctl(&self, args: &[String], vars: &Vars) -> Attempt {
        let Some(bin) = &self.env.target.thothctl else {
            return Attempt::failed(Failure::error("not run: thothctl not found"));
        };
        let args = match args
            .iter()
            .map(|a| render(a, vars))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(a) => a,
            Err(e) => return Attempt::failed(e.into()),
        };
        // Suites name fixture files as `fixtures/<file>`, as the runbook's commands do
        // from the repository: thothctl runs in the directory that holds the fixtures,
        // wherever the harness was started (the built-in tree is unpacked to a temporary
        // directory, a --fixtures tree can be anywhere).
        let fixtures = std::path::absolute(self.env.fixtures_dir)
            .unwrap_or_else(|_| self.env.fixtures_dir.to_path_buf());
        let cwd = fixtures.parent().unwrap_or(&fixtures);
        let (exchange, result) = super::thothctl::run(
            bin,
            self.env.target,
            &args,
            cwd,
            self.env.thothctl_timeout,
            self.env.redactor,
        )
        .await;
        let result = result
            .map(|out| {
                let json = out.json();
                Observed {
                    status: i64::from(out.exit_code),
                    headers: Vec::new(),
                    body: out.stdout,
                    json,
                }
            })
            .map_err(|e| Failure::error(e.to_string()));
        Attempt {
            exchanges: vec![exchange],
            result,
        }
    }
}

/// Changes one character of the encoded MAC, keeping it validly encoded.
fn flip_mac_char(signature: &str, prefix_len: usize) -> String {
    let mut chars: Vec<char> = signature.chars().collect();
    let i = prefix_len.min(chars.len().saturating_sub(1));
    if let Some(c) = chars.get_mut(i) {
        *c = if *c == 'a' { 'b' } else { 'a' };
    }
    chars.into_iter().collect()
}

/// Whether `obs` is the last page of its list: it has no rows, or fewer than a page
/// holds, or (with `read`, the rows read so far) the rows read reach its `total`. A
/// page holds the `per_page` the server reports (it may cap what was asked for, as a
/// busy tenant does), else the `per_page` asked for.
fn last_page(obs: &Observed, pages: &Pages, read: Option<usize>) -> bool {
    let json = obs.json.as_ref();
    let field = |name: &str| json.and_then(|j| j.get(name)).and_then(Value::as_u64);
    let rows = json
        .and_then(|j| j.get("data"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let size = field("per_page")
        .filter(|n| *n > 0)
        .unwrap_or(u64::from(pages.per_page));
    let read_all = matches!((read, field("total")), (Some(r), Some(t)) if r as u64 >= t);
    rows == 0 || (rows as u64) < size || read_all
}

/// What a walk of every page must add up to: no row twice (by `key`, else the whole
/// row), and, when every page reported the same `total`, exactly that many rows. A
/// `total` that moved between pages means others wrote meanwhile (a live tenant), and
/// then only duplicates are a defect.
fn page_accounting(rows: &[Value], totals: &[u64], key: Option<&str>) -> Result<(), Failure> {
    let mut seen = std::collections::HashSet::new();
    for row in rows {
        let id = match key {
            Some(k) => row.get(k).map_or_else(|| row.to_string(), Value::to_string),
            None => row.to_string(),
        };
        if !seen.insert(id.clone()) {
            return Err(Failure::fail(format!(
                "pages: a row is listed twice across pages ({}: {})",
                key.unwrap_or("row"),
                super::expect::cut(&id)
            )));
        }
    }
    if let (Some(first), true) = (totals.first(), totals.windows(2).all(|w| w[0] == w[1])) {
        if rows.len() as u64 != *first {
            return Err(Failure::fail(format!(
                "pages: every page reported total {first}, but the pages held {} distinct rows",
                rows.len()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod paging_tests {
    use super::*;
    use serde_json::json;

    fn pages() -> Pages {
        Pages {
            per_page: 100,
            max: 10,
            all: true,
            key: Some("id".into()),
        }
    }

    fn page(body: Value) -> Observed {
        Observed::new(200, Vec::new(), body.to_string())
    }

    #[test]
    fn a_capped_page_is_not_the_last_one() {
        // Asked for 100, the server capped at 5: a full page of 5 is not the end.
        let capped = page(json!({"data": [1, 2, 3, 4, 5], "per_page": 5, "total": 12}));
        assert!(!last_page(&capped, &pages(), Some(5)));
        assert!(last_page(&capped, &pages(), Some(12)), "all rows read");
        let short = page(json!({"data": [1, 2], "per_page": 5, "total": 12}));
        assert!(last_page(&short, &pages(), Some(12)));
        assert!(last_page(&page(json!({"data": []})), &pages(), None));
    }

    #[test]
    fn paging_that_loses_or_repeats_rows_fails() {
        let rows = |ids: &[u32]| ids.iter().map(|i| json!({"id": i})).collect::<Vec<_>>();
        assert!(page_accounting(&rows(&[1, 2, 3]), &[3, 3], Some("id")).is_ok());
        let twice = page_accounting(&rows(&[1, 2, 2]), &[3, 3], Some("id")).unwrap_err();
        assert!(twice.message.contains("twice"), "{}", twice.message);
        let lost = page_accounting(&rows(&[1, 2]), &[3, 3], Some("id")).unwrap_err();
        assert!(lost.message.contains("total 3"), "{}", lost.message);
        // A total that moved between pages (others writing): only duplicates count.
        assert!(page_accounting(&rows(&[1, 2]), &[3, 4], Some("id")).is_ok());
    }
}
