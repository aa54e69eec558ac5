"""The reliability campaign of issue #9, against the sandbox with the M benchmark spec.

* faults: for each seed, a fresh sandbox injecting faults at a rate (503 before handling, dropped
  connections, answers lost after handling, slow answers); `realmctl apply` is run at most 3 times;
  then, with faults off, the plan must be empty, no object may exist twice, the hand-made objects
  must be unchanged, and a stored token must still come back from the broker token endpoint (so no
  client or IdP secret was lost or garbled on the way).
* interrupts: apply is sent SIGINT or SIGTERM after a random number of writes; it must exit 130/143
  and report; the next run must converge, with the same checks.
* concurrent: two applies of the same spec at once; both must succeed and converge.

Run: `python -m benchmarks.reliability [--seeds 50] [--rate 0.15] [--interrupts 20] [--concurrent 20]`.
Results are printed and written to benchmarks/results/reliability-<timestamp>.json.
"""

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from benchmarks.specgen import SIZES, write
from realmctl.sandbox import Sandbox
from tests.helpers import ROOT, Admin
from tests.reliability.common import duplicates, interrupt_after, realmctl_process, server_env

REALM = "bench-m-1"
UPSTREAM = {"access_token": "campaign-upstream-token", "token_type": "Bearer"}


def realmctl(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "realmctl", *args], env=env, capture_output=True, text=True, cwd=ROOT, timeout=600
    )


def hand_made(admin: Admin) -> dict[str, Any]:
    """Objects made by hand before realmctl runs: they must come out unchanged."""
    admin.post("admin/realms", {"realm": REALM, "enabled": True})
    admin.post(f"admin/realms/{REALM}/clients", {"clientId": "hand-made", "publicClient": True, "description": "mine"})
    admin.post(f"admin/realms/{REALM}/users", {"username": "hand-user", "enabled": True, "attributes": {"k": ["v"]}})
    return snapshot(admin)


def snapshot(admin: Admin) -> dict[str, Any]:
    client = admin.client(REALM, "hand-made")
    user = admin.get(f"admin/realms/{REALM}/users", username="hand-user", exact="true")[0]
    drop = ("access",)
    return {
        "client": {k: v for k, v in (client or {}).items() if k not in drop},
        "user": {k: v for k, v in user.items() if k not in drop},
    }


def stored_token_works(url: str, admin: Admin) -> bool:
    """user-00001 logs in through idp-001, then reads the stored token with an app-0001 token."""
    admin.post(
        f"sandbox/realms/{REALM}/broker/idp-001/login",
        {"username": "user-00001", "subject": "u1-upstream", "token": UPSTREAM},
    )
    token = requests.post(
        f"{url}/realms/{REALM}/protocol/openid-connect/token",
        timeout=30,
        data={
            "grant_type": "password",
            "client_id": "app-0001",
            "client_secret": "bench-client-secret",
            "username": "user-00001",
            "password": "bench",
        },
    )
    if token.status_code != 200:
        return False
    got = requests.get(
        f"{url}/realms/{REALM}/broker/idp-001/token",
        timeout=30,
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    return got.status_code == 200 and got.json().get("access_token") == UPSTREAM["access_token"]


def verify(sb: Sandbox, env: dict[str, str], spec: list[str], before: dict[str, Any]) -> dict[str, Any]:
    admin = Admin(sb.url, "admin", "admin")
    plan = realmctl(["plan", "--detailed-exitcode", *spec], env)
    return {
        "plan_empty": plan.returncode == 0,
        "duplicates": duplicates(admin, REALM) or duplicates(admin, "bench-m-2"),
        "hand_made_unchanged": snapshot(admin) == before,
        "stored_token": stored_token_works(sb.url, admin),
    }


def ok(result: dict[str, Any]) -> bool:
    return (
        result["converged"]
        and result["plan_empty"]
        and not result["duplicates"]
        and result["hand_made_unchanged"]
        and result["stored_token"]
        and not result["tracebacks"]
    )


def fault_trial(seed: int, rate: float, spec: list[str]) -> dict[str, Any]:
    with Sandbox() as sb:
        sb.app.slow_ms = 200
        admin = Admin(sb.url, "admin", "admin")
        before = hand_made(admin)
        env = server_env(sb.url)
        admin.put("sandbox/faults", {"rate": rate, "seed": seed})
        runs = []
        started = time.perf_counter()
        for _ in range(3):
            runs.append(realmctl(["apply", "--yes", "-q", *spec], env))
            if runs[-1].returncode == 0:
                break
        elapsed = time.perf_counter() - started
        faults = sum(1 for e in admin.requests()["log"] if e["status"] in (0, 503))
        admin.put("sandbox/faults", {"rate": 0, "seed": 0})
        result = {
            "seed": seed,
            "applies": len(runs),
            "converged": runs[-1].returncode == 0,
            "seconds": round(elapsed, 1),
            "faulted_requests": faults,
            "tracebacks": any("Traceback" in r.stderr for r in runs),
            "exit_codes": [r.returncode for r in runs],
        }
        result |= verify(sb, env, spec, before)
        return result


def interrupt_trial(trial: int, spec: list[str]) -> dict[str, Any]:
    rng = random.Random(trial)
    signum = signal.SIGINT if trial % 2 == 0 else signal.SIGTERM
    with Sandbox(latency_ms=2) as sb:
        admin = Admin(sb.url, "admin", "admin")
        before = hand_made(admin)
        env = server_env(sb.url)
        admin.reset_requests()
        proc = realmctl_process(["apply", "--yes", "-q", *spec], env)
        after_writes = rng.randint(1, 1700)
        sent = interrupt_after(admin, proc, after_writes, signum, limit=120)
        _, err = proc.communicate(timeout=300)
        rerun = realmctl(["apply", "--yes", "-q", *spec], env)
        result = {
            "trial": trial,
            "signal": signum,
            "after_writes": after_writes,
            "interrupted": sent,
            "exit_code": proc.returncode,
            "expected_exit": 128 + signum if sent else 0,
            "reported": "Not applied" in err if sent else True,
            "converged": rerun.returncode == 0,
            "tracebacks": "Traceback" in err + rerun.stderr,
        }
        result |= verify(sb, env, spec, before)
        result["exit_ok"] = result["exit_code"] == result["expected_exit"] and result["reported"]
        return result


def concurrent_trial(trial: int, spec: list[str]) -> dict[str, Any]:
    with Sandbox() as sb:
        admin = Admin(sb.url, "admin", "admin")
        before = hand_made(admin)
        env = server_env(sb.url)
        procs = [realmctl_process(["apply", "--yes", "-q", *spec], env) for _ in range(2)]
        outs = [p.communicate(timeout=600) for p in procs]
        result = {
            "trial": trial,
            "exit_codes": [p.returncode for p in procs],
            "converged": all(p.returncode == 0 for p in procs),
            "tracebacks": any("Traceback" in err for _, err in outs),
        }
        result |= verify(sb, env, spec, before)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--rate", type=float, default=0.15)
    parser.add_argument("--interrupts", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=20)
    args = parser.parse_args()
    spec = [str(p) for p in write(SIZES["M"], Path(tempfile.mkdtemp()))]
    report: dict[str, Any] = {"spec": "M", "rate": args.rate}
    for name, trials, fn in (
        ("faults", range(1, args.seeds + 1), lambda i: fault_trial(i, args.rate, spec)),
        ("interrupts", range(args.interrupts), lambda i: interrupt_trial(i, spec)),
        ("concurrent", range(args.concurrent), lambda i: concurrent_trial(i, spec)),
    ):
        results = []
        for i in trials:
            results.append(fn(i))
            good = ok(results[-1]) and results[-1].get("exit_ok", True)
            print(f"{name} {i}: {'ok' if good else 'FAIL'} {json.dumps(results[-1])}", flush=True)
        report[name] = results
        passed = sum(1 for r in results if ok(r) and r.get("exit_ok", True))
        print(f"== {name}: {passed}/{len(results)} converged with every check passing", flush=True)
    out = ROOT / "benchmarks" / "results" / f"reliability-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
