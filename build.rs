//! Embeds `suites/` and `fixtures/` in the binary, so `thoth-conformance run` works from
//! any directory (a `cargo install`ed binary, a container, another repository's CI job).
//!
//! Every file under the two directories is listed at build time, so a suite or fixture
//! added by anyone is picked up without being named here: `rerun-if-changed` on a
//! directory makes cargo rescan it (new, removed and changed files), and `include_bytes!`
//! makes rustc track each file's content.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const ROOTS: &[&str] = &["suites", "fixtures"];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let mut files = Vec::new();
    for root in ROOTS {
        println!("cargo:rerun-if-changed={root}");
        collect(&manifest, &manifest.join(root), &mut files);
    }
    files.sort();
    let mut out = String::from(
        "/// Every embedded file: its path relative to the repository (`suites/…`, `fixtures/…`, always `/`-separated) and its bytes.\npub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for (rel, abs) in &files {
        writeln!(
            out,
            "    ({rel:?}, include_bytes!({:?})),",
            abs.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(dest.join("embedded_files.rs"), out).expect("write embedded_files.rs");
}

/// Files under `dir`, skipping hidden ones (editor swap files, `.gitkeep`).
fn collect(manifest: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let entry = entry.expect("read an embedded directory");
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(manifest, &path, out);
        } else {
            let rel = path
                .strip_prefix(manifest)
                .expect("under the manifest directory")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        }
    }
}
