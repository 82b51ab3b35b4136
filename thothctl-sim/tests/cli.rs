//! The stand-in's own contract (README.md "Our choices"): what it says it is, and that
//! bad usage or configuration exits 2 before anything is sent.

use std::process::{Command, Output};

fn sim(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_thothctl-sim"));
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("THOTH") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(envs.iter().copied());
    cmd.output().unwrap()
}

#[test]
fn version_says_it_is_the_stand_in() {
    let out = sim(&["--version"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("thothctl-sim "), "{text}");
    assert!(text.contains("not the vendor binary"), "{text}");
}

#[test]
fn configuration_errors_exit_2_and_send_nothing() {
    // Port 9 on loopback: nothing listens, so a sent request would exit 1, not 2.
    let base = [
        ("THOTH_TENANT_ID", "acme"),
        ("THOTH_GOVAPI_URL", "http://127.0.0.1:9"),
    ];
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec!["settings", "get", "--json"],
            base.to_vec(),
            "find a credential",
        ),
        (
            vec!["settings", "get", "--json"],
            vec![
                ("THOTH_TENANT_ID", "acme"),
                ("THOTH_GOVAPI_URL", "http://example.com"),
                ("THOTH_API_KEY", "thoth_x"),
            ],
            "https is required",
        ),
        (
            vec!["settings", "get", "--json"],
            [
                base.as_slice(),
                &[
                    ("THOTH_API_KEY", "thoth_x"),
                    ("THOTHCTL_SIM_FAULT", "no-such-fault"),
                ],
            ]
            .concat(),
            "unknown fault",
        ),
        (
            vec![
                "pam",
                "callback",
                "--approval-id",
                "a",
                "--request-id",
                "r",
                "--decision",
                "approve",
                "--json",
            ],
            [base.as_slice(), &[("THOTH_API_KEY", "thoth_x")]].concat(),
            "THOTH_PAM_CALLBACK_SECRET",
        ),
        (
            vec!["bootstrap", "--start-sync", "--json"],
            [base.as_slice(), &[("THOTH_API_KEY", "thoth_x")]].concat(),
            "needs --mdm-provider",
        ),
    ];
    for (args, envs, want) in cases {
        let out = sim(&args, &envs);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
    // The same command with a credential does try to send, and fails to connect: exit 1.
    let out = sim(
        &["settings", "get", "--json"],
        &[base.as_slice(), &[("THOTH_API_KEY", "thoth_x")]].concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"], "transport_error");
}
