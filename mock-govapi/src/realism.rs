//! Realism switches that make the mock behave like a busy real tenant: latency jitter
//! and every-Nth-request rate limiting. (Check-in lag and forced page sizes live where
//! the data is: the endpoint routes and [`crate::extract::paginate`].)

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::journal::is_mock_internal;
use crate::state::AppState;

/// Middleware: delays and rate-limits tenant API requests as configured.
pub async fn apply(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if is_mock_internal(request.uri().path()) {
        return next.run(request).await;
    }
    let realism = &state.config().realism;
    let seq = state.count_request();
    if realism.latency_jitter_ms > 0 {
        let delay = state.random_up_to(realism.latency_jitter_ms);
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    if let Some(every) = realism.rate_limit_every.filter(|n| *n > 0) {
        if seq % u64::from(every) == 0 {
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; retry after 1 second",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return response;
        }
    }
    next.run(request).await
}
