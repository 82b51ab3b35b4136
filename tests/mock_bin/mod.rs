//! The `mock-govapi` binary beside the harness binary under test, for the tests that
//! start it as a separate process the way a tenant stand-in is started. Built here (once
//! per test binary) when the test run did not build it, as `cargo test --test X` alone
//! does not.

use std::path::PathBuf;
use std::sync::OnceLock;

pub fn mock_binary() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_thoth-conformance"))
        .parent()
        .expect("the binary's directory")
        .join(format!("mock-govapi{}", std::env::consts::EXE_SUFFIX));
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        if !path.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let ok = std::process::Command::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "mock-govapi",
                    "--bin",
                    "mock-govapi",
                ])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "failed to build the mock-govapi binary");
        }
    });
    path
}
