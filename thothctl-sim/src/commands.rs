//! Every command but `bootstrap` and `browser sync`: one GovAPI call each, the answer
//! printed as GovAPI gave it (README.md: the stand-in's output shapes).

use std::io::Read as _;
use std::path::Path;

use hmac::{KeyInit as _, Mac as _};
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::api::{self, Api, Env};
use crate::cli::*;
use crate::fault::{Fault, Faults};
use crate::{Outcome, SimError, EXIT_FAILED};

pub async fn dispatch(cli: &Cli, env: Env<'_>, faults: &Faults) -> Result<Outcome, SimError> {
    if let Cmd::Auth(AuthCmd::Login {
        admin_email,
        session_file,
    }) = &cli.cmd
    {
        return auth_login(
            &cli.conn,
            admin_email.as_deref(),
            session_file.as_deref(),
            env,
        )
        .await;
    }
    let api = Api::connect(&cli.conn, env)?;
    match &cli.cmd {
        Cmd::Auth(_) | Cmd::Manual => unreachable!("handled above"),
        Cmd::Bootstrap(b) => crate::bootstrap::run(&api, b, env, faults).await,
        Cmd::Settings(SettingsCmd::Get) => Ok(Outcome::ok(api.get("/settings", &[]).await?)),
        Cmd::Mdm(MdmCmd::List) => Ok(Outcome::ok(api.get("/mdm/providers", &[]).await?)),
        Cmd::Mdm(MdmCmd::Sync { provider }) => {
            let path = format!("/mdm/providers/{}/sync", segment(provider)?);
            Ok(Outcome::ok(api.post(&path, &json!({})).await?))
        }
        Cmd::Endpoints(EndpointsCmd::List { env: e, fleet_id }) => {
            let query = query(&[("env", e.clone()), ("fleet_id", fleet_id.clone())]);
            let mut body = api.get_all("/endpoints", &query).await?;
            if faults.contains(&Fault::EndpointsListEmpty) {
                body = json!({ "data": [] });
            }
            Ok(Outcome::ok(body))
        }
        Cmd::Endpoints(EndpointsCmd::Stats) => {
            Ok(Outcome::ok(api.get("/endpoints/stats", &[]).await?))
        }
        Cmd::ApiKeys(cmd) => api_keys(&api, cmd, faults).await,
        Cmd::Approvals(ApprovalsCmd::List { status, limit }) => {
            let query = query(&[
                ("status", status.clone()),
                ("limit", limit.map(|l| l.to_string())),
            ]);
            Ok(Outcome::ok(api.get("/approvals", &query).await?))
        }
        Cmd::Pam(PamCmd::Callback {
            approval_id,
            request_id,
            decision,
            dry_run,
            callback_secret_file,
        }) => {
            let secret = match callback_secret_file {
                Some(p) => api::read_secret_file(p, "the callback secret file")?,
                None => env("THOTH_PAM_CALLBACK_SECRET")
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| {
                        SimError::Config(
                            "find the PAM callback secret: set THOTH_PAM_CALLBACK_SECRET or pass --callback-secret-file"
                                .into(),
                        )
                    })?,
            };
            let callback = Callback {
                approval_id,
                request_id,
                decision,
                secret: &secret,
            };
            let send_anyway = faults.contains(&Fault::PamDryRunSends);
            pam_callback(&api, &callback, *dry_run, send_anyway).await
        }
        Cmd::Evidence(cmd) => evidence(&api, cmd).await,
        Cmd::Browser(BrowserCmd::Sync {
            device_id,
            user_id,
            dry_run,
            policy_root,
        }) => crate::browser_sync::run(&api, device_id, user_id, *dry_run, policy_root).await,
        Cmd::Browser(cmd) => browser(&api, cmd).await,
    }
}

/// Query pairs for the options that are set.
fn query<'a>(pairs: &[(&'a str, Option<String>)]) -> Vec<(&'a str, String)> {
    pairs
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (*k, v)))
        .collect()
}

/// A value used as one path segment: no separators or dot segments.
fn segment(s: &str) -> Result<&str, SimError> {
    let bad = s.is_empty() || s == "." || s == ".." || s.contains(['/', '?', '#', '%']);
    if bad {
        return Err(SimError::Config(format!(
            "use `{s}` as an identifier: it is not one"
        )));
    }
    Ok(s)
}

pub fn read_json_file(path: &Path, what: &str) -> Result<Value, SimError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SimError::Config(format!("read {what} {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| SimError::Config(format!("parse {what} {}: {e}", path.display())))
}

/// Scope as GovAPI takes it: `--scope-level/--scope-target-id`, or exactly one selector.
fn scope(s: &Scope) -> Result<Option<(String, Option<String>)>, SimError> {
    let mut chosen = Vec::new();
    if let Some(level) = &s.scope_level {
        chosen.push((level.clone(), s.scope_target_id.clone()));
    }
    if s.organization {
        chosen.push(("organization".into(), None));
    }
    for (level, id) in [
        ("fleet", &s.fleet_id),
        ("endpoint", &s.endpoint_id),
        ("agent", &s.agent_id),
    ] {
        if let Some(id) = id {
            chosen.push((level.into(), Some(id.clone())));
        }
    }
    match chosen.len() {
        0 => Ok(None),
        1 => Ok(chosen.pop()),
        _ => Err(SimError::Config(
            "choose exactly one scope selector (--scope-level, --organization, --fleet-id, --endpoint-id, --agent-id)"
                .into(),
        )),
    }
}

async fn api_keys(api: &Api, cmd: &ApiKeysCmd, faults: &Faults) -> Result<Outcome, SimError> {
    match cmd {
        ApiKeysCmd::List => Ok(Outcome::ok(api.get("/api-keys", &[]).await?)),
        ApiKeysCmd::Create {
            name,
            scope: s,
            permissions,
            ttl_seconds,
        } => {
            let mut body = Map::new();
            if let Some(n) = name {
                body.insert("name".into(), json!(n));
            }
            let (level, target) = scope(s)?.unwrap_or(("organization".into(), None));
            body.insert("scope_level".into(), json!(level));
            if let Some(t) = target {
                body.insert("scope_target_id".into(), json!(t));
            }
            body.insert("permissions".into(), json!(permissions));
            if let Some(ttl) = ttl_seconds {
                body.insert("ttl_seconds".into(), json!(ttl));
            }
            Ok(Outcome::ok(
                api.post("/api-keys", &Value::Object(body)).await?,
            ))
        }
        ApiKeysCmd::Authorize {
            key_id,
            api_key,
            api_key_file,
            permission,
            resource_type,
            resource_id,
            scope: s,
        } => {
            let key = match (api_key_file, api_key.as_deref()) {
                (Some(p), _) => api::read_secret_file(p, "the API key file")?,
                (None, Some("-")) => {
                    let mut text = String::new();
                    std::io::stdin().read_to_string(&mut text).map_err(|e| {
                        SimError::Config(format!("read the API key from stdin: {e}"))
                    })?;
                    text.trim().to_string()
                }
                (None, Some(k)) => k.to_string(),
                (None, None) => {
                    return Err(SimError::Config(
                        "find the key to authorize: pass --api-key-file (or --api-key)".into(),
                    ))
                }
            };
            // A scope selector names the resource the same way the key's scope does.
            let (rtype, rid) = match (resource_type, resource_id, scope(s)?) {
                (Some(t), Some(i), _) => (t.clone(), i.clone()),
                (None, None, Some((level, Some(id)))) => (level, id),
                _ => return Err(SimError::Config(
                    "name the resource: --resource-type and --resource-id, or one scope selector"
                        .into(),
                )),
            };
            let body = json!({
                "api_key": key,
                "permission": permission,
                "resource_type": rtype,
                "resource_id": rid,
            });
            let path = format!("/api-keys/{}/authorize", segment(key_id)?);
            Ok(Outcome::ok(api.post(&path, &body).await?))
        }
        ApiKeysCmd::Revoke { key_id } => {
            if faults.contains(&Fault::ApiKeysRevokeNoop) {
                return Ok(Outcome::ok(json!({ "key_id": key_id, "revoked": true })));
            }
            let path = format!("/api-keys/{}", segment(key_id)?);
            let body = api
                .send(Method::DELETE, "thoth", &path, &[], None)
                .await?
                .into_ok(&format!("DELETE {path}"))?;
            Ok(Outcome::ok(body))
        }
    }
}

pub struct Callback<'a> {
    pub approval_id: &'a str,
    pub request_id: &'a str,
    pub decision: &'a str,
    pub secret: &'a str,
}

/// `v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>` (README.md: the scheme is not public;
/// this is the project's default, docs/interfaces.md §4).
pub fn sign(secret: &str, timestamp: u64, body: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

async fn pam_callback(
    api: &Api,
    cb: &Callback<'_>,
    dry_run: bool,
    send_anyway: bool,
) -> Result<Outcome, SimError> {
    if !["approve", "deny"].contains(&cb.decision) {
        return Err(SimError::Config(format!(
            "use decision `{}`: expected approve or deny",
            cb.decision
        )));
    }
    let payload = json!({
        "approval_id": cb.approval_id,
        "request_id": cb.request_id,
        "decision": cb.decision,
    });
    let body = payload.to_string();
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let signature = sign(cb.secret, timestamp, &body);
    let url = api.url("thoth", "/pam/callback");
    let headers = [
        ("X-Thoth-Timestamp", timestamp.to_string()),
        ("X-Thoth-Signature", signature.clone()),
    ];
    if dry_run {
        if send_anyway {
            // The fault: a dry run that is not one, and says it is.
            let _ = api
                .send_with(
                    Method::POST,
                    "thoth",
                    "/pam/callback",
                    &[],
                    Some(body),
                    &headers,
                )
                .await;
        }
        return Ok(Outcome::ok(json!({
            "dry_run": true,
            "sent": false,
            "url": url,
            "headers": { "X-Thoth-Timestamp": timestamp.to_string(), "X-Thoth-Signature": signature },
            "payload": payload,
        })));
    }
    let answer = api
        .send_with(
            Method::POST,
            "thoth",
            "/pam/callback",
            &[],
            Some(body),
            &headers,
        )
        .await?;
    let ok = answer.ok();
    let doc = json!({
        "dry_run": false,
        "sent": true,
        "http_status": answer.status,
        "approval_id": cb.approval_id,
        "response": answer.body,
    });
    Ok(Outcome {
        doc,
        exit: if ok { crate::EXIT_OK } else { EXIT_FAILED },
    })
}

async fn evidence(api: &Api, cmd: &EvidenceCmd) -> Result<Outcome, SimError> {
    match cmd {
        EvidenceCmd::Slos {
            window_hours,
            scan_limit,
        } => {
            let q = query(&[
                ("window_hours", window_hours.map(|v| v.to_string())),
                ("scan_limit", scan_limit.map(|v| v.to_string())),
            ]);
            let body = api.get("/governance/evidence-slos", &q).await?;
            // Meant for CI: a breached SLO fails the command, with the report printed.
            let passed = body.get("passed").and_then(Value::as_bool) == Some(true);
            Ok(Outcome {
                doc: body,
                exit: if passed { crate::EXIT_OK } else { EXIT_FAILED },
            })
        }
        EvidenceCmd::Backfill {
            limit,
            dry_run,
            include_blocked_events,
        } => {
            let q = query(&[
                ("limit", limit.map(|v| v.to_string())),
                ("dry_run", Some(dry_run.to_string())),
                (
                    "include_blocked_events",
                    include_blocked_events.map(|v| v.to_string()),
                ),
            ]);
            let path = "/evidence/thoth/backfill";
            let answer = api.send(Method::POST, "governance", path, &q, None).await?;
            // The vendor's clients fall back to the tenant-area route on 404/405.
            let answer = if matches!(answer.status, 404 | 405) {
                api.send(
                    Method::POST,
                    "thoth",
                    "/governance/evidence/thoth/backfill",
                    &q,
                    None,
                )
                .await?
            } else {
                answer
            };
            Ok(Outcome::ok(answer.into_ok(&format!("POST {path}"))?))
        }
        EvidenceCmd::DecisionBackfill {
            window_hours,
            limit,
            dry_run,
        } => {
            let q = query(&[
                ("window_hours", window_hours.map(|v| v.to_string())),
                ("limit", limit.map(|v| v.to_string())),
                ("dry_run", Some(dry_run.to_string())),
            ]);
            let path = "/governance/backfill-decision-fields";
            let body = api
                .send(Method::POST, "thoth", path, &q, None)
                .await?
                .into_ok(&format!("POST {path}"))?;
            Ok(Outcome::ok(body))
        }
    }
}

async fn browser(api: &Api, cmd: &BrowserCmd) -> Result<Outcome, SimError> {
    let (path, body) = match cmd {
        BrowserCmd::Providers(ProvidersCmd::List) => {
            return Ok(Outcome::ok(api.get("/browser/providers", &[]).await?))
        }
        BrowserCmd::Policies(PoliciesCmd::List { provider }) => {
            let q = query(&[("provider", provider.clone())]);
            return Ok(Outcome::ok(api.get("/browser/policies", &q).await?));
        }
        BrowserCmd::Enrollments(EnrollmentsCmd::List { provider, status }) => {
            let q = query(&[("provider", provider.clone()), ("status", status.clone())]);
            return Ok(Outcome::ok(api.get("/browser/enrollments", &q).await?));
        }
        BrowserCmd::Providers(ProvidersCmd::Upsert {
            provider,
            name,
            config_file,
            enabled,
        }) => {
            let mut body = json!({
                "provider": provider,
                "name": name.clone().unwrap_or_else(|| provider.clone()),
                "enabled": enabled.unwrap_or(true),
            });
            if let Some(p) = config_file {
                body["config"] = read_json_file(p, "the provider config file")?;
            }
            ("/browser/providers", body)
        }
        BrowserCmd::Policies(PoliciesCmd::Upsert {
            provider,
            name,
            enforcement_mode,
            policy_file,
            policy_id,
            active,
        }) => {
            let mut body = json!({
                "provider": provider,
                "name": name,
                "enforcement_mode": enforcement_mode.clone().unwrap_or_else(|| "monitor".into()),
                "active": active.unwrap_or(true),
            });
            if let Some(id) = policy_id {
                body["policy_id"] = json!(id);
            }
            if let Some(p) = policy_file {
                body["policy"] = read_json_file(p, "the policy file")?;
            }
            ("/browser/policies", body)
        }
        BrowserCmd::Enrollments(EnrollmentsCmd::Upsert {
            provider,
            device_id,
            user_id,
            enrollment_id,
            policy_id,
            status,
        }) => {
            let mut body =
                json!({ "provider": provider, "device_id": device_id, "user_id": user_id });
            for (k, v) in [
                ("enrollment_id", enrollment_id),
                ("policy_id", policy_id),
                ("status", status),
            ] {
                if let Some(v) = v {
                    body[k] = json!(v);
                }
            }
            ("/browser/enrollments", body)
        }
        BrowserCmd::Sync { .. } => unreachable!("dispatched to browser_sync"),
    };
    Ok(Outcome::ok(api.post(path, &body).await?))
}

/// Headless login: a token given by file or environment is checked against GovAPI and
/// stored as the session. Without one there is nothing a headless stand-in can do.
async fn auth_login(
    conn: &Conn,
    admin_email: Option<&str>,
    session_file: Option<&Path>,
    env: Env<'_>,
) -> Result<Outcome, SimError> {
    let explicit_token = conn.auth_token_file.is_some()
        || conn.auth_token.is_some()
        || env("THOTH_ADMIN_BEARER_TOKEN").is_some_and(|s| !s.trim().is_empty())
        || env("THOTH_ADMIN_BEARER_TOKEN_FILE").is_some_and(|s| !s.trim().is_empty());
    if !explicit_token {
        return Err(SimError::Config(
            "log in: interactive SSO is not available in the stand-in; give an admin token with --auth-token-file or THOTH_ADMIN_BEARER_TOKEN_FILE"
                .into(),
        ));
    }
    let api::Credential::Bearer(token) = api::credential(conn, env)? else {
        unreachable!("a token source was given")
    };
    let api = Api::connect(conn, env)?;
    api.get("/settings", &[]).await?;
    let path = api::session_file(session_file, env).ok_or_else(|| {
        SimError::Config("find the session file: set THOTH_AUTH_SESSION_FILE or HOME".into())
    })?;
    write_private(&path, &token)?;
    Ok(Outcome::ok(json!({
        "logged_in": true,
        "tenant_id": api.tenant,
        "admin_email": admin_email,
        "session_file": path.display().to_string(),
    })))
}

fn write_private(path: &Path, content: &str) -> Result<(), SimError> {
    let fail = |e: std::io::Error| {
        SimError::Failed(format!("write the session file {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    use std::io::Write as _;
    let mut file = options.open(path).map_err(fail)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(fail)?;
    }
    file.write_all(content.as_bytes()).map_err(fail)
}
