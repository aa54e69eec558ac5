"""The live state with a plan applied in memory: what `check` reasons over to say what a plan would
break or fix before anyone applies it (issue #16 item 4).

`PlannedView` holds copies of the raw representations the chain rules read (identity providers,
clients with their scope lists, client scopes with their mappers, role scope mappings, role grants,
users created). Each kind says how one of its changes alters them (`Kind.simulate`); kinds that do
not change what the rules read leave the view alone. No server is involved: the view starts from
what the run already gathered.
"""

import copy
from dataclasses import dataclass, field
from typing import Any

Role = tuple[str, str]  # (container: "realm" or a clientId, role name)


def merge(base: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """`base` with `fields` written over it, maps merged key by key (as realmctl's PUTs do)."""
    out = dict(base)
    for name, value in fields.items():
        if isinstance(value, dict) and isinstance(out.get(name), dict):
            out[name] = merge(out[name], value)
        else:
            out[name] = copy.deepcopy(value)
    return out


@dataclass
class PlannedView:
    """One realm's chain-relevant representations after the plan (copies; the snapshot is untouched)."""

    realm: str
    idps: dict[str, dict[str, Any]]
    clients: dict[str, dict[str, Any]]
    scopes: dict[str, dict[str, Any]]
    realm_default_scopes: list[str] = field(default_factory=list)
    scope_mappings: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    granted: dict[tuple[str, str], set[Role]] = field(default_factory=dict)  # (subject, who) -> roles added
    revoked: dict[tuple[str, str], set[Role]] = field(default_factory=dict)  # (subject, who) -> roles removed
    new_users: set[str] = field(default_factory=set)
    touched: bool = False  # whether any change altered what the rules read

    def mappings(self, owner: str, name: str) -> dict[str, Any]:
        """The MappingsRepresentation of a client ("client") or client scope ("scope"), for editing."""
        found = self.scope_mappings.setdefault((owner, name), {"realmMappings": [], "clientMappings": {}})
        found.setdefault("realmMappings", [])
        found.setdefault("clientMappings", {})
        return found

    def map_role(self, owner: str, name: str, container: str, role: str, add: bool) -> None:
        mappings = self.mappings(owner, name)
        if container == "realm":
            roles = [r for r in mappings["realmMappings"] if r.get("name") != role]
            mappings["realmMappings"] = [*roles, {"name": role, "clientRole": False}] if add else roles
        else:
            entry = mappings["clientMappings"].setdefault(container, {"client": container, "mappings": []})
            roles = [r for r in entry.get("mappings") or [] if r.get("name") != role]
            entry["mappings"] = [*roles, {"name": role, "clientRole": True}] if add else roles
        self.touched = True

    def grant(self, subject: str, who: str, role: Role, add: bool) -> None:
        into, other = (self.granted, self.revoked) if add else (self.revoked, self.granted)
        into.setdefault((subject, who), set()).add(role)
        other.get((subject, who), set()).discard(role)
        self.touched = True


__all__ = ["PlannedView", "merge"]
