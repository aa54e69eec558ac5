"""The Keycloak versions realmctl is tested against: the one list that `realmctl --version` prints
and docs/compatibility.md must agree with (tests/test_release.py holds them together)."""

# (version, how it was tested); the first is the one CI runs on every change.
TESTED_KEYCLOAK: tuple[tuple[str, str], ...] = (
    ("26.7.3", "whole test suite, every CI run"),
    ("26.4.7", "end-to-end tests, run by hand"),
    ("25.0.6", "end-to-end tests, run by hand"),
    ("24.0.5", "end-to-end tests, run by hand"),
)


def version_text(version: str) -> str:
    """What `realmctl --version` prints: the package version, then the Keycloak versions."""
    lines = [f"realmctl, version {version}", "tested against Keycloak:"]
    lines += [f"  {kc}  {how}" for kc, how in TESTED_KEYCLOAK]
    lines.append("see docs/compatibility.md for what works on which version")
    return "\n".join(lines)
