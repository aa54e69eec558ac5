"""`${env:NAME}`, `${env:NAME:-default}` and `${file:path}` inside string values.

Secrets belong in the environment or in files, not in the spec; this module puts them in place.
Errors name the variable or file and where it was used, never a value: the value is the secret.
"""

import re
from collections.abc import Mapping
from pathlib import Path as FsPath
from typing import Any

from realmctl.spec.model import Finding, Path, Position

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SYNTAX_HINT = "write `${env:NAME}`, `${env:NAME:-default}` or `${file:path}`; `$${` for a literal `${`"


class _Failure(Exception):
    """One expression could not be resolved; carries the finding's code, message and hint."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


def _resolve(body: str, env: Mapping[str, str], base: FsPath, field: str) -> str:
    kind, sep, rest = body.partition(":")
    if kind == "env" and sep:
        name, dash, default = rest.partition(":-")
        if not _NAME.match(name):
            raise _Failure("bad-interpolation", f"`${{env:...}}` in {field} needs a variable name", _SYNTAX_HINT)
        if name in env:
            return env[name]
        if dash:
            return default
        if hasattr(env, "missing_value"):  # validate --allow-missing-env
            value: str = env.missing_value(name)
            return value
        raise _Failure(
            "missing-env",
            f"environment variable `{name}` used in {field} is not set",
            f"set `{name}`, or give a default: `${{env:{name}:-default}}`",
        )
    if kind == "file" and sep and rest:
        target = base / rest
        try:
            content = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise _Failure(
                "missing-file",
                f"file `{rest}` used in {field} cannot be read",
                "the path is relative to the spec file's directory",
            ) from None
        if content.endswith("\r\n"):
            return content[:-2]
        return content[:-1] if content.endswith("\n") else content
    raise _Failure("bad-interpolation", f"unknown `${{...}}` expression in {field}", _SYNTAX_HINT)


def interpolate_string(text: str, env: Mapping[str, str], base: FsPath, field: str) -> str:
    """Expand every expression in `text`; raises `_Failure` on the first one that cannot be."""
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
            end = text.find("}", j + 2)
            if end < 0:
                raise _Failure("bad-interpolation", f"`${{` without a closing `}}` in {field}", _SYNTAX_HINT)
            out.append(_resolve(text[j + 2 : end], env, base, field))
            i = end + 1
        else:
            out.append("$")
            i = j + 1


def _field(path: Path) -> str:
    names = [p for p in path if isinstance(p, str)]
    return f"`{names[-1]}`" if names else "a value"


def interpolate(
    data: Any, env: Mapping[str, str], base: FsPath, file: str, positions: dict[Path, Position]
) -> tuple[Any, list[Finding], set[Path]]:
    """Interpolate every string in `data` (keys excepted). A failed expression becomes an empty string
    and a finding, so that the rest of the spec is still checked. Also returns the paths that held
    an expression, so that a type error there can explain that interpolation yields strings."""
    findings: list[Finding] = []
    expanded: set[Path] = set()

    def walk(value: Any, path: Path) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        if isinstance(value, str) and "$" in value:
            expanded.add(path)
            try:
                return interpolate_string(value, env, base, _field(path))
            except _Failure as exc:
                where = positions.get(path) or Position(file, 1, 1)
                findings.append(Finding("error", exc.code, exc.message, where, exc.hint))
                return ""
        return value

    return walk(data, ()), findings, expanded
