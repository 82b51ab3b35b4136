//! Browser governance as code (`T/browser/providers|policies|enrollments`): upserts
//! and lists, as `thothctl browser ... upsert|list` drive them. The policy and
//! enrollment lists honour the vendor's `?provider=` and `?status=` filters
//! (TF `browser_{policies,enrollments}_data_source.go`). The records and their rules
//! are in `gov::browser`; the list and upsert are the shared ones of `routes::book`.

use super::book::book;
use crate::auth::Rule;
use crate::gov::browser::{BrowserEnrollment, BrowserPolicy, BrowserProvider};
use crate::routes::Routes;

pub fn router() -> Routes {
    Routes::new()
        .route("/browser/providers", Rule::DATA, book::<BrowserProvider>())
        .route("/browser/policies", Rule::DATA, book::<BrowserPolicy>())
        .route(
            "/browser/enrollments",
            Rule::DATA,
            book::<BrowserEnrollment>(),
        )
}
