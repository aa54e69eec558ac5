"""A new realm equals a real Keycloak 26.7.3 partial export in clients, roles, scopes, mappers and lists.

The export (`tests/fixtures/realm-partial-export-26.7.3.json`, made by `POST /partial-export` with
clients, groups and roles on a real 26.7.3 server) is of realm `f2internal`, which also holds one
extra client (`internal-cli`) and one IdP, both created from the 26.2.5 export
(`shared/keycloak/fixtures/realm-export-26.2.5.json`); they are left out of the comparison, as are
ids, container ids and secrets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.conftest import Api

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "realm-partial-export-26.7.3.json"
FIXTURE_REALM = "f2internal"
#: The full realm export (kc.sh export, secrets and ids included) of Keycloak 26.2.5, realm `internal`.
FULL_EXPORT_26_2_5 = (
    Path(__file__).resolve().parents[2].parent / "shared" / "keycloak" / "fixtures" / "realm-export-26.2.5.json"
)
EXTRA_CLIENTS = {"internal-cli"}
ID_KEYS = {"id", "containerId", "secret"}


def normalise(value: Any, realm: str) -> Any:
    """Drop ids, sort lists (order is not part of the contract) and put a placeholder for the realm."""
    if isinstance(value, dict):
        return {k: normalise(v, realm) for k, v in value.items() if k not in ID_KEYS}
    if isinstance(value, list):
        items = [normalise(v, realm) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, str):
        return value.replace(f"/{realm}/", "/{realm}/").replace(f"default-roles-{realm}", "default-roles-{realm}")
    return value


@pytest.fixture(scope="module")
def fixture_export() -> dict[str, Any]:
    if not FIXTURE.exists():
        pytest.skip(f"fixture not found at {FIXTURE}")
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


@pytest.fixture
def exported(api: Api) -> dict[str, Any]:
    response = api.post("/partial-export", exportClients="true", exportGroupsAndRoles="true")
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def test_clients_match_the_export(fixture_export: dict[str, Any], exported: dict[str, Any], realm: str) -> None:
    want = {c["clientId"]: c for c in fixture_export["clients"] if c["clientId"] not in EXTRA_CLIENTS}
    got = {c["clientId"]: c for c in exported["clients"]}
    assert sorted(got) == sorted(want)
    for client_id, expected in want.items():
        assert normalise(got[client_id], realm) == normalise(expected, FIXTURE_REALM), client_id


def test_roles_match_the_export(fixture_export: dict[str, Any], exported: dict[str, Any], realm: str) -> None:
    want = dict(fixture_export["roles"])
    want["client"] = {k: v for k, v in want["client"].items() if k not in EXTRA_CLIENTS}
    assert normalise(exported["roles"], realm) == normalise(want, FIXTURE_REALM)
    assert normalise(exported["defaultRole"], realm) == normalise(fixture_export["defaultRole"], FIXTURE_REALM)


def test_client_scopes_and_mappers_match_the_export(
    fixture_export: dict[str, Any], exported: dict[str, Any], realm: str
) -> None:
    want = {s["name"]: s for s in fixture_export["clientScopes"]}
    got = {s["name"]: s for s in exported["clientScopes"]}
    assert sorted(got) == sorted(want)
    for name, expected in want.items():
        assert normalise(got[name], realm) == normalise(expected, FIXTURE_REALM), name


def test_default_scope_lists_and_scope_mappings_match_the_export(
    fixture_export: dict[str, Any], exported: dict[str, Any]
) -> None:
    for key in ("defaultDefaultClientScopes", "defaultOptionalClientScopes"):
        assert sorted(exported[key]) == sorted(fixture_export[key])
    assert exported["scopeMappings"] == fixture_export["scopeMappings"]
    assert exported["clientScopeMappings"] == fixture_export["clientScopeMappings"]


def test_imported_idp_reads_back_like_the_export_with_the_secret_masked(
    fixture_export: dict[str, Any], api: Api
) -> None:
    """Create the fixture's IdP through the API: GET must equal the export except the mask and id."""
    want = dict(fixture_export["identityProviders"][0])
    body = {k: v for k, v in want.items() if k != "internalId"}
    assert api.post("/identity-provider/instances", body).status_code == 201
    got = api.get(f"/identity-provider/instances/{want['alias']}").json()
    assert got.pop("internalId")
    want.pop("internalId")
    want["config"] = {**want["config"], "clientSecret": "**********"}
    assert got == want
    assert list(got) == list(want)  # same field order as Keycloak's serialiser
