"""Several keep-alive clients at once, and importing a real realm export (`--import`)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from realmctl.sandbox import Sandbox
from tests.conftest import KeycloakTarget
from tests.sandbox.conftest import Api, admin_for
from tests.sandbox.test_defaults import FULL_EXPORT_26_2_5 as FIXTURE


def test_concurrent_keep_alive_clients(keycloak: KeycloakTarget, api: Api, realm: str) -> None:
    assert api.get("").status_code == 200  # logs python-keycloak in
    token = (api.admin.connection.token or {})["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    def worker(_: int) -> list[int]:
        with requests.Session() as session:
            return [
                session.get(f"{keycloak.url}/admin/realms/{realm}/clients", headers=headers, timeout=10).status_code
                for _ in range(25)
            ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [s for batch in pool.map(worker, range(8)) for s in batch]
    assert statuses == [200] * 200


@pytest.mark.sandbox_only
def test_import_of_a_real_export_serves_its_objects(tmp_path: Path) -> None:
    if not FIXTURE.exists():
        pytest.skip("fixture missing")
    with Sandbox(imports=[FIXTURE]) as sb:
        api = Api(admin_for(KeycloakTarget(sb.url, "admin", "admin", True, "keycloak-26"), "internal"), "internal")
        clients = {c["clientId"]: c for c in api.get("/clients").json()}
        assert "internal-cli" in clients
        export = json.loads(FIXTURE.read_text())
        want = next(c for c in export["clients"] if c["clientId"] == "internal-cli")
        assert clients["internal-cli"]["id"] == want["id"]  # ids are kept
        assert clients["internal-cli"]["secret"] == want["secret"]
        idp = api.get("/identity-provider/instances/external-oidc").json()
        assert idp["internalId"] == export["identityProviders"][0]["internalId"]
        assert idp["config"]["clientSecret"] == "**********"
        broker = clients["broker"]
        assert api.get(f"/clients/{broker['id']}/roles/read-token").status_code == 200
        assert api.get("").json()["accessTokenLifespan"] == 300
        scopes = {s["name"] for s in api.get("/default-default-client-scopes").json()}
        assert scopes == set(export["defaultDefaultClientScopes"])
        token = requests.post(
            f"{sb.url}/realms/internal/protocol/openid-connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "internal-cli",
                "client_secret": want["secret"],
            },
            timeout=10,
        )
        assert token.status_code == 401  # internal-cli has no service account in the export
        assert token.json()["error_description"] == "Client not enabled to retrieve service account"
