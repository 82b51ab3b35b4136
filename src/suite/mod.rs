//! Suite files: their format ([`model`]) and loading them with precise diagnostics.

pub mod diag;
pub mod duration;
pub mod embedded;
pub mod filter;
pub mod fixture;
pub mod for_each;
pub mod load;
pub mod locate;
pub mod model;
pub mod source_index;
mod step_de;
pub mod validate;
