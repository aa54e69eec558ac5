"""The loaded spec as the rest of realmctl sees it: plain data plus where each piece was written.

This is the contract between `realmctl.spec` (loading, interpolation, validation) and the engine
(compile, plan, apply, check). The engine never re-reads YAML; it asks `Spec.where(path)` when it
needs to point a user at the line that declared something.
"""

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from realmctl.errors import RealmctlError

#: A path into the spec document, e.g. ("realms", "apps", "clients", "my-app", "secret").
Path = tuple[str | int, ...]

Severity = Literal["error", "warning"]

#: The owner of a spec that names none, and of everything earlier versions made (docs/spec.md).
DEFAULT_OWNER = "default"


#: The spec files positions point into, by index (0 unused: a packed position is never 0, so
#: never falsy). Process-wide: a run reads a handful of files, and a file keeps its index.
_FILES: list[str] = [""]
_FILE_INDEX: dict[str, int] = {}
_FILES_LOCK = threading.Lock()
_BITS = 32
_MASK = (1 << _BITS) - 1


class Position(int):
    """A place in a spec file (1-based line and column, as editors show them).

    Packed into one int (file index, line, column), with `file`, `line` and `column` read back
    from it: a large spec holds ~360,000 of them (every key and value; 5x L), and an int is 36 bytes
    where a slotted object with its line number was ~84 (17 MB at 5x L). Two positions are equal
    when file, line and column are; they copy and pickle as (file, line, column).
    """

    __slots__ = ()

    def __new__(cls, file: str, line: int, column: int) -> "Position":
        index = _FILE_INDEX.get(file)
        if index is None:
            with _FILES_LOCK:
                index = _FILE_INDEX.get(file)
                if index is None:
                    index = _FILE_INDEX[file] = len(_FILES)
                    _FILES.append(file)
        if not (0 <= line <= _MASK and 0 <= column <= _MASK):
            raise ValueError(f"position out of range: line {line}, column {column}")
        return super().__new__(cls, (index << 2 * _BITS) | (line << _BITS) | column)

    @property
    def file(self) -> str:
        return _FILES[self >> 2 * _BITS]

    @property
    def line(self) -> int:
        return (self >> _BITS) & _MASK

    @property
    def column(self) -> int:
        return self & _MASK

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def __repr__(self) -> str:
        return f"Position(file={self.file!r}, line={self.line!r}, column={self.column!r})"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __reduce__(self) -> tuple[type["Position"], tuple[str, int, int]]:
        return (Position, (self.file, self.line, self.column))

    def __copy__(self) -> "Position":
        return self

    def __deepcopy__(self, memo: Any) -> "Position":
        return self


@dataclass(frozen=True)
class Finding:
    """One problem found in a spec. `message` never contains a value from the spec."""

    severity: Severity
    code: str  # stable id, e.g. "unknown-key", "missing-env", "dangling-reference"
    message: str  # what is wrong, in words
    position: Position | None = None
    hint: str | None = None  # how to fix it, e.g. "did you mean `storeToken`?"

    def __str__(self) -> str:
        where = f"{self.position}: " if self.position else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.severity}: {self.message}{hint}"


@dataclass
class Spec:
    """A validated, interpolated spec, merged from one or more files.

    `realms` maps realm name -> the realm's spec dict exactly in the schema's shape, with
    interpolation done. `positions` maps document paths to where they were written (the key's
    position for mappings entries). `sensitive` holds the paths whose values are secrets: they
    must never be printed, logged or written to a plan file.
    """

    realms: dict[str, dict[str, Any]]
    positions: dict[Path, Position] = field(default_factory=dict)
    #: Where the value of a mapping entry starts, when that is not where its key stands.
    values: dict[Path, Position] = field(default_factory=dict)
    sensitive: set[Path] = field(default_factory=set)
    files: list[str] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    #: Who holds what this spec makes (top-level `owner:`), and the objects it takes over from
    #: another owner: realm -> {(kind, *key)} (top-level `adopt:`); see realmctl/ownership.py.
    owner: str = DEFAULT_OWNER
    adopt: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)

    def adopt_position(self, realm: str) -> Position | None:
        return self.where("adopt", realm)

    def objects(self) -> list[tuple[str, str, str]]:
        """Every declared object as (realm, kind, name); kinds are the spec's section names, with
        mappers as "identityProviders.mappers" / "clientScopes.mappers" and names "owner/mapper"."""
        out: list[tuple[str, str, str]] = []
        for r, realm in self.realms.items():
            for kind in ("identityProviders", "clientScopes", "clients", "users", "tokenExchange"):
                for name, obj in (realm.get(kind) or {}).items():
                    out.append((r, kind, name))
                    if isinstance(obj, dict) and kind in ("identityProviders", "clientScopes"):
                        out.extend((r, f"{kind}.mappers", f"{name}/{m}") for m in obj.get("mappers") or {})
            out.extend((r, "roles", name) for name in realm.get("roles") or [])
            out.extend((r, "groups", name) for name in realm.get("groups") or [])
            out.extend((r, "roleGrants", str(i)) for i in range(len(realm.get("roleGrants") or [])))
        return out

    def where(self, *path: str | int) -> Position | None:
        """Where `path` (or its nearest written ancestor) stands in the spec files."""
        p: Path = tuple(path)
        while p:
            if p in self.positions:
                return self.positions[p]
            p = p[:-1]
        return None

    def value_at(self, *path: str | int) -> Position | None:
        """Where the value at exactly `path` starts (None: not a mapping entry of the files)."""
        return self.values.get(tuple(path))


class SpecInvalid(RealmctlError):
    """The spec has errors; `findings` lists them all (not just the first)."""

    def __init__(self, findings: list[Finding], files: list[str] | None = None) -> None:
        self.findings = findings
        self.files = files or []  # the spec files that were read, for summaries
        errors = [f for f in findings if f.severity == "error"]
        super().__init__(f"the spec has {len(errors)} error(s):\n" + "\n".join(str(f) for f in findings))
