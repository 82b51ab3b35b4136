#!/usr/bin/env bash
# The test command of the README: installs the few programs some tests drive when they
# are missing (scripts/test-tools.sh), then runs every test of the workspace. The tests
# start their own servers (the mock GovAPI, wiremock, sinks) on 127.0.0.1; nothing else
# needs to run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/test-tools.sh

echo "== cargo test --workspace --locked"
cargo test --workspace --locked "$@"
