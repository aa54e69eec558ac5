"""What `realmctl validate` prints: findings as `file:line:col: severity: message (hint)` or JSON.

Kept out of cli.py so that the wording and the JSON shape are library code, tested directly.
"""

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from realmctl.errors import RealmctlError
from realmctl.spec.loader import LoadOptions, load_spec
from realmctl.spec.model import Finding, SpecInvalid


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _finding_json(f: Finding) -> dict[str, Any]:
    p = f.position
    return {
        "severity": f.severity,
        "code": f.code,
        "message": f.message,
        "file": p.file if p else None,
        "line": p.line if p else None,
        "column": p.column if p else None,
        "hint": f.hint,
    }


class LenientEnv(Mapping[str, str]):
    """The process environment, where an unset variable reads as a placeholder and is noted.

    For `validate --allow-missing-env`: a developer's machine (a pre-commit hook) rarely has the
    pipeline's secrets, yet everything else about the spec can still be checked.
    """

    PLACEHOLDER = "realmctl-unset-variable"

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.missing: set[str] = set()

    def __getitem__(self, name: str) -> str:
        return self.env[name]

    def missing_value(self, name: str) -> str:
        """What an unset variable without a default reads as (the interpolator asks last)."""
        self.missing.add(name)
        return self.PLACEHOLDER

    def __iter__(self) -> Iterator[str]:
        return iter(self.env)

    def __len__(self) -> int:
        return len(self.env)


def validate_report(
    paths: Sequence[str], fmt: str = "text", allow_missing_env: bool = False, options: LoadOptions | None = None
) -> tuple[str, bool]:
    """Validate `paths` and render the result; returns (output, valid)."""
    realms = objects = 0
    lenient = LenientEnv(os.environ) if allow_missing_env else None
    try:
        spec = load_spec(paths, env=lenient, options=options)
    except SpecInvalid as exc:
        findings, files, valid = exc.findings, exc.files, False
    except Exception as exc:
        # A bug's exception text could quote a spec value (a secret): report only its type.
        raise RealmctlError(
            f"internal error ({type(exc).__name__}) while validating; its message is withheld because "
            "it may contain a value from the spec. Please report it."
        ) from None
    else:
        findings, files, valid = spec.warnings, spec.files, True
        realms, objects = len(spec.realms), len(spec.objects())
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    if fmt == "json":
        summary = {
            "errors": errors,
            "warnings": warnings,
            "files": len(files),
            "realms": realms,
            "objects": objects,
        }
        doc = {
            "format": "realmctl.validate",  # as every command's JSON says what it is
            "version": 1,
            "valid": valid,
            "findings": [_finding_json(f) for f in findings],
            "summary": summary,
        }
        if lenient is not None:
            doc["unsetVariables"] = sorted(lenient.missing)
        return json.dumps(doc, indent=2), valid
    lines = [str(f) for f in findings]
    if lenient is not None and lenient.missing:
        lines.append(f"Not set, allowed by --allow-missing-env: {', '.join(sorted(lenient.missing))}")
    in_files = f"in {_plural(len(files), 'file')}"
    if valid:
        ok = f"OK: {_plural(realms, 'realm')}, {_plural(objects, 'object')} {in_files}"
        lines.append(ok + (f" ({_plural(warnings, 'warning')})" if warnings else ""))
    else:
        lines.append(f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} {in_files}")
    return "\n".join(lines), valid
