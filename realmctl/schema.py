"""Access to the spec's JSON Schema (schemas/realmctl.schema.json, shipped in the package)."""

import json
from functools import cache
from importlib.resources import files
from typing import Any


def schema_text() -> str:
    """The schema file exactly as shipped."""
    return (files("realmctl") / "data" / "realmctl.schema.json").read_text(encoding="utf-8")


@cache
def load_schema() -> dict[str, Any]:
    """The parsed schema (read once per process)."""
    result: dict[str, Any] = json.loads(schema_text())
    return result
