"""Plan and apply: the spec and the live server in, ordered changes out, then executed.

`make_plan` reads (through `RealmState`), compiles and diffs; it never writes. `apply_plan`
performs exactly the planned changes in dependency order, records the links realmctl added, and
stops at the first failure with an account of what was and was not applied.
"""

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from realmctl.compile import expand
from realmctl.errors import RealmctlError
from realmctl.keycloak.session import Api
from realmctl.kinds import BY_NAME, KINDS
from realmctl.kinds.base import Context, LinkKind
from realmctl.live import LINKS_ATTRIBUTE, RealmState
from realmctl.plan import SENSITIVE, Change, FieldChange, Live, Plan, created_fields
from realmctl.spec.model import Spec

DEFAULT_MAX_DELETES = 10


def spec_digest(spec: Spec, salt: str) -> str:
    """A digest of what the spec asks for; secrets enter only as salted hashes."""

    def scrub(value: Any, path: tuple[Any, ...]) -> Any:
        if path in spec.sensitive:
            return hashlib.sha256((salt + str(value)).encode()).hexdigest()
        if isinstance(value, dict):
            return {k: scrub(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v, (*path, i)) for i, v in enumerate(value)]
        return value

    body = json.dumps(scrub({"realms": spec.realms}, ()), sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _live_digest(lives: list[tuple[str, str, Live]]) -> str:
    body = [(realm, kind, list(live.key), live.fields, live.owned) for realm, kind, live in lives]
    return hashlib.sha256(json.dumps(sorted(body, key=str), sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Run:
    """A computed plan with the live readers it was made from (the executor uses their ids)."""

    plan: Plan
    states: dict[str, RealmState]
    salt: str = field(default_factory=lambda: secrets.token_hex(8))


def make_plan(spec: Spec, api: Api, max_deletes: int = DEFAULT_MAX_DELETES, salt: str | None = None) -> Run:
    """Reads the live realms the spec names and diffs them against it. Sends no write."""
    salt = salt or secrets.token_hex(8)
    states = {realm: RealmState(api, realm) for realm in spec.realms}
    expanded = expand(spec, states, api)
    changes: list[Change] = []
    errors: list[str] = list(expanded.errors)
    seen: list[tuple[str, str, Live]] = []
    for realm, state in states.items():
        ctx = Context(spec, realm, state, expanded.realms[realm])
        for kind in KINDS:
            wanted = kind.desired(ctx)
            lives = {live.key: live for live in kind.read(ctx, wanted)}
            seen.extend((realm, kind.name, live) for live in lives.values())
            for resource in wanted:
                live = lives.pop(resource.key, None)
                if live is None:
                    secret = [FieldChange(kind.secret_path(n), None, None, sensitive=True) for n in resource.secrets]
                    fields = created_fields(resource.fields) + secret
                    changes.append(Change("create", realm, kind.name, resource.key, fields, resource=resource))
                    continue
                diff = kind.compare(resource, live)
                if diff:
                    changes.append(Change("update", realm, kind.name, resource.key, diff, resource=resource, live=live))
            for live in lives.values():
                if live.owned:
                    changes.append(Change("delete", realm, kind.name, live.key, live=live))
        errors.extend(ctx.errors)
    plan = Plan(order(changes), list(spec.realms), api.settings.url, errors=errors)
    deletes = plan.counts["delete"]
    if deletes > max_deletes:
        plan.errors.append(
            f"the plan deletes {deletes} objects realmctl owns, more than the limit of {max_deletes}; "
            "if that is intended, run again with --allow-mass-delete"
        )
    plan.live_digest = _live_digest(seen)
    plan.spec_digest = spec_digest(spec, salt)
    return Run(plan, states, salt)


def order(changes: list[Change]) -> list[Change]:
    """Deletes first, dependents before what they depend on; then creates and updates, by dependency."""
    rank = {k.name: k.order for k in KINDS}
    deletes = sorted((c for c in changes if c.action == "delete"), key=lambda c: (-rank[c.kind], c.realm, c.key))
    others = sorted(
        (c for c in changes if c.action != "delete"),
        key=lambda c: (c.realm != "", rank[c.kind], c.realm, c.key),
    )
    # Realms come first of all, whatever realm order the spec had.
    return deletes + others


@dataclass
class ApplyResult:
    applied: list[Change] = field(default_factory=list)
    failed: Change | None = None
    error: str | None = None
    skipped: list[Change] = field(default_factory=list)


def apply_plan(run: Run, progress: Callable[[int, int, Change], None] | None = None) -> ApplyResult:
    """Performs the planned changes in order; stops at the first failure."""
    result = ApplyResult()
    changes = run.plan.changes
    try:
        for i, change in enumerate(changes):
            state = run.states[change.realm]
            kind = BY_NAME[change.kind]
            if progress:
                progress(i, len(changes), change)
            try:
                getattr(kind, change.action)(state, change)
            except (RealmctlError, LookupError) as exc:
                result.failed, result.error = change, str(exc)
                result.skipped = changes[i + 1 :]
                break
            result.applied.append(change)
    finally:
        _record_links(run, result.applied)
    return result


def _record_links(run: Run, applied: list[Change]) -> None:
    """Adds created links to, and removes deleted links from, each realm's record of its own."""
    for realm, state in run.states.items():
        mine = [c for c in applied if c.realm == realm and isinstance(BY_NAME[c.kind], LinkKind)]
        if not mine:
            continue
        state.forget("realm")
        rep = state.realm_rep() or {}
        links = state.links()
        before = set(links)
        for change in mine:
            kind = BY_NAME[change.kind]
            assert isinstance(kind, LinkKind)
            record = kind.record_key(change.key)
            if change.action == "create":
                links.add(record)
            elif change.action == "delete":
                links.discard(record)
        if links != before:
            attributes = {**(rep.get("attributes") or {}), LINKS_ATTRIBUTE: json.dumps(sorted(links))}
            state.api.put(state.base, {"realm": realm, "attributes": attributes})
            state.forget("realm")


__all__ = ["SENSITIVE", "ApplyResult", "Run", "apply_plan", "make_plan"]
