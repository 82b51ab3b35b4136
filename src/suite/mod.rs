//! Suite files: their format ([`model`]) and loading them with precise diagnostics.

pub mod model;
