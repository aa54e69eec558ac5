"""Access to the spec's JSON Schema (schemas/realmctl.schema.json, shipped in the package)."""

import json
import os
from functools import cache
from typing import Any

_NAME = "realmctl.schema.json"


def schema_text() -> str:
    """The schema file exactly as shipped.

    Read beside this module where the package is a directory (every pip install, editable or
    not): importlib.resources costs 5-8 ms of CPU to import and set up, a tenth of `validate`'s
    start. A package loaded from an archive (zipimport) has no such file; then importlib.resources."""
    try:
        with open(os.path.join(os.path.dirname(__file__), "data", _NAME), encoding="utf-8") as f:
            return f.read()
    except OSError:
        from importlib.resources import files

        return (files("realmctl") / "data" / _NAME).read_text(encoding="utf-8")


@cache
def load_schema() -> dict[str, Any]:
    """The parsed schema (read once per process)."""
    result: dict[str, Any] = json.loads(schema_text())
    return result
