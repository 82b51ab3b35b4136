//! Project hygiene that a test can check: the declared MSRV is the real one, the license
//! the manifest names is shipped, every member opts into the workspace lints, and the
//! conventions files exist. Each of these drifted once without anyone noticing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `1.89`, `1.89.0` → (1, 89, 0).
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| {
        p.parse::<u64>()
            .unwrap_or_else(|e| panic!("rust-version {text:?}: {e}"))
    });
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    let patch = parts.next().unwrap_or(0);
    (major, minor, patch)
}

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(root())
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// The package ids of the workspace's own members.
fn member_ids(meta: &Value) -> Vec<&str> {
    meta["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// The workspace's `rust-version` must be at least the highest `rust-version` any locked
/// dependency declares: a lower one promises a toolchain that cannot build the lock file.
#[test]
fn msrv_is_the_highest_of_the_locked_dependencies() {
    let meta = metadata();
    let members = member_ids(&meta);
    let packages = meta["packages"].as_array().expect("packages");
    let mut ours = Vec::new();
    let mut highest: Option<((u64, u64, u64), String)> = None;
    for package in packages {
        let id = package["id"].as_str().unwrap_or_default();
        let name = package["name"].as_str().unwrap_or_default().to_owned();
        let Some(rust_version) = package["rust_version"].as_str() else {
            continue;
        };
        let v = version(rust_version);
        if members.contains(&id) {
            ours.push((name, v));
        } else if highest.as_ref().is_none_or(|(h, _)| v > *h) {
            highest = Some((v, name));
        }
    }
    let (needed, by) = highest.expect("some dependency declares a rust-version");
    assert!(
        !ours.is_empty(),
        "the workspace members declare rust-version"
    );
    for (name, declared) in ours {
        assert!(
            declared >= needed,
            "{name} declares rust-version {declared:?}, but the locked {by} needs {needed:?}"
        );
    }
}

#[test]
fn the_license_the_manifest_names_is_shipped() {
    let manifest = read(&root().join("Cargo.toml"));
    assert!(manifest.contains("license = \"Apache-2.0\""));
    let license = read(&root().join("LICENSE"));
    assert!(
        license.contains("Apache License") && license.contains("Version 2.0, January 2004"),
        "LICENSE is not the Apache License 2.0 text"
    );
}

#[test]
fn every_member_opts_into_the_workspace_lints() {
    let meta = metadata();
    let root_manifest = read(&root().join("Cargo.toml"));
    assert!(root_manifest.contains("[workspace.lints.rust]"));
    for package in meta["packages"].as_array().expect("packages") {
        let id = package["id"].as_str().unwrap_or_default();
        let is_member = meta["workspace_members"]
            .as_array()
            .expect("workspace_members")
            .iter()
            .any(|m| m.as_str() == Some(id));
        if !is_member {
            continue;
        }
        let path = PathBuf::from(package["manifest_path"].as_str().expect("manifest_path"));
        let text = read(&path);
        assert!(
            text.contains("[lints]\nworkspace = true"),
            "{} does not opt into [workspace.lints] with `[lints] workspace = true`",
            path.display()
        );
    }
}

#[test]
fn conventions_files_exist() {
    for file in ["CHANGELOG.md", "CONTRIBUTING.md", "deny.toml", "LICENSE"] {
        let path = root().join(file);
        assert!(path.is_file(), "{file} is missing");
        assert!(
            read(&path).len() > 200,
            "{file} is a placeholder, not content"
        );
    }
}

/// cargo-deny checks licenses, bans and sources against deny.toml (scripts/test.sh
/// installs it; the advisories check needs a database this network cannot reach).
#[test]
fn cargo_deny_licenses_bans_sources() {
    let bin = root().join("target/ci-tools/venv/bin/cargo-deny");
    if !bin.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "cargo-deny is missing under CI: scripts/test.sh installs it into target/ci-tools/venv"
        );
        eprintln!(
            "skipping: {} not installed (bash scripts/test.sh installs it)",
            bin.display()
        );
        return;
    }
    let out = Command::new(&bin)
        .args(["--offline", "check", "licenses", "bans", "sources"])
        .current_dir(root())
        .output()
        .expect("run cargo-deny");
    assert!(
        out.status.success(),
        "cargo deny check failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// With `autotests = false`, a file under `tests/` that no test target names is
/// silently never compiled: its tests would look green by not existing. Every
/// `tests/*.rs` and `tests/*/main.rs` of every member must be a `[[test]]` target or a
/// module of one (`mod name;`, or `#[path = "dir/main.rs"]` before it).
#[test]
fn every_test_file_is_linked() {
    let meta = metadata();
    let members = member_ids(&meta);
    let mut checked = 0;
    for package in meta["packages"].as_array().expect("packages") {
        if !members.contains(&package["id"].as_str().unwrap_or_default()) {
            continue;
        }
        let manifest = PathBuf::from(package["manifest_path"].as_str().expect("manifest_path"));
        let tests_dir = manifest.parent().expect("package dir").join("tests");
        if !tests_dir.is_dir() {
            continue;
        }
        let roots: Vec<PathBuf> = package["targets"]
            .as_array()
            .expect("targets")
            .iter()
            .filter(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "test"))
            })
            .map(|t| PathBuf::from(t["src_path"].as_str().expect("src_path")))
            .collect();
        let mut linked: Vec<PathBuf> = roots.clone();
        for root_file in &roots {
            let text = read(root_file);
            let mut path_attr: Option<String> = None;
            for line in text.lines().map(str::trim) {
                if let Some(p) = line
                    .strip_prefix("#[path = \"")
                    .and_then(|rest| rest.strip_suffix("\"]"))
                {
                    path_attr = Some(p.to_owned());
                } else if let Some(name) = line
                    .strip_prefix("mod ")
                    .and_then(|rest| rest.strip_suffix(';'))
                {
                    let file = path_attr.take().unwrap_or_else(|| format!("{name}.rs"));
                    linked.push(tests_dir.join(file));
                }
            }
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&tests_dir).expect("read tests/") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            } else if path.join("main.rs").is_file() {
                files.push(path.join("main.rs"));
            }
        }
        for file in files {
            checked += 1;
            assert!(
                linked.contains(&file),
                "{} is compiled by no test target: add `mod {};` to {}'s tests/integration.rs \
                 (or a [[test]] entry), or its tests never run",
                file.display(),
                file.file_stem().unwrap_or_default().to_string_lossy(),
                package["name"].as_str().unwrap_or_default()
            );
        }
    }
    assert!(
        checked > 40,
        "found only {checked} test files: the walk is broken"
    );
}
