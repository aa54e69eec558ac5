"""The stages run one way (issue #16, first "done" point): gather -> compile -> diff -> execute.

The import graph says which stage may know which (no stage imports one after it, and neither
compile nor diff imports the Keycloak session), and the recorded snapshots of tests/core show it at
run time: diff plans from what gather read with the readers' connection unusable, and a read
gather did not make is refused by name instead of being sent.
"""

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from realmctl.engine import make_plan, plan_from
from realmctl.gather import gather
from realmctl.kinds import registered
from realmctl.kinds.base import Context, Kind
from realmctl.live import UndeclaredRead
from realmctl.plan import Live, Resource
from tests.core.offline import OfflineApi
from tests.core.test_core import NAMES, fixture, spec_of

ROOT = Path(__file__).resolve().parents[2] / "realmctl"
#: The stages in their order; each may import those before it, never one after it.
STAGES = ["compile", "gather", "diff", "engine"]


def imports(module: str) -> set[str]:
    """The realmctl modules `realmctl/<module>.py` imports, at any level of the file."""
    tree = ast.parse((ROOT / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {name for name in found if name.startswith("realmctl")}


@pytest.mark.parametrize("stage", STAGES)
def test_no_stage_imports_a_later_one(stage: str) -> None:
    later = {f"realmctl.{s}" for s in STAGES[STAGES.index(stage) + 1 :]}
    assert not {name for name in imports(stage) if name in later or name.rsplit(".", 1)[0] in later}


@pytest.mark.parametrize("stage", ["compile", "diff"])
def test_compile_and_diff_hold_no_connection(stage: str) -> None:
    assert not {name for name in imports(stage) if name.startswith("realmctl.keycloak")}


class Unreachable:
    """Stands in for a reader's connection after gather: any use fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"diff used the server connection ({name})")


def changes(run: Any) -> list[str]:
    return [json.dumps(c.to_json(), sort_keys=True, default=str) for c in run.plan.changes]


@pytest.mark.parametrize("name", NAMES)
def test_diff_plans_from_the_snapshot_with_no_connection(name: str) -> None:
    api = OfflineApi(fixture(name)["reads"])
    spec = spec_of(name)
    snapshot = gather(spec, api)
    sent = len(api.sent)
    for state in snapshot.states.values():
        state.api = Unreachable()  # type: ignore[assignment]
    run = plan_from(spec, snapshot, api.settings.url)
    assert len(api.sent) == sent, "diff sent a request"
    assert changes(run) == changes(make_plan(spec, OfflineApi(fixture(name)["reads"])))


def test_a_read_gather_did_not_make_is_refused_by_name() -> None:
    """As if a kind read the clients only while building its calls: the reader's cache lacks them."""
    api = OfflineApi(fixture("stored-changed")["reads"])
    spec = spec_of("stored-changed")
    snapshot = gather(spec, api)
    realm = next(iter(snapshot.states))
    state = snapshot.states[realm]
    state._cache.pop("clients")
    sent = len(api.sent)
    with pytest.raises(UndeclaredRead, match=f"GET /admin/realms/{realm}/clients; gather did not read it"):
        plan_from(spec, snapshot, api.settings.url)
    assert len(api.sent) == sent


class RealmReading(Kind):
    """A test's kind whose `desired` consults the realm's representation under a key of its own:
    read by `prepare` (as gather runs it) when `declare` is set, else not at all."""

    name = "test-realm-reading"
    title = "test"

    def __init__(self, declare: bool) -> None:
        self.declare = declare

    def _rep(self, ctx: Context) -> Any:
        return ctx.state._once(("test-rep",), lambda: ctx.state.api.get_or_none(ctx.state.base))

    def prepare(self, ctx: Context) -> None:
        if self.declare:
            self._rep(ctx)

    def desired(self, ctx: Context) -> list[Resource]:
        self._rep(ctx)
        return []

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        return []


@pytest.mark.parametrize("declare", [True, False])
def test_compile_answers_only_from_the_reads_gather_made_for_it(declare: bool) -> None:
    api = OfflineApi(fixture("stored-changed")["reads"])
    spec = spec_of("stored-changed")
    realm = next(iter(spec.realms))
    with registered(RealmReading(declare)):
        if declare:
            gather(spec, api)
        else:
            with pytest.raises(UndeclaredRead, match=f"GET /admin/realms/{realm}; gather did not read it"):
                gather(spec, api)
