"""docs/spec.md is the user's reference: it must mention every key the schema accepts."""

from pathlib import Path
from typing import Any

from realmctl.schema import load_schema

ROOT = Path(__file__).resolve().parents[2]


def _keys(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        found |= set(node.get("properties", {}))
        for value in node.values():
            found |= _keys(value)
    elif isinstance(node, list):
        for value in node:
            found |= _keys(value)
    return found


def test_every_schema_key_is_documented() -> None:
    doc = (ROOT / "docs" / "spec.md").read_text()
    missing = sorted(k for k in _keys(load_schema()) if f"`{k}`" not in doc and f"`{k}." not in doc)
    assert not missing, f"docs/spec.md does not mention: {missing}"


def test_readme_links_the_reference_and_documents_interpolation() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The spec", 1)[1]
    assert "(docs/spec.md)" in section
    for form in ("`${env:NAME}`", "`${env:NAME:-default}`", "`${file:path}`"):
        assert form in section
