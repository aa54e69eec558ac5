"""The chain rules over the snapshot with the plan applied in memory (issue #16 item 4).

`plan_effects` evaluates the stored-token rules (broker, upkeep) twice per realm the plan touches:
on the live snapshot and on a `PlannedView` of it, and returns the findings the plan would create
and those it would fix. A spec change that breaks a working chain (say `storeToken: false` on an
IdP that readers rely on) is thus an error of `check` and a warning of `plan` before it is applied.

Limits, on purpose: token-exchange rules are evaluated on the live state only (their facts, FGAP v1
permissions and policies, are not simulated, and a guess there would fail a pull request for
nothing); effective roles after the plan are the live ones plus the grants the plan adds minus the
direct grants it removes (a role also held through a group stays counted as removed). Realms that
do not exist yet are left to the live rules (which report them missing).
"""

import copy
from dataclasses import replace
from typing import Any

from realmctl.check.broker import check_realm as broker_rules
from realmctl.check.facts import Facts
from realmctl.check.findings import Finding
from realmctl.check.upkeep import check_realm as upkeep_rules
from realmctl.engine import Run
from realmctl.kinds import BY_NAME, RealmState
from realmctl.planned import PlannedView
from realmctl.spec.model import Spec


class PlannedState:
    """A realm's reader as the rules see it after the plan: the planned objects from the view,
    everything else (users, links, composites) from the snapshot's reader, whose cache holds it."""

    def __init__(self, state: RealmState, view: PlannedView) -> None:
        self._state = state
        self.view = view

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state, name)

    def idps(self) -> list[dict[str, Any]]:
        return list(self.view.idps.values())

    def idp(self, alias: str) -> dict[str, Any] | None:
        return self.view.idps.get(alias)

    def clients(self) -> list[dict[str, Any]]:
        return list(self.view.clients.values())

    def client(self, client_id: str) -> dict[str, Any] | None:
        return self.view.clients.get(client_id)

    def client_scopes(self) -> list[dict[str, Any]]:
        return list(self.view.scopes.values())

    def scope(self, name: str) -> dict[str, Any] | None:
        return self.view.scopes.get(name)

    def scope_mappings(self, owner: str, name: str) -> dict[str, Any]:
        if (owner, name) in self.view.scope_mappings:
            return self.view.scope_mappings[(owner, name)]
        gone = self.client(name) is None if owner == "client" else self.scope(name) is None
        return {} if gone else self._state.scope_mappings(owner, name)

    def users(self, usernames: Any) -> dict[str, dict[str, Any]]:
        names = [u.lower() for u in usernames]
        found = self._state.users([u for u in names if u not in self.view.new_users])
        return found | {u: {"username": u, "id": None} for u in names if u in self.view.new_users}


class PlannedFacts(Facts):
    """Facts after the plan: a user's effective roles and links account for the planned grants
    and for users the plan creates (who hold only what it grants, and are linked to nothing)."""

    def __init__(self, state: PlannedState) -> None:
        super().__init__(state)  # type: ignore[arg-type]  # a RealmState as far as the rules can tell
        self.view = state.view

    def effective_client_roles(self, username: str, client_id: str) -> set[str]:
        name = username.lower()
        roles = set() if name in self.view.new_users else super().effective_client_roles(username, client_id)
        key = ("user", name)
        roles |= {r for c, r in self.view.granted.get(key, set()) if c == client_id}
        return roles - {r for c, r in self.view.revoked.get(key, set()) if c == client_id}

    def links(self, username: str) -> set[str]:
        return set() if username.lower() in self.view.new_users else super().links(username)


def planned_view(state: RealmState, run: Run) -> PlannedView:
    """The realm's view with every planned change of the realm applied, in the plan's order."""
    changes = [c for c in run.plan.changes if c.realm == state.realm]
    view = PlannedView(
        state.realm,
        idps={i["alias"]: copy.deepcopy(i) for i in state.idps()},
        clients={c["clientId"]: copy.deepcopy(c) for c in state.clients()},
        scopes={s["name"]: copy.deepcopy(s) for s in state.client_scopes()},
        realm_default_scopes=[s.get("name", "") for s in state.realm_default_scopes()],
    )
    for change in changes:
        if change.kind == "scope-mapping" and (change.key[0], change.key[1]) not in view.scope_mappings:
            owner, name = change.key[0], change.key[1]
            view.scope_mappings[(owner, name)] = copy.deepcopy(state.scope_mappings(owner, name))
        BY_NAME[change.kind].simulate(view, change)
    return view


def _rules(spec: Spec, realm: str, facts: Facts, broker_v1: bool) -> list[Finding]:
    found, _ = broker_rules(spec, realm, facts) if broker_v1 else ([], 0)
    return found + upkeep_rules(spec, realm, facts)


def _key(f: Finding) -> tuple[str, str, str]:
    return (f.rule, f.realm, f.subject)


#: Kinds whose changes alter what the per-user rules read (a user's roles, links, the readable IdPs).
USER_FACTS = ("identity-provider", "user", "role-grant", "membership")


def focused(spec: Spec, realm: str, run: Run) -> Spec:
    """`spec` with the realm's users (and users of its grants) narrowed to those the plan changes.

    The per-user rules cost two reads per user; a plan that changes no user, grant or IdP cannot
    change their findings, so `plan` does not pay for them. Entries keep their places (positions).
    """
    changes = [c for c in run.plan.changes if c.realm == realm]
    if any(c.kind == "identity-provider" for c in changes):
        return spec
    users = {c.key[0].lower() for c in changes if c.kind == "user"}
    users |= {c.key[1] for c in changes if c.kind in USER_FACTS[2:] and c.key[0] == "user"}
    rs = dict(spec.realms[realm])
    rs["users"] = {u: v for u, v in (rs.get("users") or {}).items() if u.lower() in users}
    rs["roleGrants"] = [
        {**g, "users": [u for u in g.get("users") or [] if u.lower() in users]} for g in rs.get("roleGrants") or []
    ]
    return replace(spec, realms={**spec.realms, realm: rs})


def plan_effects(
    spec: Spec, run: Run, focus: bool = False, broker_v1: bool = True
) -> tuple[list[Finding], list[Finding]]:
    """(findings the plan would create, live findings it would fix), each marked with `plan`.

    With `focus` (for `plan`), rules about users the plan does not touch are skipped, see `focused`.
    `broker_v1` is False where the server runs the Identity Brokering API v2 (its rules are in
    check/modern.py and judge the live state only).
    """
    created: list[Finding] = []
    fixed: list[Finding] = []
    for realm in spec.realms:
        state = run.states[realm]
        if not any(c.realm == realm for c in run.plan.changes) or state.realm_rep() is None:
            continue
        view = planned_view(state, run)
        if not view.touched:
            continue
        rules_spec = focused(spec, realm, run) if focus else spec
        live = _rules(rules_spec, realm, Facts(state), broker_v1)
        after = _rules(rules_spec, realm, PlannedFacts(PlannedState(state, view)), broker_v1)
        before_keys, after_keys = {_key(f) for f in live}, {_key(f) for f in after}
        created += [replace(f, plan="creates") for f in after if _key(f) not in before_keys]
        fixed += [replace(f, plan="fixes") for f in live if _key(f) not in after_keys]
    return created, fixed


def plan_warnings(created: list[Finding]) -> list[str]:
    """The findings a plan would create, as lines of the plan's warnings section."""
    return [
        f"applying this plan breaks a chain ({f.severity} {f.rule}, realm {f.realm}, {f.subject}): {f.message}"
        for f in created
    ]


__all__ = ["PlannedFacts", "PlannedState", "plan_effects", "plan_warnings", "planned_view"]
