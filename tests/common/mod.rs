//! Helpers shared by the runner's integration tests: a live-kind target pointed at a
//! local test server, and a project built from inline suite YAML.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use thoth_conformance::catalogue::Catalogue;
use thoth_conformance::client::ClientOptions;
use thoth_conformance::outcome::{CaseResult, RunResult, Status};
use thoth_conformance::redact::Redactor;
use thoth_conformance::runner::{run_project, RunOptions};
use thoth_conformance::suite::load::{LoadedSuite, Project};
use thoth_conformance::suite::model::Suite;
use thoth_conformance::target::{LiveOptions, Target};

pub const ADMIN_TOKEN: &str = "adm_test_token_0123456789";
pub const ORG_KEY: &str = "thoth_test_org_key_0123456789";
pub const WEBHOOK_SECRET: &str = "whsec_test_secret_0123456789";
pub const PAM_SECRET: &str = "pam_test_secret_0123456789";

pub struct Fixture {
    pub target: Target,
    pub redactor: Redactor,
    pub dir: tempfile::TempDir,
}

/// A target of kind `live` whose GovAPI and sink are `base` (a local test server).
pub fn target_at(base: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("jwt");
    std::fs::write(&token_file, ADMIN_TOKEN).unwrap();
    let redactor = Redactor::new();
    let opts = LiveOptions {
        tenant_id: Some("acme".into()),
        govapi_url: Some(base.into()),
        auth_token_file: Some(token_file),
        org_api_key: Some(ORG_KEY.into()),
        webhook_secret: Some(WEBHOOK_SECRET.into()),
        pam_callback_secret: Some(PAM_SECRET.into()),
        sink_url: Some(format!("{base}/__sink")),
        sink_name: Some("siem".into()),
        ..LiveOptions::default()
    };
    let target = Target::live(&opts, &|_| None, &redactor).unwrap();
    Fixture {
        target,
        redactor,
        dir,
    }
}

pub fn suite(yaml: &str) -> Suite {
    serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("bad test suite: {e}\n{yaml}"))
}

pub fn project(suites: Vec<Suite>, fixtures_dir: &Path) -> Project {
    Project {
        suites: suites
            .into_iter()
            .map(|s| LoadedSuite {
                path: PathBuf::from(format!("{}.yaml", s.phase)),
                suite: s,
            })
            .collect(),
        catalogue: Catalogue {
            capabilities: Vec::new(),
            requirements: Vec::new(),
        },
        fixtures_dir: fixtures_dir.to_path_buf(),
        suites_dir: fixtures_dir.to_path_buf(),
    }
}

pub fn quick_opts() -> RunOptions {
    RunOptions {
        client: ClientOptions {
            request_timeout: Duration::from_secs(5),
            ..ClientOptions::default()
        },
        run_id: Some("0badc0de".into()),
        ..RunOptions::default()
    }
}

pub async fn run(f: &Fixture, suites: Vec<Suite>, opts: &RunOptions) -> RunResult {
    let p = project(suites, f.dir.path());
    run_project(&p, &f.target, opts, &f.redactor).await
}

pub fn case<'a>(run: &'a RunResult, id: &str) -> &'a CaseResult {
    run.cases
        .iter()
        .find(|c| c.case_id == id)
        .unwrap_or_else(|| {
            panic!(
                "no case {id} in {:?}",
                run.cases.iter().map(|c| &c.case_id).collect::<Vec<_>>()
            )
        })
}

/// Asserts the case's status, showing its message when it differs.
pub fn assert_status(run: &RunResult, id: &str, want: Status) -> String {
    let c = case(run, id);
    assert_eq!(c.status, want, "case {id}: {:?}", c.message);
    c.message.clone().unwrap_or_default()
}
