//! Preflight: before the first request that changes anything, check the target the way a
//! careful operator would, so a misconfigured run ends with one located message instead
//! of 88 identical errors and a half-mutated tenant.
//!
//! Checked, in order: every variable the selected cases use is defined (named by its env
//! var or flag, not its template name); the tenant exists and each configured credential
//! authenticates and may read it (`GET /<tenant>/thoth/settings`, the first read every
//! run makes; the server's `error` code and `message` are quoted); every other URL the
//! target is configured with answers. Only answers that settle the question fail the
//! preflight (401, 403, a 404 naming the tenant, a transport failure of a side URL); a
//! 5xx or a garbled body is left to the cases, which report it with the transcript.
//! An unreachable GovAPI is left to the runner's reachability probe, which writes the
//! reports with every case `error` (exit 3).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::client::{HttpClient, HttpRequest};
use crate::safety::plan::{suite_plan, Decision};
use crate::safety::Profile;
use crate::suite::load::Project;
use crate::target::{exposed, Target};
use crate::template::{placeholders, TARGET_VARS};

/// Why the preflight stopped the run. Messages read on their own, after `error: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreflightError {
    /// Configuration: the user can fix it by setting a variable or flag.
    #[error("preflight: {0}; nothing was changed on the tenant")]
    Config(String),
    /// A configured URL did not answer at all.
    #[error("preflight: {0}; nothing was changed on the tenant")]
    Unreachable(String),
}

/// The cases the run would start, as `(phase, case)`, by the dry-run's rules.
fn selected<'p>(
    project: &'p Project,
    filters: &[String],
    profile: Profile,
    target: &Target,
    phases: Option<&BTreeSet<String>>,
    cases: Option<&BTreeSet<String>>,
) -> Vec<(
    &'p crate::suite::load::LoadedSuite,
    &'p crate::suite::model::Case,
)> {
    let mut out = Vec::new();
    for s in &project.suites {
        if phases.is_some_and(|p| !p.contains(&s.suite.phase)) {
            continue;
        }
        let plan = suite_plan(&s.suite, filters, profile, target);
        for (c, d) in s.suite.cases.iter().zip(&plan) {
            let name = format!("{}::{}", s.suite.phase, c.id);
            if matches!(d, Decision::Run) && cases.is_none_or(|set| set.contains(&name)) {
                out.push((s, c));
            }
        }
    }
    out
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.clone());
            collect_strings(x, out)
        }),
        _ => {}
    }
}

/// Target variables (`{{pam_callback_secret}}`, ...) that `value`'s strings use.
fn target_vars_in(value: &impl serde::Serialize) -> BTreeSet<String> {
    let mut strings = Vec::new();
    if let Ok(v) = serde_json::to_value(value) {
        collect_strings(&v, &mut strings);
    }
    strings
        .iter()
        .filter_map(|s| placeholders(s).ok())
        .flatten()
        .filter(|n| TARGET_VARS.contains(&n.as_str()))
        .collect()
}

/// The selected cases that use one target variable, and the requirements they check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Need {
    /// `phase::case`, in suite order.
    pub cases: Vec<String>,
    pub requirements: BTreeSet<String>,
}

/// Target variable → the selected cases that use it (directly, or through their suite's
/// vars, setup or cleanup).
pub fn variables_needed(
    project: &Project,
    filters: &[String],
    profile: Profile,
    target: &Target,
    phases: Option<&BTreeSet<String>>,
    cases: Option<&BTreeSet<String>>,
) -> BTreeMap<String, Need> {
    let mut need: BTreeMap<String, Need> = BTreeMap::new();
    // A suite's vars, setup and cleanup are read once, not once per case (the selection
    // comes suite by suite): serialising them again for each of a suite's cases was most
    // of the preflight's time.
    let mut shared: Option<(&crate::suite::load::LoadedSuite, BTreeSet<String>)> = None;
    for (s, c) in selected(project, filters, profile, target, phases, cases) {
        if !shared.as_ref().is_some_and(|(of, _)| std::ptr::eq(*of, s)) {
            let mut v = target_vars_in(&s.suite.vars);
            v.extend(target_vars_in(&s.suite.setup));
            v.extend(target_vars_in(&s.suite.cleanup));
            shared = Some((s, v));
        }
        let (_, suite_vars) = shared.as_ref().expect("set above");
        let mut vars = target_vars_in(c);
        vars.extend(suite_vars.iter().cloned());
        for v in vars {
            let n = need.entry(v).or_default();
            n.cases.push(format!("{}::{}", s.suite.phase, c.id));
            n.requirements.extend(c.requirements.iter().cloned());
        }
    }
    need
}

/// Every variable the selected cases use is defined on the target.
pub fn check_variables(
    need: &BTreeMap<String, Need>,
    target: &Target,
) -> Result<(), PreflightError> {
    let defined: BTreeSet<&str> = target
        .template_vars("preflight")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let missing: Vec<String> = need
        .iter()
        .filter(|(name, _)| !defined.contains(name.as_str()))
        .map(|(name, n)| {
            let source = crate::target::variable_source(name).unwrap_or("(unknown source)");
            let shown: Vec<&str> = n.cases.iter().take(3).map(String::as_str).collect();
            let more = n.cases.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            let reqs: Vec<&str> = n.requirements.iter().map(String::as_str).collect();
            format!(
                "{source} is not set, and {} selected case(s) use `{{{{{name}}}}}` ({}{more}), \
                 which check {}",
                n.cases.len(),
                shown.join(", "),
                reqs.join(", ")
            )
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(PreflightError::Config(format!(
            "{}; set it, or leave those cases out with a filter",
            missing.join("; ")
        )))
    }
}

/// `error: message` of a JSON error answer, or the start of the body.
fn server_said(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match serde_json::from_str::<Value>(&text) {
        Ok(v) if v.get("error").is_some() => {
            let code = v["error"].as_str().unwrap_or("?");
            match v.get("message").and_then(Value::as_str) {
                Some(m) => format!("`{code}`: {m}"),
                None => format!("`{code}`"),
            }
        }
        _ => {
            let t: String = text.chars().take(120).collect();
            if t.is_empty() {
                "an empty body".to_owned()
            } else {
                format!("`{t}`")
            }
        }
    }
}

/// The tenant exists and every configured credential authenticates and may read it.
pub async fn check_credentials(client: &HttpClient, target: &Target) -> Result<(), PreflightError> {
    let url = format!("{}/thoth/settings", target.tenant_base());
    let mut creds: Vec<(&str, (String, String))> = Vec::new();
    if let Some(t) = exposed(&target.admin_token) {
        creds.push((
            target.credential_source(true),
            ("Authorization".into(), format!("Bearer {t}")),
        ));
    }
    if let Some(k) = exposed(&target.org_key) {
        creds.push((
            target.credential_source(false),
            ("X-Api-Key".into(), k.to_owned()),
        ));
    }
    for (source, header) in creds {
        let req = HttpRequest {
            method: "GET".into(),
            url: url.clone(),
            headers: vec![header],
            body: None,
        };
        let (_, res) = client.send(&req).await;
        // Transport failures are the reachability probe's to report (exit 3, reports).
        let Ok(res) = res else { return Ok(()) };
        let said = server_said(&res.body);
        let at = format!("GET {url} answered {}", res.status);
        match res.status {
            404 if said.contains("tenant") => {
                return Err(PreflightError::Config(format!(
                    "tenant `{}` (THOTH_TENANT_ID / --tenant-id) was not found: {at} {said}",
                    target.tenant
                )))
            }
            401 => {
                return Err(PreflightError::Config(format!(
                    "{source} did not authenticate: {at} {said}"
                )))
            }
            403 => {
                return Err(PreflightError::Config(format!(
                    "{source} authenticates but may not read tenant `{}`, which the selected \
                     cases need: {at} {said}",
                    target.tenant
                )))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Every URL the target is configured with besides the GovAPI answers (any HTTP status
/// counts: only a transport failure means it is not there).
pub async fn check_urls(client: &HttpClient, target: &Target) -> Result<(), PreflightError> {
    for (source, url) in target.side_urls() {
        let req = HttpRequest {
            method: "GET".into(),
            url: url.clone(),
            headers: Vec::new(),
            body: None,
        };
        if let (_, Err(e)) = client.send(&req).await {
            return Err(PreflightError::Unreachable(format!(
                "{source} `{url}` did not answer: {e}"
            )));
        }
    }
    Ok(())
}

/// One line per thing the run needs, for the dry-run plan.
pub fn needs_lines(need: &BTreeMap<String, Need>, target: &Target) -> Vec<String> {
    let defined: BTreeSet<&str> = target
        .template_vars("plan")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut lines = vec![format!(
        "tenant `{}` at {}, readable with each configured credential",
        target.tenant, target.govapi_url
    )];
    for (source, url) in target.side_urls() {
        lines.push(format!("{source} `{url}` answering"));
    }
    for (name, n) in need {
        let source = crate::target::variable_source(name).unwrap_or(name);
        let state = if defined.contains(name.as_str()) {
            "set"
        } else {
            "NOT SET"
        };
        lines.push(format!(
            "{source} ({state}): used by {} selected case(s)",
            n.cases.len()
        ));
    }
    lines
}
