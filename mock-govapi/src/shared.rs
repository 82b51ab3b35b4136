//! Strings that many endpoint rows repeat (environment, fleet, enrollment, proxy
//! version, agent ids, e-mail), held once per tenant and shared by the rows.
//!
//! A million-endpoint fleet usually names a handful of environments, fleets and
//! versions: as owned `String`s each row paid an allocation (and its allocator
//! overhead) per field, several hundred bytes a row. A [`Shared`] is a reference count
//! on one copy. The [`Interner`] remembers at most [`MAX_KNOWN`] distinct values, so a
//! fleet whose e-mails are all different costs one `Arc` per row (no more than a
//! `String`) and never an unbounded table.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// An immutable string, cheap to clone; serialises as the string.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shared(Arc<str>);

impl Shared {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether both are the one copy (not merely equal strings).
    pub fn is_same_copy(a: &Shared, b: &Shared) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl Deref for Shared {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// `Eq`, `Ord` and `Hash` are the string's, so a `Shared` key is looked up by `&str`.
impl Borrow<str> for Shared {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Shared {
    fn from(s: &str) -> Self {
        Self(Arc::from(s))
    }
}

impl From<String> for Shared {
    fn from(s: String) -> Self {
        Self(Arc::from(s))
    }
}

impl PartialEq<str> for Shared {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Shared {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl Serialize for Shared {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Distinct values remembered per tenant; past this, new values are not shared.
pub const MAX_KNOWN: usize = 4096;

/// One tenant's table of repeated values.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    known: HashSet<Shared>,
}

impl Interner {
    /// The shared copy of `value`: the one already known, or a new one (remembered while
    /// the table has room).
    pub fn intern(&mut self, value: &str) -> Shared {
        if let Some(known) = self.known.get(value) {
            return known.clone();
        }
        let new = Shared::from(value);
        if self.known.len() < MAX_KNOWN {
            self.known.insert(new.clone());
        }
        new
    }

    pub fn intern_all(&mut self, values: &[String]) -> Vec<Shared> {
        values.iter().map(|v| self.intern(v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_value_is_one_copy_and_the_table_is_bounded() {
        let mut strings = Interner::default();
        let a = strings.intern("prod");
        let b = strings.intern("prod");
        assert!(
            Shared::is_same_copy(&a, &b),
            "the second `prod` is the first"
        );
        assert_eq!(a, "prod");
        for i in 0..MAX_KNOWN + 10 {
            strings.intern(&format!("v{i}"));
        }
        assert_eq!(strings.known.len(), MAX_KNOWN);
        let (x, y) = (strings.intern("late"), strings.intern("late"));
        assert_eq!(x, y, "an unremembered value is still the same string");
        assert!(!Shared::is_same_copy(&x, &y), "but not shared");
    }

    #[test]
    fn it_serialises_as_its_string() {
        let v = serde_json::to_string(&Shared::from("a\"b")).unwrap();
        assert_eq!(v, r#""a\"b""#);
    }
}
