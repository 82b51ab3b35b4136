//! The physical floor of a full run: the longest chain of requests that must happen one
//! after another, computed from the loaded suites, times the measured loopback round
//! trip, plus the waits the target itself imposes on that chain.
//!
//! Within a phase everything is sequential (cases run in file order and share
//! captures; `needs` only ever points backwards in the same order), so a phase costs
//! the sum of its steps: setup, each case's steps and cleanup, the suite's cleanup.
//! Phases are ordered only by `after`, so the chain is the longest path through that
//! graph. An `eventually` poll costs one request at best, except a poll of an MDM sync
//! job, which cannot succeed before the job has run (the mock's job duration), and a
//! poll of something created with a `ttl_seconds` in the same case (a key waited on
//! until it expires), which cannot succeed before that TTL has passed. With
//! `--jobs J`, the floor is also at least the whole work divided over J slots.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::outcome::{CaseResult, Status};
use crate::safety::plan::Decision;
use crate::suite::load::Project;
use crate::suite::model::Suite;

pub use crate::runner::work::{phase_work, planned_work, Work};

/// Each phase's work as the measured run did it: the cases it ran (pass, fail, error),
/// its setup unless every case was disabled; a skipped case (no thothctl, no mock admin
/// API on a live target) costs nothing, so the floor is the floor of the same work.
/// Cases not in `ran` at all count as disabled.
pub fn work_as_run(ran: &[CaseResult]) -> impl Fn(&Suite) -> Work + '_ {
    let by_case: BTreeMap<(&str, &str), Status> = ran
        .iter()
        .map(|c| ((c.phase.as_str(), c.case_id.as_str()), c.status))
        .collect();
    move |suite: &Suite| {
        let plan: Vec<Decision> = suite
            .cases
            .iter()
            .map(
                |c| match by_case.get(&(suite.phase.as_str(), c.id.as_str())) {
                    Some(Status::Pass | Status::Fail | Status::Error) => Decision::Run,
                    Some(Status::Skip) => Decision::Skip(String::new()),
                    Some(Status::Disabled) | None => Decision::Disabled(String::new()),
                },
            )
            .collect();
        planned_work(suite, &plan)
    }
}

/// The longest chain of phases by `after`, and the work along it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chain {
    pub phases: Vec<String>,
    pub work: Work,
    /// Every phase's work together.
    pub total: Work,
}

/// The longest `after` chain, weighed by [`Work::time`] with the given costs, each
/// phase's work as `work_of` tells ([`phase_work`]: every case; [`work_as_run`]: what a
/// run did). Phases named in `after` but not loaded are ignored (the scheduler does the
/// same).
pub fn longest_chain(
    project: &Project,
    rtt: Duration,
    job: Duration,
    work_of: &dyn Fn(&Suite) -> Work,
) -> Chain {
    let by_phase: BTreeMap<&str, &Suite> = project
        .suites
        .iter()
        .map(|s| (s.suite.phase.as_str(), &s.suite))
        .collect();
    // Memoised longest path ending at each phase; `after` is acyclic (validation).
    fn end_at<'a>(
        phase: &'a str,
        by_phase: &BTreeMap<&'a str, &'a Suite>,
        memo: &mut BTreeMap<&'a str, (Vec<String>, Work)>,
        cost: &dyn Fn(&Work) -> Duration,
        work_of: &dyn Fn(&Suite) -> Work,
        depth: usize,
    ) -> (Vec<String>, Work) {
        if let Some(done) = memo.get(phase) {
            return done.clone();
        }
        let suite = by_phase[phase];
        let mut best: (Vec<String>, Work) = (Vec::new(), Work::default());
        if depth < by_phase.len() {
            for before in &suite.after {
                if let Some((name, _)) = by_phase.get_key_value(before.as_str()) {
                    let cand = end_at(name, by_phase, memo, cost, work_of, depth + 1);
                    if cost(&cand.1) > cost(&best.1) {
                        best = cand;
                    }
                }
            }
        }
        best.0.push(phase.to_string());
        best.1.add(&work_of(suite));
        memo.insert(phase, best.clone());
        best
    }
    let cost = |w: &Work| w.time(rtt, job);
    let mut memo = BTreeMap::new();
    let mut chain = Chain::default();
    for phase in by_phase.keys() {
        let (phases, work) = end_at(phase, &by_phase, &mut memo, &cost, work_of, 0);
        if cost(&work) > cost(&chain.work) || chain.phases.is_empty() {
            chain.phases = phases;
            chain.work = work;
        }
        chain.total.add(&work_of(by_phase[phase]));
    }
    chain
}

/// The floor of a run with `jobs` phase slots: the chain, or the whole work spread over
/// the slots, whichever is longer.
pub fn floor(chain: &Chain, rtt: Duration, job: Duration, jobs: usize) -> Duration {
    let spread = chain.total.time(rtt, job) / u32::try_from(jobs.max(1)).unwrap_or(1);
    chain.work.time(rtt, job).max(spread)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::load::LoadedSuite;

    fn suite(phase: &str, after: &[&str], steps: usize, job_poll: bool) -> LoadedSuite {
        let mut yaml = format!(
            "phase: {phase}\ntitle: t\nrunbook: r\nafter: [{}]\ncases:\n  - id: c\n    title: c\n    capability: cap\n    effect: read\n    steps:\n",
            after.join(", ")
        );
        for _ in 0..steps {
            yaml.push_str("      - request: {method: GET, path: /thoth/endpoints/stats}\n        expect: {status: 200}\n");
        }
        if job_poll {
            yaml.push_str("      - request: {method: GET, path: \"/thoth/mdm/sync-jobs/j1\"}\n        eventually: {timeout: 10s}\n        expect: {status: 200}\n");
        }
        LoadedSuite {
            path: format!("{phase}.yaml").into(),
            suite: serde_saphyr::from_str(&yaml).unwrap(),
        }
    }

    fn project(suites: Vec<LoadedSuite>) -> Project {
        Project {
            suites,
            catalogue: crate::catalogue::Catalogue {
                capabilities: Vec::new(),
                requirements: Vec::new(),
            },
            fixtures_dir: ".".into(),
            suites_dir: ".".into(),
        }
    }

    /// a(5) -> c(2); b(1 + job poll) -> c; d(4) alone.
    fn four_phases() -> Project {
        project(vec![
            suite("a", &[], 5, false),
            suite("b", &[], 1, true),
            suite("c", &["a", "b"], 2, false),
            suite("d", &[], 4, false),
        ])
    }

    #[test]
    fn the_chain_follows_after_and_counts_job_waits() {
        let p = four_phases();
        let ms = Duration::from_millis;
        // With cheap jobs the long path is a -> c (7 steps) ...
        let chain = longest_chain(&p, ms(1), ms(0), &phase_work);
        assert_eq!(chain.phases, ["a", "c"]);
        assert_eq!(
            chain.work,
            Work {
                steps: 7,
                ..Work::default()
            }
        );
        assert_eq!(
            chain.total,
            Work {
                steps: 13,
                job_waits: 1,
                ..Work::default()
            }
        );
        // ... with a 100 ms job it is b -> c.
        let chain = longest_chain(&p, ms(1), ms(100), &phase_work);
        assert_eq!(chain.phases, ["b", "c"]);
        assert_eq!(floor(&chain, ms(1), ms(100), 8), ms(104));
        // One slot: everything in sequence.
        assert_eq!(floor(&chain, ms(1), ms(100), 1), ms(113));
    }

    fn result(p: &Project, phase: &str, status: Status) -> CaseResult {
        let suite = p.suites.iter().find(|s| s.suite.phase == phase).unwrap();
        crate::runner::case::not_run(phase, &suite.suite.cases[0], status, "")
    }

    #[test]
    fn the_floor_of_a_run_counts_only_the_cases_it_ran() {
        let p = four_phases();
        let ms = Duration::from_millis;
        // b's one case was skipped (as a live target skips a mock-admin case): its sync
        // job is no longer on any chain, and a -> c is the longest.
        let ran = [
            result(&p, "a", Status::Pass),
            result(&p, "b", Status::Skip),
            result(&p, "c", Status::Fail),
            result(&p, "d", Status::Disabled),
        ];
        let chain = longest_chain(&p, ms(1), ms(100), &work_as_run(&ran));
        assert_eq!(chain.phases, ["a", "c"]);
        assert_eq!(
            chain.total,
            Work {
                steps: 7,
                ..Work::default()
            }
        );
        assert_eq!(floor(&chain, ms(1), ms(100), 1), ms(7));
    }

    #[test]
    fn a_poll_of_what_was_created_with_a_ttl_waits_for_the_ttl() {
        // Case k: create a key with a 2 s TTL, poll it until it expires (2 s), then a
        // poll of something else (no TTL). Case other: a poll naming the same capture
        // name, but in another case, which never saw the TTL.
        let yaml = r#"phase: k
title: t
runbook: r
cases:
  - id: k
    title: k
    capability: cap
    effect: mutate
    steps:
      - request: {method: POST, path: /thoth/api-keys, json: {name: n, ttl_seconds: 2}}
        expect: {status: 201}
        capture: {key_id: "$.key_id"}
      - request: {method: POST, path: "/thoth/api-keys/{{key_id}}/authorize", json: {permission: read}}
        eventually: {timeout: 30s}
        expect: {status: 200}
      - request: {method: GET, path: /thoth/endpoints/stats}
        eventually: {timeout: 30s}
        expect: {status: 200}
  - id: other
    title: other
    capability: cap
    effect: read
    steps:
      - request: {method: GET, path: "/thoth/api-keys/{{key_id}}"}
        eventually: {timeout: 30s}
        expect: {status: 200}
"#;
        let suite: Suite = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(
            phase_work(&suite),
            Work {
                steps: 4,
                job_waits: 0,
                ttl_waits: Duration::from_secs(2),
            }
        );
        let p = project(vec![LoadedSuite {
            path: "k.yaml".into(),
            suite,
        }]);
        let ms = Duration::from_millis;
        let chain = longest_chain(&p, ms(1), ms(100), &phase_work);
        assert_eq!(floor(&chain, ms(1), ms(100), 1), ms(2004));
    }
}
