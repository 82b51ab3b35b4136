//! Request extractors with GovAPI-shaped errors, and list pagination.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body. Unlike `axum::Json` it does not insist on a `Content-Type` header (the
/// runbook's curl calls and the vendor clients are not consistent about it), and every
/// failure is an [`ApiError`]: 413 `payload_too_large` over the body limit, 400
/// `invalid_json` for syntax errors or an empty body, 400 `invalid_request` for a body
/// of the wrong shape or types.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

/// Like [`ApiJson`], but an empty body means `T::default()`: for action routes such as
/// `POST .../sync` that clients call with `{}` or with no body at all.
#[derive(Debug, Clone)]
pub struct OptionalJson<T>(pub T);

/// A body that could not be read: 413 `payload_too_large` over the limit, else 400.
pub fn body_error(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body is larger than the server accepts",
        )
    } else {
        ApiError::bad_request("invalid_body", rejection.body_text())
    }
}

async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(body_error)
}

/// Parses JSON into `T`, naming the kind of mistake in the error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|err| match err.classify() {
        serde_json::error::Category::Data => {
            ApiError::bad_request("invalid_request", format!("request body: {err}"))
        }
        _ => ApiError::bad_request("invalid_json", format!("request body is not JSON: {err}")),
    })
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request(
                "invalid_json",
                "request body is empty; a JSON object is required",
            ));
        }
        parse_json(&bytes).map(ApiJson)
    }
}

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// `?page=&per_page=` of list routes. Both 1-based/positive; absent means "everything"
/// unless the realism switch forces a page size. Safe to `#[serde(flatten)]` into a
/// route's own query struct (flattened query values arrive as strings, hence the
/// lenient number parsing).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default, deserialize_with = "lenient_number")]
    pub page: Option<usize>,
    #[serde(default, deserialize_with = "lenient_number")]
    pub per_page: Option<usize>,
}

/// A number given either as a JSON number or as a string of digits.
fn lenient_number<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<usize>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrText {
        Number(usize),
        Text(String),
    }
    match Option::<NumberOrText>::deserialize(de)? {
        None => Ok(None),
        Some(NumberOrText::Number(n)) => Ok(Some(n)),
        Some(NumberOrText::Text(text)) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("`{text}` is not a page number"))),
    }
}

/// One page of a list, serialised as `{"data":[...],"total":N,"page":P,"per_page":S}`.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
}

/// Cuts `items` to the requested page. A forced page size (realism) caps `per_page`, so
/// clients that ignore pagination see only the first page, as on a busy real tenant.
pub fn paginate<T>(
    items: Vec<T>,
    query: PageQuery,
    forced_page_size: Option<usize>,
) -> Result<Page<T>, ApiError> {
    let window = page_window(items.len(), query, forced_page_size)?;
    let data = items
        .into_iter()
        .skip(window.rows.start)
        .take(window.rows.len())
        .collect();
    Ok(window.with(data))
}

/// Which rows of a list of `total` a page query selects, without the rows: a list kept
/// elsewhere (an index) is cut to `rows` at the cost of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageWindow {
    pub rows: std::ops::Range<usize>,
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
}

impl PageWindow {
    pub fn with<T>(&self, data: Vec<T>) -> Page<T> {
        Page {
            data,
            total: self.total,
            page: self.page,
            per_page: self.per_page,
        }
    }
}

/// The window of [`paginate`]: same validation, same page sizes.
pub fn page_window(
    total: usize,
    query: PageQuery,
    forced_page_size: Option<usize>,
) -> Result<PageWindow, ApiError> {
    if query.page == Some(0) || query.per_page == Some(0) {
        return Err(ApiError::bad_request(
            "invalid_pagination",
            "page and per_page start at 1",
        ));
    }
    let requested = query.per_page.unwrap_or(total.max(1));
    let per_page = match forced_page_size {
        Some(forced) => requested.min(forced.max(1)),
        None => requested,
    };
    let page = query.page.unwrap_or(1);
    let start = (page - 1).saturating_mul(per_page).min(total);
    let end = start.saturating_add(per_page).min(total);
    Ok(PageWindow {
        rows: start..end,
        total,
        page,
        per_page,
    })
}

/// [`page_window`] with this server's forced page size.
pub fn page_window_for(
    state: &AppState,
    total: usize,
    query: PageQuery,
) -> Result<PageWindow, ApiError> {
    let window = page_window(total, query, state.config().realism.page_size)?;
    if !state.fault(crate::Fault::PagesSkipRow) {
        return Ok(window);
    }
    // The fault: small pages whose stride is one row longer than a page (off by one).
    let per_page = window.per_page.min(SKIP_ROW_PAGE_SIZE);
    let start = (window.page - 1).saturating_mul(per_page + 1).min(total);
    let end = start.saturating_add(per_page).min(total);
    Ok(PageWindow {
        rows: start..end,
        per_page,
        ..window
    })
}

/// Page size under [`crate::Fault::PagesSkipRow`]: small, so a clean tenant's few
/// endpoints already span page boundaries.
const SKIP_ROW_PAGE_SIZE: usize = 2;

pub fn paginate_for<T>(
    state: &AppState,
    items: Vec<T>,
    query: PageQuery,
) -> Result<Page<T>, ApiError> {
    paginate(items, query, state.config().realism.page_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_query_returns_everything() {
        let page = paginate((1..=5).collect(), PageQuery::default(), None).unwrap();
        assert_eq!(page.data, vec![1, 2, 3, 4, 5]);
        assert_eq!((page.total, page.page, page.per_page), (5, 1, 5));
    }

    #[test]
    fn forced_page_size_caps_requests() {
        let query = PageQuery {
            page: Some(2),
            per_page: Some(10),
        };
        let page = paginate((1..=5).collect(), query, Some(2)).unwrap();
        assert_eq!(page.data, vec![3, 4]);
        assert_eq!((page.total, page.per_page), (5, 2));
    }

    #[test]
    fn page_past_the_end_is_empty_and_zero_is_rejected() {
        let query = PageQuery {
            page: Some(9),
            per_page: Some(2),
        };
        assert!(paginate(vec![1, 2, 3], query, None)
            .unwrap()
            .data
            .is_empty());
        let zero = PageQuery {
            page: Some(0),
            per_page: None,
        };
        assert_eq!(
            paginate(vec![1], zero, None).unwrap_err().code,
            "invalid_pagination"
        );
    }
}
