//! thoth-conformance: an end-to-end conformance harness for the Thoth headless control
//! plane (GovAPI). Suites in YAML encode the vendor's Headless E2E Runbook; this library
//! loads them, runs them against the bundled mock or a live tenant, and writes JUnit,
//! a coverage matrix and machine-readable results. The binary is a thin CLI over it.

pub mod bench;
pub mod bundle;
pub mod catalogue;
pub mod ci;
pub mod cli;
pub mod client;
pub mod conformance;
pub mod evidence;
pub mod expectations;
pub mod govapi;
pub mod load;
pub mod outcome;
pub mod preflight;
pub mod redact;
pub mod report;
pub mod retry;
pub mod runner;
pub mod safety;
pub mod schema;
pub mod session;
pub mod signing;
pub mod stamp;
pub mod suite;
pub mod target;
pub mod template;
pub mod thothctl;
pub mod verdict;
