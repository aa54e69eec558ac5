"""`${env:NAME}`, `${env:NAME:-default}` and `${file:path}` inside string values.

Secrets belong in the environment or in files, not in the spec; this module puts them in place.
Errors name the variable or file and where it was used, never a value: the value is the secret.

`${file:}` is confined: a spec is often written by someone other than whoever runs it (a pull
request), so by default it may read only regular files below its own directory, up to
`MAX_FILE_BYTES`; never a FIFO or a device (which would hang or never end) and never a kernel
pseudo-file such as `/proc/self/environ`. Every expression records its sources (`env:NAME`,
`file:path`) so that the loader can treat the value as secret unless the spec declares it public.
"""

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from realmctl.spec.model import Finding, Path, Position

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SYNTAX_HINT = "write `${env:NAME}`, `${env:NAME:-default}` or `${file:path}`; `$${` for a literal `${`"
#: The largest file `${file:}` reads: secrets and certificates are small; a bigger file is a mistake.
MAX_FILE_BYTES = 64 * 1024
#: Kernel pseudo-files look regular but are not files anyone means to paste into a spec.
_PSEUDO_ROOTS = ("/proc", "/sys", "/dev")


@dataclass(frozen=True)
class FileAccess:
    """Where `${file:}` may read: the spec's own directory (default), or anywhere regular."""

    allow_outside: bool = False
    max_bytes: int = MAX_FILE_BYTES


class _Failure(Exception):
    """One expression could not be resolved; carries the finding's code, message and hint."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


def _closing(text: str, start: int) -> int:
    """Index of the `}` closing the expression whose body starts at `start` (nested `${` count)."""
    depth = 0
    i = start
    while i < len(text):
        if text.startswith("$${", i):
            i += 3
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1


class _Interpolator:
    """Expands the expressions of one string value, remembering the sources it used."""

    def __init__(self, env: Mapping[str, str], base: FsPath, field: str, access: FileAccess) -> None:
        self.env, self.base, self.field, self.access = env, base, field, access
        self.sources: list[str] = []

    def expand(self, text: str) -> str:
        out: list[str] = []
        i = 0
        while True:
            j = text.find("$", i)
            if j < 0:
                out.append(text[i:])
                return "".join(out)
            out.append(text[i:j])
            if text.startswith("$${", j):
                out.append("${")
                i = j + 3
            elif text.startswith("${", j):
                end = _closing(text, j + 2)
                if end < 0:
                    raise _Failure("bad-interpolation", f"`${{` without a closing `}}` in {self.field}", _SYNTAX_HINT)
                out.append(self.resolve(text[j + 2 : end]))
                i = end + 1
            else:
                out.append("$")
                i = j + 1

    def resolve(self, body: str) -> str:
        kind, sep, rest = body.partition(":")
        if kind == "env" and sep:
            return self.env_value(rest)
        if kind == "file" and sep and rest:
            self.sources.append(f"file:{rest}")
            return self.read_file(rest)
        raise _Failure("bad-interpolation", f"unknown `${{...}}` expression in {self.field}", _SYNTAX_HINT)

    def env_value(self, rest: str) -> str:
        name, dash, default = rest.partition(":-")
        if not _NAME.match(name):
            raise _Failure("bad-interpolation", f"`${{env:...}}` in {self.field} needs a variable name", _SYNTAX_HINT)
        self.sources.append(f"env:{name}")
        if name in self.env:
            # The default's own sources still taint the value: which branch was taken is not
            # something an output may reveal either.
            if dash and "${" in default:
                self.sources.extend(f"{m[0]}:{m[1]}" for m in re.findall(r"\$\{(env|file):([^:}]*)", default))
            return self.env[name]
        if dash:
            return self.expand(default)  # a default may itself be `${env:B}` or `${file:...}`
        if hasattr(self.env, "missing_value"):  # validate --allow-missing-env
            value: str = self.env.missing_value(name)
            return value
        raise _Failure(
            "missing-env",
            f"environment variable `{name}` used in {self.field} is not set",
            f"set `{name}`, or give a default: `${{env:{name}:-default}}`",
        )

    def read_file(self, rest: str) -> str:
        target = self.base / rest
        where = f"file `{rest}` used in {self.field}"
        if not self.access.allow_outside:
            inside = self.base.resolve()
            if os.path.isabs(rest) or not target.resolve().is_relative_to(inside):
                raise _Failure(
                    "file-outside-spec",
                    f"{where} is outside the spec file's directory",
                    "use a path relative to the spec file, below its directory, or run with --allow-file-outside-spec",
                )
        resolved = str(target.resolve())
        if any(resolved == root or resolved.startswith(root + "/") for root in _PSEUDO_ROOTS):
            raise _Failure("not-a-regular-file", f"{where} is a device or kernel pseudo-file", "use a regular file")
        try:
            info = target.stat()
        except OSError:
            hint = "the path is relative to the spec file's directory"
            raise _Failure("missing-file", f"{where} cannot be read", hint) from None
        if not stat.S_ISREG(info.st_mode):
            raise _Failure(
                "not-a-regular-file",
                f"{where} is not a regular file (a directory, FIFO, socket or device), so it is not read",
                "use a regular file",
            )
        limit = self.access.max_bytes
        too_big = _Failure(
            "file-too-large",
            f"{where} is larger than {limit // 1024} KiB, the limit for `${{file:}}`",
            "a secret or certificate fits; point at the right file",
        )
        if info.st_size > limit:
            raise too_big
        try:
            # O_NONBLOCK: if the file was swapped for a FIFO since the stat, opening must not hang.
            fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    raise _Failure("not-a-regular-file", f"{where} is not a regular file", "use a regular file")
                raw = handle.read(limit + 1)
            content = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            raise _Failure("missing-file", f"{where} cannot be read as UTF-8 text", "check the file") from None
        if len(raw) > limit:
            raise too_big
        if content.endswith("\r\n"):
            return content[:-2]
        return content[:-1] if content.endswith("\n") else content


def interpolate_string(
    text: str, env: Mapping[str, str], base: FsPath, field: str, access: FileAccess | None = None
) -> str:
    """Expand every expression in `text`; raises `_Failure` on the first one that cannot be."""
    return _Interpolator(env, base, field, access or FileAccess()).expand(text)


def _field(path: Path) -> str:
    names = [p for p in path if isinstance(p, str)]
    return f"`{names[-1]}`" if names else "a value"


def interpolate(
    data: Any,
    env: Mapping[str, str],
    base: FsPath,
    file: str,
    positions: dict[Path, Position],
    access: FileAccess | None = None,
) -> tuple[Any, list[Finding], dict[Path, list[str]]]:
    """Interpolate every string in `data` (keys excepted). A failed expression becomes an empty string
    and a finding, so that the rest of the spec is still checked. Also returns, for each path that
    held an expression, the sources it named (`env:NAME`, `file:path`): a type error there can then
    explain that interpolation yields strings, and the loader decides which values are secret."""
    findings: list[Finding] = []
    expanded: dict[Path, list[str]] = {}
    access = access or FileAccess()

    def walk(value: Any, path: Path) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        if isinstance(value, str) and "$" in value:
            worker = _Interpolator(env, base, _field(path), access)
            expanded[path] = worker.sources
            try:
                return worker.expand(value)
            except _Failure as exc:
                where = positions.get(path) or Position(file, 1, 1)
                findings.append(Finding("error", exc.code, exc.message, where, exc.hint))
                return ""
        return value

    return walk(data, ()), findings, expanded
