//! `report.html`: the run as one self-contained page a SecOps lead reads, prints to PDF
//! and signs.
//!
//! The first screen answers the sign-off questions: the verdict, what the run verified
//! and what it did not (the conformance level and every unverified requirement), and
//! each failure and error with its requirement, route, expected/actual and a link to its
//! transcript. Then the coverage matrix (failed cases marked), the run's facts (profile,
//! target, tenant restore and cleanup, run id, suites hash, harness version), the
//! sign-off block, the requirements and every case's transcript.
//!
//! Evidence gets archived, mailed and opened offline years later, so the page carries
//! everything itself: inline CSS, no script, no font, image or link that leaves the
//! file (only `#fragment` links between its own sections). A Content-Security-Policy
//! forbids loading anything, as a second wall. The markup is a maud template: every
//! interpolated string is escaped by construction, and every string from the run or the
//! catalogue is redacted before it gets there.

use std::collections::HashMap;

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::coverage::{build_coverage, Cell, CellStatus, Coverage, RequirementStatus};
use super::junit::{effect_name, surface_name};
use super::transcript::{case_transcript, deciding_message, route};
use crate::catalogue::Catalogue;
use crate::outcome::{CaseResult, RunResult, Status};
use crate::redact::Redactor;
use crate::verdict::RunStatus;

/// What the page states beyond the run's results: the facts a sign-off needs that only
/// the session knows. Absent facts are shown as not recorded, never guessed.
#[derive(Debug, Clone, Default)]
pub struct SignOffFacts {
    /// The live-safety profile the run was held to (`read-only`, `staging`, `full`).
    pub profile: Option<String>,
    /// How undoing the run's changes on the tenant went; None where this report was not
    /// written by the run that made them (a shard merge).
    pub restore: Option<TenantRestore>,
}

/// The outcome of undoing the run's changes (settings restored, objects deleted).
#[derive(Debug, Clone)]
pub struct TenantRestore {
    /// Every change that needed undoing was undone.
    pub complete: bool,
    /// The cleanup report as the console shows it, redacted.
    pub detail: String,
}

const STYLE: &str = "
:root{--pass:#1a7f37;--fail:#cf222e;--error:#9a6700;--skip:#57606a;--gap:#8250df;--line:#d0d7de;--soft:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:#1f2328;margin:0 auto;max-width:1200px;padding:20px}
h1{font-size:22px;margin:0 0 2px}h2{font-size:18px;margin:24px 0 8px;border-bottom:1px solid var(--line);padding-bottom:3px}h3{font-size:16px;margin:18px 0 6px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.sub{color:#57606a;margin:0 0 10px}
.verdict{border-radius:8px;padding:12px 18px;color:#fff;margin:10px 0}
.verdict .label{font-size:26px;font-weight:700;letter-spacing:.02em}
.verdict .why{font-size:15px;margin-top:2px}
.v-passed{background:var(--pass)}.v-failed{background:var(--fail)}.v-errored{background:var(--error)}.v-unreachable{background:#6e7781}
.cut{border:2px solid var(--fail);border-radius:6px;padding:8px 12px;font-weight:600}
.tiles{display:flex;gap:8px;flex-wrap:wrap;margin:6px 0}
.tile{border:1px solid var(--line);border-radius:6px;padding:4px 12px;min-width:84px;background:var(--soft)}
.tile b{display:block;font-size:20px}
.scope{border:1px solid var(--line);border-radius:6px;padding:8px 14px;margin:10px 0}
.scope ul{margin:4px 0;padding-left:20px}
.unverified{border-color:var(--error);background:#fff8c5}
table{border-collapse:collapse;width:100%;margin:6px 0;table-layout:fixed}
th,td{border:1px solid var(--line);padding:4px 7px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:var(--soft)}
table.meta th{width:210px}
.facts.wide{grid-template-columns:max-content minmax(0,1fr)}
.failure{break-inside:avoid}
table.matrix col.c-cap{width:28%}table.matrix col.c-row{width:10%}
table.reqs col.c-id{width:11%}table.reqs col.c-sev{width:10%}table.reqs col.c-kind{width:12%}table.reqs col.c-st{width:17%}table.reqs col.c-cases{width:20%}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:700;color:#fff;white-space:nowrap}
.s-pass{background:var(--pass)}.s-fail{background:var(--fail)}.s-error{background:var(--error)}
.s-skip,.s-disabled{background:var(--skip)}.s-none{background:#afb8c1;color:#1f2328}.s-gap{background:var(--gap)}
.note{color:#57606a;font-style:italic}
.reqs a{margin-right:6px}
.cases a{display:inline-block;margin-right:10px}
.cases a.bad{color:var(--fail);font-weight:700}
a{color:#0969da}
.case{border:1px solid var(--line);border-left:6px solid var(--skip);border-radius:6px;padding:10px 14px;margin:10px 0}
.case.c-pass{border-left-color:var(--pass)}.case.c-fail{border-left-color:var(--fail)}.case.c-error{border-left-color:var(--error)}
.case h4{margin:0 0 6px;font-size:15px}
.facts{display:grid;grid-template-columns:repeat(3,max-content minmax(0,1fr));gap:2px 12px;margin:4px 0}
.facts dt{color:#57606a}.facts dd{margin:0}
.message{background:#fff8c5;border-radius:4px;padding:6px 10px;white-space:pre-wrap;margin:6px 0}
details summary{cursor:pointer;color:#0969da}
pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:10px;white-space:pre-wrap;word-break:break-all}
.signoff td{height:34px}
footer{margin-top:28px;color:#57606a;font-size:12px}
@page{size:A4;margin:12mm}
@media print{
body{max-width:none;padding:0;font-size:11px}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
tr,.case h4,.scope,.signoff{break-inside:avoid}
h2,h3{break-after:avoid}
#signoff,#requirements{break-before:page}
.case{break-inside:auto}
}
";

fn badge(class: &str, label: &str) -> Markup {
    html! { span class={ "badge " (class) } { (label) } }
}

fn status_badge(status: Status) -> Markup {
    badge(
        &format!("s-{}", status.as_str()),
        &status.as_str().to_uppercase(),
    )
}

fn cell_class(status: CellStatus) -> &'static str {
    match status {
        CellStatus::Fail => "s-fail",
        CellStatus::Error => "s-error",
        CellStatus::Pass => "s-pass",
        CellStatus::Partial => "s-skip",
        CellStatus::Skip => "s-skip",
        CellStatus::Disabled => "s-disabled",
        CellStatus::NoCase => "s-none",
    }
}

fn requirement_badge(status: RequirementStatus) -> Markup {
    let (class, label) = match status {
        RequirementStatus::Fail => ("s-fail", "FAIL"),
        RequirementStatus::Error => ("s-error", "ERROR"),
        RequirementStatus::Pass => ("s-pass", "PASS"),
        RequirementStatus::Partial => ("s-skip", "PARTIAL"),
        RequirementStatus::Skip => ("s-skip", "SKIP"),
        RequirementStatus::Disabled => ("s-disabled", "DISABLED"),
        RequirementStatus::Gap => ("s-gap", "GAP: no case"),
        RequirementStatus::ExplainedGap => ("s-none", "GAP (explained)"),
    };
    badge(class, label)
}

/// Anchors inside the page. Ids are positions, never names: names come from suites and
/// could carry anything, positions are digits.
struct Anchors {
    /// Redacted `phase::case` → (position, status).
    case_by_name: HashMap<String, (usize, Status)>,
    requirement_by_id: HashMap<String, usize>,
}

impl Anchors {
    /// A link to the case; a failed or errored one is marked, so a matrix cell listing
    /// thirteen cases shows which one broke it.
    fn case_link(&self, name: &str) -> Markup {
        match self.case_by_name.get(name) {
            Some((i, status @ (Status::Fail | Status::Error))) => html! {
                a.bad href={ "#case-" (i) } {
                    code { (name) } " " (status_badge(*status))
                }
            },
            Some((i, _)) => html! { a href={ "#case-" (i) } { code { (name) } } },
            None => html! { code { (name) } },
        }
    }

    fn requirement_link(&self, id: &str) -> Markup {
        match self.requirement_by_id.get(id) {
            Some(i) => html! { a href={ "#req-" (i) } { (id) } },
            None => html! { (id) " " span.note { "(not in catalogue)" } },
        }
    }
}

/// Renders the run as one HTML page; every string redacted and escaped.
pub fn render_html(run: &RunResult, catalogue: &Catalogue, redactor: &Redactor) -> String {
    render(
        &build_coverage(run, catalogue, redactor),
        run,
        redactor,
        &SignOffFacts::default(),
    )
}

/// [`render_html`] from coverage already built (and redacted) by the caller, with the
/// session's facts.
pub fn render(
    coverage: &Coverage,
    run: &RunResult,
    redactor: &Redactor,
    facts: &SignOffFacts,
) -> String {
    let mut case_by_name = HashMap::new();
    for (i, case) in run.cases.iter().enumerate() {
        case_by_name
            .entry(redactor.redact(&case.full_name()))
            .or_insert((i, case.status));
    }
    let requirement_by_id = coverage
        .requirements
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.clone(), i))
        .collect();
    let anchors = Anchors {
        case_by_name,
        requirement_by_id,
    };
    let c = coverage;
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy"
                    content="default-src 'none'; style-src 'unsafe-inline'";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content={ "thoth-conformance " (c.run.harness_version) };
                title {
                    "Thoth conformance: " (c.verdict.status.as_str().to_uppercase())
                    " (run " (c.run.run_id) ")"
                }
                // The one string written as is: a constant of this file.
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "Thoth conformance evidence report" }
                    p.sub {
                        "Headless E2E Runbook conformance of the Thoth control plane (GovAPI): "
                        (c.run.target_kind) " target " code { (c.run.base_url) }
                        ", tenant " code { (c.run.tenant) } ", run " code { (c.run.run_id) }
                        ", finished " (c.run.finished_at)
                    }
                }
                (verdict_section(c))
                (scope_section(run, c, redactor))
                (failures_section(run, redactor, &anchors))
                (matrix_section(c, &anchors))
                (run_section(c, facts, redactor))
                (signoff_section(c))
                (requirements_section(c, &anchors))
                (cases_section(run, redactor, &anchors))
                (legend_and_footer(c))
            }
        }
    };
    page.into_string()
}

fn verdict_section(c: &Coverage) -> Markup {
    let v = &c.verdict;
    let class = match v.status {
        RunStatus::Passed => "v-passed",
        RunStatus::Failed => "v-failed",
        RunStatus::Errored => "v-errored",
        RunStatus::Unreachable => "v-unreachable",
        RunStatus::Incomplete => "v-errored",
    };
    let n = &v.counts;
    html! {
        section #verdict class={ "verdict " (class) } {
            div.label { "Verdict: " (v.status.as_str().to_uppercase()) }
            div.why { (v.message) " (exit code " (v.exit_code) ")" }
        }
        @if let Some(why) = &c.run.interrupted {
            p.cut { "Run cut short: " (why) ". Cases that did not run are not in this report." }
        }
        div.tiles #counts {
            @for (label, count) in [
                ("total", n.total), ("pass", n.pass), ("fail", n.fail),
                ("error", n.error), ("skip", n.skip), ("disabled", n.disabled),
            ] {
                div.tile { b { (count) } (label) }
            }
        }
    }
}

/// What was verified and what was not: the conformance level the run was held to, each
/// requirement at that level it did not verify, and the catalogue-wide tallies.
fn scope_section(run: &RunResult, c: &Coverage, r: &Redactor) -> Markup {
    let s = &c.requirement_summary;
    let not_verified =
        s.partial + s.skip + s.disabled + s.error + s.explained_gaps + s.unexplained_gaps;
    html! {
        section #scope {
            h2 { "What this run verified, and what it did not" }
            @match &run.conformance {
                Some(conf) => {
                    @let lines = conf.lines();
                    div.scope.unverified[!lines.is_empty()] {
                        p {
                            "Conformance level " b { (conf.level.as_str()) }
                            @if conf.explicit { " (set with --require)" }
                            @else { " (the target's default; set another with --require)" }
                            ": " (conf.judged) " requirement(s) at this level are named by the selected cases. "
                            @if lines.is_empty() {
                                "Every one of them was verified."
                            } @else {
                                b { (lines.len()) " of them were NOT verified:" }
                            }
                        }
                        @if !lines.is_empty() {
                            ul { @for l in &lines { li { (r.redact(l)) } } }
                        }
                    }
                }
                None => {
                    p.scope.unverified { "No conformance level was recorded for this run: nothing here says which requirements had to be verified." }
                }
            }
            p {
                "Across the catalogue: " b { (s.pass) " of " (s.total) } " requirement(s) verified (PASS); "
                (s.fail) " fail, " (not_verified) " not verified ("
                (s.error) " error, " (s.partial) " partial, " (s.skip) " skip, " (s.disabled) " disabled, "
                (s.explained_gaps) " explained gap(s), " (s.unexplained_gaps) " with no case)."
            }
            @if s.unexplained_gaps > 0 {
                p { b { "No case and no explained gap: " } (s.unexplained_gap_ids.join(", ")) }
            }
            @if !s.unknown_requirement_ids.is_empty() {
                p { "Cases name requirement IDs the catalogue does not list: " (s.unknown_requirement_ids.join(", ")) }
            }
        }
    }
}

/// Every failure and error the run is judged by, then the known failures the
/// expectations ledger accepts, each with its requirement, route and transcript link.
fn failures_section(run: &RunResult, r: &Redactor, anchors: &Anchors) -> Markup {
    let judged: Vec<(usize, &CaseResult)> = run
        .cases
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            (c.status == Status::Fail && !c.is_expected_failure()) || c.status == Status::Error
        })
        .collect();
    let known: Vec<(usize, &CaseResult)> = run
        .cases
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_expected_failure())
        .collect();
    // One block per case, not a table: a long case name or route would wrap inside a
    // narrow column, and printed, a block reads top to bottom.
    let list = |rows: &[(usize, &CaseResult)]| {
        html! {
            @for (i, case) in rows {
                div class={ "failure case c-" (case.status.as_str()) } {
                    h4 {
                        (status_badge(case.status)) " " code { (r.redact(&case.full_name())) }
                        " " (r.redact(&case.title)) " "
                        a href={ "#case-" (i) } { "(transcript)" }
                    }
                    dl.facts.wide {
                        dt { "Requirement" }
                        dd.reqs {
                            @if case.requirements.is_empty() { span.note { "none" } }
                            @for id in &case.requirements { (anchors.requirement_link(&r.redact(id))) " " }
                        }
                        dt { "Route" }
                        dd { code { (r.redact(&route(case).unwrap_or_else(|| "no request sent".into()))) } }
                        dt { "Expected / actual" }
                        dd { (r.redact(deciding_message(case).unwrap_or("no message"))) }
                    }
                }
            }
        }
    };
    html! {
        section #failures {
            h2 { "Failures and errors (" (judged.len()) ")" }
            @if judged.is_empty() {
                p { "No case failed or errored." }
            } @else {
                (list(&judged))
            }
            @if !known.is_empty() {
                h3 { "Known failures the expectations ledger accepts (" (known.len()) ")" }
                (list(&known))
            }
        }
    }
}

fn matrix_cell(cell: &Cell, anchors: &Anchors) -> Markup {
    let not_run = cell.not_run_lines();
    html! {
        // A note replaces the status label: "SKIP" would read as a considered verdict.
        @match &cell.note {
            Some(note) => span.note { (note) },
            None => {
                (badge(cell_class(cell.status), &cell.label()))
                @if !not_run.is_empty() {
                    div.note { "not verified: " (not_run.join("; ")) }
                }
            }
        }
        @if !cell.cases.is_empty() {
            div.cases { @for name in &cell.cases { (anchors.case_link(name)) } }
        }
    }
}

fn matrix_section(c: &Coverage, anchors: &Anchors) -> Markup {
    html! {
        h2 #matrix { "Command coverage matrix" }
        table.matrix {
            colgroup { col.c-cap; col.c-row; col; col; }
            tr { th { "Capability" } th { "Runbook row" } th { "thothctl" } th { "GovAPI/API" } }
            @for row in &c.matrix {
                tr {
                    td {
                        (row.title)
                        @if !row.in_catalogue { " " span.note { "(not in catalogue)" } }
                    }
                    td { @if row.runbook_row { "yes" } }
                    td { (matrix_cell(&row.thothctl, anchors)) }
                    td { (matrix_cell(&row.api, anchors)) }
                }
            }
        }
    }
}

fn run_section(c: &Coverage, facts: &SignOffFacts, r: &Redactor) -> Markup {
    let run = &c.run;
    let faults = if run.mock_faults.is_empty() {
        "none".to_owned()
    } else {
        run.mock_faults.join(", ")
    };
    let thothctl = super::coverage::thothctl_line(run);
    let duration = format!("{} ms", run.duration_ms);
    let rows = [
        ("Target", run.target_kind.as_str()),
        ("Base URL", run.base_url.as_str()),
        ("Tenant", run.tenant.as_str()),
        ("Started", run.started_at.as_str()),
        ("Finished", run.finished_at.as_str()),
        ("Duration", duration.as_str()),
        ("Run id", run.run_id.as_str()),
        ("Suites hash", run.suites_hash.as_str()),
        ("Harness version", run.harness_version.as_str()),
        ("Mock faults", faults.as_str()),
        ("thothctl", thothctl.as_str()),
    ];
    html! {
        h2 #run { "Run" }
        table.meta {
            tr {
                th { "Profile" }
                td {
                    @match &facts.profile {
                        Some(p) => code { (r.redact(p)) },
                        None => span.note { "not recorded in this report" },
                    }
                }
            }
            tr #restore {
                th { "Tenant restore and cleanup" }
                td {
                    @match &facts.restore {
                        Some(t) if t.complete => {
                            (badge("s-pass", "RESTORED")) " every change the run made was undone"
                        }
                        Some(_) => {
                            (badge("s-fail", "NOT RESTORED")) " changes are left on the tenant: run "
                            code { "thoth-conformance cleanup --ledger <ledger>" }
                        }
                        None => span.note { "not part of this report (a merged or re-rendered run: see the cleanup job's output)" },
                    }
                    @if let Some(t) = &facts.restore {
                        pre { (r.redact(&t.detail)) }
                    }
                }
            }
            @for (name, value) in rows {
                tr { th { (name) } td { (value) } }
            }
        }
    }
}

fn signoff_section(c: &Coverage) -> Markup {
    html! {
        section #signoff .signoff {
            h2 { "Sign-off" }
            p {
                "I reviewed run " code { (c.run.run_id) } " (suites " code { (c.run.suites_hash) } ", harness "
                (c.run.harness_version) ") with the verdict " b { (c.verdict.status.as_str().to_uppercase()) }
                ", including what it did not verify, and:"
            }
            table.meta {
                tr { th { "Decision" } td { "☐ accept   ☐ accept with the exceptions below   ☐ reject" } }
                tr { th { "Exceptions / waivers" } td {} }
                tr { th { "Name and role" } td {} }
                tr { th { "Date" } td {} }
                tr { th { "Signature" } td {} }
            }
        }
    }
}

fn snake(v: &impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn requirements_section(c: &Coverage, anchors: &Anchors) -> Markup {
    html! {
        h2 #requirements { "Requirements" }
        table.reqs {
            colgroup { col.c-id; col.c-sev; col.c-kind; col.c-st; col.c-cases; col; }
            tr { th { "ID" } th { "Severity" } th { "Kind" } th { "Status" } th { "Cases" } th { "Requirement (source)" } }
            @for (i, req) in c.requirements.iter().enumerate() {
                tr id={ "req-" (i) } {
                    td { code { (req.id) } }
                    td { (snake(&req.severity)) }
                    td { (snake(&req.kind)) }
                    td {
                        (requirement_badge(req.status))
                        @if let Some(why) = &req.gap { " " span.note { (why) } }
                        // What the badge does not say: n/m, the failing case, what did
                        // not run and why.
                        @if !matches!(req.status, RequirementStatus::Pass | RequirementStatus::Gap | RequirementStatus::ExplainedGap) {
                            " " span.note {
                                (req.label())
                                @for n in &req.not_run {
                                    "; not verified: " (n.case) " (" (n.status.as_str()) ": " (n.reason) ")"
                                }
                            }
                        }
                    }
                    td.cases { @for n in &req.cases { (anchors.case_link(n)) } }
                    td { (req.text) br; span.note { (req.source) } }
                }
            }
        }
    }
}

fn exchange_count(case: &CaseResult) -> usize {
    case.steps
        .iter()
        .chain(&case.cleanup)
        .map(|s| s.exchanges.len())
        .sum()
}

fn cases_section(run: &RunResult, r: &Redactor, anchors: &Anchors) -> Markup {
    let mut phases: Vec<&str> = Vec::new();
    for case in &run.cases {
        if !phases.contains(&case.phase.as_str()) {
            phases.push(&case.phase);
        }
    }
    html! {
        h2 #cases { "Cases" }
        @for phase in phases {
            h3 { (r.redact(phase)) }
            @for (i, case) in run.cases.iter().enumerate() {
                @if case.phase == phase { (case_article(i, case, r, anchors)) }
            }
        }
    }
}

fn case_article(i: usize, case: &CaseResult, r: &Redactor, anchors: &Anchors) -> Markup {
    // Open where a reviewer has to read the evidence: what failed and why.
    let open = matches!(case.status, Status::Fail | Status::Error);
    html! {
        article id={ "case-" (i) } class={ "case c-" (case.status.as_str()) } {
            h4 { (status_badge(case.status)) " " code { (r.redact(&case.full_name())) } " " (r.redact(&case.title)) }
            dl.facts {
                dt { "Requirements" }
                dd.reqs {
                    @if case.requirements.is_empty() { span.note { "none" } }
                    @for id in &case.requirements { (anchors.requirement_link(&r.redact(id))) }
                }
                dt { "Capability" } dd { (r.redact(&case.capability)) }
                dt { "Surface" } dd { (surface_name(case.surface)) }
                dt { "Effect" } dd { (effect_name(case.effect)) }
                dt { "Started" } dd { (r.redact(&case.started_at)) }
                dt { "Duration" } dd { (case.duration_ms) " ms" }
            }
            @if let Some(message) = &case.message {
                div.message { (r.redact(message)) }
            }
            details open[open] {
                summary {
                    "Transcript: " (case.steps.len()) " step(s), " (case.cleanup.len())
                    " cleanup step(s), " (exchange_count(case)) " exchange(s)"
                }
                pre { (case_transcript(case, r)) }
            }
        }
    }
}

fn legend_and_footer(c: &Coverage) -> Markup {
    html! {
        h2 #legend { "Legend" }
        ul {
            li { (badge("s-pass", "PASS")) " every case behind it ran and passed." }
            li { (badge("s-fail", "FAIL")) " a case found the target breaking a requirement." }
            li { (badge("s-error", "ERROR")) " the harness or the network broke; no verdict on the target." }
            li { (badge("s-skip", "PARTIAL")) " / " (badge("s-skip", "SKIP")) " some or all cases did not run on this target (each says why): not verified." }
            li { (badge("s-disabled", "DISABLED")) " excluded by a profile, filter or waiver: not verified." }
            li { (badge("s-none", "no case")) " no case covers it." }
            li { "A cell shows its most telling case: FAIL > ERROR > PASS > SKIP > DISABLED; a failed or errored case in a cell's list is marked with its status." }
            li {
                (badge("s-gap", "GAP: no case")) " a requirement nothing checks and nothing explains; "
                (badge("s-none", "GAP (explained)")) " the catalogue says why no case can check it."
            }
        }
        footer {
            "Generated by thoth-conformance " (c.run.harness_version) " for run " (c.run.run_id)
            ". Secrets registered during the run and credential headers are shown as [REDACTED]."
        }
    }
}
