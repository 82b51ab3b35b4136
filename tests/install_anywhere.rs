//! The installed binary runs from any directory: the suites, fixtures and catalogue are
//! built in (`build.rs`), so a copy of the binary alone, in an empty directory with no
//! checkout around it, runs green against the bundled mock and against a standalone
//! mock as a live tenant, and `suites export` writes out exactly what is built in.

use crate::safety_support;

use std::path::{Path, PathBuf};

use safety_support::*;

use crate::cli_support;

/// A copy of the built binary in an empty directory, as `cargo install` leaves it.
fn installed() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin").join("thoth-conformance");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_thoth-conformance"), &bin).unwrap();
    crate::support::wait_until_executable(&bin);
    (dir, bin)
}

fn command(bin: &Path, cwd: &Path) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(bin);
    c.current_dir(cwd).kill_on_drop(true).env("CI", "true");
    for k in cli_support::CLEARED_ENV {
        if *k != "CI" {
            c.env_remove(k);
        }
    }
    c
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copied_binary_in_an_empty_directory_runs_green_against_the_mock() {
    let (dir, bin) = installed();
    let cwd = dir.path().join("work");
    std::fs::create_dir(&cwd).unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = command(&bin, &cwd)
        .arg("run")
        .env("TMPDIR", &tmp)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let results = std::fs::read_to_string(cwd.join("reports/results.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&results).unwrap();
    assert!(v.to_string().contains("bootstrap"), "{results}");
    // The built-in suites are reported at their repository path, not where they were
    // unpacked, so annotations and links point at the file in the harness's repository.
    let junit = std::fs::read_to_string(cwd.join("reports/junit.xml")).unwrap();
    assert!(!junit.contains("thoth-conformance-suites-"), "{junit}");
    // The built-in tree is unpacked into a private temporary directory for the run and
    // removed afterwards.
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copied_binary_runs_green_against_a_standalone_mock_as_a_live_tenant() {
    let mock = standalone_mock().await;
    let base = mock.base_url.trim_end_matches('/').to_string();
    let (dir, bin) = installed();
    let cwd = dir.path().join("work");
    std::fs::create_dir(&cwd).unwrap();
    let token = token_file(dir.path());
    let out = command(&bin, &cwd)
        // `--require none`: no thothctl here, so the live default (`critical`) would end
        // INCOMPLETE; tests/verdicts_cli.rs tests the level, this one the installation.
        .args(["run", "--target", "live", "--require", "none", "--sink-url"])
        .arg(format!("{base}/__sink"))
        .env("THOTH_TENANT_ID", TENANT)
        .env("THOTH_GOVAPI_URL", &base)
        .env("THOTH_API_URL", &base)
        .env("THOTH_ADMIN_BEARER_TOKEN_FILE", &token)
        .env("THOTH_WEBHOOK_URL", format!("{base}/__sink/siem"))
        .env("THOTH_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("THOTH_PAM_CALLBACK_SECRET", PAM_SECRET)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(cwd.join("reports/junit.xml").is_file());
}

#[tokio::test(flavor = "multi_thread")]
async fn suites_export_writes_the_built_in_tree_and_the_copy_overrides_it() {
    let (dir, bin) = installed();
    let out_dir = dir.path().join("custom");
    let out = command(&bin, dir.path())
        .args(["suites", "export"])
        .arg(&out_dir)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let root = project_root();
    for sub in ["suites", "fixtures"] {
        assert_same_tree(&root.join(sub), &out_dir.join(sub));
    }
    // A second export into the same place would clobber a customised copy: refused.
    let again = command(&bin, dir.path())
        .args(["suites", "export"])
        .arg(&out_dir)
        .output()
        .await
        .unwrap();
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));

    // The exported copy overrides the built-in one: break it and the run says where.
    let suite = out_dir.join("suites/bootstrap.yaml");
    let broken = std::fs::read_to_string(&suite).unwrap() + "\nnot_a_field: 1\n";
    std::fs::write(&suite, broken).unwrap();
    let out = command(&bin, dir.path())
        .arg("list")
        .arg("--suites")
        .arg(out_dir.join("suites"))
        .arg("--fixtures")
        .arg(out_dir.join("fixtures"))
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("bootstrap.yaml"), "{}", text(&out));
    // Without the flags the built-in suites load as before.
    let out = command(&bin, dir.path())
        .arg("list")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("bootstrap"), "{}", text(&out));
}

fn assert_same_tree(want: &Path, got: &Path) {
    let mut names = Vec::new();
    for e in std::fs::read_dir(want).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        names.push(name.clone());
        if e.path().is_dir() {
            assert_same_tree(&e.path(), &got.join(&name));
        } else {
            assert_eq!(
                std::fs::read(e.path()).unwrap(),
                std::fs::read(got.join(&name)).unwrap_or_default(),
                "{}",
                e.path().display()
            );
        }
    }
    let extra = std::fs::read_dir(got)
        .unwrap()
        .filter(|e| !names.contains(&e.as_ref().unwrap().file_name()))
        .count();
    assert_eq!(extra, 0, "unexpected files in {}", got.display());
}

/// The thothctl cases that hand thothctl a fixture file (`fixtures/<file>`, as the
/// runbook's commands do from the repository) pass when the harness is started outside
/// the repository: thothctl runs where the fixtures are, not in the caller's directory.
#[tokio::test(flavor = "multi_thread")]
async fn thothctl_fixture_arguments_resolve_outside_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    // The built binary, with the stand-in thothctl-sim beside it.
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_thoth-conformance"));
    let out = command(&bin, dir.path())
        .args([
            "run",
            "--thothctl-stand-in",
            "on",
            "bootstrap::thothctl_bootstrap_success_flags",
            "browser::thothctl_browser_upserts",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let results = std::fs::read_to_string(dir.path().join("reports/results.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&results).unwrap();
    let passed: Vec<&str> = v["run"]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "pass")
        .filter_map(|c| c["case_id"].as_str())
        .collect();
    for case in [
        "thothctl_bootstrap_success_flags",
        "thothctl_browser_upserts",
    ] {
        assert!(passed.contains(&case), "{case} did not pass: {results}");
    }
}
