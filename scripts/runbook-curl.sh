#!/usr/bin/env bash
# The Headless E2E Runbook's main phases done the way the runbook does them today:
# curl + jq against GovAPI, openssl for the PAM callback and webhook signatures. The
# same requests and checks as the suites (bootstrap, scoped keys, MDM, endpoints, PAM
# callback, evidence); `thoth-conformance bench` times it against the harness.
#
# Needs: curl, jq, openssl. Exits non-zero at the first failed check.
# Env: THOTH_GOVAPI_URL, THOTH_TENANT_ID, THOTH_ADMIN_BEARER_TOKEN_FILE,
#      THOTH_WEBHOOK_URL, THOTH_WEBHOOK_SECRET, THOTH_PAM_CALLBACK_SECRET,
#      MOCK_ROOT (the mock's root URL: its /__admin and /__sink APIs simulate decisions
#      and read webhook deliveries, as the suites' mock-only cases do),
#      RUN_ID (optional, run-unique names).
set -euo pipefail

for tool in curl jq openssl; do
  command -v "$tool" >/dev/null || { echo "runbook-curl: $tool not found" >&2; exit 2; }
done
: "${THOTH_GOVAPI_URL:?}" "${THOTH_TENANT_ID:?}" "${THOTH_ADMIN_BEARER_TOKEN_FILE:?}"
: "${THOTH_WEBHOOK_URL:?}" "${THOTH_WEBHOOK_SECRET:?}" "${THOTH_PAM_CALLBACK_SECRET:?}" "${MOCK_ROOT:?}"
RUN_ID="${RUN_ID:-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')}"
BASE="$THOTH_GOVAPI_URL/$THOTH_TENANT_ID/thoth"
GOV="$THOTH_GOVAPI_URL/$THOTH_TENANT_ID/governance"
AUTH="Authorization: Bearer $(cat "$THOTH_ADMIN_BEARER_TOKEN_FILE")"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
CHECKS=0

fail() { echo "runbook-curl: FAIL: $*" >&2; exit 1; }

# req METHOD URL [BODY] [extra curl args...]: sets STATUS and BODY.
req() {
  local method="$1" url="$2" body="${3-}"
  shift 3 2>/dev/null || shift $#
  local args=(-sS -X "$method" -H "$AUTH" -o "$TMP/body" -w '%{http_code}')
  if [ -n "$body" ]; then args+=(-H "Content-Type: application/json" --data-binary "$body"); fi
  STATUS="$(curl "${args[@]}" "$@" "$url")" || fail "$method $url: curl failed"
  BODY="$(cat "$TMP/body")"
}

# status CODE...: the last answer's status is one of these.
status() {
  local s
  for s in "$@"; do [ "$STATUS" = "$s" ] && { CHECKS=$((CHECKS + 1)); return 0; }; done
  fail "expected status $*, got $STATUS: $BODY"
}

# check 'jq expression' [jq args...]: holds on the last answer's body.
check() {
  local expr="$1"
  shift
  jq -e "$@" "$expr" <<<"$BODY" >/dev/null 2>&1 || fail "check failed: $expr on $BODY"
  CHECKS=$((CHECKS + 1))
}

# not_contains STRING: the last answer's body never shows it (secrets).
not_contains() {
  case "$BODY" in *"$1"*) fail "a secret is in the answer";; esac
  CHECKS=$((CHECKS + 1))
}

hmac() { # hmac SECRET MESSAGE -> lowercase hex HMAC-SHA256
  printf '%s' "$2" | openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1
}

# poll URL 'jq condition' 'jq failure' : GET until the condition holds (30 s at most).
poll() {
  local url="$1" cond="$2" bad="$3" i
  for i in $(seq 1 120); do
    req GET "$url"
    if [ "$STATUS" = 200 ] && jq -e "$cond" <<<"$BODY" >/dev/null 2>&1; then
      CHECKS=$((CHECKS + 1)); return 0
    fi
    if jq -e "$bad" <<<"$BODY" >/dev/null 2>&1; then fail "terminal state: $BODY"; fi
    sleep 0.25
  done
  fail "not holding after 30 s: $cond on $BODY"
}

echo "== Phase 1: bootstrap (settings, webhook test, MDM upsert + sync)"
SETTINGS="$(jq -n --arg url "$THOTH_WEBHOOK_URL" --arg ws "$THOTH_WEBHOOK_SECRET" --arg ps "$THOTH_PAM_CALLBACK_SECRET" '{
  compliance_profile: "soc2",
  shadow_policy: {low: "allow", medium: "step_up", high: "block", critical: "block"},
  webhook: {enabled: true, url: $url, secret: $ws},
  pam: {enabled: true, provider: "custom", callback_secret: $ps,
        request_url: "https://pam.example.com/thoth/requests", request_timeout_seconds: 30},
  secret_broker: {enabled: true, provider: "custom", strict_endpoint_mode: true,
        fail_on_missing_secret: true, allowed_hosts: ["api.figma.com"],
        auth_bindings: [{host_pattern: "api.figma.com", header: "Authorization",
                         secret_ref: "op://design/figma/token", prefix: "Bearer "}]}}')"
req PUT "$BASE/settings" "$SETTINGS"; status 200
req GET "$BASE/settings"; status 200
check '.compliance_profile == "soc2"'
check '.shadow_policy == {low: "allow", medium: "step_up", high: "block", critical: "block"}'
check '.webhook.enabled == true and .webhook.url == $u' --arg u "$THOTH_WEBHOOK_URL"
check '.pam.enabled == true and .pam.provider == "custom" and (.pam.request_url | startswith("https://"))'
check '.secret_broker.enabled == true and .updated_at != null'
not_contains "$THOTH_WEBHOOK_SECRET"; not_contains "$THOTH_PAM_CALLBACK_SECRET"
curl -sS -X DELETE "$MOCK_ROOT/__sink/siem" >/dev/null
req POST "$BASE/settings/webhook/test" '{}'; status 200
check '.status == "delivered" and .http_status == 200'
# The delivery at the SIEM sink carries a valid signature over "<ts>.<body>".
req GET "$MOCK_ROOT/__sink/siem"; status 200
DELIVERY="$(jq -c '[.data[] | select(.body | fromjson | .event_type | test("test"))] | last' <<<"$BODY")"
[ "$DELIVERY" != null ] || fail "no test delivery at the sink"
TS="$(jq -r '.headers["x-thoth-timestamp"]' <<<"$DELIVERY")"
SIG="$(jq -r '.headers["x-thoth-signature"]' <<<"$DELIVERY")"
RAW="$(jq -r '.body' <<<"$DELIVERY")"
[ "$SIG" = "v1=$(hmac "$THOTH_WEBHOOK_SECRET" "$TS.$RAW")" ] || fail "webhook signature does not verify"
BODY="$RAW"; check '.tenant_id == $t and .occurred_at != null' --arg t "$THOTH_TENANT_ID"
JAMF="$(jq -n --arg s "conformance-jamf-$RUN_ID" '{provider: "jamf", name: "Jamf Pro (conformance)",
  enabled: true, config: {base_url: "https://jamf.example.com", client_id: "thoth-conformance", client_secret: $s}}')"
req POST "$BASE/mdm/providers" "$JAMF"; status 200 201
check '.provider == "jamf" and .enabled == true'
req POST "$BASE/mdm/providers/jamf/sync" '{}'; status 200 201 202
check '.job_id != null and .provider == "jamf" and (.status | IN("queued", "running", "succeeded"))'
JOB="$(jq -r .job_id <<<"$BODY")"
poll "$BASE/mdm/sync-jobs/$JOB" '.status == "succeeded" and .synced_endpoints >= 0' '.status == "failed"'

echo "== Phase 1A: scoped API keys"
EP_IN="ep-e2e-$RUN_ID"
req POST "$BASE/api-keys" "$(jq -n --arg n "rightway-endpoint-e2e-$RUN_ID" --arg t "$EP_IN" \
  '{name: $n, scope_level: "endpoint", scope_target_id: $t, permissions: ["read", "execute"]}')"
status 200 201
check '.key_id != null and (.api_key | startswith("thoth_")) and .prefix != null'
KEY_ID="$(jq -r .key_id <<<"$BODY")"; API_KEY="$(jq -r .api_key <<<"$BODY")"
req GET "$BASE/api-keys"; status 200
check '[.api_keys[] | select(.key_id == $k)] | length == 1 and .[0].active == true and .[0].scope_level == "endpoint" and .[0].scope_target_id == $t' --arg k "$KEY_ID" --arg t "$EP_IN"
check '[.api_keys[] | has("api_key")] | any | not'
authorize() { # authorize PERMISSION RESOURCE_ID
  req POST "$BASE/api-keys/$KEY_ID/authorize" "$(jq -n --arg k "$API_KEY" --arg p "$1" --arg r "$2" \
    '{api_key: $k, permission: $p, resource_type: "endpoint", resource_id: $r}')"
  status 200
}
authorize execute "$EP_IN"
check '.valid == true and .permission_allowed == true and .scope_allowed == true and .expired == false'
authorize execute "ep-other-99"
check '.valid == true and .scope_allowed == false'
authorize write "$EP_IN"
check '.valid == true and .permission_allowed == false'
req DELETE "$BASE/api-keys/$KEY_ID"; status 200 204
authorize execute "$EP_IN"
check '.valid == false'

echo "== Phase 2: MDM readback"
req GET "$BASE/mdm/providers"; status 200
check '[.data[] | select(.provider == "jamf")] | length == 1 and .[0].enabled == true and .[0].last_sync_status == "succeeded"'
not_contains "conformance-jamf-$RUN_ID"

echo "== Phase 3: endpoint registration and check-in"
req GET "$BASE/endpoints/stats"; status 200
TOTAL0="$(jq .total <<<"$BODY")"; ONLINE0="$(jq .online <<<"$BODY")"
req POST "$BASE/endpoints" "$(jq -n --arg id "$EP_IN" '{endpoint_id: $id, hostname: "\($id).local",
  employee_email: "secops@example.com", enrollment: "manual", environment: "prod",
  proxy_version: "0.2.8", agent_ids: ["filesystem-safe"]}')"
status 200 201
check '.endpoint_id == $id and .hostname == "\($id).local"' --arg id "$EP_IN"
req POST "$BASE/endpoints/$EP_IN/checkin" \
  '{"proxy_version":"0.2.8","agent_ids":["filesystem-safe"],"risk_score":10,"violations_today":0,"sessions_today":1}'
status 200 201 202 204
req GET "$BASE/endpoints"; status 200
check '[.data[] | select(.endpoint_id == $id)] | length == 1 and .[0].risk_score == 10 and .[0].proxy_version == "0.2.8" and .[0].environment == "prod" and (.[0].last_seen | test("^[0-9]{4}-"))' --arg id "$EP_IN"
req GET "$BASE/endpoints/stats"; status 200
check '.total == ($t + 1) and .online == ($o + 1)' --argjson t "$TOTAL0" --argjson o "$ONLINE0"
req GET "$BASE/endpoints/$EP_IN"; status 200
check '.employee_email == "secops@example.com" and .enrollment == "manual" and (.agent_ids | index("filesystem-safe"))'
req GET "$BASE/endpoints?env=prod"; status 200
check '[.data[] | select(.endpoint_id == $id)] | length == 1' --arg id "$EP_IN"
req GET "$BASE/endpoints?env=staging"; status 200
check '[.data[] | select(.endpoint_id == $id)] | length == 0' --arg id "$EP_IN"

echo "== Phase 4: PAM callback (valid, replay, mismatch, bad signature)"
TOOL="conformance-pam-$RUN_ID"
decision() { # decision RISK_TIER -> BODY of the simulated decision
  req POST "$MOCK_ROOT/__admin/tenants/$THOTH_TENANT_ID/decisions" "$(jq -n --arg a "conformance-agent-$RUN_ID" \
    --arg t "$TOOL" --arg r "$1" --arg e "$EP_IN" \
    '{agent_id: $a, tool_name: $t, risk_tier: $r, endpoint_id: $e, user_id: "secops@example.com"}')"
  status 201
}
decision medium; check '.decision == "STEP_UP" and .approval_id != null and .request_id != null'
APPROVAL_A="$(jq -r .approval_id <<<"$BODY")"; REQUEST_A="$(jq -r .request_id <<<"$BODY")"
decision medium; APPROVAL_B="$(jq -r .approval_id <<<"$BODY")"; REQUEST_B="$(jq -r .request_id <<<"$BODY")"
callback() { # callback APPROVAL REQUEST SECRET [TIMESTAMP] -> signed POST, sets STATUS/BODY
  local payload ts="${4:-$(date +%s)}"
  payload="$(jq -cn --arg a "$1" --arg r "$2" '{approval_id: $a, request_id: $r, decision: "approve"}')"
  req POST "$BASE/pam/callback" "$payload" -H "X-Thoth-Timestamp: $ts" \
    -H "X-Thoth-Signature: v1=$(hmac "$3" "$ts.$payload")"
}
TS_A="$(date +%s)"
callback "$APPROVAL_A" "$REQUEST_A" "$THOTH_PAM_CALLBACK_SECRET" "$TS_A"; status 200
check '.status == "resolved"'
# The replay is the very same signed callback (same timestamp, same signature).
callback "$APPROVAL_A" "$REQUEST_A" "$THOTH_PAM_CALLBACK_SECRET" "$TS_A"; status 200
check '.status == "ignored" and .reason == "replay"'
callback "$APPROVAL_B" "$REQUEST_A" "$THOTH_PAM_CALLBACK_SECRET"; status 409
check '.error == "request_id_mismatch"'
callback "$APPROVAL_B" "$REQUEST_B" "not-the-callback-secret-$RUN_ID"; status 401
check '.error == "invalid_signature"'
req GET "$BASE/approvals?status=pending"; status 200
check '[.data[] | select(.approval_id == $b and .request_id == $r)] | length == 1' --arg b "$APPROVAL_B" --arg r "$REQUEST_B"
check '[.data[] | select(.approval_id == $a)] | length == 0' --arg a "$APPROVAL_A"

echo "== Phase 5: evidence (feed, alerts, SLOs)"
TOOL="conformance-evidence-$RUN_ID"
decision low; check '.decision == "ALLOW"'; ALLOW="$(jq -r .event_id <<<"$BODY")"
decision medium; check '.decision == "STEP_UP"'
decision high; check '.decision == "BLOCK"'; BLOCK="$(jq -r .event_id <<<"$BODY")"
req GET "$BASE/governance/feed?tool_name=$TOOL"; status 200
check '(.data | length) == 3 and ([.data[] | select(.event_id == $a)][0].decision == "ALLOW")' --arg a "$ALLOW"
req GET "$BASE/governance/feed?tool_name=$TOOL&decision=BLOCK"; status 200
check '(.data | length) == 1 and .data[0].event_id == $b' --arg b "$BLOCK"
req GET "$BASE/alerts"; status 200
check '[.data[] | select(.tool_name == $t)] | length == 1 and .[0].event_id == $b' --arg t "$TOOL" --arg b "$BLOCK"
req GET "$BASE/governance/evidence-slos?window_hours=24"; status 200
check '.passed == true and (.failures | length) == 0 and .window_hours == 24 and .metrics.rows_scanned >= 0 and .metrics.evidence_chain_verification_success >= 1.0'
req POST "$GOV/evidence/thoth/backfill?dry_run=true&limit=500" ''; status 200
check '.examined >= 0 and .candidates >= 0'

echo "runbook-curl: all $CHECKS checks passed"
