//! Every integration test of the harness that can share a process, linked as one
//! binary. Each file under `tests/` links the whole harness and its dependencies, so
//! seventy-odd binaries spent most of CI in the linker and ran one after another; one
//! binary links once and lets libtest overlap the long tests (the kill matrix, the
//! release gate) with the short ones. Run one file's tests with its module name:
//! `cargo test --test integration kill_matrix::`. Each file is named by `#[path]`, so
//! the `mod support;` lines inside it resolve next to it, as they did when it was a
//! binary of its own.
//!
//! Separate binaries on purpose: `suites` (a libtest-mimic harness with its own `main`)
//! and `plain_http_client` (it counts TLS clients built by the whole process).
//! `repo_hygiene::every_test_file_is_linked` fails when a file under `tests/` is in
//! neither this list nor `[[test]]` in Cargo.toml.

// Helpers the test files share, compiled once.
mod cli_support;
mod common;
#[path = "reports/fixture.rs"]
mod fixture;
mod mock_bin;
mod safety_support;
mod stand_in;
mod support;

#[path = "bench_cmd.rs"]
mod bench_cmd;
#[path = "ci_shards.rs"]
mod ci_shards;
#[path = "console_output.rs"]
mod console_output;
#[path = "credentials_cli.rs"]
mod credentials_cli;
#[path = "evidence_bundle.rs"]
mod evidence_bundle;
#[path = "evidence_events.rs"]
mod evidence_events;
#[path = "expectations_cli.rs"]
mod expectations_cli;
#[path = "fuzz.rs"]
mod fuzz;
#[path = "github_action.rs"]
mod github_action;
#[path = "hostile_input.rs"]
mod hostile_input;
#[path = "hostile_secrets.rs"]
mod hostile_secrets;
#[path = "hostile_targets.rs"]
mod hostile_targets;
#[path = "html_chromium.rs"]
mod html_chromium;
#[path = "http_retry.rs"]
mod http_retry;
#[path = "install_anywhere.rs"]
mod install_anywhere;
#[path = "junit_consumers.rs"]
mod junit_consumers;
#[path = "junit_xsd.rs"]
mod junit_xsd;
#[path = "kill_matrix.rs"]
mod kill_matrix;
#[path = "live_safety.rs"]
mod live_safety;
#[path = "live_safety_bin.rs"]
mod live_safety_bin;
#[path = "load_mode.rs"]
mod load_mode;
#[path = "mock_e2e.rs"]
mod mock_e2e;
#[path = "readme_commands.rs"]
mod readme_commands;
#[path = "release_gate.rs"]
mod release_gate;
#[path = "repo_hygiene.rs"]
mod repo_hygiene;
#[path = "reports/main.rs"]
mod reports;
#[path = "runner_flow.rs"]
mod runner_flow;
#[path = "runner_http.rs"]
mod runner_http;
#[path = "runner_jobs.rs"]
mod runner_jobs;
#[path = "runner_signing.rs"]
mod runner_signing;
#[path = "schemas.rs"]
mod schemas;
#[path = "suite_files.rs"]
mod suite_files;
#[path = "suite_loading.rs"]
mod suite_loading;
#[path = "tenant_hostile.rs"]
mod tenant_hostile;
#[path = "thothctl_cases.rs"]
mod thothctl_cases;
#[path = "verdicts_cli.rs"]
mod verdicts_cli;
#[path = "workflows.rs"]
mod workflows;
