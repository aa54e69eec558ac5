"""The differential corpus as part of the real-Keycloak tier (issue #14).

Runs every scenario against a fresh sandbox and the real server of the same profile and fails on a
difference that is neither accepted (tests/fidelity/accepted.yaml) nor listed as known-open, and on
a known-open entry that no longer occurs (so that fixes shrink the list). On the sandbox backend
there is no real server to compare with, so it is skipped with that reason.
"""

from typing import Any

import pytest

from realmctl.sandbox import Sandbox
from tests.fidelity.runner import SANDBOX_PROFILES, Server, known_file, run, stale_known


def _compare(target: Any, profile: str) -> None:
    if target.is_sandbox:
        pytest.skip("the differential corpus compares the sandbox with a real Keycloak (--backend keycloak)")
    with Sandbox(profile=SANDBOX_PROFILES[profile]) as sb:
        result = run(
            Server(sb.url, sb.admin_user, sb.admin_password),
            Server(target.url, target.admin_user, target.admin_password),
            profile,
        )
    opened = [f"{d.id}: sandbox {d.sandbox!r} / real {d.real!r}" for d in result.differences if d.verdict == "open"]
    gone = stale_known(result)
    assert not opened, f"new differences (fix the sandbox, or list them in {known_file(profile).name}):\n" + "\n".join(
        opened[:40]
    )
    assert not gone, f"fixed differences still listed in {known_file(profile).name}:\n" + "\n".join(gone[:40])


def test_sandbox_answers_like_keycloak_default_profile(keycloak: Any) -> None:
    _compare(keycloak, "default")


def test_sandbox_answers_like_keycloak_legacy_exchange_profile(legacy_keycloak: Any) -> None:
    _compare(legacy_keycloak, "legacy-exchange")


def test_sandbox_answers_like_keycloak_modern_profile(modern_keycloak: Any) -> None:
    _compare(modern_keycloak, "modern")
