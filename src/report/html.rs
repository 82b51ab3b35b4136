//! `report.html`: the run as one self-contained page for an acceptance sign-off.
//!
//! Evidence gets archived, mailed and opened offline years later, so the page carries
//! everything itself: inline CSS, no script, no font, image or link that leaves the
//! file (only `#fragment` links between its own sections). A Content-Security-Policy
//! forbids loading anything, as a second wall should a string ever slip past the
//! escaper. Every string from the run or the catalogue is redacted, then escaped.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::coverage::{build_coverage, Cell, CellStatus, Coverage, RequirementStatus};
use super::junit::{effect_name, surface_name};
use super::transcript::case_transcript;
use crate::catalogue::Catalogue;
use crate::outcome::{CaseResult, RunResult, Status};
use crate::redact::Redactor;
use crate::verdict::RunStatus;

/// Escapes text for HTML element content and quoted attribute values.
///
/// The five entities are those of XML on purpose: the final secret scan knows the
/// XML-escaped form of every secret, so it also recognises one that leaked into HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
:root{--pass:#1a7f37;--fail:#cf222e;--error:#9a6700;--skip:#57606a;--gap:#8250df;--line:#d0d7de;--soft:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:#1f2328;margin:0 auto;max-width:1200px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:16px;margin:22px 0 8px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.sub{color:#57606a;margin:0 0 16px}
.verdict{border-radius:8px;padding:16px 20px;color:#fff;margin:16px 0}
.verdict .label{font-size:28px;font-weight:700;letter-spacing:.02em}
.verdict .why{font-size:15px;margin-top:4px}
.v-passed{background:var(--pass)}.v-failed{background:var(--fail)}.v-errored{background:var(--error)}.v-unreachable{background:#6e7781}
.cut{border:2px solid var(--fail);border-radius:6px;padding:8px 12px;font-weight:600}
.tiles{display:flex;gap:10px;flex-wrap:wrap;margin:8px 0}
.tile{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:96px;background:var(--soft)}
.tile b{display:block;font-size:22px}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--soft)}
table.meta th{width:200px}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:700;color:#fff;white-space:nowrap}
.s-pass{background:var(--pass)}.s-fail{background:var(--fail)}.s-error{background:var(--error)}
.s-skip,.s-disabled{background:var(--skip)}.s-none{background:#afb8c1;color:#1f2328}.s-gap{background:var(--gap)}
.note{color:#57606a;font-style:italic}
.reqs a{margin-right:6px}
.cases a{display:block}
td code{white-space:nowrap}
a{color:#0969da}
.case{border:1px solid var(--line);border-left:6px solid var(--skip);border-radius:6px;padding:10px 14px;margin:10px 0}
.case.c-pass{border-left-color:var(--pass)}.case.c-fail{border-left-color:var(--fail)}.case.c-error{border-left-color:var(--error)}
.case h4{margin:0 0 6px;font-size:15px}
.facts{display:grid;grid-template-columns:repeat(3,max-content minmax(0,1fr));gap:2px 12px;margin:4px 0}
.facts dt{color:#57606a}.facts dd{margin:0}
.message{background:#fff8c5;border-radius:4px;padding:6px 10px;white-space:pre-wrap;margin:6px 0}
details summary{cursor:pointer;color:#0969da}
pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:10px;white-space:pre-wrap;word-break:break-all}
footer{margin-top:32px;color:#57606a;font-size:12px}
@media print{.verdict{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
";

fn status_badge(status: Status) -> String {
    let label = status.as_str();
    format!(
        "<span class=\"badge s-{label}\">{}</span>",
        label.to_uppercase()
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

fn requirement_badge(status: RequirementStatus) -> &'static str {
    match status {
        RequirementStatus::Fail => "<span class=\"badge s-fail\">FAIL</span>",
        RequirementStatus::Error => "<span class=\"badge s-error\">ERROR</span>",
        RequirementStatus::Pass => "<span class=\"badge s-pass\">PASS</span>",
        RequirementStatus::Partial => "<span class=\"badge s-skip\">PARTIAL</span>",
        RequirementStatus::Skip => "<span class=\"badge s-skip\">SKIP</span>",
        RequirementStatus::Disabled => "<span class=\"badge s-disabled\">DISABLED</span>",
        RequirementStatus::Gap => "<span class=\"badge s-gap\">GAP: no case</span>",
        RequirementStatus::ExplainedGap => "<span class=\"badge s-none\">GAP (explained)</span>",
    }
}

/// Anchors inside the page. Ids are positions, never names: names come from suites and
/// could carry anything, positions are digits.
struct Anchors {
    case_by_name: HashMap<String, usize>,
    requirement_by_id: HashMap<String, usize>,
}

impl Anchors {
    fn case_link(&self, name: &str) -> String {
        match self.case_by_name.get(name) {
            Some(i) => format!("<a href=\"#case-{i}\"><code>{}</code></a>", escape(name)),
            None => format!("<code>{}</code>", escape(name)),
        }
    }

    fn requirement_link(&self, id: &str) -> String {
        match self.requirement_by_id.get(id) {
            Some(i) => format!("<a href=\"#req-{i}\">{}</a>", escape(id)),
            None => format!(
                "{} <span class=\"note\">(not in catalogue)</span>",
                escape(id)
            ),
        }
    }
}

/// Renders the run as one HTML page; every string redacted and escaped.
pub fn render_html(run: &RunResult, catalogue: &Catalogue, redactor: &Redactor) -> String {
    render(&build_coverage(run, catalogue, redactor), run, redactor)
}

/// [`render_html`] from coverage already built (and redacted) by the caller.
pub(crate) fn render(coverage: &Coverage, run: &RunResult, redactor: &Redactor) -> String {
    let mut case_by_name = HashMap::new();
    for (i, case) in run.cases.iter().enumerate() {
        case_by_name
            .entry(redactor.redact(&case.full_name()))
            .or_insert(i);
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

    let mut out = String::with_capacity(64 * 1024);
    head(&mut out, coverage);
    verdict_section(&mut out, coverage);
    run_section(&mut out, coverage);
    gaps_section(&mut out, coverage);
    matrix_section(&mut out, coverage, &anchors);
    requirements_section(&mut out, coverage, &anchors);
    cases_section(&mut out, run, redactor, &anchors);
    legend_and_footer(&mut out, coverage);
    out
}

fn head(out: &mut String, c: &Coverage) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"thoth-conformance {}\">\n\
         <title>Thoth conformance: {} (run {})</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header>\n<h1>Thoth conformance evidence report</h1>\n\
         <p class=\"sub\">Headless E2E Runbook conformance of the Thoth control plane (GovAPI)</p>\n</header>\n",
        escape(&c.run.harness_version),
        c.verdict.status.as_str().to_uppercase(),
        escape(&c.run.run_id),
    );
}

fn verdict_section(out: &mut String, c: &Coverage) {
    let v = &c.verdict;
    let class = match v.status {
        RunStatus::Passed => "v-passed",
        RunStatus::Failed => "v-failed",
        RunStatus::Errored => "v-errored",
        RunStatus::Unreachable => "v-unreachable",
        RunStatus::Incomplete => "v-errored",
    };
    let _ = writeln!(
        out,
        "<section id=\"verdict\" class=\"verdict {class}\">\n\
         <div class=\"label\">Verdict: {}</div>\n<div class=\"why\">{} (exit code {})</div>\n</section>",
        v.status.as_str().to_uppercase(),
        escape(&v.message),
        v.exit_code
    );
    if let Some(why) = &c.run.interrupted {
        let _ = writeln!(
            out,
            "<p class=\"cut\">Run cut short: {}. Cases that did not run are not in this report.</p>",
            escape(why)
        );
    }
    let n = &v.counts;
    out.push_str("<div class=\"tiles\" id=\"counts\">\n");
    for (label, count) in [
        ("total", n.total),
        ("pass", n.pass),
        ("fail", n.fail),
        ("error", n.error),
        ("skip", n.skip),
        ("disabled", n.disabled),
    ] {
        let _ = writeln!(out, "<div class=\"tile\"><b>{count}</b>{label}</div>");
    }
    out.push_str("</div>\n");
}

fn run_section(out: &mut String, c: &Coverage) {
    let r = &c.run;
    out.push_str("<h2 id=\"run\">Run</h2>\n<table class=\"meta\">\n");
    let faults = if r.mock_faults.is_empty() {
        "none".to_owned()
    } else {
        r.mock_faults.join(", ")
    };
    let thothctl = super::coverage::thothctl_line(r);
    for (name, value) in [
        ("Target", r.target_kind.as_str()),
        ("Base URL", r.base_url.as_str()),
        ("Tenant", r.tenant.as_str()),
        ("Started", r.started_at.as_str()),
        ("Finished", r.finished_at.as_str()),
        ("Run id", r.run_id.as_str()),
        ("Harness version", r.harness_version.as_str()),
        ("Suites hash", r.suites_hash.as_str()),
        ("Mock faults", faults.as_str()),
        ("thothctl", thothctl.as_str()),
    ] {
        let _ = writeln!(out, "<tr><th>{name}</th><td>{}</td></tr>", escape(value));
    }
    let _ = writeln!(
        out,
        "<tr><th>Duration</th><td>{} ms</td></tr>\n</table>",
        r.duration_ms
    );
}

fn gaps_section(out: &mut String, c: &Coverage) {
    let s = &c.requirement_summary;
    out.push_str("<h2 id=\"gaps\">Requirement gaps</h2>\n");
    if s.unexplained_gaps > 0 {
        let _ = writeln!(
            out,
            "<p><strong>{} of {} requirement(s) have no case and no explained gap:</strong> {}</p>",
            s.unexplained_gaps,
            s.total,
            escape(&s.unexplained_gap_ids.join(", "))
        );
    } else {
        out.push_str("<p>Every requirement has a case or an explained gap.</p>\n");
    }
    let _ = writeln!(
        out,
        "<p>Requirements: {} pass, {} fail, {} error, {} skip, {} disabled, {} explained gap(s), \
         {} unexplained gap(s) ({} total).</p>",
        s.pass, s.fail, s.error, s.skip, s.disabled, s.explained_gaps, s.unexplained_gaps, s.total
    );
    if !s.unknown_requirement_ids.is_empty() {
        let _ = writeln!(
            out,
            "<p>Cases name requirement IDs the catalogue does not list: {}</p>",
            escape(&s.unknown_requirement_ids.join(", "))
        );
    }
}

fn matrix_cell(cell: &Cell, anchors: &Anchors) -> String {
    // A note replaces the status label: "SKIP" would read as a considered verdict.
    let mut html = match &cell.note {
        Some(note) => format!("<span class=\"note\">{}</span>", escape(note)),
        None => format!(
            "<span class=\"badge {}\">{}</span>",
            cell_class(cell.status),
            escape(&cell.label())
        ),
    };
    let not_run = cell.not_run_lines();
    if !not_run.is_empty() && cell.note.is_none() {
        let _ = write!(
            html,
            "<div class=\"note\">not verified: {}</div>",
            escape(&not_run.join("; "))
        );
    }
    if !cell.cases.is_empty() {
        html.push_str("<div class=\"cases\">");
        for name in &cell.cases {
            html.push_str(&anchors.case_link(name));
        }
        html.push_str("</div>");
    }
    html
}

fn matrix_section(out: &mut String, c: &Coverage, anchors: &Anchors) {
    out.push_str(
        "<h2 id=\"matrix\">Command coverage matrix</h2>\n<table>\n\
         <tr><th>Capability</th><th>Runbook row</th><th>thothctl</th><th>GovAPI/API</th></tr>\n",
    );
    for row in &c.matrix {
        let title = if row.in_catalogue {
            escape(&row.title)
        } else {
            format!(
                "{} <span class=\"note\">(not in catalogue)</span>",
                escape(&row.title)
            )
        };
        let _ = writeln!(
            out,
            "<tr><td>{title}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if row.runbook_row { "yes" } else { "" },
            matrix_cell(&row.thothctl, anchors),
            matrix_cell(&row.api, anchors)
        );
    }
    out.push_str("</table>\n");
}

fn snake(v: &impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn requirements_section(out: &mut String, c: &Coverage, anchors: &Anchors) {
    out.push_str(
        "<h2 id=\"requirements\">Requirements</h2>\n<table>\n\
         <tr><th>ID</th><th>Severity</th><th>Kind</th><th>Status</th><th>Cases</th>\
         <th>Requirement</th><th>Source</th></tr>\n",
    );
    for (i, req) in c.requirements.iter().enumerate() {
        let mut status = requirement_badge(req.status).to_owned();
        if let Some(why) = &req.gap {
            let _ = write!(status, " <span class=\"note\">{}</span>", escape(why));
        }
        // What the badge does not say: n/m, the failing case, what did not run and why.
        if !matches!(
            req.status,
            RequirementStatus::Pass | RequirementStatus::Gap | RequirementStatus::ExplainedGap
        ) {
            let mut note = req.label();
            for n in &req.not_run {
                let _ = write!(
                    note,
                    "; not verified: {} ({}: {})",
                    n.case,
                    n.status.as_str(),
                    n.reason
                );
            }
            let _ = write!(status, " <span class=\"note\">{}</span>", escape(&note));
        }
        let cases: String = req.cases.iter().map(|n| anchors.case_link(n)).collect();
        let _ = writeln!(
            out,
            "<tr id=\"req-{i}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{status}</td>\
             <td class=\"cases\">{cases}</td><td>{}</td><td>{}</td></tr>",
            escape(&req.id),
            snake(&req.severity),
            snake(&req.kind),
            escape(&req.text),
            escape(&req.source)
        );
    }
    out.push_str("</table>\n");
}

fn exchange_count(case: &CaseResult) -> usize {
    case.steps
        .iter()
        .chain(&case.cleanup)
        .map(|s| s.exchanges.len())
        .sum()
}

fn cases_section(out: &mut String, run: &RunResult, r: &Redactor, anchors: &Anchors) {
    out.push_str("<h2 id=\"cases\">Cases</h2>\n");
    let mut phases: Vec<&str> = Vec::new();
    for case in &run.cases {
        if !phases.contains(&case.phase.as_str()) {
            phases.push(&case.phase);
        }
    }
    for phase in phases {
        let _ = writeln!(out, "<h3>{}</h3>", escape(&r.redact(phase)));
        for (i, case) in run.cases.iter().enumerate() {
            if case.phase == phase {
                case_article(out, i, case, r, anchors);
            }
        }
    }
}

fn case_article(out: &mut String, i: usize, case: &CaseResult, r: &Redactor, anchors: &Anchors) {
    let status = case.status.as_str();
    let _ = writeln!(
        out,
        "<article class=\"case c-{status}\" id=\"case-{i}\">\n\
         <h4>{} <code>{}</code> {}</h4>",
        status_badge(case.status),
        escape(&r.redact(&case.full_name())),
        escape(&r.redact(&case.title))
    );
    let requirements: String = if case.requirements.is_empty() {
        "<span class=\"note\">none</span>".to_owned()
    } else {
        case.requirements
            .iter()
            .map(|id| anchors.requirement_link(&r.redact(id)))
            .collect()
    };
    let _ = writeln!(
        out,
        "<dl class=\"facts\"><dt>Requirements</dt><dd class=\"reqs\">{requirements}</dd>\
         <dt>Capability</dt><dd>{}</dd><dt>Surface</dt><dd>{}</dd><dt>Effect</dt><dd>{}</dd>\
         <dt>Started</dt><dd>{}</dd><dt>Duration</dt><dd>{} ms</dd></dl>",
        escape(&r.redact(&case.capability)),
        surface_name(case.surface),
        effect_name(case.effect),
        escape(&r.redact(&case.started_at)),
        case.duration_ms
    );
    if let Some(message) = &case.message {
        let _ = writeln!(
            out,
            "<div class=\"message\">{}</div>",
            escape(&r.redact(message))
        );
    }
    // Open where a reviewer has to read the evidence: what failed and why.
    let open = if matches!(case.status, Status::Fail | Status::Error) {
        " open"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<details{open}><summary>Transcript: {} step(s), {} cleanup step(s), {} exchange(s)</summary>\n\
         <pre>{}</pre>\n</details>\n</article>",
        case.steps.len(),
        case.cleanup.len(),
        exchange_count(case),
        escape(&case_transcript(case, r))
    );
}

fn legend_and_footer(out: &mut String, c: &Coverage) {
    let _ = write!(
        out,
        "<h2 id=\"legend\">Legend</h2>\n<ul>\n\
         <li><span class=\"badge s-pass\">PASS</span> every case behind it passed (or passed alongside skipped ones).</li>\n\
         <li><span class=\"badge s-fail\">FAIL</span> a case found the target breaking a requirement.</li>\n\
         <li><span class=\"badge s-error\">ERROR</span> the harness or the network broke; no verdict on the target.</li>\n\
         <li><span class=\"badge s-skip\">SKIP</span> not applicable or unsupported on this target (the case says why).</li>\n\
         <li><span class=\"badge s-disabled\">DISABLED</span> excluded by a profile or filter.</li>\n\
         <li><span class=\"badge s-none\">no case</span> no case covers it.</li>\n\
         <li>A cell shows its most telling case: FAIL &gt; ERROR &gt; PASS &gt; SKIP &gt; DISABLED.</li>\n\
         <li><span class=\"badge s-gap\">GAP: no case</span> a requirement nothing checks and nothing explains; \
         <span class=\"badge s-none\">GAP (explained)</span> the catalogue says why no case can check it.</li>\n\
         </ul>\n<footer>Generated by thoth-conformance {} for run {}. Secrets registered during the run \
         and credential headers are shown as [REDACTED].</footer>\n</body>\n</html>\n",
        escape(&c.run.harness_version),
        escape(&c.run.run_id)
    );
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_neutralises_markup_and_both_quotes() {
        assert_eq!(
            escape("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;"
        );
        assert_eq!(
            escape("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        // Ampersands first, or an existing entity would come out double-escaped wrong.
        assert_eq!(escape("a &amp; b & c"), "a &amp;amp; b &amp; c");
        assert_eq!(escape("plain ünïcode ✓"), "plain ünïcode ✓");
        assert_eq!(escape(""), "");
    }
}
