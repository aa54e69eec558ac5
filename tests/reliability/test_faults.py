"""Faults, interruptions and concurrent runs: apply always converges, never duplicates, never
shows a traceback. A few trials here; benchmarks/reliability.py runs the full campaign."""

import json
import random
import signal
import subprocess
import sys
from typing import Any

import pytest

from realmctl.live import parse_record
from realmctl.sandbox import Sandbox
from tests.helpers import ROOT, Admin, Result, realmctl
from tests.reliability.common import (
    SPEC,
    duplicates,
    interrupt_after,
    realmctl_process,
    server_env,
)

pytestmark = pytest.mark.sandbox_only


def plan_code(env: dict[str, str]) -> int:
    """`plan --detailed-exitcode`'s exit code, run in this process: what the plan says is the point
    here, not the process (the interruptions and the concurrent runs below are real processes)."""
    return realmctl("plan", "--detailed-exitcode", str(SPEC), env=env).code


def apply_in_process(env: dict[str, str], tries: int = 3) -> list[Result]:
    """`apply --yes -q` in this process up to `tries` times, stopping at the first success (an
    unexpected exception would fail the test: realmctl's own errors are one line)."""
    runs = []
    for _ in range(tries):
        runs.append(realmctl("apply", "--yes", "-q", str(SPEC), env=env))
        if runs[-1].code == 0:
            break
    return runs


@pytest.fixture
def sandbox() -> Any:
    with Sandbox() as sb:
        sb.app.slow_ms = 100  # a "slow answer" fault; a second would only make the test slow
        yield sb


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_apply_converges_under_faults_without_duplicates(sandbox: Any, seed: int, quick_retries: None) -> None:
    admin = Admin(sandbox.url, "admin", "admin")
    admin.put("sandbox/faults", {"rate": 0.15, "seed": seed})
    env = server_env(sandbox.url)
    runs = apply_in_process(env)
    admin.put("sandbox/faults", {"rate": 0, "seed": 0})
    for run in runs:
        assert "Traceback" not in run.all, run.err
    assert runs[-1].code == 0, runs[-1].err
    assert plan_code(env) == 0
    assert duplicates(admin, "apps") == {}


@pytest.mark.parametrize("trial", range(4))
def test_interrupted_apply_reports_and_the_next_run_converges(sandbox: Any, trial: int) -> None:
    admin = Admin(sandbox.url, "admin", "admin")
    admin.put("sandbox/latency", {"ms": 40})
    admin.reset_requests()
    env = server_env(sandbox.url)
    signum = signal.SIGINT if trial % 2 == 0 else signal.SIGTERM
    proc = realmctl_process(["apply", "--yes", "-q", str(SPEC)], env)
    assert interrupt_after(admin, proc, random.Random(trial).randint(1, 10), signum), "apply ended first"
    out, err = proc.communicate(timeout=120)
    assert "Traceback" not in out + err, err
    assert proc.returncode == 128 + signum, (proc.returncode, err)
    assert "Interrupted: no new write was started" in err and "Not applied" in err
    admin.put("sandbox/latency", {"ms": 0})
    assert plan_code(env) == 2, "an interrupted apply leaves work for the next run"
    assert apply_in_process(env, tries=1)[-1].code == 0
    assert plan_code(env) == 0
    assert duplicates(admin, "apps") == {}


def test_two_concurrent_applies_converge(sandbox: Any) -> None:
    admin = Admin(sandbox.url, "admin", "admin")
    admin.put("sandbox/latency", {"ms": 5})
    env = server_env(sandbox.url)
    procs = [realmctl_process(["apply", "--yes", "-q", str(SPEC)], env) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    for (out, err), proc in zip(results, procs, strict=True):
        assert "Traceback" not in out + err, err
        assert proc.returncode == 0, err
    assert plan_code(env) == 0
    assert duplicates(admin, "apps") == {}
    # Both runs recorded the links they added: a grant leaving the spec is still found and removed.
    record = json.loads(admin.get("admin/realms/apps")["attributes"]["realmctl.links"])
    entries = [parse_record(e) for e in record]
    bob = admin.get("admin/realms/apps/users", username="bob", exact="true")[0]
    grant = next(e for e in entries if e and e[0] == ("role-grant", "user", "bob", "broker", "read-token"))
    assert grant[1] is not None and grant[1][0] == bob["id"], "recorded with the ids of its ends"


def test_unreachable_server_is_one_sentence_and_exit_4(quick_retries: None) -> None:
    # in this process, with a short retry backoff (six attempts slept ~3 s); exit 4 of a real
    # process is the test below
    result = realmctl("plan", str(SPEC), env=server_env("http://127.0.0.1:9"))
    assert result.code == 4
    assert result.err.strip() == "Error: Cannot reach the Keycloak server at http://127.0.0.1:9."


def test_bad_credentials_are_one_sentence_and_exit_4(sandbox: Any) -> None:
    env = server_env(sandbox.url, password="wrong")
    done = subprocess.run(
        [sys.executable, "-m", "realmctl", "plan", str(SPEC)], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 4
    assert "refused realmctl's credentials" in done.stderr and "Traceback" not in done.stderr
