"""`load_spec`: spec files -> one validated, interpolated `Spec`, or `SpecInvalid` with every problem.

Steps per file: parse YAML with positions, interpolate `${...}`, validate against the JSON Schema.
Then the files are merged (each object may be declared once), config values are normalised to the
strings Keycloak stores, secret paths are marked, and cross-references are checked on the whole.
"""

import difflib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path as FsPath
from typing import Any

from realmctl.spec.interpolate import interpolate
from realmctl.spec.model import Finding, Path, Position, Spec, SpecInvalid
from realmctl.spec.paths import SECTIONS
from realmctl.spec.references import check_references
from realmctl.spec.validate import config_key_warnings, validate_document
from realmctl.spec.yamlpos import Document, parse

#: Realm sections that map names to objects; two files may add different names to one realm.
#: (`roles` is a list of names or a mapping by name: two files may extend either form.)
NAMED_SECTIONS = ("identityProviders", "clientScopes", "clients", "users", "tokenExchange", "roles")
#: Realm sections that are lists whose entries two files may both add to.
LIST_SECTIONS = ("groups", "roleGrants", "roles")
_SENSITIVE_WORDS = ("secret", "password")


def expand_paths(paths: Sequence[str | FsPath]) -> tuple[list[str], list[Finding]]:
    """Files to read: files as given, directories as their `*.yaml`/`*.yml` files (sorted, not recursive)."""
    files: list[str] = []
    findings: list[Finding] = []
    seen: set[FsPath] = set()
    for p in paths:
        path = FsPath(p)
        if path.is_dir():
            found = sorted(f for f in path.iterdir() if f.is_file() and f.suffix in (".yaml", ".yml"))
            if not found:
                findings.append(Finding("error", "no-spec-files", f"directory `{p}` has no `*.yaml` or `*.yml` file"))
        else:
            found = [path]
        for f in found:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                files.append(str(f))
    return files, findings


def read_document(file: str, env: Mapping[str, str]) -> Document:
    """One file, parsed, interpolated and schema-checked; problems are in `findings`."""
    try:
        text = FsPath(file).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "cannot be read"
        return Document(
            file, findings=[Finding("error", "unreadable-file", f"the file {reason}", Position(file, 1, 1))]
        )
    doc = parse(file, text)
    if doc.data is None:
        return doc
    doc.data, found, expanded = interpolate(doc.data, env, FsPath(file).parent, file, doc.positions)
    doc.findings.extend(found)
    doc.findings.extend(validate_document(doc.data, file, doc.positions, expanded))
    return doc


class _Merger:
    """Merges the files' realms; an object (realm, kind, name) declared twice is an error naming both."""

    def __init__(self) -> None:
        self.realms: dict[str, dict[str, Any]] = {}
        self.positions: dict[Path, Position] = {}
        self.findings: list[Finding] = []

    def _twice(self, what: str, first: Path, second: Path, doc: Document) -> None:
        a, b = self.positions.get(first), doc.positions.get(second)
        self.findings.append(
            Finding("error", "duplicate-object", f"{what} is declared twice: at {a} and at {b}", b,
                    "declare each object once")
        )  # fmt: skip

    def add(self, doc: Document) -> None:
        realms = doc.data.get("realms") if isinstance(doc.data, dict) else None
        offsets: dict[Path, int] = {}
        skipped: set[Path] = set()
        for r, realm in (realms or {}).items() if isinstance(realms, dict) else ():
            if r not in self.realms or not isinstance(realm, dict) or not isinstance(self.realms[r], dict):
                if r in self.realms:
                    self._twice(f"realm `{r}`", ("realms", r), ("realms", r), doc)
                    skipped.add(("realms", r))
                    continue
                self.realms[r] = realm
                continue
            mine = self.realms[r]
            for key, value in realm.items():
                at: Path = ("realms", r, key)
                if key not in mine:
                    mine[key] = value
                elif key in NAMED_SECTIONS and isinstance(value, dict) and isinstance(mine[key], dict):
                    for name, obj in value.items():
                        if name in mine[key]:
                            label = SECTIONS[key]
                            self._twice(f"{label} `{name}` of realm `{r}`", (*at, name), (*at, name), doc)
                            skipped.add((*at, name))
                        else:
                            mine[key][name] = obj
                elif key in LIST_SECTIONS and isinstance(value, list) and isinstance(mine[key], list):
                    offsets[at] = len(mine[key])
                    mine[key] = mine[key] + value
                else:
                    self._twice(f"`{key}` of realm `{r}`", at, at, doc)
                    skipped.add(at)
        for path, pos in doc.positions.items():
            if any(path[: len(s)] == s for s in skipped):
                continue
            key3 = path[:3]
            if key3 in offsets and len(path) > 3 and isinstance(path[3], int):
                path = (*key3, path[3] + offsets[key3], *path[4:])
            self.positions.setdefault(path, pos)


def _stringify(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _config_maps(realms: dict[str, Any]) -> list[tuple[Path, dict[str, Any]]]:
    """Every `config`/`attributes` map whose values Keycloak stores as strings, with its path."""
    out: list[tuple[Path, dict[str, Any]]] = []

    def take(path: Path, value: Any) -> None:
        if isinstance(value, dict):
            out.append((path, value))

    for r, realm in realms.items():
        if not isinstance(realm, dict):
            continue
        base: Path = ("realms", r)
        take((*base, "attributes"), realm.get("attributes"))
        for kind in ("identityProviders", "clientScopes", "clients"):
            objects = realm.get(kind)
            for name, obj in objects.items() if isinstance(objects, dict) else ():
                if not isinstance(obj, dict):
                    continue
                take((*base, kind, name, "config"), obj.get("config") if kind == "identityProviders" else None)
                take(
                    (*base, kind, name, "attributes"),
                    obj.get("attributes") if kind != "identityProviders" else None,
                )
                mappers = obj.get("mappers") if kind != "clients" else None
                for m, mapper in mappers.items() if isinstance(mappers, dict) else ():
                    if isinstance(mapper, dict):
                        take((*base, kind, name, "mappers", m, "config"), mapper.get("config"))
    return out


def _looks_secret(key: str) -> bool:
    """A key named like a secret, or a near miss of one (`clientSecrte`): a typo must not make a
    secret printable."""
    lowered = key.lower()
    if any(w in lowered for w in _SENSITIVE_WORDS):
        return True
    return bool(difflib.get_close_matches(lowered, ["clientsecret", "secret", "password"], n=1, cutoff=0.8))


def _sensitive(realms: dict[str, Any]) -> set[Path]:
    """Paths of secret values: client secrets, initial passwords, and config keys named like secrets."""
    paths: set[Path] = set()
    for r, realm in realms.items():
        if not isinstance(realm, dict):
            continue
        for c, client in (realm.get("clients") or {}).items() if isinstance(realm.get("clients"), dict) else ():
            if isinstance(client, dict) and "secret" in client:
                paths.add(("realms", r, "clients", c, "secret"))
        for u, user in (realm.get("users") or {}).items() if isinstance(realm.get("users"), dict) else ():
            if isinstance(user, dict) and "initialPassword" in user:
                paths.add(("realms", r, "users", u, "initialPassword"))
    for path, config in _config_maps(realms):
        paths.update((*path, k) for k in config if _looks_secret(k))
    return paths


def load_spec(paths: Sequence[str | FsPath], env: Mapping[str, str] | None = None) -> Spec:
    """Load, interpolate, validate and merge spec files (or directories of them).

    `env` defaults to the process environment. Raises `SpecInvalid` carrying every finding (errors
    and warnings) when there is at least one error; otherwise the `Spec` carries the warnings.
    """
    environment = os.environ if env is None else env
    files, findings = expand_paths(paths)
    merger = _Merger()
    for file in files:
        doc = read_document(file, environment)
        findings.extend(doc.findings)
        if isinstance(doc.data, dict):
            merger.add(doc)
    findings.extend(merger.findings)
    for _, config in _config_maps(merger.realms):
        for key, value in config.items():
            config[key] = _stringify(value)
    findings.extend(check_references(merger.realms, merger.positions))
    findings.extend(config_key_warnings(merger.realms, merger.positions))
    order = {f: i for i, f in enumerate(files)}

    def sort_key(f: Finding) -> tuple[int, int, int]:
        p = f.position
        return (order.get(p.file, -1), p.line, p.column) if p else (-1, 0, 0)

    findings.sort(key=sort_key)
    if any(f.severity == "error" for f in findings):
        raise SpecInvalid(findings, files)
    return Spec(
        realms=merger.realms,
        positions=merger.positions,
        sensitive=_sensitive(merger.realms),
        files=files,
        warnings=findings,
    )
