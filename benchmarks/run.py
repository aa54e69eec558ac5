"""realmctl plan/apply at scale against the sandbox, beside a naive per-object baseline.

Run from the repository root: `.venv/bin/python -m benchmarks.run` (or `python benchmarks/run.py`),
with `--sizes S M L --latencies 0 5` (the defaults); `--help` lists the options. Prints a table and
writes `benchmarks/results/<UTC timestamp>.json`. docs/benchmarks.md explains every column.

How a scenario (one size at one injected latency) runs:

1. specgen writes the size's spec; a fresh `Sandbox(latency_ms=...)` starts in this process.
2. Each step runs in its own worker process (`--worker`), as one CLI invocation would: load the
   spec, log in, then `make_plan` (and `apply_plan`) through `Api`/`Settings`, the CLI's code path.
   A separate process keeps the sandbox's memory and its threads' share of the interpreter lock
   out of realmctl's numbers.
3. Around each step this process resets and reads the sandbox's request log, so the counts are
   what the server saw; token-endpoint requests (the login, refreshes) are counted apart.

Steps: realmctl `plan` against the empty server, the baseline's reads there, `apply` from empty,
`apply` again (must write nothing), `plan` after apply, the baseline's reads after apply.

Memory: every worker reports `ru_maxrss` (its whole process: interpreter, imports, spec, run).
With `--memory` (default on), each size gets one more pass at 0 ms whose workers run under
`tracemalloc` and report the Python heap peak during the step (the loaded spec included); it is a
separate pass because tracemalloc slows the code it traces several times over.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import platform
import pstats
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/run.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests

from benchmarks import peer_ansible
from benchmarks.proxy import CountingProxy
from benchmarks.specgen import SIZES, generate, write

ROOT = Path(__file__).resolve().parent.parent
TOKEN_PATH = "/realms/{realm}/protocol/openid-connect/token"
#: (tool, step) in the order a scenario runs them.
STEPS: list[tuple[str, str]] = [
    ("realmctl", "plan-cold"),
    ("baseline", "plan-cold"),
    ("realmctl", "apply-empty"),
    ("realmctl", "apply-noop"),
    ("realmctl", "plan-after"),
    ("baseline", "plan-after"),
]
#: Path templates read once per realm (a list); the role-member listings are one per granted role.
PER_REALM = {
    "/admin/realms/{realm}",
    "/admin/realms/{realm}/clients",
    "/admin/realms/{realm}/client-scopes",
    "/admin/realms/{realm}/roles",
    "/admin/realms/{realm}/groups",
    "/admin/realms/{realm}/identity-provider/instances",
    "/admin/realms/{realm}/users",
    "/admin/realms/{realm}/users/count",
    "/admin/realms/{realm}/default-default-client-scopes",
    "/admin/realms/{realm}/default-optional-client-scopes",
    "/admin/realms/{realm}/clients/{id}/authz/resource-server/policy",  # realmctl's exchange policies
}
#: realmctl's read strategy for every step of this run (`--read-strategy`, realmctl/export_read.py).
READ_STRATEGY = "listings"
PER_GRANTED_ROLE = {
    "/admin/realms/{realm}/roles/{role}/users",
    "/admin/realms/{realm}/clients/{id}/roles/{role}/users",
}


# -- the worker: one step, in its own process ---------------------------------------------------------


def profile_threads() -> list[cProfile.Profile]:
    """Profiles every thread started from now on (the engine's pool threads), one profiler each.

    cProfile sees only the thread that enabled it, and plan/apply do their work in pool threads;
    the returned list fills as threads start, and the worker merges them into the step's file.
    """
    profiles: list[cProfile.Profile] = []
    original = threading.Thread.run

    def run(self: threading.Thread) -> None:
        profiler = cProfile.Profile()
        profiles.append(profiler)  # list.append is atomic under the GIL
        profiler.enable()
        try:
            original(self)
        finally:
            profiler.disable()

    threading.Thread.run = run  # type: ignore[method-assign]
    return profiles


def worker(
    url: str, spec_dir: str, tool: str, step: str, trace: bool, profile: str | None, strategy: str = "listings"
) -> dict[str, Any]:
    """Runs one step like one CLI invocation and reports what the client side saw."""
    from benchmarks.baseline import naive_plan
    from realmctl.engine import apply_plan, make_plan
    from realmctl.gcpolicy import tune
    from realmctl.keycloak.session import Api, Settings
    from realmctl.spec.loader import load_spec

    tune()  # as `realmctl` (cli.main) does
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    spec = load_spec([spec_dir])
    load_s = time.perf_counter() - started
    api = Api(Settings(url=url, user="admin", password="admin"))
    api.read_strategy = strategy
    api.login()
    if trace:
        tracemalloc.reset_peak()
    profiler = cProfile.Profile() if profile else None
    thread_profiles = profile_threads() if profile else []
    out: dict[str, Any] = {"load_s": load_s}
    started, cpu_started = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    if tool == "baseline":
        naive_plan(spec.realms, api)
    else:
        run = make_plan(spec, api)
        out["changes"] = len(run.plan.changes)
        out["plan_errors"] = run.plan.errors
        if step.startswith("apply"):
            result = apply_plan(run)
            out["applied"] = len(result.applied)
            out["apply_error"] = "; ".join(error for _, error in result.failed) or None
    out["wall_s"] = time.perf_counter() - started
    out["cpu_s"] = time.process_time() - cpu_started  # every thread of the process (the pool's too)
    if profiler and profile:
        profiler.disable()
        merged = pstats.Stats(profiler)
        for other in list(thread_profiles):
            merged.add(other)
        merged.dump_stats(profile)
        out["profiled_threads"] = 1 + len(thread_profiles)
    if trace:
        out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    out["client_counts"] = dict(api.counts)
    return out


# -- the driver -----------------------------------------------------------------------------------------


class Control:
    """The sandbox's /sandbox/ endpoints, with a master admin token of our own.

    Our own token requests hit the counted token endpoint; we log in before each reset so that they
    fall outside the window, and count any re-login inside it so it can be taken off.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.own_logins = 0

    def login(self) -> None:
        form = {"grant_type": "password", "client_id": "admin-cli", "username": "admin", "password": "admin"}
        answer = self.session.post(f"{self.url}/realms/master/protocol/openid-connect/token", data=form, timeout=30)
        answer.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def reset(self) -> None:
        self.login()
        self.own_logins = 0
        self.session.post(f"{self.url}/sandbox/requests/reset", timeout=30).raise_for_status()

    def read(self) -> dict[str, Any]:
        answer = self.session.get(f"{self.url}/sandbox/requests", timeout=60)
        if answer.status_code == 401:  # our token expired during a long step
            self.login()
            self.own_logins += 1
            answer = self.session.get(f"{self.url}/sandbox/requests", timeout=60)
        answer.raise_for_status()
        stats: dict[str, Any] = answer.json()
        return stats


class ProxyControl:
    """Control's counterpart for a real Keycloak: the counting proxy's log, and realm cleanup.

    The measured tools talk to the proxy (`url`); this class talks to Keycloak directly, so that its
    own requests (logins, realm deletes) are never counted.
    """

    def __init__(self, proxy: CountingProxy, upstream: str) -> None:
        self.proxy = proxy
        self.url = proxy.url
        self.upstream = upstream.rstrip("/")
        self.own_logins = 0
        self.session = requests.Session()

    def login(self) -> None:
        form = {"grant_type": "password", "client_id": "admin-cli", "username": "admin", "password": "admin"}
        token = f"{self.upstream}/realms/master/protocol/openid-connect/token"
        answer = self.session.post(token, data=form, timeout=60)
        answer.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def version(self) -> str:
        self.login()
        info = self.session.get(f"{self.upstream}/admin/serverinfo", timeout=60).json()
        return str(info.get("systemInfo", {}).get("version", "?"))

    def delete_realms(self, names: list[str]) -> None:
        """Deletes the benchmark's realms (a 404 is fine), so the next step starts from empty."""
        self.login()
        for name in names:
            answer = self.session.delete(f"{self.upstream}/admin/realms/{name}", timeout=300)
            if answer.status_code not in (204, 404):
                answer.raise_for_status()

    def reset(self) -> None:
        self.proxy.take()

    def read(self) -> dict[str, Any]:
        return {"log": self.proxy.take()}


@dataclass
class Row:
    """One step of one scenario: what the server saw and what the worker measured."""

    size: str
    latency_ms: int
    tool: str
    step: str
    by_method: dict[str, int] = field(default_factory=dict)
    total: int = 0
    login: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    wall_s: float | None = None
    cpu_s: float | None = None
    proc_wall_s: float | None = None
    proc_cpu_s: float | None = None
    load_s: float | None = None
    server: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)
    changes: int | None = None
    maxrss_mb: float | None = None
    tracemalloc_peak_mb: float | None = None
    error: str | None = None
    worker: dict[str, Any] = field(default_factory=dict)
    strategy: str = ""  # realmctl's --read-strategy ("" for the baseline and the peer)

    @property
    def writes(self) -> int:
        return sum(n for m, n in self.by_method.items() if m != "GET")


def split_log(stats: dict[str, Any], own_logins: int) -> tuple[dict[str, int], dict[str, int], int]:
    """(by method, by "METHOD template", token requests) with the token endpoint taken apart."""
    by_method: dict[str, int] = {}
    by_path: dict[str, int] = {}
    login = -own_logins
    for entry in stats["log"]:
        if entry["path"] == TOKEN_PATH:
            login += 1
            continue
        by_method[entry["method"]] = by_method.get(entry["method"], 0) + 1
        key = f"{entry['method']} {entry['path']}"
        by_path[key] = by_path.get(key, 0) + 1
    return by_method, by_path, login


def run_step(
    control: Control | ProxyControl,
    spec_dir: Path,
    row: Row,
    trace: bool,
    timeout: float,
    profile_dir: Path | None,
) -> Row:
    """One worker process for one step, with the sandbox's log read around it."""
    command = [sys.executable, "-m", "benchmarks.run", "--worker", "--url", control.url, "--spec", str(spec_dir)]
    command += ["--tool", row.tool, "--step", row.step]
    if row.tool == "realmctl":
        row.strategy = READ_STRATEGY
        command += ["--read-strategy", READ_STRATEGY]
    if trace:
        command.append("--trace")
    if profile_dir is not None:
        where = row.server.replace(" ", "-") if row.server else f"{row.latency_ms}ms"
        name = f"{row.size}-{where}-{row.tool}-{row.step}.pstats"
        command += ["--profile", str(profile_dir / name)]
    control.reset()
    try:
        with measured(row):
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        row.error = f"timed out after {timeout:.0f} s"
        return row
    if done.returncode != 0:
        row.error = (done.stderr.strip().splitlines() or ["worker failed"])[-1]
        return row
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    row.by_method, row.by_path, row.login = split_log(control.read(), control.own_logins)
    row.total = sum(row.by_method.values())
    row.wall_s, row.load_s, row.cpu_s = result["wall_s"], result["load_s"], result.get("cpu_s")
    row.changes = result.get("changes")
    row.maxrss_mb, row.tracemalloc_peak_mb = result["maxrss_mb"], result.get("tracemalloc_peak_mb")
    row.error = result.get("apply_error") or ("; ".join(result.get("plan_errors") or []) or None)
    row.worker = result
    return row


def run_ansible_step(control: ProxyControl, playbook: Path, env: dict[str, str], row: Row, timeout: float) -> Row:
    """One `ansible-playbook` run through the proxy; its numbers are the whole process tree's."""
    command = [str(Path(env["ANSIBLE_PYTHON_INTERPRETER"]).parent / "ansible-playbook"), "-i", "localhost,"]
    command.append(str(playbook))
    control.reset()
    try:
        with measured(row):
            # A session of its own, so that a timeout stops ansible-playbook's forked workers too.
            process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=os.environ | env,
                start_new_session=True,
            )
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                raise
            done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    except subprocess.TimeoutExpired:
        row.error = f"timed out after {timeout:.0f} s (the requests are those sent until then)"
    row.by_method, row.by_path, row.login = split_log(control.read(), 0)
    row.total = sum(row.by_method.values())
    if row.error:
        return row
    row.total = sum(row.by_method.values())
    row.wall_s, row.cpu_s = row.proc_wall_s, row.proc_cpu_s
    counts = peer_ansible.recap(done.stdout)
    row.changes = peer_ansible.changed_items(done.stdout)
    row.worker = {"recap": counts, "returncode": done.returncode}
    if done.returncode != 0 or counts.get("failed"):
        failed = [line for line in done.stdout.splitlines() if line.startswith(("fatal:", "failed:"))]
        row.error = (failed or done.stderr.strip().splitlines() or ["ansible-playbook failed"])[-1][:600]
    return row


@contextmanager
def measured(row: Row) -> Iterator[None]:
    """Wall and CPU seconds of the whole child process (interpreter start, imports, spec, login)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    yield
    row.proc_wall_s = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    row.proc_cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


@contextmanager
def sandbox(latency_ms: int) -> Iterator[str]:
    from realmctl.sandbox import Sandbox

    with Sandbox(latency_ms=latency_ms) as sb:
        yield sb.url


def scenario(
    size: str,
    latency_ms: int,
    spec_dir: Path,
    steps: list[tuple[str, str]],
    trace: bool,
    timeout: float,
    profile_dir: Path | None,
) -> list[Row]:
    """Every step against one fresh sandbox; stops at the first failed step (later ones depend on it)."""
    rows = []
    with sandbox(latency_ms) as url:
        control = Control(url)
        for tool, step in steps:
            row = run_step(control, spec_dir, Row(size, latency_ms, tool, step), trace, timeout, profile_dir)
            rows.append(row)
            mark = f"error: {row.error}" if row.error else f"{row.total} requests, {row.wall_s:.2f} s"
            print(f"  {size} {latency_ms:>2} ms {tool:<8} {step:<11} {mark}", file=sys.stderr, flush=True)
            if row.error and row.wall_s is None:
                break
    return rows


def real_scenario(
    size: str,
    spec_dir: Path,
    steps: list[tuple[str, str]],
    control: ProxyControl,
    server: str,
    names: list[str],
    peer: tuple[Path, dict[str, str]] | None,
    timeout: float,
    profile_dir: Path | None,
    peer_timeout: float = 3600,
) -> list[Row]:
    """The steps against a real Keycloak, then the peer's apply from empty and again, each from no realm."""
    rows: list[Row] = []

    def note(row: Row) -> None:
        rows.append(row)
        mark = f"error: {row.error}" if row.error else f"{row.total} requests, {row.wall_s:.2f} s"
        print(f"  {size} {server} {row.tool:<8} {row.step:<11} {mark}", file=sys.stderr, flush=True)

    control.delete_realms(names)
    for tool, step in steps:
        note(run_step(control, spec_dir, Row(size, 0, tool, step, server=server), False, timeout, profile_dir))
        if rows[-1].error and rows[-1].wall_s is None:
            break
    if peer is not None:
        control.delete_realms(names)
        for step in ("apply-empty", "apply-noop"):
            row = Row(size, 0, "ansible", step, server=server)
            note(run_ansible_step(control, peer[0], peer[1], row, peer_timeout))
    control.delete_realms(names)
    return rows


def medians(runs: list[list[Row]]) -> list[Row]:
    """One row per step: the first run's counts, the median of each time and RSS over the runs.

    Every run's value is kept in `samples`; a request count that differs between runs is noted
    in the row's error column (it never has so far, but a real server could, e.g. a token refresh).
    """
    if len(runs) == 1:
        return runs[0]
    out = []
    for first in runs[0]:
        same = [
            r
            for run in runs
            for r in run
            if (r.size, r.latency_ms, r.server, r.tool, r.step)
            == (first.size, first.latency_ms, first.server, first.tool, first.step)
        ]
        row = Row(**{k: v for k, v in asdict(first).items() if k != "samples"})
        for name in ("wall_s", "cpu_s", "proc_wall_s", "proc_cpu_s", "maxrss_mb"):
            values = [getattr(r, name) for r in same if getattr(r, name) is not None]
            row.samples[name] = values
            if values:
                setattr(row, name, statistics.median(values))
        totals = sorted({r.total for r in same})
        if len(totals) > 1 and not row.error:
            row.error = f"request totals differ between runs: {totals}"
        out.append(row)
    return out


# -- report -----------------------------------------------------------------------------------------------


def classify(by_path: dict[str, int]) -> dict[str, int]:
    """GET requests as once-per-realm lists, per-granted-role listings, and per-object reads."""
    out = {"per realm": 0, "per granted role": 0, "per object": 0}
    for key, n in by_path.items():
        method, template = key.split(" ", 1)
        if method != "GET":
            continue
        group = "per realm" if template in PER_REALM else "per granted role" if template in PER_GRANTED_ROLE else None
        out[group or "per object"] += n
    return out


def table(rows: list[Row], memory: dict[tuple[str, str, str], Row]) -> str:
    """Markdown table, one line per step, memory from the traced pass merged in."""
    head = (
        "| size | server | tool | reads | step | GET | POST | PUT | DELETE | total | login | changes | wall s | CPU s |"
    )
    head += " process wall s | process CPU s | RSS MB | heap MB |"
    lines = [head, "|" + "---|" * 18]
    for r in rows:
        traced = memory.get((r.size, r.tool, r.step))
        heap = traced.tracemalloc_peak_mb if traced else None
        m = r.by_method
        cells = [
            r.size,
            r.server or f"sandbox {r.latency_ms} ms",
            r.tool,
            r.strategy,
            r.step,
            *(str(m.get(k, 0)) for k in ("GET", "POST", "PUT", "DELETE")),
            str(r.total),
            str(r.login),
            "" if r.changes is None else str(r.changes),
            "" if r.wall_s is None else f"{r.wall_s:.2f}",
            "" if r.cpu_s is None else f"{r.cpu_s:.2f}",
            "" if r.proc_wall_s is None else f"{r.proc_wall_s:.2f}",
            "" if r.proc_cpu_s is None else f"{r.proc_cpu_s:.2f}",
            "" if r.maxrss_mb is None else f"{r.maxrss_mb:.0f}",
            "" if heap is None else f"{heap:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |" + (f" {r.error}" if r.error else ""))
    return "\n".join(lines)


def summary(rows: list[Row]) -> list[str]:
    """Baseline ratios, the no-op writes check and the GET classification of each plan after apply."""
    out = []
    find = {(r.size, r.latency_ms, r.tool, r.step): r for r in rows}
    for (size, ms, tool, step), r in find.items():
        if tool != "realmctl":
            continue
        if step.startswith("plan"):
            base = find.get((size, ms, "baseline", step))
            if base and r.total:
                ratio = base.total / r.total
                out.append(f"{size} {ms} ms {step}: baseline {base.total} / realmctl {r.total} = {ratio:.1f}x")
        if step == "plan-after":
            parts = ", ".join(f"{k} {v}" for k, v in classify(r.by_path).items())
            out.append(f"{size} {ms} ms plan-after GETs: {parts}")
        if step == "apply-noop":
            verdict = "ok" if r.writes == 0 else "MISSED: must be 0"
            out.append(f"{size} {ms} ms apply-noop writes: {r.writes} ({verdict})")
        if step == "apply-empty" and r.changes is not None:
            out.append(f"{size} {ms} ms apply-empty: {r.writes} writes for {r.changes} changes")
    return out


def templates(rows: list[Row], tool: str = "realmctl", step: str = "plan-after") -> str:
    """Requests of one step by path template, one column per size (the first latency of each)."""
    chosen: dict[str, Row] = {}
    for r in rows:
        if r.tool == tool and r.step == step and r.size not in chosen:
            chosen[r.size] = r
    if not chosen:
        return ""
    keys = sorted(
        {k for r in chosen.values() for k in r.by_path},
        key=lambda k: -max(r.by_path.get(k, 0) for r in chosen.values()),
    )
    lines = ["| " + " | ".join(["request", *chosen]) + " |", "|---|" + "---:|" * len(chosen)]
    lines += ["| `" + k + "` | " + " | ".join(str(r.by_path.get(k, 0)) for r in chosen.values()) + " |" for k in keys]
    return "\n".join(lines)


def targets(rows: list[Row], memory: list[Row]) -> list[str]:
    """PASS/MISS against the targets of issue #8, for the rows this run has."""
    find = {(r.size, r.latency_ms, r.tool, r.step): r for r in rows}
    out = []

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    for (size, ms, tool, step), r in sorted(find.items()):
        if tool != "realmctl" or r.error:
            continue
        if step == "apply-noop":
            out.append(
                f"{verdict(r.writes == 0)} {size} {ms} ms apply with nothing to do: {r.writes} writes (target 0)"
            )
        if size != "L":
            continue
        base = find.get((size, ms, "baseline", step))
        if step == "plan-after":
            kinds = classify(r.by_path)
            text = ", ".join(f"{n} {k}" for k, n in kinds.items())
            out.append(
                f"{verdict(kinds['per object'] == 0)} L {ms} ms plan requests: {text} (target: no per-object reads)"
            )
        if step == "plan-after" and base is not None and r.total:
            ratio = base.total / r.total
            out.append(
                f"{verdict(ratio >= 20)} L {ms} ms plan requests: {r.total}, {ratio:.1f}x fewer than baseline (>= 20x)"
            )
        if step == "plan-after" and ms == 5 and r.wall_s is not None:
            out.append(f"{verdict(r.wall_s < 1.5)} L 5 ms plan wall time: {r.wall_s:.2f} s (target < 1.5 s)")
        if step == "apply-empty" and ms == 5 and r.wall_s is not None:
            out.append(f"{verdict(r.wall_s < 10)} L 5 ms apply from empty: {r.wall_s:.2f} s (target < 10 s)")
            same = r.writes == r.changes
            out.append(f"{verdict(same)} L 5 ms apply from empty: {r.writes} writes for {r.changes} changes (equal)")
    # RSS from the untraced workers (tracemalloc's own bookkeeping inflates the traced ones).
    rss = max((r.maxrss_mb or 0.0 for r in rows if r.size == "L" and r.tool == "realmctl"), default=None)
    heap = max((m.tracemalloc_peak_mb or 0.0 for m in memory if m.size == "L"), default=None)
    if rss is not None:
        shown = "" if heap is None else f", Python heap {heap:.1f} MB"
        out.append(f"{verdict(rss < 200)} L peak memory: RSS {rss:.0f} MB{shown} (target < 200 MB)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["S", "M", "L"])
    parser.add_argument("--latencies", nargs="+", type=int, default=[0, 5], metavar="MS")
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive baseline's steps")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per step before it is killed")
    parser.add_argument("--profile", type=Path, help="write a cProfile .pstats file per step into this directory")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--keycloak",
        metavar="URL",
        help="measure against this real Keycloak (admin/admin), through a counting proxy, instead of the sandbox; "
        "the benchmark's realms (<realm prefix>-*) are deleted before and after; --latencies and the memory pass "
        "do not apply",
    )
    parser.add_argument(
        "--realm-prefix",
        default="bench",
        help="realm names are <prefix>-<size>-<n> (default bench); on a shared server take one of your own",
    )
    parser.add_argument(
        "--peer",
        choices=["ansible"],
        help="with --keycloak: also run Ansible's community.general keycloak modules (apply from empty, again)",
    )
    parser.add_argument("--peer-only", action="store_true", help="with --peer: run only the peer's steps")
    parser.add_argument(
        "--peer-timeout", type=float, default=3600, help="seconds per peer step (Ansible at S: ~10 min here)"
    )
    parser.add_argument(
        "--ansible-venv", type=Path, default=Path.home() / ".cache" / "realmctl" / "bench" / "ansible-venv"
    )
    parser.add_argument(
        "--read-strategy",
        choices=["listings", "export"],
        default="listings",
        help="realmctl's read strategy (export: one partial export per realm, a POST needing manage-realm)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="run every scenario N times; times are the median")
    # worker mode (internal)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--tool", help=argparse.SUPPRESS)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        profile = str(args.profile) if args.profile else None
        print(json.dumps(worker(args.url, args.spec, args.tool, args.step, args.trace, profile, args.read_strategy)))
        return 0
    global READ_STRATEGY
    READ_STRATEGY = args.read_strategy

    steps = [s for s in STEPS if not (args.no_baseline and s[0] == "baseline")]
    if args.peer_only:
        steps = []
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    rows: list[Row] = []
    traced: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="realmctl-bench-") as tmp, contextlib.ExitStack() as stack:
        control = None
        peer = None
        if args.keycloak:
            proxy = stack.enter_context(CountingProxy(args.keycloak))
            control = ProxyControl(proxy, args.keycloak)
            server = f"Keycloak {control.version()}"
        for size in args.sizes:
            spec_dir = Path(tmp) / size
            write(SIZES[size], spec_dir, args.seed, args.realm_prefix)
            if control is not None:
                documents = generate(SIZES[size], args.seed, args.realm_prefix)
                if args.peer == "ansible":
                    env = peer_ansible.ensure(args.ansible_venv)
                    book = peer_ansible.playbook(documents, control.url, Path(tmp) / f"{size}-playbook.yml")
                    peer = (book, env)
                runs = [
                    real_scenario(
                        size, spec_dir, steps, control, server, list(documents), peer, args.timeout, args.profile
                    )
                    for _ in range(args.repeat)
                ]
                rows += medians(runs)
                continue
            for ms in args.latencies:
                runs = [
                    scenario(size, ms, spec_dir, steps, False, args.timeout, args.profile) for _ in range(args.repeat)
                ]
                rows += medians(runs)
            if not args.no_memory:
                mine = [s for s in steps if s[0] == "realmctl"]
                traced += scenario(size, 0, spec_dir, mine, True, args.timeout * 4, None)
    memory = {(r.size, r.tool, r.step): r for r in traced}
    print(table(rows, memory))
    print()
    print("\n".join(summary(rows)))
    print()
    print("\n".join(targets(rows, traced)))
    print()
    print("realmctl plan after apply, requests by path template:\n")
    print(templates(rows))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    body = {
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks.run", *(argv or sys.argv[1:])]),
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "sizes": {s: asdict(SIZES[s]) for s in args.sizes},
        "rows": [asdict(r) | {"writes": r.writes} for r in rows],
        "memory": [asdict(r) for r in traced],
        "summary": summary(rows),
        "targets": targets(rows, traced),
    }
    path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 1 if any(r.error for r in rows + traced) else 0


if __name__ == "__main__":
    sys.exit(main())
