use super::*;
use std::collections::HashMap;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn live_defaults_to_grid_url_and_registers_secrets() {
    let r = Redactor::new();
    let env = env_of(&[
        ("THOTH_TENANT_ID", "acme"),
        ("THOTH_APEX_DOMAIN", "example.com"),
        ("THOTH_API_KEY", "thoth_live_key_123"),
        ("THOTH_WEBHOOK_SECRET", "whsec_live"),
    ]);
    let t = Target::live(&LiveOptions::default(), &env, &r).unwrap();
    assert_eq!(t.govapi_url, "https://grid.acme.example.com");
    assert!(!t.govapi_url_explicit);
    assert_eq!(exposed(&t.org_key), Some("thoth_live_key_123"));
    assert!(r.secrets().contains(&"thoth_live_key_123".to_string()));
    assert!(r.secrets().contains(&"whsec_live".to_string()));
    assert!(!t.has_feature(Feature::MockAdmin));
    assert!(!t.has_feature(Feature::OtherTenant));
    // The enforcer as the vendor SDKs document it: another host of the same tenant.
    assert_eq!(
        t.api_url.as_deref(),
        Some("https://enforce.acme.example.com")
    );
    assert!(t.has_feature(Feature::Enforcer));
}

#[test]
fn the_enforcer_url_is_explicit_or_derived_and_https_unless_loopback() {
    let r = Redactor::new();
    let base = [
        ("THOTH_TENANT_ID", "acme"),
        ("THOTH_GOVAPI_URL", "http://127.0.0.1:9"),
        ("THOTH_API_KEY", "thoth_x_key_long_enough"),
    ];
    // No apex and no THOTH_API_URL: nowhere to send data-plane requests, so the
    // feature is missing (those cases skip with the reason) instead of guessing.
    let t = Target::live(&LiveOptions::default(), &env_of(&base), &r).unwrap();
    assert_eq!(t.api_url, None);
    assert!(!t.has_feature(Feature::Enforcer));
    assert!(t
        .missing_reason(Feature::Enforcer)
        .contains("THOTH_API_URL"));

    let mut env = base.to_vec();
    env.push(("THOTH_API_URL", "http://127.0.0.1:10/"));
    let t = Target::live(&LiveOptions::default(), &env_of(&env), &r).unwrap();
    assert_eq!(t.api_url.as_deref(), Some("http://127.0.0.1:10"));

    let flag = LiveOptions {
        api_url: Some("http://enforce.acme.example.com".into()),
        ..LiveOptions::default()
    };
    let err = Target::live(&flag, &env_of(&env), &r).expect_err("refused");
    assert!(matches!(err, TargetError::Insecure(_)), "{err}");
    assert!(err.to_string().contains("enforcer"), "{err}");
}

#[test]
fn flags_win_over_env_and_token_file_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwt");
    std::fs::write(&file, "eyJ.token.sig\n").unwrap();
    let r = Redactor::new();
    let env = env_of(&[
        ("THOTH_TENANT_ID", "env-tenant"),
        ("THOTH_GOVAPI_URL", "https://env.example"),
    ]);
    let opts = LiveOptions {
        tenant_id: Some("flag-tenant".into()),
        govapi_url: Some("http://127.0.0.1:9/".into()),
        auth_token_file: Some(file.clone()),
        ..LiveOptions::default()
    };
    let t = Target::live(&opts, &env, &r).unwrap();
    std::fs::remove_file(&file).unwrap();
    assert_eq!(t.tenant, "flag-tenant");
    assert_eq!(t.govapi_url, "http://127.0.0.1:9");
    assert_eq!(exposed(&t.admin_token), Some("eyJ.token.sig"));
    assert_eq!(t.tenant_base(), "http://127.0.0.1:9/flag-tenant");
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let env = env_of(&[
        ("THOTH_TENANT_ID", "acme"),
        ("THOTH_GOVAPI_URL", "http://grid.acme.example.com"),
        ("THOTH_API_KEY", "thoth_x"),
    ]);
    let err = Target::live(&LiveOptions::default(), &env, &Redactor::new()).unwrap_err();
    assert!(matches!(err, TargetError::Insecure(_)), "{err}");
    assert!(require_secure("x", "http://localhost:8080").is_ok());
    assert!(require_secure("x", "http://[::1]:8080").is_ok());
    assert!(require_secure("x", "ftp://127.0.0.1").is_err());
}

#[test]
fn missing_credentials_and_empty_token_file_are_config_errors() {
    let env = env_of(&[
        ("THOTH_TENANT_ID", "acme"),
        ("THOTH_APEX_DOMAIN", "example.com"),
    ]);
    let err = Target::live(&LiveOptions::default(), &env, &Redactor::new()).unwrap_err();
    assert!(matches!(err, TargetError::NoCredential));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("empty");
    std::fs::write(&file, "  \n").unwrap();
    let opts = LiveOptions {
        auth_token_file: Some(file),
        ..LiveOptions::default()
    };
    let err = Target::live(&opts, &env, &Redactor::new()).unwrap_err();
    assert!(matches!(err, TargetError::EmptyTokenFile(_)));
}

#[test]
fn debug_output_never_holds_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwt");
    std::fs::write(&file, "eyJ.admin-token-value.sig").unwrap();
    let opts = LiveOptions {
        tenant_id: Some("acme".into()),
        govapi_url: Some("http://127.0.0.1:9".into()),
        auth_token_file: Some(file),
        org_api_key: Some("thoth_org_key_value_1".into()),
        webhook_secret: Some("whsec_webhook_value_1".into()),
        pam_callback_secret: Some("pam_callback_value_1".into()),
        ..LiveOptions::default()
    };
    let t = Target::live(&opts, &|_| None, &Redactor::new()).unwrap();
    let secrets = [
        "eyJ.admin-token-value.sig",
        "thoth_org_key_value_1",
        "whsec_webhook_value_1",
        "pam_callback_value_1",
    ];
    for shown in [
        format!("{t:?}"),
        format!("{t:#?}"),
        format!("{opts:?}"),
        format!("{:?}", t.admin_token),
        format!("{:?}", t.webhook_secret),
    ] {
        for s in secrets {
            assert!(!shown.contains(s), "{s} in {shown}");
        }
    }
    // Still usable where it must be sent.
    assert_eq!(
        exposed(&t.pam_callback_secret),
        Some("pam_callback_value_1")
    );
}

#[cfg(unix)]
#[test]
fn a_token_file_others_can_read_is_warned_about_without_the_token() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwt");
    std::fs::write(&file, "eyJ.shared-token.sig").unwrap();
    let env = env_of(&[
        ("THOTH_TENANT_ID", "acme"),
        ("THOTH_GOVAPI_URL", "http://127.0.0.1:9"),
    ]);
    let opts = LiveOptions {
        auth_token_file: Some(file.clone()),
        ..LiveOptions::default()
    };
    for (mode, warned) in [
        (0o644, true),
        (0o640, true),
        (0o604, true),
        (0o600, false),
        (0o400, false),
    ] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let t = Target::live(&opts, &env, &Redactor::new()).unwrap();
        assert_eq!(
            t.warnings.len(),
            usize::from(warned),
            "mode {mode:o}: {:?}",
            t.warnings
        );
        if warned {
            let w = &t.warnings[0];
            assert!(w.contains(&format!("mode {mode:o}")), "{w}");
            assert!(!w.contains("shared-token"), "{w}");
        }
    }
}
