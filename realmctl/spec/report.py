"""What `realmctl validate` prints: findings as `file:line:col: severity: message (hint)` or JSON.

Kept out of cli.py so that the wording and the JSON shape are library code, tested directly.
"""

import json
from collections.abc import Sequence
from typing import Any

from realmctl.errors import RealmctlError
from realmctl.spec.loader import load_spec
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


def validate_report(paths: Sequence[str], fmt: str = "text") -> tuple[str, bool]:
    """Validate `paths` and render the result; returns (output, valid)."""
    realms = objects = 0
    try:
        spec = load_spec(paths)
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
            "version": 1,
            "valid": valid,
            "findings": [_finding_json(f) for f in findings],
            "summary": summary,
        }
        return json.dumps(doc, indent=2), valid
    lines = [str(f) for f in findings]
    in_files = f"in {_plural(len(files), 'file')}"
    if valid:
        ok = f"OK: {_plural(realms, 'realm')}, {_plural(objects, 'object')} {in_files}"
        lines.append(ok + (f" ({_plural(warnings, 'warning')})" if warnings else ""))
    else:
        lines.append(f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} {in_files}")
    return "\n".join(lines), valid
