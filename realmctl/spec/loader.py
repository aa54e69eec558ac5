"""`load_spec`: spec files -> one validated, interpolated `Spec`, or `SpecInvalid` with every problem.

Steps per file: parse YAML with positions, interpolate `${...}`, validate against the JSON Schema.
Then the files are merged (each object may be declared once), config values are normalised to the
strings Keycloak stores, secret paths are marked, and cross-references are checked on the whole.
"""

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from realmctl.spec.interpolate import MAX_FILE_BYTES, FileAccess, interpolate
from realmctl.spec.model import DEFAULT_OWNER, Finding, Path, Position, Spec, SpecInvalid
from realmctl.spec.paths import SECTIONS, subject
from realmctl.spec.references import check_references
from realmctl.spec.secrets import Secret, known_public, public_sources, secret_by_name, shown_as_name, spec_leaves
from realmctl.spec.validate import config_key_warnings, validate_document
from realmctl.spec.yamlpos import Document, parse

#: Realm sections that map names to objects; two files may add different names to one realm.
#: (`roles` is a list of names or a mapping by name: two files may extend either form.)
NAMED_SECTIONS = ("identityProviders", "clientScopes", "clients", "users", "tokenExchange", "storedTokens", "roles")
#: Realm sections that are lists whose entries two files may both add to.
LIST_SECTIONS = ("groups", "roleGrants", "roles")
#: The largest spec file read by default: a realm of thousands of users fits; a 50 MB file is a
#: mistake (or an attack) that would take minutes and gigabytes to parse.
MAX_SPEC_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class LoadOptions:
    """Limits of a load: where `${file:}` may read, and how large a spec file may be."""

    allow_file_outside_spec: bool = False
    max_spec_bytes: int = MAX_SPEC_BYTES
    max_file_bytes: int = MAX_FILE_BYTES


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


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f}".rstrip("0").rstrip(".") + " MiB"


def read_document(file: str, env: Mapping[str, str], options: LoadOptions | None = None) -> Document:
    """One file, parsed, interpolated and schema-checked; problems are in `findings`."""
    options = options or LoadOptions()
    at = Position(file, 1, 1)
    try:
        info = os.stat(file)
        if not stat.S_ISREG(info.st_mode):
            return Document(file, findings=[Finding("error", "unreadable-file", "the file is not a regular file", at)])
        if info.st_size > options.max_spec_bytes:
            message = (
                f"the file is {_mib(info.st_size)}, more than the {_mib(options.max_spec_bytes)} a spec file may have"
            )
            hint = "split it, or raise the limit with --max-spec-size MIB (REALMCTL_MAX_SPEC_SIZE)"
            return Document(file, findings=[Finding("error", "file-too-large", message, at, hint)])
        text = FsPath(file).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "cannot be read"
        return Document(file, findings=[Finding("error", "unreadable-file", f"the file {reason}", at)])
    doc = parse(file, text)
    if doc.data is None:
        return doc
    access = FileAccess(options.allow_file_outside_spec, options.max_file_bytes)
    # An expression's error points at its key, or at the expression where it stands on a line below.
    at_expression = {p: v for p, v in doc.values.items() if p in doc.positions and doc.positions[p].line != v.line}
    positions = {**doc.positions, **at_expression}
    doc.data, found, doc.sources = interpolate(doc.data, env, FsPath(file).parent, file, positions, access)
    doc.findings.extend(found)
    doc.findings.extend(validate_document(doc.data, file, doc.positions, set(doc.sources)))
    return doc


class _Merger:
    """Merges the files' realms; an object (realm, kind, name) declared twice is an error naming both."""

    def __init__(self) -> None:
        self.realms: dict[str, dict[str, Any]] = {}
        self.positions: dict[Path, Position] = {}
        self.values: dict[Path, Position] = {}
        self.sources: dict[Path, list[str]] = {}
        self.public: set[str] = set()
        self.findings: list[Finding] = []
        self.owners: dict[str, Position | None] = {}  # top-level `owner:` of each file that names one
        self.adopt: dict[str, set[tuple[str, ...]]] = {}

    def _twice(self, what: str, first: Path, second: Path, doc: Document) -> None:
        a, b = self.positions.get(first), doc.positions.get(second)
        self.findings.append(
            Finding("error", "duplicate-object", f"{what} is declared twice: at {a} and at {b}", b,
                    "declare each object once")
        )  # fmt: skip

    def _ownership(self, doc: Document) -> None:
        """`owner:` must be the same in every file that names it; `adopt:` lists are joined."""
        data = doc.data if isinstance(doc.data, dict) else {}
        owner = data.get("owner")
        if isinstance(owner, str):
            if self.owners and owner not in self.owners:
                first = next(iter(self.owners))
                self.findings.append(
                    Finding(
                        "error",
                        "owner-conflict",
                        f"this file names owner `{owner}`, and {self.owners[first]} names `{first}`",
                        doc.positions.get(("owner",)),
                        "one spec has one owner: split the files into two specs, one per owner",
                    )
                )
            self.owners.setdefault(owner, doc.positions.get(("owner",)))
        adopt = data.get("adopt")
        for realm, entries in adopt.items() if isinstance(adopt, dict) else ():
            for entry in entries if isinstance(entries, list) else ():
                if isinstance(entry, list) and all(isinstance(part, str) for part in entry):
                    key = (entry[0], *(e.lower() if entry[0] == "user" else e for e in entry[1:]))
                    self.adopt.setdefault(str(realm), set()).add(key)

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
        self.public |= public_sources(doc.data)
        self._ownership(doc)

        def merged(path: Path) -> Path | None:
            """Where `path` of this file lands in the merged realms (None: not merged)."""
            if any(path[: len(s)] == s for s in skipped):
                return None
            key3 = path[:3]
            if key3 in offsets and len(path) > 3 and isinstance(path[3], int):
                return (*key3, path[3] + offsets[key3], *path[4:])
            return path

        for path, pos in doc.positions.items():
            if (target := merged(path)) is not None:
                self.positions.setdefault(target, pos)
        for path, pos in doc.values.items():
            if (target := merged(path)) is not None:
                self.values.setdefault(target, pos)
        for path, names in doc.sources.items():
            if (target := merged(path)) is not None:
                self.sources[target] = names


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


def _username_clashes(realms: dict[str, Any], positions: dict[Path, Position]) -> list[Finding]:
    """Users whose names differ only in case: Keycloak keeps one user for both, so the plan
    would refuse them; saying so here lets `validate` catch it offline."""
    findings: list[Finding] = []
    for r, realm in realms.items():
        users = realm.get("users") if isinstance(realm, dict) else None
        seen: dict[str, str] = {}
        for name in users if isinstance(users, dict) else ():
            first = seen.setdefault(name.lower(), name)
            if first != name:
                findings.append(
                    Finding(
                        "error",
                        "duplicate-user",
                        f"users `{first}` and `{name}` of realm `{r}` are the same user",
                        positions.get(("realms", r, "users", name)),
                        "Keycloak usernames are case-insensitive; declare the user once",
                    )
                )
    return findings


def _secrets(merger: _Merger) -> tuple[set[Path], list[Finding]]:
    """Paths of secret values, and errors for interpolated names that the spec does not declare
    public. Secret strings are wrapped in `Secret` in place, so that masking knows them by origin."""
    paths: set[Path] = set()
    findings: list[Finding] = []
    for path, _ in spec_leaves(merger.realms, ("realms",)):
        sources = merger.sources.get(path)
        private = sorted(set(sources) - merger.public) if sources is not None else []
        if secret_by_name(path):
            paths.add(path)
        elif sources and (private or not known_public(path)):
            if shown_as_name(path):
                names = ", ".join(f"`{s}`" for s in private) or "its source"
                findings.append(
                    Finding(
                        "error",
                        "secret-name",
                        f"{subject(path)} comes from {names}, which the spec does not declare public, and it "
                        "names an object, which every plan prints",
                        merger.positions.get(path),
                        "list the variable under `public: {env: [...]}` (files under `public: {files: [...]}`) "
                        "at the top of the spec, or write the name out",
                    )
                )
                continue
            paths.add(path)
        else:
            continue
        _wrap(merger.realms, path[1:])
    return paths, findings


def _wrap(node: Any, path: Path) -> None:
    """Replaces the string at `path` below `node` with a `Secret` of it."""
    for part in path[:-1]:
        node = node[part]
    if isinstance(node[path[-1]], str):
        node[path[-1]] = Secret(node[path[-1]])


def load_spec(
    paths: Sequence[str | FsPath], env: Mapping[str, str] | None = None, options: LoadOptions | None = None
) -> Spec:
    """Load, interpolate, validate and merge spec files (or directories of them).

    `env` defaults to the process environment. Raises `SpecInvalid` carrying every finding (errors
    and warnings) when there is at least one error; otherwise the `Spec` carries the warnings.
    """
    environment = os.environ if env is None else env
    files, findings = expand_paths(paths)
    merger = _Merger()
    for file in files:
        doc = read_document(file, environment, options)
        findings.extend(doc.findings)
        if isinstance(doc.data, dict):
            merger.add(doc)
    findings.extend(merger.findings)
    for _, config in _config_maps(merger.realms):
        for key, value in config.items():
            config[key] = _stringify(value)
    sensitive, name_errors = _secrets(merger)
    findings.extend(name_errors)
    findings.extend(_username_clashes(merger.realms, merger.positions))
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
        values=merger.values,
        owner=next(iter(merger.owners), DEFAULT_OWNER),
        adopt=merger.adopt,
        sensitive=sensitive,
        files=files,
        warnings=findings,
    )
