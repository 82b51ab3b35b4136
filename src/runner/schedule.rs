//! In which order ready phases start when fewer slots (`--jobs`) than phases are free:
//! the phase at the head of the longest remaining work first (its own work and the
//! longest chain of phases waiting on it, weighed as `bench`'s floor weighs them), so
//! a phase that must wait for a TTL or a sync job is not left until slots free up;
//! then the phases others wait for (`after`) first; file order otherwise.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use super::work::phase_work;
use crate::suite::load::LoadedSuite;

/// Weights of the start order: a nominal round trip per step and the mock's sync job.
const STEP: Duration = Duration::from_millis(10);
const JOB: Duration = Duration::from_millis(100);

/// The suites, the head of the longest remaining work first, then those with the most
/// (transitive) dependents, file order on ties.
pub fn start_order<'a>(suites: &[&'a LoadedSuite]) -> Vec<&'a LoadedSuite> {
    let after: HashMap<&str, Vec<&str>> = suites
        .iter()
        .map(|s| {
            let deps = s.suite.after.iter().map(String::as_str).collect();
            (s.suite.phase.as_str(), deps)
        })
        .collect();
    let mut dependents: HashMap<&str, usize> = HashMap::new();
    for s in suites {
        // Everything this phase waits for, directly or not; `seen` also stops a cycle.
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut stack: Vec<&str> = after[s.suite.phase.as_str()].clone();
        while let Some(dep) = stack.pop() {
            if seen.insert(dep) {
                stack.extend(after.get(dep).into_iter().flatten().copied());
            }
        }
        for dep in seen {
            *dependents.entry(dep).or_default() += 1;
        }
    }
    let own: HashMap<&str, Duration> = suites
        .iter()
        .map(|s| (s.suite.phase.as_str(), phase_work(&s.suite).time(STEP, JOB)))
        .collect();
    // Longest remaining work from each phase: its own, then the longest chain of the
    // phases that wait for it. Bounded by the number of phases, so a cycle ends.
    fn tail<'a>(
        phase: &'a str,
        suites: &[&'a LoadedSuite],
        own: &HashMap<&'a str, Duration>,
        memo: &mut HashMap<&'a str, Duration>,
        depth: usize,
    ) -> Duration {
        if let Some(t) = memo.get(phase) {
            return *t;
        }
        let mut longest = Duration::ZERO;
        if depth < suites.len() {
            for s in suites
                .iter()
                .filter(|s| s.suite.after.iter().any(|a| a == phase))
            {
                longest = longest.max(tail(s.suite.phase.as_str(), suites, own, memo, depth + 1));
            }
        }
        let t = own.get(phase).copied().unwrap_or_default() + longest;
        memo.insert(phase, t);
        t
    }
    let mut memo = HashMap::new();
    let mut ordered: Vec<(usize, &'a LoadedSuite)> = suites.iter().copied().enumerate().collect();
    ordered.sort_by_key(|(i, s)| {
        let phase = s.suite.phase.as_str();
        let n = dependents.get(phase).copied().unwrap_or(0);
        let t = tail(phase, suites, &own, &mut memo, 0);
        (std::cmp::Reverse(t), std::cmp::Reverse(n), *i)
    });
    ordered.into_iter().map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::model::Suite;

    fn suite(phase: &str, after: &[&str]) -> LoadedSuite {
        let yaml = format!(
            "phase: {phase}\ntitle: t\nrunbook: r\nafter: [{}]\ncases: []\n",
            after.join(", ")
        );
        LoadedSuite {
            path: format!("{phase}.yaml").into(),
            suite: serde_saphyr::from_str::<Suite>(&yaml).expect("test suite parses"),
        }
    }

    fn phases(order: Vec<&LoadedSuite>) -> Vec<&str> {
        order.into_iter().map(|s| s.suite.phase.as_str()).collect()
    }

    #[test]
    fn phases_others_wait_for_start_first_then_file_order() {
        let all = [
            suite("access", &[]),
            suite("bootstrap", &[]),
            suite("endpoints", &["bootstrap", "mdm"]),
            suite("evidence", &["pam"]),
            suite("mdm", &[]),
            suite("pam", &["bootstrap"]),
        ];
        let refs: Vec<&LoadedSuite> = all.iter().collect();
        // bootstrap: endpoints, pam, evidence (3); mdm: endpoints; pam: evidence.
        assert_eq!(
            phases(start_order(&refs)),
            ["bootstrap", "mdm", "pam", "access", "endpoints", "evidence"]
        );
    }

    #[test]
    fn a_cycle_does_not_hang() {
        let all = [suite("a", &["b"]), suite("b", &["a"])];
        let refs: Vec<&LoadedSuite> = all.iter().collect();
        assert_eq!(phases(start_order(&refs)), ["a", "b"]);
    }

    #[test]
    fn the_head_of_the_longest_remaining_work_starts_first() {
        let mut keys = suite("keys", &[]);
        keys.suite = serde_saphyr::from_str::<Suite>(
            r#"phase: keys
title: t
runbook: r
cases:
  - id: ttl
    title: ttl
    capability: cap
    effect: mutate
    steps:
      - request: {method: POST, path: /thoth/api-keys, json: {name: n, ttl_seconds: 1}}
        expect: {status: 201}
        capture: {key_id: "$.key_id"}
      - request: {method: GET, path: "/thoth/api-keys/{{key_id}}"}
        eventually: {timeout: 30s}
        expect: {status: 404}
"#,
        )
        .expect("test suite parses");
        let all = [
            suite("bootstrap", &[]),
            suite("endpoints", &["bootstrap"]),
            keys,
        ];
        let refs: Vec<&LoadedSuite> = all.iter().collect();
        // keys waits 1 s for its TTL: it starts before bootstrap, which endpoints waits
        // for but which has no work of its own here.
        assert_eq!(
            phases(start_order(&refs)),
            ["keys", "bootstrap", "endpoints"]
        );
    }
}
