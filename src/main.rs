//! The `thoth-conformance` binary: all logic lives in the library (`cli`).

/// A fleet load sends millions of requests, each building and dropping its URL, headers
/// and body buffers: glibc's malloc/free was a large part of that CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    thoth_conformance::cli::main()
}
