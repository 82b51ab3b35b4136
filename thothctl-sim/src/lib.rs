//! thothctl-sim: a stand-in for the vendor's closed `thothctl`, so the harness's
//! thothctl cases can run where the real binary is not installed. It implements the
//! commands and flags the vendor's public material documents, over GovAPI HTTP against
//! any base URL. Everything no public source states is listed in README.md as the
//! stand-in's choice.
//!
//! It depends on neither the harness nor the mock: it knows only what goes over the wire.

pub mod api;
pub mod bootstrap;
pub mod browser_sync;
pub mod cli;
pub mod commands;
pub mod fault;

use clap::{CommandFactory as _, Parser as _};
use serde_json::{json, Value};

pub use fault::{Fault, FAULT_ENV};

/// Exit codes (README.md: our choice; the vendor documents none).
pub const EXIT_OK: u8 = 0;
/// The request reached GovAPI (or tried to) and the operation failed.
pub const EXIT_FAILED: u8 = 1;
/// Bad usage or configuration: nothing was sent.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Config(String),
    #[error("{what}: HTTP {status}: {}", error_text(body))]
    Http {
        what: String,
        status: u16,
        body: Value,
    },
    #[error("{0}")]
    Transport(String),
    /// The operation answered but did not do what was asked.
    #[error("{0}")]
    Failed(String),
}

fn error_text(body: &Value) -> String {
    match (body.get("error"), body.get("message")) {
        (Some(e), Some(m)) => format!(
            "{} ({})",
            e.as_str().unwrap_or(""),
            m.as_str().unwrap_or("")
        ),
        (Some(e), None) => e.to_string(),
        _ => {
            let s = body.to_string();
            s.chars().take(200).collect()
        }
    }
}

impl SimError {
    pub fn exit_code(&self) -> u8 {
        match self {
            SimError::Config(_) => EXIT_USAGE,
            _ => EXIT_FAILED,
        }
    }

    fn to_json(&self) -> Value {
        let mut doc = json!({ "ok": false, "message": format!("failed to {self}") });
        match self {
            SimError::Http { status, body, .. } => {
                doc["error"] = body.get("error").cloned().unwrap_or(json!("http_error"));
                doc["http_status"] = json!(status);
            }
            SimError::Config(_) => doc["error"] = json!("invalid_configuration"),
            SimError::Transport(_) => doc["error"] = json!("transport_error"),
            SimError::Failed(_) => doc["error"] = json!("operation_failed"),
        }
        doc
    }
}

/// What a command prints and how it exits.
pub struct Outcome {
    pub doc: Value,
    pub exit: u8,
}

impl Outcome {
    pub fn ok(doc: Value) -> Outcome {
        Outcome { doc, exit: EXIT_OK }
    }
}

/// Prints `doc`: one compact line with `--json` (what callers parse), else indented.
fn print(doc: &Value, json: bool) {
    let text = if json {
        doc.to_string()
    } else {
        serde_json::to_string_pretty(doc).unwrap_or_default()
    };
    println!("{text}");
}

/// The binary's entry: real arguments, real environment.
pub fn run_from_env() -> u8 {
    let env = |k: &str| std::env::var(k).ok();
    run(std::env::args_os(), &env)
}

pub fn run<I, T>(args: I, env: api::Env) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            // --help and --version are not errors.
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    if let cli::Cmd::Manual = cli.cmd {
        let _ = cli::Cli::command().print_long_help();
        return EXIT_OK;
    }
    let faults = match fault::from_env(env) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: failed to {e}");
            return EXIT_USAGE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: failed to start the runtime: {e}");
            return EXIT_FAILED;
        }
    };
    let json = cli.conn.json;
    match runtime.block_on(commands::dispatch(&cli, env, &faults)) {
        Ok(outcome) => {
            print(&outcome.doc, json);
            outcome.exit
        }
        Err(e) => {
            eprintln!("error: failed to {e}");
            if json {
                print(&e.to_json(), true);
            }
            e.exit_code()
        }
    }
}
