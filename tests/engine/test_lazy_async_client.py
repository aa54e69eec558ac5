"""realmctl.keycloak.session defers python-keycloak's unused httpx.AsyncClient (a pure speed-up):
building an Api loads no CA bundle, and the client, once used, is the one python-keycloak built."""

import ssl
from typing import Any

import httpx
import pytest

from realmctl.keycloak.session import Api, Settings


def _settings(verify: bool | str) -> Settings:
    return Settings(
        url="https://sso.example.invalid",
        auth_realm="master",
        user="admin",
        password="pw",
        client_id=None,
        client_secret=None,
        verify=verify,
    )


def _context(client: Any) -> ssl.SSLContext:
    context: ssl.SSLContext = client._transport._pool._ssl_context
    return context


def test_an_api_loads_no_ca_bundle_until_the_async_client_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[object] = []
    real = ssl.SSLContext.load_verify_locations
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", lambda *a, **k: loads.append(a) or real(*a, **k))
    api = Api(_settings(True))
    api._conn.keycloak_openid  # noqa: B018  (the token endpoint's connection, a second one)
    assert loads == []
    assert isinstance(api._conn.async_s.headers, httpx.Headers)  # first use builds it
    assert len(loads) == 1


@pytest.mark.parametrize("verify", [True, False])
def test_the_deferred_client_is_the_one_python_keycloak_would_build(verify: bool) -> None:
    client = Api(_settings(verify))._conn.async_s
    eager = httpx.AsyncClient(verify=verify)
    assert _context(client).verify_mode == _context(eager).verify_mode
    assert _context(client).check_hostname == _context(eager).check_hostname
    assert _context(client).cert_store_stats() == _context(eager).cert_store_stats()
    assert client.auth is None  # set by python-keycloak's constructor, before the client existed
    assert client._transport._pool._max_connections == 16  # pool_maxsize=max(10, parallelism 8 * 2)
