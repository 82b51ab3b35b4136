//! The `thoth-conformance` binary: all logic lives in the library (`cli`).

fn main() -> std::process::ExitCode {
    thoth_conformance::cli::main()
}
