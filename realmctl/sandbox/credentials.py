"""Hashed password credentials as Keycloak exports them, so that users of an imported export log
in with their real passwords.

A Keycloak export (`kc.sh export`) writes a password credential as two JSON strings:
`secretData` `{"value": base64(hash), "salt": base64(salt), ...}` and `credentialData`
`{"hashIterations": n, "algorithm": "pbkdf2-sha512", ...}`. The PBKDF2 variants are verified here
with hashlib; the derived-key length is that of the stored hash (512 bits for pbkdf2 and
pbkdf2-sha512, 256 for pbkdf2-sha256). Argon2, Keycloak's default since 24, needs a library the
sandbox does not depend on: such a credential is refused at import with a sentence naming it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

#: Keycloak's algorithm id -> hashlib digest name.
PBKDF2 = {"pbkdf2": "sha1", "pbkdf2-sha256": "sha256", "pbkdf2-sha512": "sha512"}


class UnsupportedCredential(ValueError):
    """A credential the sandbox cannot verify (its algorithm is named in the message)."""


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    parsed = json.loads(value or "{}")
    return parsed if isinstance(parsed, dict) else {}


def hashed(cred: dict[str, Any]) -> dict[str, Any] | None:
    """The stored form of an exported password credential, or None when it carries no hash."""
    if "secretData" not in cred or "credentialData" not in cred:
        return None
    secret, data = _json(cred["secretData"]), _json(cred["credentialData"])
    algorithm = str(data.get("algorithm") or "")
    if algorithm not in PBKDF2:
        raise UnsupportedCredential(f"password hashed with {algorithm or 'an unnamed algorithm'!r}")
    return {
        "digest": PBKDF2[algorithm],
        "iterations": int(data.get("hashIterations") or 0),
        "salt": base64.b64decode(str(secret.get("salt") or "")),
        "hash": base64.b64decode(str(secret.get("value") or "")),
    }


def matches(stored: dict[str, Any], password: str) -> bool:
    """Whether `password` derives the stored hash (constant-time comparison)."""
    derived = hashlib.pbkdf2_hmac(
        stored["digest"], password.encode(), stored["salt"], stored["iterations"], dklen=len(stored["hash"])
    )
    return hmac.compare_digest(derived, stored["hash"])
