#!/usr/bin/env bash
# The test command of the README: installs the few programs some tests drive when they
# are missing (scripts/test-tools.sh), then runs every test of the workspace. The tests
# start their own servers (the mock GovAPI, wiremock, sinks) on 127.0.0.1; nothing else
# needs to run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/test-tools.sh

# Every locked package, for every target: tests/repo_hygiene.rs reads `cargo metadata
# --offline`, which needs the ones a build on this platform never downloads too.
cargo fetch --locked --quiet

# Four test threads on any machine: most tests wait (on polls, sync jobs, child
# processes, the gate's staggered shards), so on 2 cores the root binary took 276 s with
# libtest's default of one thread per core and 184 s with four. RUST_TEST_THREADS wins.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}"
echo "== cargo test --workspace --locked (RUST_TEST_THREADS=$RUST_TEST_THREADS)"
cargo test --workspace --locked "$@"
