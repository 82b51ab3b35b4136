//! One secret policy for every record kind (settings, MDM and browser providers,
//! integrations): how a set secret reads back on GET, and what a write that sends back
//! what GET showed means.
//!
//! GovAPI shows set secrets as `"********"`; the vendor clients read as though written
//! for a server that omits them or returns them empty (`vendor-clients.md` §1 #3). The
//! mock can answer each way (`--secret-readback mask|omit|empty`). On writes the shown
//! form always means "keep the stored secret": `"********"`, `""`, or the key left out of
//! an object that is sent (clients GET, edit, and send the document back); `null`
//! clears it.
//!
//! A record kind only says which of its keys are secrets ([`Secrets`]: every
//! secret-named key, or the settings document's paths); [`Secrets::hide`] and
//! [`Secrets::keep`] are the policy for all of them, and [`readback`] turns the mask
//! into the configured form on the way out.

use serde_json::{Map, Value};

/// What a set secret looks like on GET under [`SecretReadback::Mask`].
pub const MASK: &str = "********";

/// How a set secret reads back on GET.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SecretReadback {
    /// `"********"` (GovAPI as documented).
    #[default]
    Mask,
    /// The key is left out.
    Omit,
    /// `""`.
    Empty,
}

impl SecretReadback {
    pub const ALL: [SecretReadback; 3] = [Self::Mask, Self::Omit, Self::Empty];

    pub fn name(self) -> &'static str {
        match self {
            Self::Mask => "mask",
            Self::Omit => "omit",
            Self::Empty => "empty",
        }
    }
}

impl std::str::FromStr for SecretReadback {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("`{s}` is not one of mask, omit, empty"))
    }
}

/// Whether a key names a secret (`client_secret`, `api_token`, `password`, `api_key`,
/// `credential`, ...). Settings use explicit paths instead (`secret_broker` is not one).
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "secret",
        "token",
        "password",
        "api_key",
        "apikey",
        "private_key",
        "credential",
    ]
    .iter()
    .any(|marker| key.contains(marker))
}

/// Whether a stored value is a set secret (what GET hides).
fn is_set(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// A set secret as GET shows it (`None`: the key is left out).
pub fn shown(policy: SecretReadback) -> Option<Value> {
    match policy {
        SecretReadback::Mask => Some(Value::String(MASK.into())),
        SecretReadback::Omit => None,
        SecretReadback::Empty => Some(Value::String(String::new())),
    }
}

/// Which keys of a record kind are secrets: the one thing a kind declares; how they
/// read back and what a write means is the same for every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// Every secret-named key ([`is_secret_key`]), at any depth (provider and
    /// integration configs, MDM rows).
    Named,
    /// Exactly these paths (the settings document, whose `secret_broker` and
    /// `secret_ref` are not secrets).
    At(&'static [&'static [&'static str]]),
}

impl Secrets {
    fn is_secret(self, path: &[&str]) -> bool {
        match self {
            Secrets::Named => path.last().is_some_and(|k| is_secret_key(k)),
            Secrets::At(paths) => paths.contains(&path),
        }
    }

    /// A copy of `value` with every set secret shown by `policy`.
    pub fn hide(self, value: &Value, policy: SecretReadback) -> Value {
        self.hide_below(value, policy, &mut Vec::new())
    }

    fn hide_below<'a>(
        self,
        value: &'a Value,
        policy: SecretReadback,
        path: &mut Vec<&'a str>,
    ) -> Value {
        match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    path.push(k);
                    if self.is_secret(path) && is_set(v) {
                        if let Some(s) = shown(policy) {
                            out.insert(k.clone(), s);
                        }
                    } else {
                        out.insert(k.clone(), self.hide_below(v, policy, path));
                    }
                    path.pop();
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.hide_below(i, policy, path))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Resolves a written record against the stored one. At every secret: a placeholder
    /// (`"********"`, `""`) keeps the stored secret, and so does a secret left out of an
    /// object that is sent when the server omits secrets on GET (`omit`); a
    /// `"********"` with nothing stored behind it is not a secret to set (null).
    pub fn keep(self, incoming: &mut Value, existing: &Value, policy: SecretReadback) {
        self.keep_below(incoming, Some(existing), policy, &mut Vec::new());
    }

    fn keep_below(
        self,
        incoming: &mut Value,
        existing: Option<&Value>,
        policy: SecretReadback,
        path: &mut Vec<String>,
    ) {
        let Value::Object(new) = incoming else {
            return;
        };
        let old = existing.and_then(Value::as_object);
        if policy == SecretReadback::Omit {
            for (k, previous) in old.into_iter().flatten() {
                path.push(k.clone());
                let keep = !new.contains_key(k) && self.is_secret(&strs(path)) && is_set(previous);
                path.pop();
                if keep {
                    new.insert(k.clone(), previous.clone());
                }
            }
        }
        for (k, v) in new.iter_mut() {
            let previous = old.and_then(|o| o.get(k));
            path.push(k.clone());
            if self.is_secret(&strs(path)) && is_placeholder(v) {
                match previous {
                    Some(p) if is_set(p) => *v = p.clone(),
                    _ if v.as_str() == Some(MASK) => *v = Value::Null,
                    _ => {}
                }
            } else {
                self.keep_below(v, previous, policy, path);
            }
            path.pop();
        }
    }
}

/// [`Secrets::Named`]`.keep` for a record's `config` object, `sent` or left out of the
/// body: one left out entirely is replaced, not kept (`omit` keeps a secret left out of
/// a config that is sent).
pub fn keep_config(config: &mut Value, sent: bool, stored: &Value, policy: SecretReadback) {
    let policy = if sent { policy } else { SecretReadback::Mask };
    Secrets::Named.keep(config, stored, policy);
}

fn strs(path: &[String]) -> Vec<&str> {
    path.iter().map(String::as_str).collect()
}

/// Whether an incoming value is what GET shows for a set secret, in any mode.
fn is_placeholder(v: &Value) -> bool {
    matches!(v.as_str(), Some(s) if s == MASK || s.is_empty())
}

/// Turns a masked secret to `policy`'s form at every secret-named key.
pub fn reshow(value: &mut Value, policy: SecretReadback) {
    match value {
        Value::Object(map) => {
            let masked: Vec<String> = map
                .iter()
                .filter(|(k, v)| is_secret_key(k) && v.as_str() == Some(MASK))
                .map(|(k, _)| k.clone())
                .collect();
            for k in masked {
                match shown(policy) {
                    Some(s) => {
                        map.insert(k, s);
                    }
                    None => {
                        map.remove(&k);
                    }
                }
            }
            map.values_mut().for_each(|v| reshow(v, policy));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| reshow(v, policy)),
        _ => {}
    }
}

/// The tenant API's response layer: every record kind hides its secrets as `"********"`,
/// and this shows them as `--secret-readback` says, so one policy covers them all.
pub async fn readback(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let policy = state.config().secret_readback;
    let response = next.run(request).await;
    if policy == SecretReadback::Mask {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return axum::response::Response::from_parts(parts, axum::body::Body::empty());
    };
    let body = match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut v) => {
            reshow(&mut v, policy);
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            axum::body::Body::from(v.to_string())
        }
        Err(_) => axum::body::Body::from(bytes),
    };
    axum::response::Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_mode_hides_every_secret_key_and_the_shown_form_keeps_it() {
        let stored = json!({"base_url": "https://x", "client_secret": "s3", "api_key": "k",
            "credential": "c", "nested": {"api_token": "t"}, "empty_token": ""});
        for policy in SecretReadback::ALL {
            let shown = Secrets::Named.hide(&stored, policy);
            let text = shown.to_string();
            for secret in ["\"s3\"", "\"k\"", "\"c\"", "\"t\""] {
                assert!(!text.contains(secret), "{policy:?}: {secret} in {text}");
            }
            assert_eq!(shown["base_url"], "https://x");
            let mut back = shown.clone();
            Secrets::Named.keep(&mut back, &stored, policy);
            assert_eq!(back, stored, "{policy:?}: a round trip keeps every secret");
        }
        let hide = |policy| Secrets::Named.hide(&stored, policy);
        assert!(hide(SecretReadback::Omit).get("client_secret").is_none());
        assert_eq!(hide(SecretReadback::Empty)["client_secret"], "");
        assert_eq!(hide(SecretReadback::Mask)["client_secret"], MASK);
        let mut cleared = json!({"client_secret": null});
        Secrets::Named.keep(&mut cleared, &stored, SecretReadback::Mask);
        assert!(cleared["client_secret"].is_null(), "null clears");
        let mut left_out = json!({"base_url": "https://x"});
        Secrets::Named.keep(&mut left_out, &stored, SecretReadback::Mask);
        assert!(
            left_out.get("client_secret").is_none(),
            "under mask a left-out key is not set"
        );
    }

    #[test]
    fn settings_paths_round_trip_in_every_mode() {
        let settings = Secrets::At(&[&["webhook", "secret"]]);
        let stored = json!({"webhook": {"url": "u", "secret": "w"},
            "secret_broker": {"enabled": true}});
        for policy in SecretReadback::ALL {
            let shown = settings.hide(&stored, policy);
            assert!(!shown.to_string().contains("\"w\""));
            assert_eq!(shown["secret_broker"]["enabled"], true);
            let mut back = shown.clone();
            settings.keep(&mut back, &stored, policy);
            assert_eq!(back, stored, "{policy:?}");
        }
        let mut fresh = json!({"webhook": {"url": "u", "secret": MASK}});
        settings.keep(&mut fresh, &json!({}), SecretReadback::Mask);
        assert!(
            fresh["webhook"]["secret"].is_null(),
            "a mask with nothing behind it"
        );
    }

    #[test]
    fn named_secrets_hide_at_any_depth_and_a_new_value_replaces_the_old() {
        let stored = json!({
            "base_url": "https://siem.example",
            "client_secret": "s3cr3t",
            "auth": {"api_token": "tok", "header": "Authorization"},
            "empty_token": "",
            "list": [{"password": "pw"}],
        });
        let shown = Secrets::Named.hide(&stored, SecretReadback::Mask);
        assert_eq!(shown["auth"]["api_token"], MASK);
        assert_eq!(shown["auth"]["header"], "Authorization");
        assert_eq!(shown["empty_token"], "");
        assert_eq!(shown["list"][0]["password"], MASK);
        assert!(!shown.to_string().contains("s3cr3t"));

        let mut edited = shown.clone();
        edited["base_url"] = json!("https://siem2.example");
        edited["auth"]["api_token"] = json!("new-token");
        Secrets::Named.keep(&mut edited, &stored, SecretReadback::Mask);
        assert_eq!(edited["client_secret"], "s3cr3t");
        assert_eq!(edited["auth"]["api_token"], "new-token");
        assert_eq!(edited["base_url"], "https://siem2.example");
    }
}
