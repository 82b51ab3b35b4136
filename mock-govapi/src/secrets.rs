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

/// A copy of a record (or config) with every set secret, at any depth and under any
/// secret-named key, shown by `policy`.
pub fn hide(value: &Value, policy: SecretReadback) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if is_secret_key(k) && is_set(v) {
                    if let Some(s) = shown(policy) {
                        out.insert(k.clone(), s);
                    }
                } else {
                    out.insert(k.clone(), hide(v, policy));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| hide(i, policy)).collect()),
        other => other.clone(),
    }
}

/// Whether an incoming value is what GET shows for a set secret, in any mode.
fn is_placeholder(v: &Value) -> bool {
    matches!(v.as_str(), Some(s) if s == MASK || s.is_empty())
}

/// Resolves a written record against the stored one: at every secret-named key, a
/// placeholder (`"********"`, `""`) keeps the stored secret; so does a key left out of
/// an object that is sent when the server omits secrets on GET (`omitted_keeps`, the
/// `omit` mode: otherwise a left-out key is simply not set).
pub fn keep_as(incoming: &mut Value, existing: &Value, omitted_keeps: bool) {
    let (Value::Object(new), Value::Object(old)) = (incoming, existing) else {
        return;
    };
    for (k, previous) in old {
        match new.get_mut(k) {
            Some(v) if is_secret_key(k) && is_placeholder(v) && is_set(previous) => {
                *v = previous.clone();
            }
            Some(v) => keep_as(v, previous, omitted_keeps),
            None if omitted_keeps && is_secret_key(k) && is_set(previous) => {
                new.insert(k.clone(), previous.clone());
            }
            None => {}
        }
    }
    // A placeholder with nothing stored behind it is not a secret to set.
    let unset: Vec<String> = new
        .iter()
        .filter(|(k, v)| is_secret_key(k) && v.as_str() == Some(MASK) && !old.contains_key(*k))
        .map(|(k, _)| k.clone())
        .collect();
    for k in unset {
        new.insert(k, Value::Null);
    }
}

/// [`keep_as`] for the mode the mock runs in.
pub fn keep_for(incoming: &mut Value, existing: &Value, policy: SecretReadback) {
    keep_as(incoming, existing, policy == SecretReadback::Omit)
}

/// [`keep_as`] with what every mode shares (the placeholders).
pub fn keep(incoming: &mut Value, existing: &Value) {
    keep_as(incoming, existing, false)
}

/// The settings document's secrets, by path (the document also holds `secret_broker`
/// and `secret_ref`, which are not secrets).
pub fn hide_at(
    doc: &Map<String, Value>,
    paths: &[&[&str]],
    policy: SecretReadback,
) -> Map<String, Value> {
    let mut out = doc.clone();
    for path in paths {
        let Some((last, parents)) = path.split_last() else {
            continue;
        };
        let Some(node) = parent_mut(&mut out, parents) else {
            continue;
        };
        if !node.get(*last).is_some_and(is_set) {
            continue;
        }
        match shown(policy) {
            Some(s) => {
                node.insert((*last).to_string(), s);
            }
            None => {
                node.remove(*last);
            }
        }
    }
    out
}

fn parent_mut<'a>(
    doc: &'a mut Map<String, Value>,
    parents: &[&str],
) -> Option<&'a mut Map<String, Value>> {
    let mut node = doc;
    for key in parents {
        node = node.get_mut(*key)?.as_object_mut()?;
    }
    Some(node)
}

/// [`keep`] for the settings paths: a placeholder, or the secret left out of its
/// (present) parent object, keeps the stored secret.
pub fn keep_at(
    new: &mut Map<String, Value>,
    old: &Map<String, Value>,
    paths: &[&[&str]],
    policy: SecretReadback,
) {
    for path in paths {
        let Some((last, parents)) = path.split_last() else {
            continue;
        };
        let previous = {
            let mut node = Some(old);
            for key in parents {
                node = node.and_then(|n| n.get(*key)).and_then(Value::as_object);
            }
            node.and_then(|n| n.get(*last)).cloned()
        };
        let Some(parent) = parent_mut(new, parents) else {
            continue; // the parent object was not sent: the setting is gone, secret too
        };
        match (parent.get(*last), previous) {
            (Some(v), Some(p)) if is_placeholder(v) && is_set(&p) => {
                parent.insert((*last).to_string(), p);
            }
            (Some(v), _) if v.as_str() == Some(MASK) => {
                parent.insert((*last).to_string(), Value::Null);
            }
            (None, Some(p)) if policy == SecretReadback::Omit && is_set(&p) => {
                parent.insert((*last).to_string(), p);
            }
            _ => {}
        }
    }
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
            let shown = hide(&stored, policy);
            let text = shown.to_string();
            for secret in ["\"s3\"", "\"k\"", "\"c\"", "\"t\""] {
                assert!(!text.contains(secret), "{policy:?}: {secret} in {text}");
            }
            assert_eq!(shown["base_url"], "https://x");
            let mut back = shown.clone();
            keep_for(&mut back, &stored, policy);
            assert_eq!(back, stored, "{policy:?}: a round trip keeps every secret");
        }
        assert!(hide(&stored, SecretReadback::Omit)
            .get("client_secret")
            .is_none());
        assert_eq!(hide(&stored, SecretReadback::Empty)["client_secret"], "");
        assert_eq!(hide(&stored, SecretReadback::Mask)["client_secret"], MASK);
        let mut cleared = json!({"client_secret": null});
        keep(&mut cleared, &stored);
        assert!(cleared["client_secret"].is_null(), "null clears");
        let mut left_out = json!({"base_url": "https://x"});
        keep(&mut left_out, &stored);
        assert!(
            left_out.get("client_secret").is_none(),
            "under mask a left-out key is not set"
        );
    }

    #[test]
    fn settings_paths_round_trip_in_every_mode() {
        let paths: &[&[&str]] = &[&["webhook", "secret"]];
        let stored: Map<String, Value> =
            serde_json::from_value(json!({"webhook": {"url": "u", "secret": "w"},
                "secret_broker": {"enabled": true}}))
            .unwrap();
        for policy in SecretReadback::ALL {
            let shown = hide_at(&stored, paths, policy);
            assert!(!Value::Object(shown.clone()).to_string().contains("\"w\""));
            assert_eq!(shown["secret_broker"]["enabled"], true);
            let mut back = shown.clone();
            keep_at(&mut back, &stored, paths, policy);
            assert_eq!(back, stored, "{policy:?}");
        }
    }
}
