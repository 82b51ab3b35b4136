//! Redaction of every form, refusal of short secrets, and the secret scan.
use super::*;

fn redactor(secrets: &[&str]) -> Redactor {
    let r = Redactor::new();
    for s in secrets {
        r.add_secret(s).expect("secret accepted");
    }
    r
}

#[test]
fn every_derived_form_is_redacted() {
    let secret = "p@ss word/+=?&\"\\ü>?~~";
    let r = redactor(&[secret]);
    let forms = secret_forms(secret);
    let kinds: HashSet<SecretForm> = forms.iter().map(|(f, _)| *f).collect();
    for kind in [
        SecretForm::Plain,
        SecretForm::Base64,
        SecretForm::Base64NoPad,
        SecretForm::Base64Url,
        SecretForm::Base64UrlNoPad,
        SecretForm::PercentForm,
        SecretForm::PercentPath,
        SecretForm::PercentComponent,
        SecretForm::PercentAll,
        SecretForm::JsonEscaped,
        SecretForm::XmlEscaped,
    ] {
        assert!(
            kinds.contains(&kind),
            "{kind} missing for a secret that needs it"
        );
    }
    for (form, text) in forms {
        let out = r.redact(&format!("before {text} after"));
        assert_eq!(
            out,
            format!("before {REDACTED} after"),
            "{form} not redacted"
        );
    }
}

#[test]
fn known_encodings_of_a_secret_are_redacted() {
    let r = redactor(&["a b/c?d+e"]);
    for encoded in [
        "a+b%2Fc%3Fd%2Be",   // form encoding
        "a%20b%2Fc%3Fd+e",   // path segment
        "a%20b%2fc%3fd%2be", // lower-case hex, everything escaped
        "YSBiL2M/ZCtl",      // base64 (no padding needed)
        "YSBiL2M_ZCtl",      // base64 url-safe
    ] {
        assert_eq!(r.redact(encoded), REDACTED, "{encoded}");
    }
}

#[test]
fn short_empty_and_marker_secrets_are_refused_with_a_reason() {
    let r = Redactor::new();
    assert_eq!(r.add_secret(""), Err(SecretRejected::Empty));
    let err = r.add_secret("abcde").unwrap_err();
    assert_eq!(err, SecretRejected::TooShort { chars: 5, min: 6 });
    assert!(err.to_string().contains("below the minimum of 6"), "{err}");
    // Counted in characters, not bytes.
    assert!(r.add_secret("üüüüü").is_err());
    assert_eq!(r.add_secret("REDACTED"), Err(SecretRejected::PartOfMarker));
    assert!(r.is_empty());
    assert_eq!(r.redact("abcde REDACTED"), "abcde REDACTED");
}

#[test]
fn clones_share_secrets_added_later() {
    let r = Redactor::new();
    let sink = r.clone();
    r.add_secret("late-secret-1").unwrap();
    assert_eq!(sink.redact("x late-secret-1 y"), format!("x {REDACTED} y"));
    r.add_secret("late-secret-1").unwrap();
    assert_eq!(sink.secrets(), vec!["late-secret-1".to_owned()]);
}

#[test]
fn overlapping_secrets_are_both_removed() {
    let r = redactor(&["abcdef123", "123xyz000", "abcdef"]);
    let out = r.redact("<abcdef123xyz000>");
    for s in r.secrets() {
        assert!(!out.contains(&s), "{s} survives in {out}");
    }
    assert_eq!(r.redact("abcdef123"), REDACTED, "longest match wins");
}

#[test]
fn a_secret_spliced_from_the_marker_is_redacted_too() {
    let r = redactor(&["zzzzzz", "D]abcdef"]);
    let out = r.redact("zzzzzzabcdef");
    assert!(!out.contains("D]abcdef"), "{out}");
}

#[test]
fn debug_output_never_shows_secrets() {
    let r = redactor(&["hunter2-secret"]);
    let debug = format!("{r:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("secrets: 1"), "{debug}");
}

#[test]
fn redact_json_keeps_json_valid_for_secrets_with_quotes() {
    let secret = r#"he said "hi" \o/"#;
    let r = redactor(&[secret, "key-secret"]);
    let v = serde_json::json!({"a": [format!("x{secret}y")], "key-secret": secret, "n": 3});
    let text = serde_json::to_string(&r.redact_json(&v)).unwrap();
    let back: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back["a"][0], format!("x{REDACTED}y"));
    assert_eq!(back[REDACTED], REDACTED);
    assert_eq!(back["n"], 3);
    assert!(r
        .redact(&serde_json::to_string(&v).unwrap())
        .contains(REDACTED));
}

#[test]
fn scan_reports_form_and_offset_but_never_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let leaky = dir.path().join("leaky.txt");
    let clean = dir.path().join("clean.txt");
    let secret = "scan-me-secret";
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    std::fs::write(&leaky, format!("0123{b64}")).unwrap();
    std::fs::write(&clean, "nothing here").unwrap();
    let missing = dir.path().join("never-written.xml");
    let r = redactor(&["other-secret", secret]);
    let hits = scan_for_secrets(
        &[leaky.clone(), clean, missing],
        &["console: ok", "log: other-secret"],
        &r,
    );
    assert_eq!(
        hits,
        vec![
            SecretHit::Found {
                location: HitLocation::File(leaky),
                offset: 4,
                form: SecretForm::Base64,
                secret: 1,
            },
            SecretHit::Found {
                location: HitLocation::Output(1),
                offset: 5,
                form: SecretForm::Plain,
                secret: 0,
            },
        ]
    );
    for hit in &hits {
        let shown = hit.to_string();
        assert!(
            !shown.contains(secret) && !shown.contains("other-secret"),
            "{shown}"
        );
    }
}

#[test]
fn scan_counts_an_unreadable_file_as_a_hit() {
    let dir = tempfile::tempdir().unwrap();
    // A directory cannot be read as a file: it exists, but cannot be vouched for.
    let hits = scan_for_secrets(&[dir.path().to_owned()], &[], &redactor(&["abcdefgh"]));
    assert!(
        matches!(hits.as_slice(), [SecretHit::Unreadable { .. }]),
        "{hits:?}"
    );
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    // A small alphabet so secrets overlap each other and the filler text often.
    const ALPHABET: &str = "[ab\"\\ %+/=D]";

    fn chunk() -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("{ALPHABET}{{0,8}}")).unwrap()
    }

    proptest! {
        #[test]
        fn redacted_text_contains_no_form_of_any_secret(
            secrets in proptest::collection::vec(
                proptest::string::string_regex(&format!("{ALPHABET}{{6,12}}")).unwrap(), 1..4),
            pieces in proptest::collection::vec((chunk(), 0usize..4, 0usize..16), 0..12),
        ) {
            let r = Redactor::new();
            for s in &secrets {
                let _ = r.add_secret(s);
            }
            let accepted = r.secrets();
            let mut text = String::new();
            for (filler, which, form) in &pieces {
                text.push_str(filler);
                if let Some(secret) = accepted.get(which % accepted.len().max(1)) {
                    let forms = secret_forms(secret);
                    text.push_str(&forms[form % forms.len()].1);
                }
            }
            let out = r.redact(&text);
            for secret in &accepted {
                for (form, encoded) in secret_forms(secret) {
                    prop_assert!(!out.contains(&encoded), "{} form survives in {:?}", form, out);
                }
            }
        }
    }
}

#[test]
fn a_secret_read_with_a_trailing_newline_is_redacted_without_it() {
    let r = Redactor::new();
    r.add_secret("file-token-123\n").unwrap();
    assert_eq!(
        r.redact("Bearer file-token-123."),
        format!("Bearer {REDACTED}.")
    );
    assert_eq!(r.redact("file-token-123\n"), REDACTED);
    assert_eq!(
        r.add_secret("  abc\n"),
        Err(SecretRejected::TooShort { chars: 3, min: 6 })
    );
    assert_eq!(r.add_secret(" \n"), Err(SecretRejected::Empty));
}

/// Forms a hostile target used to slip a secret past redaction and the scan (issue 17,
/// "Unredacted forms" and "JSON escapes"): each is redacted, and the scan finds it.
#[test]
fn escaped_case_changed_hex_wrapped_and_partial_forms_are_redacted_and_scanned() {
    let secret = "thoth_org_Zq9é/Xy7_secretvalue_01234";
    let jwt =
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbi1jYW5hcnkifQ.c2lnbmF0dXJlLWNhbmFyeS0wMTIzNDU2";
    let r = redactor(&[secret, jwt]);
    let json_ascii = serde_json::to_string(secret)
        .unwrap()
        .replace('é', "\\u00e9");
    let unicode_all: String = secret
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    let (head, tail) = secret.split_at(16);
    let forms = [
        ("php slash", secret.replace('/', "\\/")),
        (
            "python ensure_ascii",
            json_ascii[1..json_ascii.len() - 1].to_owned(),
        ),
        ("every char \\u", unicode_all),
        (
            "upper-case \\u",
            "\\u0054HOTH_org_Zq9\\u00E9/Xy7_secretvalue_01234".to_owned(),
        ),
        ("upper case", secret.to_ascii_uppercase()),
        ("hex", hex::encode(secret)),
        ("upper hex", hex::encode_upper(secret)),
        ("wrapped", format!("{head}\n    {tail}")),
        ("escaped newline", format!("{head}\\n{tail}")),
        ("nested escapes", secret.replace('/', "\\\\\\/")),
        ("cut prefix", format!("{}…", &secret[..24])),
        ("jwt payload", "eyJzdWIiOiJhZG1pbi1jYW5hcnkifQ".to_owned()),
        (
            "jwt signature",
            "c2lnbmF0dXJlLWNhbmFyeS0wMTIzNDU2".to_owned(),
        ),
    ];
    for (what, form) in forms {
        let text = format!("{{\"echo\":\"{form}\"}} tail");
        let out = r.redact(&text);
        assert!(out.contains(REDACTED), "{what}: not redacted: {out}");
        for piece in ["Zq9", "ecretvalue", "YWRtaW4", "bmF0dXJl"] {
            assert!(!out.contains(piece), "{what}: `{piece}` survives in {out}");
        }
        assert!(
            out.ends_with(" tail"),
            "{what}: text after the secret lost: {out}"
        );
        let hits = scan_for_secrets(&[], &[text.as_str()], &r);
        assert!(!hits.is_empty(), "{what}: the scan misses {text}");
        assert!(
            scan_for_secrets(&[], &[out.as_str()], &r).is_empty(),
            "{what}: the scan still finds something in {out}"
        );
    }
    // The JWT header is every token's: not a secret on its own.
    assert_eq!(r.redact("eyJhbGciOiJIUzI1NiJ9"), "eyJhbGciOiJIUzI1NiJ9");
    // A prefix shorter than half the secret is ordinary text.
    assert_eq!(r.redact("thoth_org_Zq9"), "thoth_org_Zq9");
}

#[test]
fn a_secret_in_a_body_inside_results_json_is_found_through_both_escapings() {
    let secret = "canary/secret-value";
    let r = redactor(&[secret]);
    let body = format!("{{\"k\":\"{}\"}}", secret.replace('/', "\\/"));
    let results = serde_json::to_string(&serde_json::json!({ "response_body": body })).unwrap();
    assert!(!results.contains(secret));
    assert!(!scan_for_secrets(&[], &[results.as_str()], &r).is_empty());
    let redacted =
        serde_json::to_string(&r.redact_json(&serde_json::json!({ "response_body": body })))
            .unwrap();
    assert!(
        scan_for_secrets(&[], &[redacted.as_str()], &r).is_empty(),
        "{redacted}"
    );
}

#[test]
fn any_form_of_a_needle_counts_for_a_secret_assertion() {
    let needle = "whsec_canary/0123";
    assert!(contains_any_form("{\"s\":\"whsec_canary\\/0123\"}", needle));
    assert!(contains_any_form(
        "{\"s\":\"\\u0077hsec_canary/0123\"}",
        needle
    ));
    assert!(contains_any_form("WHSEC_CANARY/0123", needle));
    assert!(!contains_any_form("{\"s\":\"whsec_other\"}", needle));
    // Short needles: as given, or behind escapes.
    assert!(contains_any_form("a\\/b", "a/b"));
    assert!(!contains_any_form("a-b", "a/b"));
    // Looking for a needle does not make it a secret of the run.
    assert_eq!(cut_redacted(needle, 100, "…"), needle);
}

#[test]
fn cutting_redacts_first_with_every_secret_of_the_process() {
    let r = Redactor::new();
    r.add_secret("process-wide-secret-0123456789").unwrap();
    let long = format!("{}process-wide-secret-0123456789", "x".repeat(150));
    let shown = cut_redacted(&long, 160, "…");
    assert!(!shown.contains("process-wide"), "{shown}");
    assert!(shown.starts_with(&"x".repeat(150)));
    assert_eq!(cut_redacted("short", 160, "…"), "short");
    assert_eq!(cut_redacted("abcdef", 3, "…"), "abc…");
}

#[test]
fn secrets_added_one_by_one_stay_in_a_logarithmic_number_of_automata() {
    let r = Redactor::new();
    for i in 0..100 {
        r.add_secret(&format!("incremental-secret-{i:04}")).unwrap();
    }
    let inner = r.read();
    assert!(inner.parts.len() <= 8, "{} automata", inner.parts.len());
    assert_eq!(inner.parts.iter().map(|p| p.count).sum::<usize>(), 100);
    drop(inner);
    for i in [0, 37, 63, 99] {
        let s = format!("x incremental-secret-{i:04} y");
        assert_eq!(r.redact(&s), format!("x {REDACTED} y"));
    }
}

#[test]
fn stored_bodies_are_capped_with_size_and_hash_and_redacted_before_the_cut() {
    use sha2::Digest as _;
    let r = Redactor::new();
    r.add_secret("stored-body-secret-0123456789").unwrap();
    assert_eq!(stored_body("small"), ("small".to_owned(), None));
    let body = format!(
        "{}stored-body-secret-0123456789{}",
        "x".repeat(MAX_STORED_BODY_BYTES - 10),
        "y".repeat(1000)
    );
    let (kept, cut) = stored_body(&body);
    assert!(kept.len() < MAX_STORED_BODY_BYTES + 200, "{}", kept.len());
    assert!(
        !kept.contains("stored-body"),
        "the secret at the cut survives"
    );
    let digest = hex::encode(sha2::Sha256::digest(body.as_bytes()));
    assert!(
        kept.ends_with(&format!(
            "{} bytes, sha256 {digest}; the first {} bytes of it redacted are kept]",
            body.len(),
            MAX_STORED_BODY_BYTES
        )),
        "{}",
        &kept[kept.len() - 200..]
    );
    let cut = cut.expect("what was cut is returned");
    assert_eq!(
        (cut.original_bytes, cut.sha256, cut.kept_bytes),
        (body.len(), digest, MAX_STORED_BODY_BYTES)
    );
}

#[test]
fn every_encoding_the_redactor_knows_counts_for_a_secret_assertion() {
    // The "never returned" cases name the secret; a target that answers it base64-,
    // URL- or JSON-encoded returns it all the same. The short live-check secrets too.
    for needle in ["whsec_x", "pamsec_x", "conformance-jamf-20261201-abc/+=?&"] {
        for (form, encoded) in secret_forms(needle) {
            let body = serde_json::json!({ "webhook": { "secret": encoded } }).to_string();
            assert!(
                contains_any_form(&body, needle),
                "{needle} as {}: {body}",
                form.as_str()
            );
        }
        let escaped = serde_json::to_string(&needle.replace('/', "\\/")).unwrap();
        assert!(contains_any_form(&escaped, needle), "{escaped}");
    }
}

#[test]
fn a_compacted_registry_is_one_automaton_that_still_finds_every_secret() {
    let secrets: Vec<String> = (0..37)
        .map(|i| format!("{i:03}-unique-secret-{}", i * 7919))
        .collect();
    let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let r = redactor(&refs);
    assert!(r.read().parts.len() > 1, "the test needs several parts");
    r.compact();
    assert_eq!(r.read().parts.len(), 1);
    for s in &secrets {
        let escaped = serde_json::to_string(&format!("a {s} b")).unwrap();
        for text in [
            format!("x {s} y"),
            format!("x {} y", s.to_uppercase()),
            escaped,
        ] {
            assert!(!r.redact(&text).contains(s.as_str()), "{s} kept in {text}");
        }
        let hits = scan_for_secrets(&[], &[&format!("at {s}")], &r);
        assert_eq!(hits.len(), 1, "{s}: {hits:?}");
    }
    // A secret registered after compaction is found too.
    r.add_secret("added-after-compaction-1").unwrap();
    assert_eq!(
        r.redact("x added-after-compaction-1 y"),
        format!("x {REDACTED} y")
    );
    assert_eq!(r.read().parts.len(), 2);
}

#[test]
fn views_are_mapped_back_only_when_they_hold_a_secret() {
    let secret = "canary/secret-value-0042";
    let r = redactor(&[secret]);
    let maps = || SPAN_MAPS_BUILT.with(|n| n.get());
    // Escapes and line breaks everywhere, no secret: every view is searched, none mapped.
    let clean = "{\"a\": \"x\\/y \\u00e9\\n  z\"}\n  \"b\\\\\\\"c\"\n".repeat(200);
    let before = maps();
    assert!(scan_for_secrets(&[], &[clean.as_str()], &r).is_empty());
    assert_eq!(r.redact(&clean), clean);
    assert_eq!(maps(), before, "a clean text built a map of its views");
    // Behind two levels of escaping only (and wrapped), the secret is still placed:
    // the offset is that of the escaped text, which is what the map is for.
    let hidden = format!("{clean}{{\"body\": \"canary\\\\\\/secret-\\n   value-0042\"}}");
    let hits = scan_for_secrets(&[], &[hidden.as_str()], &r);
    assert!(maps() > before, "the match in a view was not placed");
    match hits.as_slice() {
        [SecretHit::Found { offset, form, .. }] => {
            assert_eq!(*offset, clean.len() + "{\"body\": \"".len());
            assert_eq!(*form, SecretForm::Escaped);
        }
        other => panic!("expected one escaped hit, got {other:?}"),
    }
    let out = r.redact(&hidden);
    assert!(
        out.ends_with(&format!("\"body\": \"{REDACTED}\"}}")),
        "{out}"
    );
}

#[test]
fn a_passed_case_keeps_a_small_cut_that_still_names_the_original() {
    use sha2::Digest as _;
    let _r = redactor(&["recut-body-secret-0123456789"]);
    // Kept whole while the case runs (under the run's cap), then cut for the pass.
    let body = format!("{{\"data\":[{}]}}", "{\"id\":\"ep-1\"},".repeat(2000));
    assert!(body.len() > MAX_PASSED_BODY_BYTES && body.len() < MAX_STORED_BODY_BYTES);
    let (mut stored, mut cut) = stored_body(&body);
    assert_eq!((stored.as_str(), &cut), (body.as_str(), &None));
    recut_passed(&mut stored, &mut cut);
    let digest = hex::encode(sha2::Sha256::digest(body.as_bytes()));
    let noted = cut.clone().expect("the cut is noted");
    assert_eq!(
        (noted.original_bytes, noted.sha256.as_str()),
        (body.len(), digest.as_str())
    );
    assert!(
        stored.len() < MAX_PASSED_BODY_BYTES + 200,
        "{}",
        stored.len()
    );
    assert!(stored.starts_with(&body[..MAX_PASSED_BODY_BYTES]));
    assert!(stored.contains(&format!("{} bytes, sha256 {digest}", body.len())));
    // Cutting again changes nothing.
    let once = stored.clone();
    recut_passed(&mut stored, &mut cut);
    assert_eq!(stored, once);

    // Cut twice (over the run's cap, then for the pass): the note still names the
    // original, not the first cut.
    let big = "y".repeat(3 * MAX_STORED_BODY_BYTES);
    let (mut stored, mut cut) = stored_body(&big);
    assert_eq!(
        cut.as_ref().map(|c| c.kept_bytes),
        Some(MAX_STORED_BODY_BYTES)
    );
    recut_passed(&mut stored, &mut cut);
    let digest = hex::encode(sha2::Sha256::digest(big.as_bytes()));
    assert!(
        stored.ends_with(&format!(
            "\n[... body cut for storage: {} bytes, sha256 {digest}; the first {MAX_PASSED_BODY_BYTES} bytes of it redacted are kept]",
            big.len()
        )),
        "{}",
        &stored[MAX_PASSED_BODY_BYTES..]
    );
    assert_eq!(cut.map(|c| c.original_bytes), Some(big.len()));
}

#[test]
fn a_secret_across_the_cut_is_redacted_whole_in_every_form() {
    use base64::Engine as _;
    let secret = "window-cut-secret-0123456789";
    let _r = redactor(&[secret]);
    let quoted = serde_json::to_string(secret)
        .unwrap()
        .replace('-', "\\u002d");
    for (name, across) in [
        ("plain", secret.to_owned()),
        (
            "base64",
            base64::engine::general_purpose::STANDARD.encode(secret),
        ),
        ("json-escaped", quoted[1..quoted.len() - 1].to_owned()),
        (
            "wrapped",
            format!("{}\n        {}", &secret[..9], &secret[9..]),
        ),
    ] {
        // The secret begins a few bytes before the cut: too few of it on the kept side
        // for a prefix of it alone to be found there. After it, text that does and does
        // not let the window end early.
        for after in ["b".repeat(10_000), "\\n b".repeat(3_000)] {
            for before in [1, 5, 11] {
                let body = format!(
                    "{}{across}{after}",
                    "a".repeat(MAX_PASSED_BODY_BYTES - before)
                );
                let (kept, _) = cut_for_storage(&body, MAX_PASSED_BODY_BYTES);
                let head = &kept[..kept.find("\n[... body cut").unwrap()];
                assert_eq!(
                    head,
                    format!("{}{REDACTED}", "a".repeat(MAX_PASSED_BODY_BYTES - before)),
                    "{name}, {before} bytes before the cut"
                );
            }
        }
    }
}

#[test]
fn cutting_a_body_searches_a_window_past_the_cut_not_the_whole_body() {
    let secret = "far-away-secret-0123456789";
    let r = redactor(&[secret]);
    let maps = || SPAN_MAPS_BUILT.with(|n| n.get());
    // Only a view finds this one (JSON-escaped), far past the cut: redacting the whole
    // body would build the view's map back to the text to place it.
    let far = serde_json::to_string(secret)
        .unwrap()
        .replace('-', "\\u002d");
    let body = format!("{}{far}", "a".repeat(200 * 1024));
    assert!(r.redact(&body) != body, "whole, it is found");
    let before = maps();
    let (kept, _) = cut_for_storage(&body, MAX_PASSED_BODY_BYTES);
    assert_eq!(maps(), before, "the cut redacted bytes it threw away");
    assert!(kept.starts_with(&"a".repeat(MAX_PASSED_BODY_BYTES)));
}

#[test]
fn the_window_ends_past_the_first_stretch_no_escape_or_indentation_can_reach_across() {
    let text = |marks: &[(usize, u8)]| {
        let mut t = vec![b'a'; 100];
        for &(at, b) in marks {
            t[at] = b;
        }
        t
    };
    assert_eq!(quiet_stretch(&text(&[]), 0, 40), Some(40));
    assert_eq!(
        quiet_stretch(&text(&[]), 70, 40),
        None,
        "the text ends first"
    );
    for b in [b'\\', b'\n', b'\r'] {
        assert_eq!(quiet_stretch(&text(&[(5, b), (30, b)]), 0, 40), Some(71));
    }
    // Spaces only count in the first 16 bytes, where indentation could be skipped.
    assert_eq!(
        quiet_stretch(&text(&[(3, b' '), (10, b'\t')]), 0, 40),
        Some(51)
    );
    assert_eq!(quiet_stretch(&text(&[(20, b' ')]), 0, 40), Some(40));
}
