"""Plans: desired resources diffed against live objects into ordered changes.

The plan engine never talks to the server. It receives the desired resources (compiled from the
spec) and the live snapshot (read by the kinds), and decides: create, update (field by field,
old -> new) or delete. The executor later performs exactly these changes.
"""

import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from realmctl.spec.model import Position
from realmctl.spec.secrets import Secret

Action = Literal["create", "update", "delete"]
Key = tuple[str, ...]
SENSITIVE = "(sensitive)"


#: What a resource without secrets or extras, and a live object without secrets or a raw
#: representation, hold as them.
_NOTHING: Mapping[str, Any] = MappingProxyType({})


@dataclass
class Resource:
    """One desired object: its kind, natural key, the fields realmctl manages, and its secrets.

    `fields` holds only what the spec declares (nested dicts for attribute/config maps, whose
    undeclared keys are left alone). `secrets` holds secret fields separately, so they can never
    leak through `fields`; each kind decides how a secret is compared (clear value or fingerprint).
    """

    realm: str
    kind: str
    key: Key
    fields: dict[str, Any] = field(default_factory=dict)
    # `secrets` and `data` default to one shared read-only empty mapping (a kind that sets them
    # assigns a new dict): two new dicts per resource were ~5 MB at 5x L, where few have either.
    secrets: Mapping[str, str] = field(default_factory=lambda: _NOTHING)
    position: Position | None = None
    #: Where the object's value, and each declared field's value, stands in the spec (by plan field
    #: name): a value may be written lines below its key.
    value_position: Position | None = None
    field_positions: Mapping[str, Position] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=lambda: _NOTHING)  # kind-specific extras for execution

    @property
    def label(self) -> str:
        return "/".join(self.key)


@dataclass
class Live:
    """One object as read from the server, normalised to the same shape as `Resource.fields`."""

    key: Key
    fields: dict[str, Any]
    id: str | None = None
    owned: bool = False
    owner: str | None = None  # which spec owner holds it, when realmctl made it (realmctl.ownership)
    # Stored fingerprints or clear values. Both default to one shared read-only empty mapping, not
    # two new dicts per object: most live objects are links with neither (56,000 at 5x L).
    secrets: Mapping[str, str | None] = field(default_factory=lambda: _NOTHING)
    raw: Mapping[str, Any] = field(default_factory=lambda: _NOTHING)


@dataclass(slots=True)
class FieldChange:
    """One field's change; secret values are never held here, only the fact that they change."""

    path: str
    old: Any
    new: Any
    sensitive: bool = False
    resent: bool = False  # a secret sent again on request (--resend-secrets), not found changed

    def to_json(self) -> dict[str, Any]:
        if self.sensitive:
            return {"field": self.path, "sensitive": True, **({"resent": True} if self.resent else {})}
        return {"field": self.path, "old": self.old, "new": self.new}


@dataclass(slots=True)
class Change:
    """A create, update or delete of one object, with what the executor needs to perform it."""

    action: Action
    realm: str
    kind: str
    key: Key
    fields: list[FieldChange] = field(default_factory=list)
    resource: Resource | None = None  # desired side (None for deletes)
    live: Live | None = None  # live side (None for creates)
    note: str | None = None
    #: The requests that perform it, built from the snapshot (realmctl.calls); the executor sends
    #: these and nothing else.
    calls: list[Any] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "/".join(self.key)

    @property
    def id(self) -> str:
        """The change's identity within its plan (its action, realm, kind and key)."""
        return "\x1f".join((self.action, self.realm, self.kind, *self.key))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "action": self.action,
            "realm": self.realm,
            "kind": self.kind,
            "key": list(self.key),
            "fields": [f.to_json() for f in self.fields],
        }
        if self.note:
            out["note"] = self.note
        if self.calls:
            out["calls"] = [c.to_json() for c in self.calls]
        if self.resource and self.resource.position:
            out["source"] = _source(self.resource.position, self.resource.value_position)
            for f, body in zip(self.fields, out["fields"], strict=True):
                if (at := self.resource.field_positions.get(f.path)) is not None:
                    body["source"] = _source(at, None)
        return out


def _source(key: Position, value: Position | None) -> dict[str, Any]:
    """`{"file", "line", "column"}` of the key, with `value: {"line", "column"}` where the value
    stands elsewhere (a nested mapping, `secret:` then `  ${env:X}` below it, a block scalar)."""
    out: dict[str, Any] = {"file": key.file, "line": key.line, "column": key.column}
    if value is not None and (value.line, value.column) != (key.line, key.column):
        out["value"] = {"line": value.line, "column": value.column}
    return out


def display_path(parts: list[Any]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int) or (text and any(c in str(part) for c in ".[] ")):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def project(live: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """The part of `live` that `desired` speaks about: maps are compared only on declared keys."""
    out: dict[str, Any] = {}
    for name, want in desired.items():
        have = live.get(name)
        if isinstance(want, dict) and isinstance(have, dict):
            out[name] = project(have, want)
        elif isinstance(want, dict):
            out[name] = {} if have is None else have
        else:
            out[name] = have
    return out


def field_changes(live: dict[str, Any], desired: dict[str, Any]) -> list[FieldChange]:
    """Field-level changes from `live` to `desired`, lists compared as sets (order is not meaning)."""
    old = project(live, desired)
    if old == desired:  # the common case, and much cheaper than a DeepDiff
        return []
    # Imported here: a plan where nothing changed never needs it (3.5 MB resident, ~40 ms of imports).
    from deepdiff import DeepDiff

    # A `Secret` is a str that masking recognises; its mark is not a change of type.
    diff = DeepDiff(old, desired, ignore_order=True, view="tree", ignore_type_in_groups=[(str, Secret)])
    seen: dict[str, FieldChange] = {}
    for level in (lv for group in diff.values() for lv in group):
        parts = level.path(output_format="list")
        # A change inside a list is shown as the whole list changing.
        top: list[Any] = []
        node_old: Any = old
        node_new: Any = desired
        for part in parts:
            if isinstance(node_new, list) or isinstance(node_old, list):
                break
            top.append(part)
            node_old = node_old.get(part) if isinstance(node_old, dict) else None
            node_new = node_new.get(part) if isinstance(node_new, dict) else None
        name = display_path(top)
        if name not in seen:
            seen[name] = FieldChange(name, node_old, node_new)
    return sorted(seen.values(), key=lambda c: c.path)


def created_fields(desired: dict[str, Any], prefix: str = "") -> list[FieldChange]:
    """Every declared field of a new object, as `(none) -> value` changes."""
    out: list[FieldChange] = []
    for name, value in desired.items():
        path = (
            f"{prefix}.{name}"
            if prefix and not any(c in name for c in ".[] ")
            else (f"{prefix}[{name}]" if prefix else name)
        )
        if isinstance(value, dict) and value:
            out.extend(created_fields(value, path))
        else:
            out.append(FieldChange(path, None, value))
    return out


@dataclass
class Plan:
    """The ordered changes of a run, and what they were computed from."""

    changes: list[Change]
    realms: list[str]
    server: str
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # allowed, but worth a second look (built-ins)
    #: (live digest, spec digest) of what the plan was made from, computed on first use: only a
    #: plan file and JSON output show them (`apply PLANFILE` refuses a plan whose spec or live
    #: realms moved), and at 5x L they cost 0.6 s of CPU that `plan` and `apply SPEC` never needed.
    #: What they digest (the snapshot, the spec) is never changed after the plan.
    digests_of: Callable[[], tuple[str, str]] | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def _digests(self) -> tuple[str, str]:
        return self.digests_of() if self.digests_of is not None else ("", "")

    @property
    def live_digest(self) -> str:
        return self._digests[0]

    @property
    def spec_digest(self) -> str:
        return self._digests[1]

    @property
    def counts(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "delete": 0}
        for change in self.changes:
            out[change.action] += 1
        return out

    @property
    def empty(self) -> bool:
        return not self.changes

    def digest(self) -> str:
        """A fingerprint of the changes themselves (secrets only as 'sensitive' markers).

        Without `source`: where a change was declared is not what it does, and the file names
        depend on how the spec was named (`apply PLANFILE` loads it by absolute path, `plan` by the
        path as typed); a moved line in an unchanged spec changes nothing on the server either.
        """
        changes: list[dict[str, Any]] = []
        for change in self.changes:
            body = {k: v for k, v in change.to_json().items() if k != "source"}
            body["fields"] = [{k: v for k, v in f.items() if k != "source"} for f in body["fields"]]
            changes.append(body)
        text = json.dumps(changes, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "realmctl.plan",
            "version": 1,
            "server": self.server,
            "realms": self.realms,
            "summary": {
                "add": self.counts["create"],
                "change": self.counts["update"],
                "delete": self.counts["delete"],
            },
            "changes": [c.to_json() for c in self.changes],
            "errors": self.errors,
            "notes": self.notes,
            "warnings": self.warnings,
            "digests": {"plan": self.digest(), "live": self.live_digest, "spec": self.spec_digest},
        }
