"""JSON Schema validation whose errors read like advice, not like jsonschema's dumps.

jsonschema messages quote the offending instance, which may be a secret; we never use them.
Every finding is rebuilt from the error's path, validator and schema: keys, names and expected
types only.
"""

import difflib
from collections.abc import Iterable
from functools import cache
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from realmctl.schema import load_schema
from realmctl.spec.model import Finding, Path, Position
from realmctl.spec.paths import container, subject

_TYPES = {
    "object": "a mapping (`key: value` lines)",
    "array": "a list",
    "string": "a string",
    "boolean": "true or false",
    "integer": "a whole number",
    "number": "a number",
    "null": "empty",
}

#: Keycloak's own field names, for users who write them instead of the friendly ones.
KEYCLOAK_NAMES = {
    "addReadTokenRoleOnCreate": "storedTokensReadable",
    "standardFlowEnabled": "standardFlow",
    "directAccessGrantsEnabled": "directAccessGrants",
    "serviceAccountsEnabled": "serviceAccounts",
    "implicitFlowEnabled": "implicitFlow",
    "protocolMappers": "mappers",
    "defaultDefaultClientScopes": "defaultClientScopes",
    "defaultOptionalClientScopes": "optionalClientScopes",
}

_NAME_RULES = {
    "realms": "realm names cannot contain `/` or whitespace",
    "identityProviders": "identity provider aliases cannot contain whitespace",
    "clientScopes": 'client scope names are printable ASCII without spaces, `"` or `\\`',
}


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema())


def _expected(types: Any) -> str:
    if isinstance(types, str):
        return _TYPES.get(types, types)
    names = [
        _TYPES.get(t, t) if t != "boolean" else "true/false" for t in types if t != "integer" or "number" not in types
    ]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {dict: "object", list: "array", str: "string", float: "number"}.get(type(value), "null")


def _matches_type(branch: dict[str, Any], value: Any) -> bool:
    want = branch.get("type")
    if want is None:
        return True
    wants = [want] if isinstance(want, str) else list(want)
    got = _json_type(value)
    return got in wants or (got == "integer" and "number" in wants)


def did_you_mean(key: str, valid: Iterable[str]) -> str | None:
    """The hint for an unknown key: a Keycloak alias, else the nearest valid key, else the list."""
    valid = sorted(valid)
    if KEYCLOAK_NAMES.get(key) in valid:
        return f"did you mean `{KEYCLOAK_NAMES[key]}`? It is realmctl's name for Keycloak's `{key}`"
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if not close:
        lowered = {v.lower(): v for v in valid}
        close = [lowered[key.lower()]] if key.lower() in lowered else []
    if close:
        return f"did you mean `{close[0]}`?"
    if not valid:
        return None
    shown = ", ".join(f"`{v}`" for v in valid[:12])
    return f"valid keys: {shown}" + (", ..." if len(valid) > 12 else "")


class _Translator:
    """Turns jsonschema errors into findings positioned in the user's file."""

    def __init__(self, file: str, positions: dict[Path, Position], expanded: set[Path]) -> None:
        self.file = file
        self.expanded = expanded
        self.positions = positions
        self.findings: list[Finding] = []

    def where(self, path: Path) -> Position:
        p = path
        while p and p not in self.positions:
            p = p[:-1]
        return self.positions.get(p) or Position(self.file, 1, 1)

    def add(self, code: str, message: str, path: Path, hint: str | None = None) -> None:
        self.findings.append(Finding("error", code, message, self.where(path), hint))

    def translate(self, error: ValidationError) -> None:
        path: Path = tuple(error.absolute_path)
        kind = error.validator
        value = error.validator_value
        if "propertyNames" in error.schema_path:
            name = str(error.instance)
            section = next((p for p in reversed(path) if isinstance(p, str)), "")
            self.add(
                "bad-name",
                f"name `{name}` is not allowed in {container(path)}",
                (*path, name),
                _NAME_RULES.get(str(section)),
            )
        elif kind == "additionalProperties" and value is False and isinstance(error.instance, dict):
            known = set(error.schema.get("properties", {}))
            for key in error.instance:
                if key not in known:
                    self.add(
                        "unknown-key",
                        f"unknown key `{key}` in {container(path)}",
                        (*path, key),
                        did_you_mean(key, known),
                    )
        elif kind == "type":
            hint = None
            if path in self.expanded:
                hint = "`${...}` always gives a string; write this value in the spec itself"
            self.add("wrong-type", f"{subject(path)} must be {_expected(value)}", path, hint)
        elif kind == "required":
            instance = error.instance if isinstance(error.instance, dict) else {}
            props = set(error.schema.get("properties", {}))
            typos = {m for k in instance if k not in props for m in difflib.get_close_matches(k, props, 1, 0.6)}
            # A misspelt required key is reported once, as an unknown key with its did-you-mean.
            for key in [k for k in value if k not in instance and k not in typos]:
                where = "the spec" if not path else subject(path)
                self.add("missing-key", f"{where} is missing the required key `{key}`", path)
        elif kind == "const":
            self.add(
                "bad-value",
                f"{subject(path)} must be {value!r}",
                path,
                "this realmctl reads spec version 1" if path == ("version",) else None,
            )
        elif kind == "enum":
            choices = ", ".join(f"`{v}`" for v in value)
            self.add("bad-value", f"{subject(path)} must be one of {choices}", path)
        elif kind == "minLength":
            self.add("bad-value", f"{subject(path)} must not be empty", path)
        elif kind == "uniqueItems":
            self.add("duplicate-item", f"{subject(path)} lists the same entry twice", path, "remove the repeat")
        elif kind in ("oneOf", "anyOf"):
            self._alternatives(error, path)
        else:
            self.add("bad-value", f"{subject(path)} is not valid ({kind})", path)

    def _alternatives(self, error: ValidationError, path: Path) -> None:
        """oneOf/anyOf: say which keys or shapes are allowed, or descend into the one shape that fits."""
        branches: list[dict[str, Any]] = error.validator_value
        if all(set(b) == {"required"} for b in branches):
            if not isinstance(error.instance, dict):
                return  # not a mapping at all: the type error says so
            keys = " or ".join(f"`{k}`" for b in branches for k in b["required"])
            exactly = "exactly one" if error.validator == "oneOf" else "at least one"
            self.add("missing-key", f"{subject(path)} needs {exactly} of {keys}", path)
            return
        fitting = [i for i, b in enumerate(branches) if _matches_type(b, error.instance)]
        if len(fitting) == 1:
            inner = [e for e in (error.context or []) if e.relative_schema_path[0] == fitting[0]]
            if inner:
                for sub in inner:
                    self.translate(sub)
                return
        shapes = " or ".join(_expected(b["type"]) for b in branches if "type" in b)
        self.add("wrong-type", f"{subject(path)} must be {shapes or 'one of the documented shapes'}", path)


def _sort_key(error: ValidationError) -> tuple[str, ...]:
    return tuple(str(p) for p in error.absolute_path)


def validate_document(
    data: Any, file: str, positions: dict[Path, Position], expanded: set[Path] | None = None
) -> list[Finding]:
    """Every schema error of one file's data, as findings with positions and fixes. `expanded` holds
    the paths whose value came from `${...}`."""
    translator = _Translator(file, positions, expanded or set())
    for error in sorted(_validator().iter_errors(data), key=_sort_key):
        translator.translate(error)
    return translator.findings


def config_key_warnings(realms: dict[str, Any], positions: dict[Path, Position]) -> list[Finding]:
    """IdP `config` accepts any key (Keycloak has many), so a typo of a known one is silently passed
    through; warn when a key is a near miss of a key the schema knows (`clientSecrte`)."""
    idp_schema = load_schema()["properties"]["realms"]["additionalProperties"]["properties"]["identityProviders"]
    known = set(idp_schema["additionalProperties"]["properties"]["config"]["properties"])
    lowered = {k.lower(): k for k in known}
    findings: list[Finding] = []
    for r, realm in realms.items():
        idps = realm.get("identityProviders") if isinstance(realm, dict) else None
        for alias, idp in idps.items() if isinstance(idps, dict) else ():
            config = idp.get("config") if isinstance(idp, dict) else None
            for key in config if isinstance(config, dict) else ():
                if key in known:
                    continue
                close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.85)
                match = lowered.get(key.lower()) or (close[0] if close else None)
                if match:
                    path: Path = ("realms", r, "identityProviders", alias, "config", key)
                    findings.append(
                        Finding(
                            "warning",
                            "unknown-config-key",
                            f"config key `{key}` of identity provider `{alias}` is passed to Keycloak as is",
                            positions.get(path),
                            f"did you mean `{match}`?",
                        )
                    )
    return findings
