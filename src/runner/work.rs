//! The least work a phase must do one step after another, as `bench`'s floor and the
//! scheduler's start order weigh it (see [`crate::bench::floor`]): each step one round
//! trip, a poll of an MDM sync job at least the job's duration, and a poll of something
//! the same case created with a `ttl_seconds` at least that TTL.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::safety::plan::Decision;
use crate::suite::model::{Action, Step, Suite};

/// What one phase (or one chain of phases) must do in sequence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Work {
    /// Steps, each at least one round trip.
    pub steps: usize,
    /// Polls of a sync job, each at least the job's duration.
    pub job_waits: usize,
    /// Polls that wait for a TTL to pass, at least that TTL each.
    pub ttl_waits: Duration,
}

impl Work {
    pub fn add(&mut self, other: &Work) {
        self.steps += other.steps;
        self.job_waits += other.job_waits;
        self.ttl_waits += other.ttl_waits;
    }

    /// The least time this work can take.
    pub fn time(&self, rtt: Duration, job: Duration) -> Duration {
        rtt * u32::try_from(self.steps).unwrap_or(u32::MAX)
            + job * u32::try_from(self.job_waits).unwrap_or(u32::MAX)
            + self.ttl_waits
    }
}

/// The work of one step. `ttls` maps the captures of earlier steps of the same list to
/// the `ttl_seconds` their request sent; a poll whose request names one of them waits
/// for the longest such TTL.
fn step_work(step: &Step, ttls: &mut BTreeMap<String, Duration>) -> Work {
    let request = step.action.http();
    let polls_a_job =
        step.eventually.is_some() && request.is_some_and(|r| r.path.contains("/sync-jobs/"));
    let ttl_waits = match (&step.eventually, request) {
        (Some(_), Some(r)) => {
            let names = serde_json::to_string(r).unwrap_or_default();
            ttls.iter()
                .filter(|(var, _)| names.contains(&format!("{{{{{var}}}}}")))
                .map(|(_, ttl)| *ttl)
                .max()
                .unwrap_or_default()
        }
        _ => Duration::ZERO,
    };
    if let Action::Request(r) = &step.action {
        let ttl = r
            .json
            .as_ref()
            .and_then(|j| j.get("ttl_seconds"))
            .and_then(serde_json::Value::as_u64);
        if let Some(ttl) = ttl {
            for var in step.capture.keys() {
                ttls.insert(var.clone(), Duration::from_secs(ttl));
            }
        }
    }
    Work {
        steps: 1,
        job_waits: usize::from(polls_a_job),
        ttl_waits,
    }
}

/// The sequential work of one phase, every case run.
pub fn phase_work(suite: &Suite) -> Work {
    planned_work(suite, &vec![Decision::Run; suite.cases.len()])
}

/// The sequential work of one phase as a run with this plan (one decision per case, in
/// case order: [`crate::safety::plan::suite_plan`]) does it: the steps and cleanup of
/// the cases that run, and the suite's setup and cleanup unless every case is disabled
/// (a skipped case still has the setup run, as `runner::run_phase` does).
pub fn planned_work(suite: &Suite, plan: &[Decision]) -> Work {
    let mut work = Work::default();
    if plan.iter().all(|d| !d.selected()) {
        return work;
    }
    let runs = |i: usize| plan.get(i).is_some_and(Decision::runs);
    let lists = std::iter::once(&suite.setup)
        .chain(
            suite
                .cases
                .iter()
                .enumerate()
                .filter(|(i, _)| runs(*i))
                .flat_map(|(_, c)| [&c.steps, &c.cleanup]),
        )
        .chain(std::iter::once(&suite.cleanup));
    for steps in lists {
        // Captures live on through the phase, but a TTL is only waited on by the case
        // (or cleanup) that created the thing: its own list.
        let mut ttls = BTreeMap::new();
        for step in steps {
            work.add(&step_work(step, &mut ttls));
        }
    }
    work
}
