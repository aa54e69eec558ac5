"""The compiled schema check (realmctl/spec/_validator.py) that spares `validate` importing jsonschema.

What a user would notice if it went wrong: a broken spec accepted (the compiled check more lenient
than jsonschema), error output that differs from before, a stale compiled check after a schema
change, or `validate` slow again because jsonschema is back on the path of a valid spec.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from realmctl.cli import cli
from realmctl.schema import load_schema
from realmctl.spec import gen_validator, validate
from realmctl.spec.loader import read_document

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "spec" / "bad"


def test_the_checked_in_validator_is_generated_from_the_current_schema() -> None:
    fresh = gen_validator.generate()
    assert gen_validator.TARGET.read_text(encoding="utf-8") == fresh, (
        "realmctl/spec/_validator.py is stale: run `python -m realmctl.spec.gen_validator`"
    )


def test_the_generated_validator_does_not_need_fastjsonschema() -> None:
    text = gen_validator.TARGET.read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "import fastjsonschema" not in code and "from fastjsonschema" not in code


@pytest.mark.parametrize(
    "schema",
    [
        {"properties": {"a": {"$ref": "#/$defs/x"}}},
        {"dependentRequired": {"a": ["b"]}},
        {"items": [{"type": "string"}]},
        {"properties": {"a": {"type": "string", "format": "uri"}}},
    ],
)
def test_the_generator_refuses_keywords_the_compiled_check_would_read_otherwise(schema: dict[str, Any]) -> None:
    """fastjsonschema reads draft-07; a 2020-12 keyword it ignored would make the check lenient."""
    with pytest.raises(SystemExit, match="the schema uses"):
        gen_validator.constraints(schema)


def test_a_property_named_like_an_annotation_is_kept() -> None:
    schema = {"type": "object", "description": "x", "properties": {"description": {"type": "string"}}}
    assert gen_validator.constraints(schema) == {"type": "object", "properties": {"description": {"type": "string"}}}


def _corpus() -> list[str]:
    """Every bad spec (files and multi-file directories) and the examples."""
    entries = [p for p in sorted(BAD.iterdir()) if p.is_dir() or p.suffix == ".yaml"]
    return [str(p.relative_to(ROOT)) for p in entries] + ["examples"]


def _validate_cli(target: str) -> tuple[int, str]:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(cli, ["validate", target], env={"REALMCTL_TEST_SURELY_UNSET": None})
    finally:
        os.chdir(cwd)
    return result.exit_code, result.output


@pytest.mark.parametrize("target", _corpus())
def test_output_is_the_same_as_with_jsonschema_alone(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`realmctl validate` prints exactly what it printed when jsonschema checked every spec."""
    new = _validate_cli(target)
    monkeypatch.setattr(validate, "fast_valid", lambda data: False)  # the old path: jsonschema always
    old = _validate_cli(target)
    assert new == old


def test_the_corpus_has_schema_errors_of_every_kind_the_translator_words() -> None:
    """The comparison above means something only if the corpus reaches jsonschema's findings."""
    codes = set()
    for target in _corpus():
        for path in [ROOT / target] if (ROOT / target).is_file() else sorted((ROOT / target).glob("*.yaml")):
            doc = read_document(str(path), {})
            if doc.data is not None:
                codes |= {f.code for f in validate.schema_findings(doc.data, str(path), doc.positions)}
    assert {"unknown-key", "wrong-type", "missing-key", "bad-value", "bad-name", "duplicate-item"} <= codes


# --- The compiled check never accepts what jsonschema refuses, over the whole schema -------------


def _sample(schema: dict[str, Any]) -> Any:
    """A valid instance that uses every property the schema declares (the first of alternatives)."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "oneOf" in schema and all("type" in branch for branch in schema["oneOf"]):
        return _sample(schema["oneOf"][0])
    kind = schema.get("type", "object")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        exclusive = [b["required"] for b in schema.get("oneOf", []) if set(b) == {"required"}]
        left_out = {key for keys in exclusive[1:] for key in keys}  # oneOf: only the first key
        out = {k: _sample(sub) for k, sub in schema.get("properties", {}).items() if k not in left_out}
        if isinstance(schema.get("additionalProperties"), dict):
            out["k1"] = _sample(schema["additionalProperties"])
        return out
    if kind == "array":
        items = [_sample(schema.get("items", {})) for _ in range(max(1, schema.get("minItems", 1)))]
        return [f"{v}{i}" if isinstance(v, str) and i else v for i, v in enumerate(items)]
    return {"string": "a1", "boolean": True, "integer": max(1, schema.get("minimum", 1)), "number": 1.5}.get(kind)


#: Values put in place of each value of the sample: wrong types, edge values (1.0 is an integer to
#: jsonschema; "a1\n" matches a `$` pattern for Python's re), empty and repeated things.
_REPLACEMENTS: list[Any] = [None, True, 1, 1.0, 1.5, "", "a1\n", "a b/c", [], ["a", "a"], {}, {"zzUnknown": 1}]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, sub in items:
        yield from _paths(sub, (*path, key))


def _variants(data: Any) -> Iterator[tuple[Any, ...]]:
    """Changes `data` in place, one value at a time (each replacement, and removal of a mapping
    key), yielding the changed path; restores it after each."""
    for path in list(_paths(data))[1:]:
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        key, old = path[-1], parent[path[-1]]
        for replacement in _REPLACEMENTS:
            parent[key] = replacement
            yield path
        if isinstance(parent, dict):
            del parent[key]
            yield path
        parent[key] = old


def test_the_compiled_check_never_accepts_a_spec_jsonschema_refuses() -> None:
    reference = jsonschema.Draft202012Validator(load_schema())
    data = _sample(load_schema())
    assert reference.is_valid(data) and validate.fast_valid(data), "the sample itself must be valid"
    accepted_wrongly, refused_valid, count = [], set(), 0
    for path in _variants(data):
        count += 1
        valid = reference.is_valid(data)
        if validate.fast_valid(data) and not valid:
            accepted_wrongly.append(path)
        elif valid and not validate.fast_valid(data):
            refused_valid.add(path)
    assert count > 2000
    assert accepted_wrongly == []
    # Stricter only where Python's `$` accepts a final newline (jsonschema then has the last word:
    # validate_document finds no error, as before).
    assert refused_valid == {("owner",), ("public", "env", 0)}


def test_data_the_compiled_check_refuses_wrongly_still_passes() -> None:
    """`owner: "team\\n"` matches the schema's pattern for jsonschema, not for the compiled check:
    validate_document falls back to jsonschema, which finds nothing, so the spec stays valid."""
    data = {"version": 1, "owner": "team\n", "realms": {}}
    assert not validate.fast_valid(data)
    assert validate.validate_document(data, "s.yaml", {}) == []


# --- jsonschema stays off the path of a valid spec ---------------------------------------------


def _modules_after(*args: str) -> set[str]:
    """The modules loaded by one `realmctl ARGS` in a fresh interpreter."""
    code = (
        "import sys\nfrom realmctl.cli import run\nrun(sys.argv[1:])\nprint('MODULES', *sys.modules, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=60)
    line = next(line for line in result.stderr.splitlines() if line.startswith("MODULES "))
    return set(line.split()[1:])


def test_validate_of_a_valid_spec_imports_neither_jsonschema_nor_the_http_stack() -> None:
    loaded = _modules_after("validate", "examples/stored-tokens.yaml")
    assert "realmctl.spec._validator" in loaded
    heavy = {"jsonschema", "logging", "importlib.resources", "requests", "keycloak", "realmctl.engine"}
    assert loaded & heavy == set()


def test_validate_of_an_invalid_spec_uses_jsonschema_for_its_messages() -> None:
    assert "jsonschema" in _modules_after("validate", "tests/spec/bad/bad-enum.yaml")
