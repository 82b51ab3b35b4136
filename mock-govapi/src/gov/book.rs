//! One shape for the record kinds that are listed and upserted (browser providers,
//! policies and enrollments, integrations): rows kept in a [`Book`], a kind described
//! by [`Record`], and one list and one upsert for every kind ([`list`], [`upsert`]),
//! which `routes::book` serves. A new kind is its record type, its `impl Record` and
//! one `.route(path, Rule::DATA, book::<Kind>())`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{GovError, GovState};
use crate::clock::Timestamp;
use crate::secrets::SecretReadback;

/// Rows of one kind, in the order they were created.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Book<R> {
    rows: Vec<R>,
}

impl<R> Default for Book<R> {
    fn default() -> Self {
        Book { rows: Vec::new() }
    }
}

impl<R> Book<R> {
    pub fn rows(&self) -> &[R] {
        &self.rows
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn find_mut(&mut self, found: impl FnMut(&&mut R) -> bool) -> Option<&mut R> {
        self.rows.iter_mut().find(found)
    }
}

/// A record kind kept in a [`Book`].
pub trait Record: Clone + Serialize + Send + 'static {
    /// The list route's query (`NoFilter` for none).
    type Filter: DeserializeOwned + Default + Send + 'static;
    /// A body as read and checked by [`Record::read`].
    type Input;

    /// Where a tenant keeps the kind.
    fn book(gov: &mut GovState) -> &mut Book<Self>;

    /// Reads and checks a body, against the rest of the tenant's state where the kind
    /// refers to another (a policy's provider must be registered).
    fn read(body: Value, gov: &GovState) -> Result<Self::Input, GovError>;
    /// Whether `input` addresses this stored row (its id, or its natural key).
    fn addressed_by(&self, input: &Self::Input) -> bool;
    /// Applies `input` to the row it addressed; a secret sent back as GET showed it
    /// (`secrets`) keeps the stored one (`crate::secrets::Secrets::keep`).
    fn update(
        &mut self,
        input: Self::Input,
        now: Timestamp,
        secrets: SecretReadback,
    ) -> Result<(), GovError>;
    fn create(input: Self::Input, now: Timestamp) -> Self;

    /// Whether a list with `filter` shows this row.
    fn admits(&self, _filter: &Self::Filter) -> bool {
        true
    }
    /// The row as GET shows it (secrets hidden).
    fn view(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The query of a list that takes none (every parameter ignored).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct NoFilter {}

/// The rows a list with `filter` shows, as GET shows them.
pub fn list<R: Record>(gov: &mut GovState, filter: &R::Filter) -> Vec<Value> {
    R::book(gov)
        .rows
        .iter()
        .filter(|row| row.admits(filter))
        .map(R::view)
        .collect()
}

/// Updates the row `body` addresses, or creates one; the stored row and whether it was
/// created.
pub fn upsert<R: Record>(
    gov: &mut GovState,
    body: Value,
    now: Timestamp,
    secrets: SecretReadback,
) -> Result<(R, bool), GovError> {
    let input = R::read(body, gov)?;
    let book = R::book(gov);
    if let Some(row) = book.rows.iter_mut().find(|r| r.addressed_by(&input)) {
        row.update(input, now, secrets)?;
        return Ok((row.clone(), false));
    }
    let row = R::create(input, now);
    book.rows.push(row.clone());
    Ok((row, true))
}
