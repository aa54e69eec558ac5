"""A kind is one file (issue #16 item 2): a new kind, written here and registered for the test
only, is planned, applied, planned again as converged, exported and deleted, without any other
module knowing it.

The kind manages subgroups of top-level groups (`subgroups: {staff: [oncall]}` in a realm's spec):
its key, bulk read and normaliser, diff (the default), ownership (realmctl's marker attribute),
calls and export inverse are all in `SubgroupKind` below. The spec is built in code because the
schema (schemas/realmctl.schema.json, which `load_spec` validates against) is the one other place
a real kind's section is declared.

Runs against the sandbox by default and against a real Keycloak when REALMCTL_TEST_URL is set.
"""

from collections.abc import Iterator
from typing import Any

import pytest

from realmctl.calls import Call
from realmctl.engine import apply_plan, make_plan
from realmctl.export import export_realms, parse_kinds
from realmctl.keycloak.session import Api, Settings
from realmctl.kinds import BY_NAME, KINDS, RealmState, registered
from realmctl.kinds.base import Build, Context, Kind, is_owned
from realmctl.kinds.inverse import RealmExport
from realmctl.live import OWNED_MARKER
from realmctl.plan import Change, Live, Resource
from realmctl.render import as_json, markdown, text
from realmctl.spec.model import Spec
from tests.helpers import Admin, unique


def children(state: RealmState, parent: str) -> list[dict[str, Any]]:
    """The kind's bulk read: a group's subgroups, one listing per parent, fetched once per run
    through the reader's shared single-flight cache."""
    gid = state.group_id(parent)
    if gid is None:
        return []
    path = f"{state.base}/groups/{gid}/children"
    return state._once(("children", parent), lambda: state.api.get(path, briefRepresentation="false") or [])


class SubgroupKind(Kind):
    name = "subgroup"
    title = "subgroup"
    depends_on = ("group",)
    export_as = "subgroups"
    export_section = "subgroups"  # not in the schema: exported after every section it lists

    def describe(self, key: tuple[str, ...]) -> str:
        return f"subgroup {key[1]} of group {key[0]}"

    def export(self, ex: RealmExport) -> None:
        if "subgroups" not in ex.kinds:
            return
        out = {}
        for group in sorted(ex.state.groups(), key=lambda g: g["name"]):
            names = sorted(c["name"] for c in children(ex.state, group["name"]))
            if names:
                out[group["name"]] = names
        if out:
            ex.spec["subgroups"] = out

    def desired(self, ctx: Context) -> list[Resource]:
        return [
            ctx.resource(self.name, (parent, child), {}, "subgroups", parent)
            for parent, names in (ctx.realm_spec.get("subgroups") or {}).items()
            for child in names
        ]

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        keys = {r.key for r in wanted}
        parents = {k[0] for k in keys} | {g["name"] for g in ctx.state.groups()}
        out = []
        for parent in sorted(parents):
            for child in children(ctx.state, parent):
                key, owned = (parent, child["name"]), is_owned(child.get("attributes"))
                if key in keys or owned:
                    out.append(Live(key, {}, id=child["id"], owned=owned, raw=child))
        return out

    def calls(self, change: Change, b: Build) -> list[Call]:
        """The requests of one change, built from the snapshot: a parent group made in the same
        run is a `Ref` its create answers."""
        base = b.base(change.realm)
        if change.action == "delete":
            assert change.live
            return [Call("DELETE", (base, "groups", change.live.id))]
        assert change.action == "create", "subgroups have no managed fields"
        parent, child = change.key
        body = {"name": child, "attributes": {OWNED_MARKER: ["true"]}}
        return [Call("POST", (base, "groups", b.group(change.realm, parent), "children"), body)]


class Target:
    def __init__(self, keycloak: Any) -> None:
        self.realm = unique("newkind")
        self.admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)
        self.api = Api(Settings(url=keycloak.url, user=keycloak.admin_user, password=keycloak.admin_password))
        self.api.login()

    def spec(self, subgroups: dict[str, list[str]]) -> Spec:
        return Spec({self.realm: {"groups": ["staff"], "subgroups": subgroups}})

    def subgroups(self) -> set[str]:
        base = f"admin/realms/{self.realm}/groups"
        staff = next(g for g in self.admin.get(base) if g["name"] == "staff")
        return {c["name"] for c in self.admin.get(f"{base}/{staff['id']}/children")}


@pytest.fixture
def target(keycloak: Any) -> Iterator[Target]:
    t = Target(keycloak)
    yield t
    t.admin.call("DELETE", f"admin/realms/{t.realm}")


def test_a_kind_written_in_one_place_is_planned_applied_exported_and_deleted(target: Target) -> None:
    with registered(SubgroupKind()):
        run = make_plan(target.spec({"staff": ["oncall", "leads"]}), target.api)
        mine = [c for c in run.plan.changes if c.kind == "subgroup"]
        assert [(c.action, c.key) for c in mine] == [("create", ("staff", "leads")), ("create", ("staff", "oncall"))]
        for rendered in (text(run.plan), markdown(run.plan), as_json(run.plan)):
            assert "leads" in rendered
        assert "subgroup oncall of group staff" in text(run.plan)
        # Ordered after the group it depends on (the realm and the group are created first).
        order = [c.kind for c in run.plan.changes]
        assert order.index("group") < order.index("subgroup")

        result = apply_plan(run)
        assert not result.failed, result.failed
        assert target.subgroups() == {"oncall", "leads"}
        again = make_plan(target.spec({"staff": ["oncall", "leads"]}), target.api)
        assert again.plan.changes == [], [(c.kind, c.key) for c in again.plan.changes]

        exported = export_realms(target.api, [target.realm], parse_kinds("groups,subgroups"))
        realm = exported.spec["realms"][target.realm]
        assert realm == {"groups": ["staff"], "subgroups": {"staff": ["leads", "oncall"]}}
        assert list(realm) == ["groups", "subgroups"]  # the schema's sections first, then the kind's

        run = make_plan(target.spec({"staff": ["oncall"]}), target.api)
        assert [(c.action, c.key) for c in run.plan.changes] == [("delete", ("staff", "leads"))]
        assert not apply_plan(run).failed
        assert target.subgroups() == {"oncall"}
    assert "subgroup" not in BY_NAME and all(k.name != "subgroup" for k in KINDS)
    assert "subgroups" not in parse_kinds("all")
