//! Registration cost of a run's secrets, one `add_secret` at a time as captures arrive:
//! the registry as it is (a stack of automata merged like a binary counter) against
//! rebuilding one automaton over every form of every secret on each add (what the
//! registry did before, reproduced here with the same forms and builder settings).
//! Both run in this one process on the same secrets, so the ratio is like for like.
//!
//! `cargo run --release --example redact_growth -- [SECRETS]` (default 1000).

use std::time::{Duration, Instant};

use aho_corasick::{AhoCorasickBuilder, MatchKind};
use thoth_conformance::redact::{secret_forms, Redactor};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let secrets: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "thoth_sk_{i:06}_{:016x}",
                (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            )
        })
        .collect();

    let started = Instant::now();
    let mut texts = Vec::new();
    for s in &secrets {
        texts.extend(secret_forms(s).into_iter().map(|(_, t)| t));
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .ascii_case_insensitive(true)
            .build(&texts)
            .expect("automaton");
        std::hint::black_box(ac);
    }
    let rebuild = started.elapsed();

    let started = Instant::now();
    let r = Redactor::new();
    for s in &secrets {
        r.add_secret(s).expect("secret accepted");
    }
    let incremental = started.elapsed();

    // What redaction costs afterwards: one 1 MB body with a few secrets in it.
    let mut body = "x".repeat(1024 * 1024);
    for s in secrets.iter().step_by(n.div_ceil(8).max(1)) {
        body.insert_str(body.len() / 2, s);
    }
    let started = Instant::now();
    let out = r.redact(&body);
    let redact_1mb = started.elapsed();
    assert!(!out.contains(&secrets[0]));

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("secrets registered one by one: {n}");
    println!(
        "rebuild every automaton on each add: {:>10.1} ms",
        ms(rebuild)
    );
    println!(
        "incremental (binary-counter parts):  {:>10.1} ms",
        ms(incremental)
    );
    println!(
        "ratio rebuild / incremental:         {:>10.1}x",
        ms(rebuild) / ms(incremental).max(1e-9)
    );
    println!(
        "redact a 1 MB body afterwards:       {:>10.1} ms",
        ms(redact_1mb)
    );
}
