//! The README's commands are real: every `thoth-conformance …` line of its `sh` blocks
//! (and `cargo run -- …`, which runs it) parses with the harness's own clap definition,
//! so its subcommand and every flag exist and take the values shown; the `thoth-conformance
//! …` commands quoted in its text and the subcommands and flags of its "Commands" tables
//! exist too. Lines that run offline against the bundled mock are run. The exit-code
//! tables are checked against the code: `verdicts_cli::the_readme_exit_code_table_matches_the_code`
//! for `run`, and here for `verify-bundle`.

use std::path::Path;

use clap::{CommandFactory, Parser};
use thoth_conformance::bundle::Problem;
use thoth_conformance::cli::Cli;

const BIN: &str = "thoth-conformance";

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// Shell words of `line` up to a `#` comment, split into commands at `&&`, `||`, `;`
/// and `|` (quotes keep their insides together; there is no expansion).
fn shell_commands(line: &str) -> Vec<Vec<String>> {
    let mut commands = vec![Vec::new()];
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    w.push(q);
                }
            }
            '#' if word.is_none() => break,
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    commands.last_mut().unwrap().push(w);
                }
            }
            '&' | '|' | ';' => {
                if let Some(w) = word.take() {
                    commands.last_mut().unwrap().push(w);
                }
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                commands.push(Vec::new());
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word {
        commands.last_mut().unwrap().push(w);
    }
    commands.retain(|c| !c.is_empty());
    commands
}

/// The harness's arguments of a shell command, if it runs the harness:
/// `thoth-conformance ARGS` or `cargo run [--release] [-q] -- ARGS`.
fn harness_args(words: &[String]) -> Option<Vec<String>> {
    match words.first().map(String::as_str) {
        Some(BIN) => Some(words[1..].to_vec()),
        Some("cargo") if words.get(1).is_some_and(|w| w == "run") => {
            let dashes = words.iter().position(|w| w == "--")?;
            Some(words[dashes + 1..].to_vec())
        }
        _ => None,
    }
}

/// `(README line, harness arguments)` of every harness command in a `sh` block.
fn sh_block_commands(readme: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for (i, line) in readme.lines().enumerate() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        if in_sh {
            for words in shell_commands(line) {
                if let Some(args) = harness_args(&words) {
                    out.push((i + 1, args));
                }
            }
        }
    }
    out
}

/// The text outside fenced blocks, and the inline code spans in it (a span may run over
/// a line break, which reads as a space).
fn code_spans(readme: &str) -> Vec<String> {
    let mut prose = String::new();
    let mut fenced = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    prose
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.replace('\n', " "))
        .collect()
}

fn parse(args: &[String]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once(BIN.to_string()).chain(args.iter().cloned()))
}

#[test]
fn every_sh_block_command_parses_with_the_cli() {
    let readme = readme();
    let commands = sh_block_commands(&readme);
    assert!(
        commands.len() >= 4,
        "README's sh blocks hold only {} harness commands: {commands:?}",
        commands.len()
    );
    for (line, args) in &commands {
        if let Err(e) = parse(args) {
            panic!(
                "README.md:{line}: `{BIN} {}` is not a command the CLI accepts:\n{e}",
                args.join(" ")
            );
        }
    }
}

/// `thoth-conformance …` quoted in the text: each one (usage placeholders such as
/// `FILE` are values, so they parse) is accepted by the CLI.
#[test]
fn every_quoted_command_parses_with_the_cli() {
    let mut seen = 0;
    for span in code_spans(&readme()) {
        // `hyperfine 'thoth-conformance list' ...` quotes commands inside a span.
        for words in span.split(['\'', '"']).flat_map(shell_commands) {
            // The bare name is the program, not a command.
            let Some(args) = harness_args(&words).filter(|a| !a.is_empty()) else {
                continue;
            };
            seen += 1;
            if let Err(e) = parse(&args) {
                panic!(
                    "README.md: `{span}`: `{BIN} {}` is not a command the CLI accepts:\n{e}",
                    args.join(" ")
                );
            }
        }
    }
    assert!(seen >= 5, "only {seen} quoted commands found");
}

/// The long and short flags a command accepts (and `--help`).
fn flags(cmd: &clap::Command) -> Vec<String> {
    let mut out = vec!["--help".to_string()];
    for a in cmd.get_arguments() {
        out.extend(
            a.get_long_and_visible_aliases()
                .into_iter()
                .flatten()
                .map(|l| format!("--{l}")),
        );
        out.extend(
            a.get_short_and_visible_aliases()
                .into_iter()
                .flatten()
                .map(|s| format!("-{s}")),
        );
    }
    out
}

/// Flags in a table cell: `--name` and `-x` words (a `\|` separates alternatives).
fn flags_in(cell: &str) -> Vec<String> {
    cell.split(|c: char| c.is_whitespace() || c == ',' || c == '`' || c == '\\' || c == '|')
        .filter(|w| w.starts_with('-') && w.len() > 1 && w.chars().nth(1) != Some(' '))
        .map(|w| w.split('=').next().unwrap().to_string())
        .collect()
}

/// The first cells of the table that follows `heading` (a line that starts it).
fn table_after<'a>(readme: &'a str, heading: &str) -> Vec<&'a str> {
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has no `{heading}`"));
    readme[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .filter_map(|l| l.strip_prefix("| `")?.split("` |").next())
        .collect()
}

/// The "Commands" table: each row names a subcommand (`suites export`: a nested one)
/// and only flags it has; the "`run` options" table names only flags of `run`.
#[test]
fn the_command_tables_name_real_subcommands_and_flags() {
    let readme = readme();
    let cli = Cli::command();
    let rows = table_after(&readme, "## Commands");
    assert!(rows.len() >= 8, "Commands table: {rows:?}");
    for cell in rows {
        let mut cmd = &cli;
        for word in cell.split_whitespace() {
            match cmd.find_subcommand(word) {
                Some(sub) => cmd = sub,
                None => break,
            }
        }
        assert!(
            !std::ptr::eq(cmd, &cli),
            "Commands table: `{cell}` names no subcommand"
        );
        let known = flags(cmd);
        for flag in flags_in(cell) {
            assert!(
                known.contains(&flag),
                "Commands table: `{cell}`: `{}` has no flag `{flag}`",
                cmd.get_name()
            );
        }
    }
    let run = cli.find_subcommand("run").unwrap();
    let known = flags(run);
    let rows = table_after(&readme, "`run` options worth knowing");
    assert!(rows.len() >= 8, "run options table: {rows:?}");
    for cell in rows {
        let found = flags_in(cell);
        assert!(
            !found.is_empty(),
            "run options table: `{cell}` names no flag"
        );
        for flag in found {
            assert!(
                known.contains(&flag),
                "run options table: `{cell}`: `run` has no flag `{flag}`"
            );
        }
    }
}

/// The sh-block commands that need nothing but the bundled mock (no `--target live`,
/// no file the README makes first) are run as written, from the repository root, with
/// the reports sent to a temporary directory; each must pass.
#[test]
fn the_offline_sh_block_commands_run_and_pass() {
    let readme = readme();
    let mut ran = Vec::new();
    for (line, args) in sh_block_commands(&readme) {
        let parsed = parse(&args).unwrap();
        let offline = matches!(
            parsed.command,
            thoth_conformance::cli::Command::Run(_)
                | thoth_conformance::cli::Command::List(_)
                | thoth_conformance::cli::Command::Validate(_)
        ) && !args
            .windows(2)
            .any(|w| w[0] == "--target" && w[1] == "live")
            && !args
                .iter()
                .any(|a| a.starts_with("--target=live") || a == "--bundle");
        if !offline || ran.contains(&args) {
            continue;
        }
        let reports = tempfile::tempdir().unwrap();
        let mut full = args.clone();
        if matches!(parsed.command, thoth_conformance::cli::Command::Run(_)) {
            full.extend([
                "--reports".to_string(),
                reports.path().display().to_string(),
            ]);
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_thoth-conformance"))
            .args(&full)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("CI", "true")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "README.md:{line}: `{BIN} {}` exits {:?}:\n{}{}",
            full.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ran.push(args);
    }
    assert!(!ran.is_empty(), "no sh-block command runs offline");
}

/// The `verify-bundle` exit table: one row per code the check can end with, in code
/// order, and the precedence line in the order the check applies (worst first).
#[test]
fn the_readme_verify_bundle_exit_table_matches_the_code() {
    let readme = readme();
    let section = readme
        .split("| exit | `verify-bundle` |")
        .nth(1)
        .expect("README has the verify-bundle exit table");
    let codes: Vec<i32> = section
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            l.strip_prefix("| ")?
                .split(" |")
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .collect();
    let mut expected: Vec<i32> = Problem::ALL.iter().map(|p| p.exit_code()).collect();
    expected.push(0);
    expected.sort();
    assert_eq!(codes, expected, "README verify-bundle exit codes");
    let order: Vec<String> = Problem::ALL
        .iter()
        .map(|p| p.exit_code().to_string())
        .collect();
    let line = format!(
        "When several apply, the first in this order wins: {}.",
        order.join(", ")
    );
    assert!(section.contains(&line), "README lacks the line `{line}`");
}

#[test]
fn the_splitter_reads_shell_lines() {
    assert_eq!(
        shell_commands("cargo install x && thoth-conformance run   # anywhere"),
        vec![
            vec!["cargo", "install", "x"],
            vec!["thoth-conformance", "run"]
        ]
    );
    assert_eq!(
        shell_commands("a 'b c' \"d\"e; f | g"),
        vec![vec!["a", "b c", "de"], vec!["f"], vec!["g"]]
    );
    assert_eq!(
        harness_args(&shell_commands("cargo run --release -- run -q")[0]),
        Some(vec!["run".to_string(), "-q".to_string()])
    );
}
