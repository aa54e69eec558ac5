"""What the kinds' export inverses share: the export being written, and Keycloak-to-spec helpers.

`realmctl export` (realmctl/export.py) hands each registered kind a `RealmExport`; the kind's
`export()` (in its own file, beside `desired()`, whose inverse it is) reads the live realm through
the same cached `RealmState` reads `plan` makes and writes its section of the realm's spec. What
is shared lives here: the conversions back from Keycloak's representation, and the rule that every
value looking like a secret becomes an environment reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from realmctl.live import FINGERPRINT, LINKS_ATTRIBUTE, OWNED_MARKER
from realmctl.spec.model import Spec
from realmctl.spec.secrets import secret_by_name

if TYPE_CHECKING:
    from realmctl.kinds import RealmState


#: Keys realmctl itself writes on the server; they are bookkeeping, not configuration.
_BOOKKEEPING = (OWNED_MARKER, LINKS_ATTRIBUTE)


#: Section names left out of generated variable names (`APPS_ALICE_API_PASSWORD`, not `..._USERS_...`).
SPEC_SECTIONS = frozenset({"identityProviders", "clientScopes", "clients", "users", "mappers", "config", "attributes"})


class EnvRef(str):
    """A `${env:NAME}` placeholder: written as is, while every other string gets `${` escaped."""


@dataclass
class Export:
    """The exported spec, the environment variables it expects, and what the user should know."""

    spec: dict[str, Any]
    secrets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def object_count(self) -> int:
        """Objects (not realm fields) in the export, counted as `realmctl validate` counts them."""
        return len(Spec(self.spec["realms"]).objects())


def kc_bool(value: Any) -> bool | None:
    """Keycloak's "true"/"false" strings as booleans; None for anything else (kept raw then)."""
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(value) if isinstance(value, str) else None


def clean_map(values: dict[str, Any] | None) -> dict[str, Any]:
    """A config/attribute map without realmctl's bookkeeping and without empty values, which
    realmctl drops on the way in too (`kc_map`), so writing them would change nothing."""
    return {
        k: v
        for k, v in (values or {}).items()
        if k not in _BOOKKEEPING and not k.startswith(FINGERPRINT) and v not in ("", None, [])
    }


def env_name(*parts: str) -> str:
    """`apps`, `azure`, `clientSecret` -> `APPS_AZURE_CLIENT_SECRET` (a valid variable name)."""
    words = [re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", p) for p in parts]
    name = re.sub(r"[^A-Za-z0-9]+", "_", "_".join(words)).strip("_").upper()
    return name if re.match(r"[A-Z_]", name) else f"_{name}"


def mapping_refs(mappings: dict[str, Any], skip: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
    """A MappingsRepresentation (scope mappings, group role mappings) as `{realm, clients}`."""
    skipped = set(skip)
    realm = sorted(r["name"] for r in mappings.get("realmMappings") or [] if ("realm", r["name"]) not in skipped)
    clients: dict[str, list[str]] = {}
    for client_id, entry in sorted((mappings.get("clientMappings") or {}).items()):
        roles = sorted(r["name"] for r in (entry or {}).get("mappings") or [] if (client_id, r["name"]) not in skipped)
        if roles:
            clients[client_id] = roles
    out: dict[str, Any] = {}
    if realm:
        out["realm"] = realm
    if clients:
        out["clients"] = clients
    return out


def roles_section(roles: list[dict[str, Any]]) -> list[str] | dict[str, dict[str, str]]:
    """Role names as a list, or as a map with descriptions when any role has one."""
    roles = sorted(roles, key=lambda r: r["name"])
    if any(r.get("description") for r in roles):
        return {r["name"]: ({"description": r["description"]} if r.get("description") else {}) for r in roles}
    return [r["name"] for r in roles]


class RealmExport:
    """One realm's export being written: what was asked, the spec so far, the notes."""

    def __init__(self, state: RealmState, kinds: frozenset[str], include_builtins: bool, out: Export) -> None:
        self.state = state
        self.realm = state.realm
        self.kinds = kinds
        self.builtins = include_builtins
        self.out = out
        self.spec: dict[str, Any] = {}

    def note(self, text: str) -> None:
        """Something the user must know about this realm's export (printed on stderr)."""
        self.out.notes.append(f"realm {self.realm}: {text}")

    def hide_secrets(self, node: Any, path: tuple[str | int, ...]) -> None:
        """Every value that `plan` would treat as sensitive (a key named like a secret, or a near
        miss such as `clientSecrte`; a user or mapper attribute `apiPassword`) becomes an
        environment reference: an export is committed and reviewed, a secret must not be in it."""
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in list(items):
            where = (*path, key)
            if isinstance(value, dict | list):
                self.hide_secrets(value, where)
            elif (
                not isinstance(value, EnvRef)
                and value not in ("", None)
                and secret_by_name(("realms", self.realm, *where))
            ):
                name = env_name(self.realm, *(str(p) for p in where if isinstance(p, str) and p not in SPEC_SECTIONS))
                while name in self.out.secrets:
                    name += "_"
                self.out.secrets.append(name)
                label = ".".join(str(p) for p in where)
                self.note(f"{label} looks like a secret and is written as ${{env:{name}}}; set {name} to its value")
                node[key] = EnvRef(f"${{env:{name}}}")
