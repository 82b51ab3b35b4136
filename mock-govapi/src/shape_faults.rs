//! The faults that change how tenant-route answers are framed, not what they say
//! ([`Fault::JsonContentTypeWrong`], [`Fault::ErrorEnvelopeNested`]): one layer over the
//! tenant API, so no handler knows about them and every route (auth refusals included)
//! answers the same way under them.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Value};

use crate::faults::Fault;
use crate::state::AppState;

/// Error bodies are small (`{"error","message"}`); anything larger is left alone.
const MAX_ERROR_BODY: usize = 64 * 1024;

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Middleware for the tenant API: a no-op unless one of the two faults is on.
pub async fn apply(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let status = response.status();
    if !is_json(&response) {
        return response;
    }
    if status.is_success() && state.fault(Fault::JsonContentTypeWrong) {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        return response;
    }
    if (status.is_client_error() || status.is_server_error())
        && state.fault(Fault::ErrorEnvelopeNested)
    {
        let (mut parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_ERROR_BODY)
            .await
            .unwrap_or_default();
        let nested = match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(mut envelope)) => {
                let code = envelope.remove("error").unwrap_or(Value::Null);
                let message = envelope.remove("message").unwrap_or(Value::Null);
                json!({ "error": { "code": code, "message": message } }).to_string()
            }
            _ => String::from_utf8_lossy(&bytes).into_owned(),
        };
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::from(nested));
    }
    response
}
