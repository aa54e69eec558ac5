"""Ownership per spec: two teams keeping two specs for one realm never delete each other's objects.

Each spec names an owner (top-level `owner:`, default `default`). What realmctl made carries, as
before, its marker on the object or its entry in the realm attribute `realmctl.links`; which
*owner* holds it is said by that record:

* an entry written for the owner `default` keeps the form earlier versions wrote
  (`{"key": [...], "ids": [...]}`), and an object with the marker but no owner entry belongs to
  `default`: objects and links made by earlier versions are the default owner's, unchanged;
* any other owner's entries are wrapped, `{"owner": NAME, "of": <entry>}`, with the ids of the
  object (or of a link's two ends) so that a namesake made later is not taken for it. Earlier
  versions do not understand the wrapper and ignore it: they own less, never more. Objects a named
  owner creates get such an entry too (the marker alone says "made by realmctl", not by whom).

A plan then deletes only its own owner's objects and links, counts only those for the safety
limits, and refuses to manage an object another owner holds unless the spec adopts it
(`adopt: {realm: [[kind, ...key]]}`); adoption moves the object to this spec's owner, a change the
plan shows (`owner: "a" -> "b"`) and apply records.

The engine calls three hooks: `settle` after reading a kind, `transfers` after diffing it, and
`bookkeeping` when writing the record; live.py parses the wrapper (`unwrap`, `owner_of_entry`).
"""

import json
from typing import TYPE_CHECKING, Any

from realmctl.plan import Change, FieldChange, Live, Resource
from realmctl.spec.model import DEFAULT_OWNER, Spec

if TYPE_CHECKING:
    from realmctl.kinds import RealmState
    from realmctl.kinds.base import Context, Kind

__all__ = ["DEFAULT_OWNER", "bookkeeping", "owner_of_entry", "owner_only", "settle", "transfers", "unwrap", "wrap"]

#: Kinds that are containers shared by every spec of a realm, never held by one owner.
SHARED_KINDS = frozenset({"realm", "fgap"})


def wrap(entry: str, owner: str) -> str:
    """The record entry `entry` (as record_entry writes it) held by `owner`."""
    if owner == DEFAULT_OWNER:
        return entry
    return json.dumps({"owner": owner, "of": json.loads(entry)}, separators=(",", ":"))


def unwrap(parsed: Any) -> Any:
    """The entry inside an owner wrapper (the parsed JSON), or `parsed` itself."""
    if isinstance(parsed, dict) and isinstance(parsed.get("owner"), str) and "of" in parsed:
        return parsed["of"]
    return parsed


def owner_of_entry(raw: str) -> str:
    """The owner a record entry was written for (`default` for unwrapped entries)."""
    try:
        parsed = json.loads(raw)
    except (ValueError, TypeError):
        return DEFAULT_OWNER
    if isinstance(parsed, dict) and isinstance(parsed.get("owner"), str) and "of" in parsed:
        return str(parsed["owner"])
    return DEFAULT_OWNER


def adopts(spec: Spec, realm: str, kind: str, key: tuple[str, ...], holder: str | None) -> bool:
    """Whether the spec adopts (kind, *key) from `holder`: listed as `[kind, ...key]`, or
    `["*", holder]` for everything declared in the realm that `holder` holds (the migration of
    a whole spec to a named owner)."""
    adopted = spec.adopt.get(realm, set())
    return (kind, *key) in adopted or (holder is not None and ("*", holder) in adopted)


def _holder(state: "RealmState", kind: "Kind", live: Live) -> str:
    """Which owner holds an owned live object or link.

    For objects owned by their marker, a named owner's entry written by name only (the create did
    not answer an id) is upgraded to the live id, and an entry with another id (the object was
    re-made since) is dropped, at the next apply that changes the realm (as `RealmState.owns`)."""
    from realmctl.live import record_entry

    full = kind.record_key(live.key)
    found = state.entry_owner(full)  # set when the record matched a link's or user's ids
    if found is not None:
        return found
    holder = DEFAULT_OWNER
    for raw, ids in state.record_entries(full):
        if ids is None or (live.id is not None and ids == (live.id,)):
            holder = owner_of_entry(raw)
            if ids is None and live.id is not None and not kind.recorded:
                state._fix(raw, wrap(record_entry(full[0], full[1:], (live.id,)), holder))
        elif live.id is not None and not kind.recorded and not kind.link:
            state._fix(raw, None)
    return holder


def settle(kind: "Kind", ctx: "Context", wanted: list[Resource], lives: dict[tuple[str, ...], Live]) -> None:
    """After a kind's read: objects and links another owner holds are not this plan's to delete
    (nor counted for its safety limits); declaring an object another owner holds is an error,
    unless the spec adopts it, which moves it to this spec's owner (see `transfers`)."""
    owner = ctx.spec.owner
    declared = {r.key for r in wanted}
    for live in lives.values():
        if not live.owned:
            continue
        live.owner = _holder(ctx.state, kind, live)
        if live.owner == owner:
            continue
        live.owned = False
        if live.key not in declared or kind.link or kind.name in SHARED_KINDS:
            continue
        if adopts(ctx.spec, ctx.realm, kind.name, live.key, live.owner):
            continue
        entry = json.dumps([kind.name, *live.key])
        ctx.errors.append(
            f"{kind.describe(live.key)} in realm {ctx.realm} is held by owner {live.owner!r}, and this spec's owner is "
            f"{owner!r}: remove it from this spec (the spec of {live.owner!r} manages it), or adopt it here with "
            f"`adopt: {{{ctx.realm}: [{entry}]}}`"
        )


def transfers(
    kind: "Kind", spec: Spec, realm: str, changes: list[Change], lives: list[Live], wanted: list[Resource]
) -> list[Change]:
    """Declared objects (and links) held by another owner that the spec adopts change owner: shown
    as a field `owner` on their update, or as an update of their own when nothing else changes
    (executed as a record write only)."""
    out = list(changes)
    by_key = {c.key: c for c in changes if c.action == "update"}
    declared = {r.key for r in wanted}
    for live in lives:
        if live.key not in declared or live.owner in (None, spec.owner) or kind.name in SHARED_KINDS:
            continue
        if not adopts(spec, realm, kind.name, live.key, live.owner):
            continue
        move = FieldChange("owner", live.owner, spec.owner)
        change = by_key.get(live.key)
        if change is None:
            resource = Resource(realm, kind.name, live.key, position=spec.adopt_position(realm))
            resource.data = {**resource.data, "owner_only": True}
            change = Change("update", realm, kind.name, live.key, [], resource=resource, live=live)
            out.append(change)
        assert change.resource is not None
        change.resource.data = {**change.resource.data, "adopt_from": live.owner}
        change.fields.append(move)
    return out


def owner_only(change: Change) -> bool:
    """A change that only moves an object to another owner: nothing to send but the record."""
    return bool(change.resource and change.resource.data.get("owner_only"))


def created_ref(change: Change) -> tuple[Any, ...] | None:
    """The ids a create reveals for the record: its POST's ref, when the call names the object
    (`(kind, realm, *key)`); None where the create answers no id (then names only, as before)."""
    from realmctl.calls import Ref

    name = (change.kind, change.realm, *change.key)
    return (Ref(name),) if any(c.sets == name for c in change.calls) else None


def bookkeeping(
    state: "RealmState",
    changes: list[Change],
    remove: list[tuple[str | None, tuple[str, ...]]],
    added: dict[tuple[str, ...], tuple[str | None, Any]],
) -> None:
    """The record entries a plan writes for its owner, beside those of recorded kinds (which the
    engine writes with the owner already): for a named owner also the objects it creates (ids
    where the create reveals them); adopted objects under their new owner; entries of what it
    deletes removed. Each with the change it comes from (`remove`, `added` values)."""
    from realmctl.calls import Entry
    from realmctl.kinds import BY_NAME
    from realmctl.live import record_entry

    owner = state.owner
    for change in changes:
        kind = BY_NAME[change.kind]
        full = kind.record_key(change.key)
        if change.action == "create" and kind.recorded and full in added:
            continue
        if change.action == "delete":
            if state.record_entries(full) and not kind.recorded:  # a marked object: entry only for a named owner
                remove.append((change.id, full))
            continue
        adopting = change.resource is not None and "adopt_from" in change.resource.data
        if (kind.link and not adopting) or kind.name in SHARED_KINDS:
            continue
        if change.action == "create" and owner != DEFAULT_OWNER and full not in added:
            added[full] = (change.id, Entry(full[0], full[1:], created_ref(change), owner))
        elif adopting and change.live is not None:
            known = [ids for _, ids in state.record_entries(full) if ids is not None]
            ids = known[0] if known else ((change.live.id,) if change.live.id else None)
            if kind.recorded or owner != DEFAULT_OWNER:
                added[full] = (change.id, wrap(record_entry(full[0], full[1:], ids), owner))
            else:  # the default owner needs no entry for a marked object: the previous owner's goes
                remove.append((change.id, full))
