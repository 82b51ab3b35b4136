#!/usr/bin/env bash
# The Headless E2E Runbook's own curl commands (seed 002), run verbatim against a
# mock-govapi started with --skip-auth (the runbook's local-demo mode). Lines marked
# VERBATIM are copied from the runbook unchanged; the few lines around them stand in for
# the thothctl bootstrap the runbook runs first (thothctl is closed source) and print
# section markers so the Rust test can split the output.
set -euo pipefail
: "${THOTH_GOVAPI_URL:?}" "${THOTH_TENANT_ID:?}" "${THOTH_ADMIN_BEARER_TOKEN_FILE:?}" "${SINK_URL:?}"

section() { printf '\n=== %s\n' "$1"; }

# Stand-in for `thothctl bootstrap --webhook-url ... --webhook-secret ...`.
curl -sS -X PUT -H "Content-Type: application/json" \
  "$THOTH_GOVAPI_URL/$THOTH_TENANT_ID/thoth/settings" \
  -d "{\"compliance_profile\":\"soc2\",\"shadow_policy\":{\"low\":\"allow\",\"medium\":\"step_up\",\"high\":\"block\",\"critical\":\"block\"},\"webhook\":{\"enabled\":true,\"url\":\"$SINK_URL\",\"secret\":\"runbook-webhook-secret\"}}" >/dev/null

# Phase 2, VERBATIM.
THOTH_GOVAPI_URL="${THOTH_GOVAPI_URL:-https://grid.${THOTH_TENANT_ID}.${THOTH_APEX_DOMAIN}}"
AUTH="Authorization: Bearer $(cat "$THOTH_ADMIN_BEARER_TOKEN_FILE")"
BASE="$THOTH_GOVAPI_URL/$THOTH_TENANT_ID/thoth"

section webhook_test
curl -sS -X POST -H "$AUTH" "$BASE/settings/webhook/test" | jq .

# Phase 3 Option B, VERBATIM.
section register
curl -sS -X POST -H "Content-Type: application/json" \
  "$BASE/endpoints" \
  -d '{
    "endpoint_id":"ep-e2e-01",
    "hostname":"ep-e2e-01.local",
    "employee_email":"secops@example.com",
    "enrollment":"manual",
    "environment":"prod",
    "proxy_version":"0.2.8",
    "agent_ids":["filesystem-safe"]
  }' | jq .
section checkin
curl -sS -X POST -H "Content-Type: application/json" \
  "$BASE/endpoints/ep-e2e-01/checkin" \
  -d '{
    "proxy_version":"0.2.8",
    "agent_ids":["filesystem-safe"],
    "risk_score":10,
    "violations_today":0,
    "sessions_today":1
  }' | jq .

# Phase 3 acceptance readbacks (the GovAPI routes behind `thothctl endpoints list|stats`).
section endpoints
curl -sS -H "$AUTH" "$BASE/endpoints" | jq .
section stats
curl -sS -H "$AUTH" "$BASE/endpoints/stats" | jq .

# Phase 5, VERBATIM.
section alerts
curl -sS -H "$AUTH" "$BASE/alerts" | jq .
section feed
curl -sS -H "$AUTH" "$BASE/governance/feed" | jq .
