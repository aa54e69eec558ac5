"""The core without HTTP: recorded snapshots in, plans out, in milliseconds (issue #16 item 3).

Fixtures (tests/core/fixtures/*.json, made by `python -m tests.core.record` from the sandbox) hold a
spec, the reads a plan of it made, and the plan's changes. Here the plan is recomputed from those
reads through `OfflineApi`, which has no connection and fails on any write. Generic tests iterate
every registered kind: it is covered by the fixtures, its plans send no write, applying a plan to
its own snapshot in memory leaves nothing to do, and each of its changes renders in text, json and
markdown.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from realmctl.diff import diff_unit
from realmctl.engine import Run, make_plan
from realmctl.kinds import BY_NAME, KINDS, REGISTERED, dependency_order
from realmctl.kinds.base import Kind
from realmctl.render import as_json, describe, markdown, md_text, text
from realmctl.spec.model import Spec
from tests.core.offline import OfflineApi
from tests.core.record import load, portable

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.json"))
NAMES = [f.stem for f in FIXTURES]


@cache
def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((Path(__file__).parent / "fixtures" / f"{name}.json").read_text())
    return body


@cache
def spec_of(name: str) -> Spec:
    body = fixture(name)
    return load(body["spec"], body["env"])


@cache
def plan_of(name: str) -> tuple[Run, OfflineApi]:
    api = OfflineApi(fixture(name)["reads"])
    return make_plan(spec_of(name), api), api


def planned(name: str) -> Run:
    return plan_of(name)[0]


@pytest.mark.parametrize("name", NAMES)
def test_the_plan_of_a_recorded_snapshot_is_the_recorded_plan(name: str) -> None:
    run, api = plan_of.__wrapped__(name)  # a fresh plan, not the cached one
    assert [portable(c.to_json()) for c in run.plan.changes] == fixture(name)["changes"]
    assert run.plan.errors == fixture(name)["errors"]
    assert api.writes == 0 and all(method == "GET" for method, _ in api.sent)


def kinds_changed() -> dict[str, set[str]]:
    """kind -> the actions the fixtures' plans hold for it."""
    out: dict[str, set[str]] = {}
    for name in NAMES:
        for change in fixture(name)["changes"]:
            out.setdefault(change["kind"], set()).add(change["action"])
    return out


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_every_kind_is_created_by_a_fixture_and_its_plans_send_no_write(kind: Kind) -> None:
    # The ownership record is never created: its write is an update of the realm's attribute.
    action = "update" if kind.name == "ownership-record" else "create"
    assert action in kinds_changed().get(kind.name, set()), (
        f"no fixture plans a {action} of {kind.name}: add a scenario to tests/core/scenarios.py and re-record"
    )
    for name in NAMES:
        if any(c["kind"] == kind.name for c in fixture(name)["changes"]):
            _, api = plan_of(name)
            assert api.writes == 0


@pytest.mark.parametrize("name", [n for n in NAMES if fixture(n)["changes"]])
def test_every_change_carries_its_calls_and_the_record_write_is_in_the_plan(name: str) -> None:
    """#16: a change holds the requests it sends (built from the snapshot, shown in the plan's
    JSON); the write of realmctl's ownership record, where a realm's plan makes or removes what
    the record notes, is one change, the realm's last."""
    run = planned(name)
    for change in run.plan.changes:
        assert change.calls, f"{change.kind} {change.label} carries no call"
        shown = change.to_json()["calls"]
        assert all(c["method"] in ("GET", "POST", "PUT", "DELETE") and c["path"].startswith("admin/") for c in shown)
    for realm in {c.realm for c in run.plan.changes}:
        kinds = [c.kind for c in run.plan.changes if c.realm == realm]
        assert kinds.count("ownership-record") <= 1 and "ownership-record" not in kinds[:-1], kinds
    assert any(c.kind == "ownership-record" for c in run.plan.changes)


def test_the_fixtures_update_and_delete_most_kinds() -> None:
    """Updates and deletes are where diffs go wrong; the fixtures exercise them widely."""
    changed = kinds_changed()
    assert sum("update" in a for a in changed.values()) >= 6
    assert sum("delete" in a for a in changed.values()) >= 6


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
@pytest.mark.parametrize("name", NAMES)
def test_a_plan_applied_to_its_own_snapshot_leaves_nothing_to_do(name: str, kind: Kind) -> None:
    run = planned(name)
    assert run.snapshot is not None
    for (realm, kind_name), wanted in run.snapshot.wanted.items():
        if kind_name != kind.name:
            continue
        lives = {live.key: live for live in run.snapshot.live(realm, kind.name)}
        for change in run.plan.changes:
            if change.realm == realm and change.kind == kind.name:
                after = kind.assume(change)
                if after is None:
                    lives.pop(change.key, None)
                else:
                    lives[change.key] = after
        left = diff_unit(kind, spec_of(name), realm, wanted, tuple(lives.values()))
        assert [(c.action, c.key, [f.path for f in c.fields]) for c in left] == []


@pytest.mark.parametrize("name", [n for n in NAMES if fixture(n)["changes"]])
def test_every_change_renders_in_text_json_and_markdown(name: str) -> None:
    run = planned(name)
    shown_text, shown_md = text(run.plan, colour=False), markdown(run.plan)
    shown_json = json.loads(as_json(run.plan))
    assert len(shown_json["changes"]) == len(run.plan.changes)
    for change, rendered in zip(run.plan.changes, shown_json["changes"], strict=True):
        assert describe(change) in shown_text
        assert md_text(describe(change)) in shown_md
        assert (rendered["kind"], rendered["key"], rendered["action"]) == (change.kind, list(change.key), change.action)
    for secret in fixture(name)["env"].values():
        assert secret not in shown_text + shown_md + json.dumps(shown_json)


def test_kinds_run_after_what_they_depend_on() -> None:
    rank = {k.name: i for i, k in enumerate(KINDS)}
    for kind in KINDS:
        assert all(rank[d] < rank[kind.name] for d in kind.depends_on), kind.name
    assert {k.name for k in KINDS} == {k.name for k in REGISTERED} == set(BY_NAME)


def test_a_dependency_cycle_or_an_unknown_dependency_is_refused() -> None:
    class A(Kind):
        name, title, depends_on = "a", "a", ("b",)

    class B(Kind):
        name, title, depends_on = "b", "b", ("a",)

    class C(Kind):
        name, title, depends_on = "c", "c", ("nowhere",)

    with pytest.raises(ValueError, match="cycle"):
        dependency_order([A(), B()])
    with pytest.raises(ValueError, match="unknown"):
        dependency_order([C()])


def test_a_kind_registered_before_its_dependency_still_runs_after_it() -> None:
    class Late(Kind):
        name, title, depends_on = "late", "late", ("early",)

    class Early(Kind):
        name, title = "early", "early"

    assert [k.name for k in dependency_order([Late(), Early()])] == ["early", "late"]
