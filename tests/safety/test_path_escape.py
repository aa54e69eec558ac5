"""A name can never make realmctl act on another object than the one its plan shows (issue #18).

`.` and `..` are the only names that cannot be one URL path segment (Keycloak 26.7.3 stores and
serves roles named `a/b`, `a;b`, `a%2Fb`, `a?b`, `a#b`, `...` once percent-encoded): URL handling
resolves them, so a role `..` addressed the realm. The spec validator refuses them; the connection
refuses any path with such a segment (names and server-given ids alike) before anything is sent.
"""

from pathlib import Path
from typing import Any

import pytest
import yaml

from realmctl.keycloak.session import Api, Settings, UnsafePath, checked_path, seg
from tests.helpers import Admin, env_for, realmctl, unique


def spec_with(tmp_path: Path, realm: dict[str, Any], name: str = "apps") -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "realms": {name: realm}}, sort_keys=False))
    return str(path)


@pytest.mark.parametrize(
    ("realm_name", "realm", "line"),
    [
        ("..", {}, 3),
        (".", {}, 3),
        ("apps", {"roles": ["reader", ".."]}, 6),
        ("apps", {"clients": {"app": {"roles": ["."]}}}, 7),
        ("apps", {"identityProviders": {"..": {"providerId": "oidc"}}}, 5),
        ("apps", {"users": {"bob": {}}, "roleGrants": [{"users": ["bob"], "realmRoles": [".."]}]}, 10),
        (
            "apps",
            {
                "tokenExchange": {
                    "b": {"source": {"realm": "apps", "client": "c"}, "identityProvider": "..", "clients": ["c"]}
                }
            },
            9,
        ),
    ],
    ids=["realm ..", "realm .", "realm role", "client role", "idp alias", "granted role", "exchange idp"],
)
def test_validate_refuses_dot_names_with_their_line(
    tmp_path: Path, realm_name: str, realm: dict[str, Any], line: int
) -> None:
    path = spec_with(tmp_path, realm, realm_name)
    result = realmctl("validate", path)
    assert result.code == 1
    assert f"{path}:{line}:" in result.all
    assert "cannot be used: in a URL it means this folder or the parent folder" in result.all


def test_plan_refuses_a_dot_name_before_any_request(tmp_path: Path) -> None:
    path = spec_with(tmp_path, {"roles": [".."]})
    # No server is reachable at this address: the spec must be refused before any connection.
    env = env_for("http://127.0.0.1:9", "admin", "admin")
    result = realmctl("plan", path, env=env)
    assert result.code == 1
    assert "cannot be used" in result.all and "Cannot reach" not in result.all


def test_an_owned_role_named_dotdot_is_never_deleted_through_the_realm_url(keycloak: Any, tmp_path: Path) -> None:
    """The critical defect: removing role `..` from the spec sent DELETE /admin/realms/<realm>."""
    admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    realm = unique("esc")
    env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    path = spec_with(tmp_path, {"roles": ["reader"]}, realm)
    assert realmctl("apply", "--yes", path, env=env).code == 0
    # A role named `..` that carries realmctl's ownership marker (made by an older realmctl, or by hand).
    admin.post(f"admin/realms/{realm}/roles", {"name": "..", "attributes": {"realmctl.managed": ["true"]}})
    try:
        result = realmctl("apply", "--yes", path, env=env)
        assert result.code == 1
        assert "refusing to use '..' as a name in a URL" in result.all
        assert admin.get(f"admin/realms/{realm}")["realm"] == realm  # the realm is still there
        names = {r["name"] for r in admin.get(f"admin/realms/{realm}/roles")}
        assert {"..", "reader"} <= names
    finally:
        admin.call("DELETE", f"admin/realms/{realm}")


@pytest.mark.parametrize(
    "path",
    [
        "admin/realms/x/clients/..",
        "admin/realms/./clients",
        "admin/realms/x//y",
        "/admin/realms",
        "admin/realms/x/%2e%2E",
    ],
)
def test_a_path_with_a_dot_or_empty_segment_is_never_sent(path: str) -> None:
    api = Api(Settings(url="http://127.0.0.1:9", user="u", password="p"))
    with pytest.raises(UnsafePath):
        api.delete(path)
    assert api.counts == {}  # refused before counting, let alone sending


def test_names_with_url_characters_stay_one_segment() -> None:
    for name in ("a/b", "a;b", "a?b", "a#b", "a%2Fb", "a b", "...", "ünï"):
        encoded = seg(name)
        assert "/" not in encoded and checked_path(f"admin/realms/x/roles/{encoded}")
    for name in (".", "..", ""):
        with pytest.raises(UnsafePath):
            seg(name)
