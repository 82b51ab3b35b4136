//! The stand-in thothctl for integration tests: built once per test binary (a no-op
//! when cargo already built it), then found beside the test binary as the harness
//! finds it.

#![allow(dead_code)]

use std::process::Command;
use std::sync::OnceLock;

use thoth_conformance::thothctl::ThothctlBin;

pub fn stand_in() -> ThothctlBin {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let exe = std::env::current_exe().expect("the test binary's path");
        // target/<profile>/deps/<test>: build the stand-in in the same profile.
        let release = exe
            .parent()
            .and_then(|deps| deps.parent())
            .is_some_and(|p| p.file_name().is_some_and(|n| n == "release"));
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "thothctl-sim"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if release {
            cmd.arg("--release");
        }
        let status = cmd
            .status()
            .expect("failed to run cargo build -p thothctl-sim");
        assert!(status.success(), "cargo build -p thothctl-sim failed");
    });
    thoth_conformance::thothctl::stand_in()
        .expect("thothctl-sim is not beside the test binary after building it")
}
