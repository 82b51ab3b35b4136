"""Drives mock-govapi's data plane with the vendor's own Python SDK (atensec-thoth).

Run by mock-govapi/tests/vendor_sdk.rs, which starts the mock with auth and passes:
THOTH_API_URL (the enforcer base URL), THOTH_API_KEY (an execute key), THOTH_TENANT_ID,
GOVAPI_URL, ADMIN_TOKEN and PAM_SECRET. Every SDK call and its result is printed; any
result other than the expected one exits 1. Only the PAM callback (a PAM system's job,
not the SDK's) and the approval lookup are plain HTTP here.
"""

import hashlib
import hmac
import json
import os
import sys
import threading
import time
import urllib.request

from thoth.emitter import HttpEmitter
from thoth.enforcer_client import EnforcerClient
from thoth.models import BehavioralEvent, EnforcementMode, EventType, SourceType, ThothConfig
from thoth.step_up import StepUpClient
from thoth.tool_inventory import publish_tool_inventory

TENANT = os.environ["THOTH_TENANT_ID"]
API_URL = os.environ["THOTH_API_URL"]
API_KEY = os.environ["THOTH_API_KEY"]
GOVAPI = os.environ["GOVAPI_URL"]
ADMIN = os.environ["ADMIN_TOKEN"]
PAM_SECRET = os.environ["PAM_SECRET"]

failures = []


def report(call, result, expected=None):
    ok = expected is None or result == expected
    mark = "ok  " if ok else "FAIL"
    suffix = "" if expected is None else f"  (expected {expected})"
    print(f"[{mark}] {call} -> {result}{suffix}", flush=True)
    if not ok:
        failures.append(call)


def govapi(method, path, body=None, headers=None):
    data = None if body is None else body.encode() if isinstance(body, str) else json.dumps(body).encode()
    request = urllib.request.Request(f"{GOVAPI}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read() or b"null")


config = ThothConfig(
    agent_id="sdk-agent",
    tenant_id=TENANT,
    user_id="sdk-user",
    approved_scope=["web.fetch", "shell.exec", "db.drop"],
    enforcement=EnforcementMode.STEP_UP,
    api_key=API_KEY,
    # ThothConfig's documented poll knob (default 5 s) and wait bound (default 15 min).
    step_up_poll_interval_seconds=1,
    step_up_timeout_minutes=1,
)
print(f"SDK config: enforcer={config.resolved_enforcer_url} tenant={TENANT} mode={config.enforcement.value}", flush=True)
enforcer = EnforcerClient(config)

allowed = enforcer.check("web.fetch", "sdk-session", [])
report("EnforcerClient.check('web.fetch')", allowed.decision.value, "ALLOW")
blocked = enforcer.check("db.drop", "sdk-session", ["web.fetch"])
report("EnforcerClient.check('db.drop')", f"{blocked.decision.value} reason_code={blocked.decision_reason_code} violation_id={'set' if blocked.violation_id else 'none'}", f"BLOCK reason_code=tool_risk_override.critical.block violation_id=set")
stepped = enforcer.check("shell.exec", "sdk-session", ["web.fetch", "db.drop"])
report("EnforcerClient.check('shell.exec')", f"{stepped.decision.value} hold_token={'set' if stepped.hold_token else 'none'} timeout={stepped.step_up_timeout_seconds}", "STEP_UP hold_token=set timeout=300")

explained = enforcer.explain(blocked, tool_name="db.drop", session_id="sdk-session", tool_calls=[])
report("EnforcerClient.explain(BLOCK of 'db.drop')", None if explained is None else f"HumanExplanation(severity={explained.severity}, decision_reason_code={explained.decision_reason_code})", "HumanExplanation(severity=critical, decision_reason_code=tool_risk_override.critical.block)")

# The approval the STEP_UP opened, found as a suite would: the pending list.
_, pending = govapi("GET", f"/{TENANT}/thoth/approvals?status=pending", headers={"Authorization": f"Bearer {ADMIN}"})
row = next((a for a in pending["data"] if a.get("hold_token") == stepped.hold_token), None)
report("GET approvals?status=pending has the hold's approval", row is not None, True)
if row is None:
    sys.exit(1)

result = {}
waiter_client = StepUpClient(config)
waiter = threading.Thread(target=lambda: result.setdefault("decision", waiter_client.wait(stepped.hold_token)))
started = time.monotonic()
waiter.start()
time.sleep(1.5)  # at least one poll sees the hold pending
report("StepUpClient.wait still waiting before the callback", waiter.is_alive(), True)

# A PAM system approves: signed callback, no tenant credentials.
body = json.dumps({"approval_id": row["approval_id"], "request_id": row["request_id"], "decision": "approve"})
timestamp = str(int(time.time()))
signature = hmac.new(PAM_SECRET.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
status, answer = govapi("POST", f"/{TENANT}/thoth/pam/callback", body, {"X-Thoth-Timestamp": timestamp, "X-Thoth-Signature": f"v1={signature}"})
report("signed PAM callback (approve)", f"{status} {answer.get('approval_status')}", "200 approved")

waiter.join(timeout=30)
decision = result.get("decision")
report("StepUpClient.wait(hold_token)", None if decision is None else decision.decision.value, "ALLOW")
print(f"StepUpClient.wait returned after {time.monotonic() - started:.1f} s", flush=True)

emitter = HttpEmitter(API_URL, API_KEY)
emitter.emit(
    BehavioralEvent(
        tenant_id=TENANT,
        agent_id="sdk-agent",
        session_id="sdk-session",
        user_id="sdk-user",
        source_type=SourceType.AGENT_TOOL_CALL,
        event_type=EventType.TOOL_CALL_PRE,
        content="web.fetch https://example.test",
        tool_name="web.fetch",
    )
)
status_after = emitter.close(timeout=10)
report("HttpEmitter.emit + close (POST /v1/events/batch)", f"delivered={status_after.delivered} dropped={status_after.dropped}", "delivered=1 dropped=0")


class Tool:
    def __init__(self, name, description):
        self.name = name
        self.description = description
        self.args_schema = {"type": "object", "properties": {"url": {"type": "string", "default": "x"}}}


class Agent:
    tools = [Tool("web.fetch", "Fetch a URL"), Tool("shell.exec", "Run a command")]


publish_tool_inventory(Agent(), tenant_id=TENANT, agent_id="sdk-agent", api_url=API_URL, api_key=API_KEY)
recorded = []
for _ in range(50):
    _, tools = govapi("GET", f"/{TENANT}/thoth/governance/tools?agent_id=sdk-agent", headers={"Authorization": f"Bearer {ADMIN}"})
    recorded = sorted(t["name"] for t in tools["data"])
    if len(recorded) == 2:
        break
    time.sleep(0.1)
report("publish_tool_inventory (POST T/tool-inventory), read back from GET T/governance/tools", recorded, ["shell.exec", "web.fetch"])

if failures:
    print(f"FAILED: {len(failures)} SDK expectations: {failures}", flush=True)
    sys.exit(1)
print("ALL SDK EXPECTATIONS MET", flush=True)
