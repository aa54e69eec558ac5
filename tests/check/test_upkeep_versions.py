"""`upkeep.no-refresh-token` says what the server in front of realmctl does with an expired stored
token that has no refresh token (observed on 26.7.3 in tests/e2e/test_modern_chains.py), and what
older servers do: before 26.4 Keycloak never refreshed a stored token."""

from realmctl.capabilities import BROKER_V1, BROKER_V2, Capabilities
from realmctl.check.upkeep import after_expiry


def caps(version: str, *enabled: str) -> Capabilities:
    return Capabilities(version, frozenset(enabled), frozenset({BROKER_V1, BROKER_V2}), frozenset())


def test_each_server_gets_its_own_text() -> None:
    old = after_expiry(Capabilities("26.3.5", frozenset(), frozenset(), frozenset()), "apps", "azure")
    assert "the application could refresh it at the IdP (Keycloak 26.3.5 does not; 26.4+ does it itself)" in old
    v1 = after_expiry(caps("26.7.3", BROKER_V1), "apps", "azure")
    assert v1.startswith("GET /realms/apps/broker/azure/token keeps returning it as it was, expired (Keycloak 26.7.3")
    v2 = after_expiry(caps("26.7.3", BROKER_V2), "apps", "azure")
    assert v2.startswith(
        'POST /realms/apps/broker/azure/token then answers 400 token_expired "linked token is expired"'
    )
    unknown = after_expiry(Capabilities("unknown", frozenset(), frozenset(), frozenset()), "apps", "azure")
    assert "(Keycloak before 26.4 does not; 26.4+ does it itself)" in unknown


def test_without_serverinfo_the_text_covers_both_apis() -> None:
    """`plan` runs the upkeep rules too, and reads serverinfo only for chains that need it."""
    text = after_expiry(None, "apps", "azure")
    assert "keeps returning it as it was, expired" in text and '"linked token is expired"' in text
