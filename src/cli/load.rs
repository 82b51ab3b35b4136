//! `thoth-conformance load`: flags, target, console output, exit code.

use std::io::IsTerminal as _;

use clap::Args;

use super::{LiveArgs, TargetArg};
use crate::client::HttpClient;
use crate::load::progress::ProgressMode;
use crate::load::{render, run_load, LoadOptions, LoadTarget};
use crate::outcome::ExitCode;
use crate::redact::Redactor;
use crate::target::{known_faults, MockOptions, Target, TargetError};

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// How many run-unique endpoints (`load-<run_id>-<i>`) to register and check in.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub endpoints: usize,
    /// Endpoints in flight at once.
    #[arg(long, default_value_t = 32, value_name = "C")]
    pub concurrency: usize,
    /// Global limit in requests per second (for live tenants); default: none.
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// `mock` starts the bundled mock in-process; `live` uses the THOTH_* env vars or flags.
    #[arg(long, value_enum, default_value = "mock")]
    pub target: TargetArg,
    /// Start the mock with this defect mode (repeatable).
    #[arg(long = "mock-fault", value_name = "NAME")]
    pub mock_faults: Vec<String>,
    /// Rows per page when listing the run's endpoints back.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub page_size: usize,
    /// Attempts per request at most (429 for every call, 502/503/504 for idempotent ones).
    #[arg(long, default_value_t = 6, value_name = "N")]
    pub max_attempts: u32,
    #[command(flatten)]
    pub live: LiveArgs,
    /// Progress on stderr: a bar on a terminal, plain lines otherwise; `--quiet` for none.
    #[arg(long)]
    pub quiet: bool,
}

fn config_error(msg: impl std::fmt::Display) -> i32 {
    let msg = msg.to_string();
    eprintln!("error: {}", crate::report::console::terminal_safe(&msg));
    ExitCode::ConfigError as i32
}

/// The credential header a target's requests carry (admin token preferred).
pub fn credential_of(target: &Target) -> Option<(String, String)> {
    target.default_credential()
}

pub async fn load(args: &LoadArgs) -> i32 {
    if args.endpoints == 0 || args.concurrency == 0 || args.page_size == 0 {
        return config_error("--endpoints, --concurrency and --page-size must be at least 1");
    }
    if args.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        return config_error("--rate must be a positive number of requests per second");
    }
    let client_options = match args.live.client_options() {
        Ok(o) => o,
        Err(e) => return config_error(e),
    };
    let client = match HttpClient::new(client_options) {
        Ok(c) => c,
        Err(e) => return config_error(e),
    };
    let redactor = Redactor::new();
    let target = match args.target {
        TargetArg::Mock => {
            let opts = MockOptions {
                faults: args.mock_faults.clone(),
                ..MockOptions::default()
            };
            match Target::start_mock(&opts, &redactor).await {
                Ok(t) => t,
                Err(e) => {
                    if matches!(e, TargetError::UnknownFault { .. }) {
                        eprintln!("known faults: {}", known_faults().join(", "));
                    }
                    return config_error(e);
                }
            }
        }
        TargetArg::Live => {
            if !args.mock_faults.is_empty() {
                return config_error("--mock-fault only applies to --target mock");
            }
            let opts = args.live.live_options();
            match Target::live(&opts, &|k| std::env::var(k).ok(), &redactor) {
                Ok(t) => t,
                Err(e) => return config_error(e),
            }
        }
    };
    let Some(credential) = credential_of(&target) else {
        target.shutdown().await;
        return config_error("the target has no credential");
    };
    let load_target = LoadTarget {
        tenant_base: target.tenant_base(),
        credential,
    };
    let progress = if args.quiet {
        ProgressMode::Off
    } else if std::io::stderr().is_terminal() {
        ProgressMode::Bar
    } else {
        ProgressMode::Plain
    };
    let opts = LoadOptions {
        endpoints: args.endpoints,
        concurrency: args.concurrency,
        rate: args.rate,
        run_id: None,
        page_size: args.page_size,
        max_attempts: args.max_attempts,
        progress,
    };
    let label = format!("{} ({})", target.kind.as_str(), target.govapi_url);
    let report = run_load(load_target, client, &opts).await;
    target.shutdown().await;
    print!(
        "{}",
        crate::report::console::terminal_safe(&redactor.redact(&render(&report, &label)))
    );
    if report.unreachable.is_some() {
        ExitCode::TargetUnreachable as i32
    } else if report.passed() {
        ExitCode::Passed as i32
    } else {
        ExitCode::RequirementFailed as i32
    }
}
