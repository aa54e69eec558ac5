"""Request budget of plan and apply: exact counts for the S and M benchmark specs, so a regression fails CI.

The specs come from benchmarks/specgen.py (seeded, so always the same objects); each test runs
against its own fresh in-memory sandbox and reads the server's request log (`/sandbox/requests`),
with the token endpoint (login, refresh) left out. The same numbers are in docs/benchmarks.md.

When an engine change LOWERS a count, lower the number here in the same commit (and say so); when
it raises one, that is the regression these tests exist to catch. The whole file takes a few
seconds (M's apply from empty sends ~2,400 requests at 0 ms latency), so M runs in full: no
"M-lite" was needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from benchmarks.specgen import SIZES, write
from realmctl.engine import apply_plan, make_plan
from realmctl.keycloak.session import Api, Settings
from realmctl.sandbox import Sandbox
from realmctl.spec.loader import load_spec
from realmctl.spec.model import Spec
from tests.helpers import Admin

pytestmark = pytest.mark.sandbox_only

TOKEN_PATH = "/realms/{realm}/protocol/openid-connect/token"


@dataclass(frozen=True)
class Budget:
    """Requests by method (login excluded) of each step of one size."""

    plan_cold: dict[str, int]
    apply_empty: dict[str, int]
    apply_noop: dict[str, int]
    plan_after: dict[str, int]


BUDGETS = {
    # S: 1 realm, 5 clients, 2 IdPs, 20 users (94 objects and links to create).
    "S": Budget(
        plan_cold={"GET": 1},
        # 12 since #16's pre-built calls (21 before): the executor no longer re-reads listings or the
        # new clients; left are one read per created role (Keycloak's Location names a role, not its
        # id), the new realm's built-in listings its create reads, and per realm the ownership
        # record's re-read before and after its write (concurrent runs must not lose links).
        apply_empty={"GET": 12, "POST": 87, "PUT": 8},
        # 20 since #19 (24 before): group grants read from the group listing, no exchange policy
        # listing without a resource server, no users/count when one page holds the realm; 19: the
        # broker's role listing is not read where a declared role scope maps read-token.
        apply_noop={"GET": 19},
        plan_after={"GET": 19},
    ),
    # M: 2 realms, 50 clients, 10 IdPs, 500 users (1,750 objects and links to create).
    "M": Budget(
        plan_cold={"GET": 2},
        apply_empty={"GET": 44, "POST": 1650, "PUT": 102},  # 102 GETs before #16's pre-built calls
        apply_noop={"GET": 64},  # 74 before #19's cuts, 66 before the broker role listing's (see S)
        plan_after={"GET": 64},
    ),
}


class Counter:
    """The sandbox's request log around one step, by method, without the token endpoint."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.admin = Admin(sandbox.url, sandbox.admin_user, sandbox.admin_password)

    def reset(self) -> None:
        self.admin.reset_requests()

    def read(self) -> tuple[dict[str, int], dict[str, int]]:
        """(by method, by "METHOD path-template")."""
        by_method: dict[str, int] = {}
        by_path: dict[str, int] = {}
        for entry in self.admin.requests()["log"]:
            if entry["path"] == TOKEN_PATH:
                continue
            by_method[entry["method"]] = by_method.get(entry["method"], 0) + 1
            key = f"{entry['method']} {entry['path']}"
            by_path[key] = by_path.get(key, 0) + 1
        return by_method, by_path


@dataclass
class Bench:
    spec: Spec
    api: Api
    counter: Counter

    def step(self, apply: bool) -> tuple[dict[str, int], dict[str, int], int]:
        """One plan (and apply) as the CLI makes it: (by method, by path, number of planned changes)."""
        self.counter.reset()
        run = make_plan(self.spec, self.api)
        assert not run.plan.errors, run.plan.errors
        if apply:
            result = apply_plan(run)
            assert not result.failed, result.failed
        by_method, by_path = self.counter.read()
        return by_method, by_path, len(run.plan.changes)


@pytest.fixture(params=sorted(BUDGETS))
def bench(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Bench]]:
    size: str = request.param
    spec = load_spec([str(p) for p in write(SIZES[size], tmp_path)], env={})
    with Sandbox() as sb:
        api = Api(Settings(url=sb.url, user=sb.admin_user, password=sb.admin_password))
        api.login()
        yield size, Bench(spec, api, Counter(sb))


def explain(step: str, by_path: dict[str, Any]) -> str:
    rows = "\n".join(f"  {n:>5} {k}" for k, n in sorted(by_path.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{step}: requests by path template (update BUDGETS only for an improvement):\n{rows}"


def test_plan_and_apply_request_budget(bench: tuple[str, Bench]) -> None:
    size, b = bench
    budget = BUDGETS[size]
    spec = SIZES[size]

    by_method, by_path, changes = b.step(apply=False)
    assert by_method == budget.plan_cold, explain("plan against the empty server", by_path)
    assert sum(by_method.values()) == sum(budget.plan_cold.values()) == spec.realms

    by_method, by_path, created = b.step(apply=True)
    assert created == changes, "apply from empty must perform exactly the plan made against the empty server"
    assert by_method == budget.apply_empty, explain("apply from empty", by_path)

    by_method, by_path, changes = b.step(apply=True)
    assert changes == 0, "a second apply must find nothing to do"
    assert by_method == budget.apply_noop, explain("apply with nothing to do", by_path)
    assert sum(n for m, n in by_method.items() if m != "GET") == 0, "apply with nothing to do must not write"

    by_method, by_path, changes = b.step(apply=False)
    assert changes == 0
    assert by_method == budget.plan_after, explain("plan after apply", by_path)
    assert sum(by_method.values()) == sum(budget.plan_after.values())


#: `--read-strategy export` (realmctl/export_read.py): a plan of the applied S and M specs, by method.
#: One partial export (POST) per realm replaces the listings of clients, client scopes, roles, groups,
#: IdPs and the realm's default scopes and every per-client, per-scope and per-IdP listing; left are
#: per realm the realm, one clients listing for the declared secrets (masked in the export), the
#: users' pages, and the role and group members.
EXPORT_PLAN_AFTER = {"S": {"GET": 9, "POST": 1}, "M": {"GET": 18, "POST": 2}}


def test_plan_request_budget_with_the_export_read_strategy(bench: tuple[str, Bench]) -> None:
    size, b = bench
    b.step(apply=True)  # from empty: nothing to export, the same requests as listings
    b.api.read_strategy = "export"
    by_method, by_path, changes = b.step(apply=False)
    assert changes == 0, "export must read what listings read: the applied spec plans no change"
    assert by_method == EXPORT_PLAN_AFTER[size], explain("plan after apply, --read-strategy export", by_path)
    assert by_path["POST /admin/realms/{realm}/partial-export"] == SIZES[size].realms
    listed = sum(BUDGETS[size].plan_after.values())
    assert sum(by_method.values()) < listed / (1.8 if size == "S" else 3)
