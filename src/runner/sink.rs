//! `sink_wait`: read the SIEM sink until a delivery matches, then verify its signature
//! with the target's webhook scheme (the sink's own opinion is not evidence).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::attempt::{Attempt, StepExec};
use super::expect::{check, check_json, cut, Failure, Observed, StatusKind};
use super::poll::{self, keep_exchanges, pause, Polled};
use crate::client::HttpRequest;
use crate::outcome::Status;
use crate::suite::model::{JsonAssert, SinkWait};
use crate::target::Target;
use crate::template::{render, Vars};

/// The longest pause between reads of the sink while waiting for a delivery (the
/// pauses start at 20 ms and grow, see [`poll::next_pause`]).
const SINK_POLL_INTERVAL: Duration = Duration::from_millis(200);

/// One recorded delivery of the sink's read API.
struct Delivery {
    seq: Value,
    headers: Vec<(String, String)>,
    body: String,
    json: Option<Value>,
}

fn parse_deliveries(doc: &Value) -> Option<Vec<Delivery>> {
    let rows = doc.get("data")?.as_array()?;
    Some(
        rows.iter()
            .map(|row| {
                let headers = row
                    .get("headers")
                    .and_then(Value::as_object)
                    .map(|h| {
                        h.iter()
                            .map(|(k, v)| {
                                let v = v
                                    .as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string());
                                (k.to_ascii_lowercase(), v)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let body = row
                    .get("body")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                Delivery {
                    seq: row.get("seq").cloned().unwrap_or(Value::Null),
                    json: serde_json::from_str(body.trim()).ok(),
                    headers,
                    body,
                }
            })
            .collect(),
    )
}

/// Waits for a delivery whose body satisfies `expect.json`, then verifies its signature
/// itself (the sink's own `signature_valid` is the mock's opinion, not evidence).
pub async fn sink_wait(exec: &mut StepExec<'_>, sink: &SinkWait, vars: &Vars) -> Polled {
    let mut polled = Polled {
        attempts: 0,
        exchanges: Vec::new(),
        result: Err(Failure::error("sink_wait: no attempt made")),
    };
    let prepared = (|| -> Result<(HttpRequest, Option<String>, Duration, String), Failure> {
        let target = exec.env.target;
        let base = target.sink_url.as_deref().ok_or_else(|| {
            Failure::error("sink_wait needs a readable SIEM sink (mock target, or --sink-url)")
        })?;
        let name = render(&sink.sink, vars)?;
        let secret = if sink.verify_signature {
            Some(match &sink.secret {
                Some(s) => render(s, vars)?,
                None => crate::target::exposed(&target.webhook_secret)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        Failure::error(
                            "sink_wait: no webhook secret to verify with (THOTH_WEBHOOK_SECRET)",
                        )
                    })?,
            })
        } else {
            None
        };
        let timeout = sink.timeout.get();
        // No credential: the sink is not the tenant, and tenant credentials stay with it.
        let req = HttpRequest {
            method: "GET".into(),
            url: format!("{base}/{name}"),
            headers: Vec::new(),
            body: None,
        };
        Ok((req, secret, timeout, name))
    })();
    let (req, secret, timeout, sink_name) = match prepared {
        Ok(p) => p,
        Err(f) => {
            polled.result = Err(f);
            return polled;
        }
    };
    let timeout = poll::effective_timeout(timeout, exec.env.target.poll_timeout_cap);
    let started = Instant::now();
    let deadline = started + timeout;
    let mut last: Failure;
    loop {
        polled.attempts += 1;
        let attempt = tokio::select! {
            a = exec.send(&req) => a,
            _ = exec.cancel.cancelled() => Attempt::failed(Failure::error("interrupted")),
        };
        keep_exchanges(&mut polled.exchanges, attempt.exchanges);
        match attempt.result {
            Err(f) if f.status == Status::Error && exec.cancel.is_cancelled() => {
                polled.result = Err(f);
                return polled;
            }
            Err(f) => last = f,
            Ok(obs) if !(200..300).contains(&obs.status) => {
                last = Failure::error(format!("read sink {}: status {}", req.url, obs.status));
            }
            Ok(obs) => match obs.json.as_ref().and_then(parse_deliveries) {
                None => {
                    last = Failure::error(format!("read sink {}: not a delivery list", req.url))
                }
                Some(deliveries) => {
                    let mut closest = None;
                    match matching_delivery(
                        exec.env.target,
                        &deliveries,
                        &exec.step.expect.json,
                        secret.as_deref(),
                        vars,
                        &mut closest,
                    ) {
                        Ok(Some(obs)) => {
                            polled.result =
                                check(&exec.step.expect, StatusKind::Http, &obs, vars).map(|_| obs);
                            return polled;
                        }
                        Ok(None) => {
                            last = Failure::fail(format!(
                                "no delivery on sink `{sink_name}` matched ({} received{})",
                                deliveries.len(),
                                closest
                                    .take()
                                    .map(|m| format!("; newest JSON one: {m}"))
                                    .unwrap_or_default()
                            ))
                        }
                        Err(f) => {
                            polled.result = Err(f);
                            return polled;
                        }
                    }
                }
            },
        }
        let wait = poll::next_pause(started.elapsed(), SINK_POLL_INTERVAL);
        if Instant::now() + wait > deadline {
            last.message = format!("{} within {:?}", last.message, timeout);
            polled.result = Err(last);
            return polled;
        }
        if !pause(wait, exec.cancel).await {
            polled.result = Err(Failure::error("interrupted"));
            return polled;
        }
    }
}

/// The newest delivery whose JSON body satisfies every assertion. A matching delivery
/// with a missing or invalid signature is a failure at once: waiting will not sign it.
fn matching_delivery(
    target: &Target,
    deliveries: &[Delivery],
    asserts: &[JsonAssert],
    secret: Option<&str>,
    vars: &Vars,
    closest: &mut Option<String>,
) -> Result<Option<Observed>, Failure> {
    for d in deliveries.iter().rev() {
        let Some(doc) = &d.json else { continue };
        let mut ok = true;
        for a in asserts {
            match check_json(a, doc, vars) {
                Ok(()) => {}
                Err(f) if f.status == Status::Error => return Err(f),
                Err(f) => {
                    // The newest mismatch says best why nothing matched.
                    closest.get_or_insert(f.message);
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            continue;
        }
        if let Some(secret) = secret {
            target
                .schemes
                .webhook
                .verify_delivery(secret.as_bytes(), &d.headers, d.body.as_bytes(), now_unix())
                .map_err(|e| {
                    Failure::fail(format!(
                        "delivery seq {} matched but failed to {e} (body: {})",
                        d.seq,
                        cut(&d.body)
                    ))
                })?;
        }
        return Ok(Some(Observed {
            status: 200,
            headers: d.headers.clone(),
            body: d.body.clone(),
            json: d.json.clone(),
        }));
    }
    Ok(None)
}

/// The harness's clock, against which a delivery's timestamp must be fresh.
fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}
