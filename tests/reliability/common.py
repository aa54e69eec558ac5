"""Shared pieces of the reliability tests and of benchmarks/reliability.py (the full campaign)."""

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.helpers import ROOT, Admin, env_for

SPEC = ROOT / "examples" / "stored-tokens.yaml"


def realmctl_process(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """realmctl in its own process, as a pipeline would run it (so signals are real)."""
    return subprocess.Popen(
        [sys.executable, "-m", "realmctl", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def server_env(url: str, user: str = "admin", password: str = "admin") -> dict[str, str]:
    return env_for(url, user, password, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def duplicates(admin: Admin, realm: str) -> dict[str, list[str]]:
    """Objects that exist twice under the same natural key (must always be empty)."""
    base = f"admin/realms/{realm}"
    found: dict[str, list[str]] = {}
    listings: dict[str, list[Any]] = {
        "clients": [c["clientId"] for c in admin.get(f"{base}/clients")],
        "client-scopes": [s["name"] for s in admin.get(f"{base}/client-scopes")],
        "users": [u["username"] for u in admin.get(f"{base}/users", max=10000)],
        "groups": [g["name"] for g in admin.get(f"{base}/groups")],
        "idps": [i["alias"] for i in admin.get(f"{base}/identity-provider/instances")],
        "roles": [r["name"] for r in admin.get(f"{base}/roles")],
    }
    for scope in admin.get(f"{base}/client-scopes"):
        listings[f"mappers of {scope['name']}"] = [m["name"] for m in scope.get("protocolMappers") or []]
    for kind, names in listings.items():
        twice = [n for n, count in Counter(names).items() if count > 1]
        if twice:
            found[kind] = twice
    return found


def writes_seen(admin: Admin) -> int:
    """Admin writes the server has answered so far (token requests aside)."""
    log = admin.requests()["log"]
    return sum(1 for e in log if e["method"] != "GET" and "/admin/" in e["path"])


def interrupt_after(admin: Admin, proc: "subprocess.Popen[str]", writes: int, signum: int, limit: float = 60) -> bool:
    """Sends `signum` once the server has seen `writes` writes; False if the run ended first."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if writes_seen(admin) >= writes:
            proc.send_signal(signum)
            return True
        time.sleep(0.01)
    return False


def apply_until_converged(
    spec: Path | str, env: dict[str, str], tries: int = 3
) -> list[subprocess.CompletedProcess[str]]:
    """Runs `apply --yes` up to `tries` times, stopping at the first success."""
    runs = []
    for _ in range(tries):
        done = subprocess.run(
            [sys.executable, "-m", "realmctl", "apply", "--yes", "-q", str(spec)],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        runs.append(done)
        if done.returncode == 0:
            break
    return runs
