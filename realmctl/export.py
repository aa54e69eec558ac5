"""`realmctl export`: a spec for what live realms already have, so that they can be adopted.

The export is the inverse of the kinds' `desired()`: each registered kind's `export()` (in its own
file) reads the live realm through `RealmState` (the same bulk, cached reads `plan` makes) and
writes its objects in the spec's friendly names,
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
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from realmctl.errors import RealmctlError
from realmctl.keycloak.session import Api
from realmctl.kinds import KINDS as REGISTERED_KINDS
from realmctl.kinds import RANK, RealmState
from realmctl.kinds.base import Kind
from realmctl.kinds.inverse import EnvRef, Export, RealmExport, env_name
from realmctl.kinds.mapper import friendly_mapper
from realmctl.schema import load_schema

EXPORT_FORMAT = "realmctl.export"


def export_order(kinds: list[Kind]) -> list[Kind]:
    """The kinds that export, in the order the schema lists their realm sections (displayName,
    identityProviders, clientScopes, ..., roleGrants), as docs/spec.md does; ties by registry rank."""
    sections = list(load_schema()["properties"]["realms"]["additionalProperties"]["properties"])
    exporting = [k for k in kinds if k.export_as and k.export_section]
    rank = {name: i for i, name in enumerate(sections)}  # a section the schema lacks goes last
    return sorted(exporting, key=lambda k: (rank.get(str(k.export_section), len(rank)), RANK[k.name]))


def kind_names() -> tuple[str, ...]:
    """What `--kinds` can name: each registered kind's `export_as`, in the order the sections are
    written."""
    return tuple(dict.fromkeys(str(k.export_as) for k in export_order(REGISTERED_KINDS)))


def default_kinds() -> frozenset[str]:
    """The `--kinds` default. Users are opt-in: a realm can hold millions of them, and people are
    rarely configuration."""
    return frozenset(str(k.export_as) for k in export_order(REGISTERED_KINDS) if k.export_default)


KINDS = kind_names()
DEFAULT_KINDS = default_kinds()


def parse_kinds(text: str | None) -> frozenset[str]:
    """`--kinds`: a comma list replacing the default set; `+name` adds to it; `all` is everything."""
    names_known, defaults = kind_names(), default_kinds()  # the registry as it is now
    if not text:
        return defaults
    names = [n.strip() for n in text.split(",") if n.strip()]
    chosen: set[str] = set(defaults) if any(n.startswith("+") for n in names) else set()
    for name in (n.lstrip("+") for n in names):
        if name == "all":
            chosen |= set(names_known)
        elif name in names_known:
            chosen.add(name)
        else:
            raise RealmctlError(f"--kinds: unknown kind {name!r}; choose from {', '.join(names_known)}, all")
    return frozenset(chosen)


def export_realm(ex: RealmExport) -> dict[str, Any]:
    """The realm's spec: each registered kind writes its section, in the schema's order."""
    rep = ex.state.realm_rep()
    if rep is None:
        raise RealmctlError(f"realm {ex.realm!r} does not exist on {ex.state.api.settings.url}")
    for kind in export_order(REGISTERED_KINDS):
        kind.export(ex)
    ex.hide_secrets(ex.spec, ())
    return ex.spec


def export_realms(api: Api, realms: list[str], kinds: frozenset[str], include_builtins: bool = False) -> Export:
    """Reads each realm (never writes) and returns the spec that declares what it has."""
    out = Export({"version": 1, "realms": {}})
    for realm in realms:
        state = RealmState(api, realm)
        out.spec["realms"][realm] = export_realm(RealmExport(state, kinds, include_builtins, out))
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


__all__ = [
    "DEFAULT_KINDS",
    "KINDS",
    "EnvRef",
    "Export",
    "env_name",
    "export_realms",
    "friendly_mapper",
    "parse_kinds",
    "to_json",
    "to_yaml",
]
