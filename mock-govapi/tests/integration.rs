//! Every integration test of the mock, linked as one binary: each file under `tests/`
//! would otherwise link the mock and its dependencies again, and the binaries would run
//! one after another. Run one file's tests with its module name:
//! `cargo test -p mock-govapi --test integration auth::`. The root crate's
//! `repo_hygiene::every_test_file_is_linked` fails when a file here is not listed.

// Helpers the test files share, compiled once.
mod common;
mod gov_support;

#[path = "admin_realism.rs"]
mod admin_realism;
#[path = "api_keys.rs"]
mod api_keys;
#[path = "api_routes.rs"]
mod api_routes;
#[path = "auth.rs"]
mod auth;
#[path = "binary.rs"]
mod binary;
#[path = "dataplane.rs"]
mod dataplane;
#[path = "faults.rs"]
mod faults;
#[path = "gov_browser_integrations.rs"]
mod gov_browser_integrations;
#[path = "gov_decisions.rs"]
mod gov_decisions;
#[path = "gov_evidence.rs"]
mod gov_evidence;
#[path = "gov_faults.rs"]
mod gov_faults;
#[path = "gov_pam.rs"]
mod gov_pam;
#[path = "runbook_verbatim.rs"]
mod runbook_verbatim;
#[path = "secret_readback.rs"]
mod secret_readback;
#[path = "vendor_clients.rs"]
mod vendor_clients;
#[path = "vendor_routes.rs"]
mod vendor_routes;
#[path = "vendor_sdk.rs"]
mod vendor_sdk;
