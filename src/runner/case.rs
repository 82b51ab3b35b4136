//! One case: decide whether it can run here, run its steps until one does not pass,
//! then always run its cleanup.

use std::collections::HashMap;
use std::time::Instant;

use super::attempt::{CaseState, StepEnv};
use super::step::{run_step, step_name};
use crate::outcome::{CaseResult, Status, StepResult};
use crate::stamp::now_rfc3339;
use crate::suite::model::{Case, Step};
use crate::template::Vars;
use serde_json::Value;

/// A result for a case that did not run (skip, disabled, or error before any step).
pub fn not_run(phase: &str, case: &Case, status: Status, message: impl Into<String>) -> CaseResult {
    CaseResult {
        phase: phase.to_string(),
        case_id: case.id.clone(),
        title: case.title.clone(),
        status,
        message: Some(message.into()),
        requirements: case.requirements.clone(),
        capability: case.capability.clone(),
        surface: case.surface,
        effect: case.effect,
        steps: Vec::new(),
        cleanup: Vec::new(),
        duration_ms: 0,
        started_at: now_rfc3339(),
        expectation: None,
    }
}

/// Runs steps in order and stops at the first one that does not pass. Returns the step
/// results and, on a non-pass, its status and the message naming the step.
pub async fn run_steps(
    env: &StepEnv<'_>,
    steps: &[Step],
    state: &mut CaseState,
    vars: &mut Vars,
) -> (Vec<StepResult>, Option<(Status, String)>) {
    let mut results = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let name = step_name(step, i);
        let r = run_step(env, step, &name, state, vars).await;
        let outcome = (r.status != Status::Pass).then(|| {
            (
                r.status,
                format!("step \"{name}\": {}", r.message.clone().unwrap_or_default()),
            )
        });
        results.push(r);
        if outcome.is_some() {
            return (results, outcome);
        }
    }
    (results, None)
}

/// Runs cleanup steps in reverse order, every one of them whatever happens.
pub async fn run_cleanup(
    env: &StepEnv<'_>,
    steps: &[Step],
    state: &mut CaseState,
    vars: &mut Vars,
) -> Vec<StepResult> {
    let mut results = Vec::new();
    for (i, step) in steps.iter().enumerate().rev() {
        let name = step_name(step, i);
        results.push(run_step(env, step, &name, state, vars).await);
    }
    results
}

/// Runs a case whose `needs` and `requires` have been checked by the caller... or not:
/// this checks them too, so it is safe to call on any case.
pub async fn run_case(
    env: &StepEnv<'_>,
    cleanup_env: &StepEnv<'_>,
    phase: &str,
    case: &Case,
    vars: &mut Vars,
    earlier: &HashMap<String, Status>,
) -> CaseResult {
    if let Some(reason) = env.target.missing_feature(case) {
        return not_run(phase, case, Status::Skip, reason);
    }
    for need in &case.needs {
        match earlier.get(need) {
            Some(Status::Pass) => {}
            Some(s) => {
                return not_run(
                    phase,
                    case,
                    Status::Skip,
                    format!("needs `{need}`, which did not pass ({})", s.as_str()),
                )
            }
            None => {
                return not_run(
                    phase,
                    case,
                    Status::Skip,
                    format!("needs `{need}`, which has not run"),
                )
            }
        }
    }
    let started_at = now_rfc3339();
    let started = Instant::now();
    let mut state = CaseState {
        case_id: Some(case.id.clone()),
        ..CaseState::default()
    };
    // Case vars shadow suite vars and captures for this case only; what they shadowed
    // comes back afterwards, while captures the case takes stay for later cases.
    let mut shadowed = Vec::new();
    for (name, text) in &case.vars {
        match crate::template::render(text, vars) {
            Ok(v) => shadowed.push((name.as_str(), vars.replace(name, Value::String(v)))),
            Err(e) => {
                for (n, old) in shadowed.into_iter().rev() {
                    vars.restore(n, old);
                }
                return not_run(phase, case, Status::Error, format!("case vars.{name}: {e}"));
            }
        }
    }
    let (steps, outcome) = run_steps(env, &case.steps, &mut state, vars).await;
    // Cleanup runs even after Ctrl-C (with its own token), so a live tenant is left tidy.
    let cleanup = run_cleanup(cleanup_env, &case.cleanup, &mut state, vars).await;
    for (n, old) in shadowed.into_iter().rev() {
        vars.restore(n, old);
    }
    let (status, message) = match outcome {
        None => (Status::Pass, None),
        Some((s, m)) => (s, Some(m)),
    };
    let mut result = CaseResult {
        phase: phase.to_string(),
        case_id: case.id.clone(),
        title: case.title.clone(),
        status,
        message,
        requirements: case.requirements.clone(),
        capability: case.capability.clone(),
        surface: case.surface,
        effect: case.effect,
        steps,
        cleanup,
        duration_ms: started.elapsed().as_millis() as u64,
        started_at,
        expectation: None,
    };
    // Where the verdict is settled: from here on the case's bodies are evidence that
    // it ran, and only a case that did not pass needs them at length.
    result.cut_passed_bodies();
    result
}
