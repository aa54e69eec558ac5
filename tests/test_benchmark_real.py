"""The real-server benchmark's machinery: the counting proxy counts what the server saw, and the
Ansible peer's playbook declares one module call per object of the spec (benchmarks/, issue #19)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import requests
import yaml

from benchmarks import peer_ansible
from benchmarks.proxy import CountingProxy
from benchmarks.specgen import SIZES, generate
from realmctl.keycloak.session import Api, Settings
from realmctl.sandbox import Sandbox


@pytest.mark.sandbox_only
def test_proxy_counts_what_the_server_logged() -> None:
    with Sandbox() as sb, CountingProxy(sb.url) as proxy:
        api = Api(Settings(url=proxy.url, user="admin", password="admin"))
        api.login()
        api.post("admin/realms", {"realm": "proxied", "enabled": True})
        api.get("admin/realms/proxied/clients")
        client = api.get("admin/realms/proxied/clients", clientId="broker")[0]
        api.get(f"admin/realms/proxied/clients/{client['id']}/roles/read-token")
        api.get_or_none("admin/realms/proxied/users/count")
        seen = proxy.take()
        token = requests.post(
            f"{sb.url}/realms/master/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "admin-cli", "username": "admin", "password": "admin"},
            timeout=30,
        ).json()["access_token"]
        logged = requests.get(f"{sb.url}/sandbox/requests", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    by_path = Counter(f"{e['method']} {e['path']}" for e in seen)
    assert by_path == Counter(
        {
            "POST /realms/{realm}/protocol/openid-connect/token": 1,
            "POST /admin/realms": 1,
            "GET /admin/realms/{realm}/clients": 2,
            "GET /admin/realms/{realm}/clients/{id}/roles/{role}": 1,
            "GET /admin/realms/{realm}/users/count": 1,
        }
    )
    assert [e["status"] for e in seen][1:] == [201, 200, 200, 200, 200]
    # The sandbox saw the same requests (plus our own token request for reading its log).
    server = Counter(f"{e['method']} {e['path']}" for e in logged.json()["log"])
    server["POST /realms/{realm}/protocol/openid-connect/token"] -= 1
    assert +server == by_path


def test_peer_playbook_has_one_module_call_per_object(tmp_path: Path) -> None:
    documents = generate(SIZES["S"])
    book = peer_ansible.playbook(documents, "http://127.0.0.1:1", tmp_path / "s.yml")
    (play,) = yaml.safe_load(book.read_text(encoding="utf-8"))
    calls: Counter[str] = Counter()
    for task in play["tasks"]:
        module = next(k for k in task if k.startswith("community.general."))
        loop = task.get("loop")
        calls[module.rsplit(".", 1)[1]] += len(loop) if isinstance(loop, list) else 1
    # S: 1 realm, 2 groups, 2 IdPs, 1 client scope and its role scope, 5 clients, 2 clients with a
    # role scope (one call for the realm role, one for broker's), 20 users, 40 user grants, 2 group grants.
    assert calls == Counter(
        {
            "keycloak_realm": 1,
            "keycloak_role": 7,  # 3 realm roles + 2 clients with 2 roles each
            "keycloak_group": 2,
            "keycloak_identity_provider": 2,
            "keycloak_clientscope": 1,
            "keycloak_clientscope_rolemappings": 1,
            "keycloak_client": 5,
            "keycloak_client_rolescope": 4,
            "keycloak_user": 20,
            "keycloak_user_rolemapping": 40,
            "keycloak_realm_rolemapping": 1,
            "keycloak_client_rolemapping": 1,
        }
    )
    assert play["module_defaults"]["group/community.general.keycloak"]["auth_keycloak_url"] == "http://127.0.0.1:1"
