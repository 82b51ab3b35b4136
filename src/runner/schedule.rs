//! In which order ready phases start when fewer slots (`--jobs`) than phases are free:
//! the phases others wait for (`after`) first, so the longest chain of dependent phases
//! starts as early as possible; file order otherwise.

use std::collections::{BTreeSet, HashMap};

use crate::suite::load::LoadedSuite;

/// The suites, those with the most (transitive) dependents first, file order on ties.
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
    let mut ordered: Vec<(usize, &'a LoadedSuite)> = suites.iter().copied().enumerate().collect();
    ordered.sort_by_key(|(i, s)| {
        let n = dependents.get(s.suite.phase.as_str()).copied().unwrap_or(0);
        (std::cmp::Reverse(n), *i)
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
}
