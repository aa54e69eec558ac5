"""`realmctl export`: a spec for what live realms already have, so that they can be adopted.

The export is the inverse of the kinds' `desired()`: it reads the live realm through `RealmState`
(the same bulk, cached reads `plan` makes) and writes each object in the spec's friendly names,
choosing every value so that `realmctl plan` on the export finds nothing to change. Where the
friendly form could not reproduce the live object exactly (a protocol mapper with unusual config),
the raw Keycloak form is written instead, because an export that plans changes would be a lie.

What Keycloak creates in every new realm (SEMANTICS §1, `realmctl.spec.builtins`) is left out
unless asked for, since declaring it adds nothing; references to it (a built-in scope attached to
an exported client, broker/read-token granted to an exported user) are kept, since they are the
configuration. Secrets are never read back: Keycloak masks IdP secrets, and a client secret, which
Keycloak does return, is deliberately not exported so that it never lands in a file or a log.
"""

import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from realmctl.errors import RealmctlError
from realmctl.keycloak.session import Api
from realmctl.kinds import RealmState
from realmctl.kinds.client import ATTRIBUTES as CLIENT_ATTRIBUTES
from realmctl.kinds.client import FIELDS as CLIENT_FIELDS
from realmctl.kinds.client_scope import ATTRIBUTES as SCOPE_ATTRIBUTES
from realmctl.kinds.idp import FIELDS as IDP_FIELDS
from realmctl.kinds.idp import FINGERPRINT, is_secret_key
from realmctl.kinds.mapper import SWITCHES, TYPES, mapper_config
from realmctl.kinds.role_grant import service_account_username
from realmctl.live import LINKS_ATTRIBUTE, OWNED_MARKER
from realmctl.schema import load_schema
from realmctl.spec.builtins import BUILTIN_CLIENT_ROLES, BUILTIN_SCOPES, builtin_realm_roles
from realmctl.spec.model import Spec
from realmctl.spec.secrets import secret_by_name

EXPORT_FORMAT = "realmctl.export"

#: What `--kinds` can name, in the order the sections are written. Users are opt-in: a realm can
#: hold millions of them, and people are rarely configuration.
KINDS = ("realm", "clientScopes", "clients", "identityProviders", "roles", "groups", "users", "roleGrants")
DEFAULT_KINDS = frozenset(k for k in KINDS if k != "users")

#: A new realm's own default/optional scope lists (SEMANTICS §1.5): entries matching these are
#: Keycloak's, not the user's, and are exported only with --include-builtins.
BUILTIN_REALM_SCOPE_LISTS = {
    "default": frozenset(
        {
            "role_list",
            "saml_organization",
            "AuthnContextClassRef",  # new in 26.7
            "profile",
            "email",
            "roles",
            "web-origins",
            "acr",
            "basic",
        }
    ),
    "optional": frozenset({"offline_access", "address", "phone", "microprofile-jwt", "organization"}),
}
#: Keys realmctl itself writes on the server; they are bookkeeping, not configuration.
_BOOKKEEPING = (OWNED_MARKER, LINKS_ATTRIBUTE)
_SYNC_MODES = ("INHERIT", "LEGACY", "IMPORT", "FORCE")
_MASK = "**********"


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


def parse_kinds(text: str | None) -> frozenset[str]:
    """`--kinds`: a comma list replacing the default set; `+name` adds to it; `all` is everything."""
    if not text:
        return DEFAULT_KINDS
    names = [n.strip() for n in text.split(",") if n.strip()]
    chosen: set[str] = set(DEFAULT_KINDS) if any(n.startswith("+") for n in names) else set()
    for name in (n.lstrip("+") for n in names):
        if name == "all":
            chosen |= set(KINDS)
        elif name in KINDS:
            chosen.add(name)
        else:
            raise RealmctlError(f"--kinds: unknown kind {name!r}; choose from {', '.join(KINDS)}, all")
    return frozenset(chosen)


def _bool(value: Any) -> bool | None:
    """Keycloak's "true"/"false" strings as booleans; None for anything else (kept raw then)."""
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(value) if isinstance(value, str) else None


def _clean(values: dict[str, Any] | None) -> dict[str, Any]:
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


def friendly_mapper(mapper: dict[str, Any], scope_protocol: str) -> dict[str, Any]:
    """A protocol mapper in the friendly `type` form when that reproduces its config exactly,
    else in the raw `protocolMapper` + `config` form (which always does)."""
    config = {k: v for k, v in (mapper.get("config") or {}).items() if k != OWNED_MARKER}
    kind = {v: k for k, v in TYPES.items()}.get(mapper.get("protocolMapper", ""))
    out: dict[str, Any] = {}
    if kind is not None:
        candidate: dict[str, Any] = {"type": kind}
        names = {
            "client": ("usermodel.clientRoleMapping.clientId", "included.client.audience"),
            "rolePrefix": ("usermodel.clientRoleMapping.rolePrefix", "usermodel.realmRoleMapping.rolePrefix"),
            "claimName": ("claim.name",),
            "claimValue": ("claim.value",),
            "userAttribute": ("user.attribute",),
            "jsonType": ("jsonType.label",),
            "multivalued": ("multivalued",),
        }
        for friendly, keys in names.items():
            for key in keys:
                if key in config:
                    value = _bool(config[key]) if friendly == "multivalued" else config[key]
                    if value is not None:
                        candidate[friendly] = value
        for friendly, (key, _default) in SWITCHES.items():
            if _bool(config.get(key)) is not None:
                candidate[friendly] = _bool(config[key])
        extras = {k: v for k, v in config.items() if k not in mapper_config(candidate)}
        if extras:
            candidate["config"] = extras
        if mapper_config(candidate) == config:
            # Drop what the defaults already give, so the export reads like a hand-written spec.
            for name in [k for k in candidate if k not in ("type", "config")]:
                trial = {k: v for k, v in candidate.items() if k != name}
                if mapper_config(trial) == config:
                    candidate = trial
            out = candidate
    if not out:
        out = {"protocolMapper": mapper.get("protocolMapper", ""), "config": config}
    protocol = mapper.get("protocol") or "openid-connect"
    if protocol != scope_protocol:
        out["protocol"] = protocol
    return out


def _role_refs(mappings: dict[str, Any], skip: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
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


def _roles_section(roles: list[dict[str, Any]]) -> list[str] | dict[str, dict[str, str]]:
    """Role names as a list, or as a map with descriptions when any role has one."""
    roles = sorted(roles, key=lambda r: r["name"])
    if any(r.get("description") for r in roles):
        return {r["name"]: ({"description": r["description"]} if r.get("description") else {}) for r in roles}
    return [r["name"] for r in roles]


class ExportState(RealmState):
    """`RealmState` plus the one listing `plan` never needs: every user of the realm."""

    def all_users(self) -> list[dict[str, Any]]:
        if self.realm_rep() is None:
            return []
        path = f"{self.base}/users"
        return self._once("export-users", lambda: self.api.get_all(path, briefRepresentation="false"))


class RealmExport:
    """Exports one realm; each method writes one section of the realm's spec."""

    def __init__(self, state: ExportState, kinds: frozenset[str], include_builtins: bool, out: Export) -> None:
        self.state = state
        self.realm = state.realm
        self.kinds = kinds
        self.builtins = include_builtins
        self.out = out
        self.spec: dict[str, Any] = {}

    def note(self, text: str) -> None:
        """Something the user must know about this realm's export (printed on stderr)."""
        self.out.notes.append(f"realm {self.realm}: {text}")

    # -- what counts as built in -------------------------------------------------------------
    def builtin_client(self, client: dict[str, Any]) -> bool:
        """Keycloak's own clients; `realm_client` also catches master's `<realm>-realm` clients,
        whose names cannot be listed in advance."""
        realm_client = (client.get("attributes") or {}).get("realm_client") == "true"
        return client["clientId"] in BUILTIN_CLIENT_ROLES or realm_client

    def clients(self) -> list[dict[str, Any]]:
        """The clients this export declares (sorted by clientId)."""
        if "clients" not in self.kinds:
            return []
        found = [c for c in self.state.clients() if self.builtins or not self.builtin_client(c)]
        return sorted(found, key=lambda c: c["clientId"])

    def scopes(self) -> list[dict[str, Any]]:
        """The client scopes this export declares (sorted by name)."""
        if "clientScopes" not in self.kinds:
            return []
        found = [s for s in self.state.client_scopes() if self.builtins or s["name"] not in BUILTIN_SCOPES]
        return sorted(found, key=lambda s: s["name"])

    def groups(self) -> list[dict[str, Any]]:
        """The top-level groups this export declares (sorted by name)."""
        if "groups" not in self.kinds:
            return []
        return sorted(self.state.groups(), key=lambda g: g["name"])

    def users(self) -> list[dict[str, Any]]:
        """The users this export declares; service-account users belong to their client.

        Without the users kind, the users realmctl itself created are still exported: they are in
        its record of what it owns, so a spec without them would plan their deletion."""
        if "users" not in self.kinds:
            owned = {key[0].lower() for key in self.state.recorded("user") if key}
            if not owned:
                return []
            found = self.state.users(owned)
            return sorted(found.values(), key=lambda u: u["username"])
        people = [u for u in self.state.all_users() if not u.get("serviceAccountClientId")]
        return sorted(people, key=lambda u: u["username"])

    # -- sections ------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """The realm's spec, sections in the order docs/spec.md lists them."""
        rep = self.state.realm_rep()
        if rep is None:
            raise RealmctlError(f"realm {self.realm!r} does not exist on {self.state.api.settings.url}")
        if "realm" in self.kinds:
            if rep.get("displayName"):
                self.spec["displayName"] = rep["displayName"]
            if isinstance(rep.get("enabled"), bool):
                self.spec["enabled"] = rep["enabled"]
        self.identity_providers()
        self.client_scopes()
        self.realm_scope_lists()
        self.clients_section()
        self.roles()
        self.groups_section()
        self.users_section()
        self.role_grants()
        self.hide_secrets(self.spec, ())
        return self.spec

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

    def groups_section(self) -> None:
        groups = self.groups()
        if groups:
            self.spec["groups"] = [g["name"] for g in groups]
        nested = [g["name"] for g in groups if g.get("subGroupCount") or g.get("subGroups")]
        if nested:
            self.note(f"subgroups of {', '.join(nested)} are not exported (the spec declares top-level groups)")

    def identity_providers(self) -> None:
        if "identityProviders" not in self.kinds:
            return
        out: dict[str, Any] = {}
        for idp in sorted(self.state.idps(), key=lambda i: i["alias"]):
            alias = idp["alias"]
            entry: dict[str, Any] = {}
            for friendly, kc in IDP_FIELDS.items():
                if idp.get(kc) not in (None, ""):
                    entry[friendly] = idp[kc]
            config: dict[str, Any] = {}
            for key, value in sorted(_clean(idp.get("config")).items()):
                if is_secret_key(key):
                    known = FINGERPRINT + key in (idp.get("config") or {})
                    config[key] = self.secret(alias, key, value, known)
                else:
                    config[key] = value
            if config:
                entry["config"] = config
            mappers = {}
            for mapper in sorted(self.state.idp_mappers(alias), key=lambda m: m["name"]):
                m: dict[str, Any] = {"identityProviderMapper": mapper.get("identityProviderMapper", "")}
                mconfig = _clean(mapper.get("config"))
                if mconfig.get("syncMode") in _SYNC_MODES:
                    m["syncMode"] = mconfig.pop("syncMode")
                if mconfig:
                    m["config"] = dict(sorted(mconfig.items()))
                mappers[mapper["name"]] = m
            if mappers:
                entry["mappers"] = mappers
            out[alias] = entry
        if out:
            self.spec["identityProviders"] = out

    def secret(self, alias: str, key: str, live: Any, fingerprinted: bool) -> EnvRef:
        """An IdP secret: written as an environment reference, its name reported, with what the
        first plan will say (realmctl can only compare a secret it has a fingerprint of)."""
        name = env_name(self.realm, alias, key)
        while name in self.out.secrets:
            name += "_"
        self.out.secrets.append(name)
        why = "Keycloak returns it masked" if live == _MASK else "realmctl never exports a secret value"
        text = f"identity provider {alias}: config.{key} is written as ${{env:{name}}} ({why}); set {name} "
        if fingerprinted:
            text += "to the secret; plan compares it with the fingerprint realmctl stored when it set it."
        else:
            text += (
                "to the secret. realmctl keeps no fingerprint of a secret it did not set, so the first plan "
                f"shows config.{key} as a (sensitive) change; the first apply sends it once, and later "
                "plans are empty."
            )
        self.note(text)
        return EnvRef(f"${{env:{name}}}")

    def client_scopes(self) -> None:
        out: dict[str, Any] = {}
        for scope in self.scopes():
            protocol = scope.get("protocol") or "openid-connect"
            entry: dict[str, Any] = {}
            if protocol != "openid-connect":
                entry["protocol"] = protocol
            if scope.get("description"):
                entry["description"] = scope["description"]
            attributes = _clean(scope.get("attributes"))
            for friendly, kc in SCOPE_ATTRIBUTES.items():
                if kc not in attributes:
                    continue
                value = attributes[kc] if friendly == "consentScreenText" else _bool(attributes[kc])
                if value is not None:
                    entry[friendly] = value
                    del attributes[kc]
            if attributes:
                entry["attributes"] = dict(sorted(attributes.items()))
            mappers = {
                m["name"]: friendly_mapper(m, protocol)
                for m in sorted(scope.get("protocolMappers") or [], key=lambda m: m["name"])
            }
            if mappers:
                entry["mappers"] = mappers
            role_scope = _role_refs(self.state.scope_mappings("scope", scope["name"]))
            if role_scope:
                entry["roleScope"] = role_scope
            out[scope["name"]] = entry
        if out:
            self.spec["clientScopes"] = out

    def exportable_scope(self, name: str) -> bool:
        """Whether a scope reference resolves in the export (built in, or exported here)."""
        return name in BUILTIN_SCOPES or any(s["name"] == name for s in self.scopes())

    def realm_scope_lists(self) -> None:
        if "clientScopes" not in self.kinds:
            return
        lists = {"default": self.state.realm_default_scopes(), "optional": self.state.realm_optional_scopes()}
        for kind, scopes in lists.items():
            names = sorted(
                s["name"]
                for s in scopes
                if self.exportable_scope(s["name"])
                and (self.builtins or s["name"] not in BUILTIN_REALM_SCOPE_LISTS[kind])
            )
            if names:
                self.spec[f"{kind}ClientScopes"] = names

    def clients_section(self) -> None:
        out: dict[str, Any] = {}
        for client in self.clients():
            client_id = client["clientId"]
            entry: dict[str, Any] = {}
            for friendly, kc in CLIENT_FIELDS.items():
                value = client.get(kc)
                if value in (None, "", []) or (friendly == "protocol" and value == "openid-connect"):
                    continue
                entry[friendly] = value
            attributes = client.get("attributes") or {}
            for friendly, kc in CLIENT_ATTRIBUTES.items():
                if _bool(attributes.get(kc)) is not None:
                    entry[friendly] = _bool(attributes[kc])
            dropped: list[str] = []
            for kind in ("defaultClientScopes", "optionalClientScopes"):
                names = sorted(client.get(kind) or [])
                kept = [n for n in names if self.exportable_scope(n)]
                dropped += [n for n in names if n not in kept]
                if kept:
                    entry[kind] = kept
            if dropped:
                self.note(
                    f"client {client_id}: scope attachment(s) {', '.join(dropped)} left out: "
                    "those scopes are not in this export (add clientScopes to --kinds)"
                )
            roles = [r for r in self.state.client_roles(client_id) if r.get("name")]
            if roles:
                entry["roles"] = _roles_section(roles)
            role_scope = _role_refs(self.state.scope_mappings("client", client_id))
            if role_scope:
                entry["roleScope"] = role_scope
            out[client_id] = entry
        if out:
            self.spec["clients"] = out

    def roles(self) -> None:
        if "roles" not in self.kinds:
            return
        builtin = builtin_realm_roles(self.realm)
        roles = [r for r in self.state.realm_roles() if self.builtins or r["name"] not in builtin]
        composite = sorted(r["name"] for r in roles if r.get("composite"))
        if composite:
            self.note(f"realm role(s) {', '.join(composite)} are composite; their composites are not exported")
        if roles:
            self.spec["roles"] = _roles_section(roles)

    def users_section(self) -> None:
        users = self.users()
        if not users:
            return
        # Memberships belong to the user: read from every top-level group, exported or not.
        members: dict[str, list[str]] = defaultdict(list)
        for group in self.state.groups():
            for member in self.state.group_members(group["name"]):
                members[member["username"].lower()].append(group["name"])
        out: dict[str, Any] = {}
        for user in users:
            entry: dict[str, Any] = {}
            for name in ("email", "firstName", "lastName", "enabled", "emailVerified"):
                if user.get(name) not in (None, ""):
                    entry[name] = user[name]
            attributes: dict[str, Any] = {}
            for name, value in _clean(user.get("attributes")).items():
                values = list(dict.fromkeys(v for v in (value if isinstance(value, list) else [value]) if v))
                if values:
                    attributes[name] = values[0] if len(values) == 1 else values
            if attributes:
                entry["attributes"] = dict(sorted(attributes.items()))
            if members.get(user["username"].lower()):
                entry["groups"] = sorted(members[user["username"].lower()])
            out[user["username"]] = entry
        self.spec["users"] = out

    def role_grants(self) -> None:
        """Direct grants to exported groups, service accounts and users, grouped by role set.

        `default-roles-<realm>` is left out: Keycloak grants it to every new user itself.
        """
        if "roleGrants" not in self.kinds:
            return
        automatic = {("realm", f"default-roles-{self.realm.lower()}")}
        held: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
        for group in self.groups():
            refs = _role_refs(self.state.group_role_mappings(group["name"]), skip=automatic)
            for role in refs.get("realm", []):
                held[("groups", group["name"])].add(("realm", role))
            for client_id, roles in refs.get("clients", {}).items():
                held[("groups", group["name"])].update((client_id, r) for r in roles)
        subjects = {u["username"].lower(): ("users", u["username"]) for u in self.users()}
        for client in self.clients():
            if client.get("serviceAccountsEnabled"):
                subjects[service_account_username(client["clientId"])] = ("serviceAccounts", client["clientId"])
        if subjects:
            containers = ["realm", *sorted(c["clientId"] for c in self.state.clients())]
            for container in containers:
                roles = self.state.realm_roles() if container == "realm" else self.state.client_roles(container)
                for role in roles:
                    if (container, role["name"]) in automatic:
                        continue
                    for member in self.state.role_members(container, role["name"]):
                        subject = subjects.get(member.get("username", "").lower())
                        if subject:
                            held[subject].add((container, role["name"]))
        by_roles: dict[frozenset[tuple[str, str]], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for (section, name), roles in sorted(held.items()):
            if roles:
                by_roles[frozenset(roles)][section].append(name)
        grants = []
        for roles, who in sorted(by_roles.items(), key=lambda item: sorted(item[0])):
            grant: dict[str, Any] = {s: sorted(who[s]) for s in ("users", "serviceAccounts", "groups") if who.get(s)}
            realm_roles = sorted(r for c, r in roles if c == "realm")
            client_roles: dict[str, list[str]] = defaultdict(list)
            for container, role in sorted(roles):
                if container != "realm":
                    client_roles[container].append(role)
            if realm_roles:
                grant["realmRoles"] = realm_roles
            if client_roles:
                grant["clientRoles"] = dict(client_roles)
            grants.append(grant)
        if grants:
            self.spec["roleGrants"] = grants


def export_realms(api: Api, realms: list[str], kinds: frozenset[str], include_builtins: bool = False) -> Export:
    """Reads each realm (never writes) and returns the spec that declares what it has."""
    out = Export({"version": 1, "realms": {}})
    for realm in realms:
        state = ExportState(api, realm)
        out.spec["realms"][realm] = RealmExport(state, kinds, include_builtins, out).run()
    for note in ("tokenExchange policies, fine-grained permissions, authentication flows, client secrets",):
        out.notes.append(f"not exported: {note} (see docs/export.md)")
    return out


def _escaped(value: Any) -> Any:
    """Live strings made literal for the spec (`${` -> `$${`); env references left as they are."""
    if isinstance(value, EnvRef):
        return str(value)
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


SCHEMA_NAME = "realmctl.schema.json"


def installed_schema() -> Path | None:
    """The schema file shipped in the installed package, when it is a file on disk."""
    path = Path(str(files("realmctl") / "data" / SCHEMA_NAME))
    return path if path.is_file() else None


def schema_ref(out: str | None) -> str:
    """The modeline's schema, always something the editor can open (the schema's `$id` is a name,
    not a published URL). With `--out`: a relative path to the repository's schema when the file
    sits in a checkout of it, else `realmctl.schema.json`, which `export` writes beside the file
    (`schema_beside`), so the pair can be committed and moved together. On stdout, whose
    destination is unknown: the installed package's schema as a `file://` URI."""
    if out is None:
        installed = installed_schema()
        return installed.as_uri() if installed else str(load_schema()["$id"])
    start = Path(out).resolve().parent
    for directory in (start, *start.parents):
        candidate = directory / "schemas" / SCHEMA_NAME
        if candidate.is_file():
            return Path(os.path.relpath(candidate, start)).as_posix()
    return SCHEMA_NAME


def schema_beside(out: str) -> Path | None:
    """Where `export --out FILE` must write the schema for its modeline to resolve, or None."""
    return Path(out).parent / SCHEMA_NAME if schema_ref(out) == SCHEMA_NAME else None


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key, as people (and the examples) write YAML."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def to_yaml(export: Export, out: str | None = None) -> str:
    """The spec as YAML with the editor modeline first."""
    body = yaml.dump(_escaped(export.spec), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    header = f"# yaml-language-server: $schema={schema_ref(out)}\n# Written by `realmctl export`.\n"
    return header + body


def to_json(export: Export) -> str:
    """`{"format": "realmctl.export", "version": 1, "spec": ..., "secrets": [...]}`."""
    body = {"format": EXPORT_FORMAT, "version": 1, "spec": _escaped(export.spec), "secrets": export.secrets}
    return json.dumps(body, indent=2) + "\n"


__all__ = ["DEFAULT_KINDS", "KINDS", "Export", "export_realms", "parse_kinds", "to_json", "to_yaml"]
