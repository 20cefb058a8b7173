"""Drives a running `vaultref emulator --tls` from Python through its admin endpoint, the way a
test suite in any language would: injects faults, watches the official azure-keyvault-secrets
SDK meet them (and retry), reads the request log and clears both. Run by
crates/cli/tests/it/emulator.rs; docs/emulator.md ("Faults from any language") shows the same
calls.

    VAULTREF_EMULATOR_READY='<the ready line>' python emulator_faults.py

Prints one "PASS <what>" line per check and "ALL PASSED" at the end; exits non-zero on the
first failure. Only the standard library talks to the admin endpoint.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime

from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

READY = json.loads(os.environ["VAULTREF_EMULATOR_READY"])
VALUE = "only-in-the-vault-3f9c"
# The admin endpoint is plain http on 127.0.0.1: never send it through a proxy.
ADMIN = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def admin(method, path, body=None):
    """One admin request; returns (status, parsed JSON body or None)."""
    request = urllib.request.Request(
        READY["admin_url"] + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "X-Vaultref-Admin-Token": READY["admin_token"],
            "Content-Type": "application/json",
        },
    )
    try:
        with ADMIN.open(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def inject(*faults):
    status, body = admin("POST", "faults", list(faults))
    check(status == 200 and body == {"applied": len(faults)}, f"inject: {status} {body}")


def vault_log():
    status, body = admin("GET", "requests?target=vault")
    check(status == 200, f"read the log: {status} {body}")
    return body["requests"]


def clear_log():
    check(admin("DELETE", "requests")[0] == 204, "clear the log")


def at(entry, key):
    return datetime.fromisoformat(entry[key].replace("Z", "+00:00"))


def passed(what):
    print(f"PASS {what}", flush=True)


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def main():
    os.environ["REQUESTS_CA_BUNDLE"] = READY["ca_cert"]
    credential = ClientSecretCredential(
        READY["tenant_id"],
        READY["client_id"],
        READY["client_secret"],
        authority=READY["authority_host"],
        disable_instance_discovery=True,
    )
    # The default vault is https://127.0.0.1:PORT/, which no challenge resource can match.
    client = SecretClient(
        READY["vault_url"],
        credential,
        verify_challenge_resource=False,
        retry_backoff_factor=0.2,
    )
    client.set_secret("fault-demo", VALUE)  # takes a token once: later faults hit the vault

    # A 429 throttle: the SDK waits each Retry-After, then succeeds.
    clear_log()
    inject({"kind": "throttle", "requests": 2, "retry_after": 1})
    started = time.monotonic()
    check(client.get_secret("fault-demo").value == VALUE, "value after throttling")
    check(time.monotonic() - started >= 2.0, "the SDK waited out two Retry-After: 1")
    log = vault_log()
    check([r["status"] for r in log] == [429, 429, 200], f"statuses {log}")
    for throttled, retry in zip(log, log[1:]):
        gap = (at(retry, "received_at") - at(throttled, "responded_at")).total_seconds()
        check(gap >= 0.9, f"retried {gap:.3f} s after a 429 with Retry-After: 1")
    passed("the SDK honoured Retry-After through a 429 throttle")

    # A 503 burst shorter than the SDK's retry budget: retried, then success.
    clear_log()
    inject({"kind": "status", "status": 503, "requests": 2})
    check(client.get_secret("fault-demo").value == VALUE, "value after a 503 burst")
    check([r["status"] for r in vault_log()] == [503, 503, 200], "503, 503, 200")
    passed("the SDK retried a 503 burst")

    # A dropped connection: retried as a connection error.
    clear_log()
    inject({"kind": "drop"})
    check(client.get_secret("fault-demo").value == VALUE, "value after a dropped connection")
    check([r["status"] for r in vault_log()] == [0, 200], "dropped (0), then 200")
    passed("the SDK retried a dropped connection")

    # Latency: every vault response is late.
    inject({"kind": "latency", "duration": "300ms"})
    started = time.monotonic()
    client.get_secret("fault-demo")
    check(time.monotonic() - started >= 0.3, "the response came 300 ms late")
    check(admin("DELETE", "faults")[0] == 204, "reset")
    passed("latency slowed the vault down")

    # 503 for as long as the fault stands: the SDK gives up and reports the status.
    inject({"kind": "status_for", "status": 503, "duration": "1h"})
    impatient = SecretClient(
        READY["vault_url"],
        credential,
        verify_challenge_resource=False,
        retry_total=1,
        retry_backoff_factor=0.1,
    )
    try:
        impatient.get_secret("fault-demo")
        check(False, "a standing 503 must fail the call")
    except HttpResponseError as error:
        check(error.status_code == 503, f"status {error.status_code}")
    passed("the SDK surfaced a standing 503 once its retries ran out")

    # Clearing the faults: the next call goes through.
    status, _ = admin("DELETE", "faults")
    check(status == 204, f"DELETE /faults: {status}")
    check(impatient.get_secret("fault-demo").value == VALUE, "value after clearing")
    passed("DELETE /faults cleared the faults")

    # The log: every request, credentials redacted, no bodies.
    status, body = admin("GET", "requests")
    check(status == 200, "GET /requests")
    text = json.dumps(body)
    check(VALUE not in text and READY["client_secret"] not in text, "no value or secret")
    vault = [r for r in body["requests"] if r["target"] == "vault"]
    check(all(r["tls"] for r in vault), "vault traffic was TLS")
    check(
        all(r["headers"].get("authorization") in (None, "<redacted>") for r in vault),
        "authorization redacted",
    )
    check(
        any(
            r["headers"].get("user-agent", "").startswith("azsdk-python-keyvault-secrets/")
            for r in vault
        ),
        "the Python Key Vault SDK made the requests",
    )
    passed("the request log names the SDK's requests without credentials")

    clear_log()
    check(admin("GET", "requests")[1] == {"requests": []}, "the log is empty")
    passed("DELETE /requests emptied the log")

    # Bad input is refused with what to fix, and injects nothing.
    status, body = admin("POST", "faults", {"kind": "slow"})
    check(status == 400 and "unknown kind" in body["error"], f"{status} {body}")
    passed("a bad fault is 400 with what to fix")
    print("ALL PASSED", flush=True)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as failure:
        print(f"FAIL {failure}", flush=True)
        sys.exit(1)
