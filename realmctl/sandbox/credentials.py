"""Hashed password credentials as Keycloak exports them, so that users of an imported export log
in with their real passwords.

A Keycloak export (`kc.sh export`) writes a password credential as two JSON strings:
`secretData` `{"value": base64(hash), "salt": base64(salt), ...}` and `credentialData`
`{"hashIterations": n, "algorithm": "pbkdf2-sha512", ...}`. The PBKDF2 variants are verified here
with hashlib; the derived-key length is that of the stored hash (512 bits for pbkdf2 and
pbkdf2-sha512, 256 for pbkdf2-sha256). Argon2, Keycloak's default since 24 (what an export of a
realm without a password policy holds), is verified with `argon2-cffi`, the optional extra
`realmctl[argon2]`; without it such a credential is refused at import with a sentence naming the extra.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

#: Keycloak's algorithm id -> hashlib digest name.
PBKDF2 = {"pbkdf2": "sha1", "pbkdf2-sha256": "sha256", "pbkdf2-sha512": "sha512"}
#: Keycloak's argon2 `version` parameter -> the number argon2 uses.
ARGON2_VERSIONS = {"1.3": 0x13, "1.0": 0x10}
ARGON2_EXTRA = "pip install 'realmctl[argon2]'"


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
    if algorithm == "argon2":
        return _argon2(secret, data)
    if algorithm not in PBKDF2:
        raise UnsupportedCredential(f"password hashed with {algorithm or 'an unnamed algorithm'!r}")
    return {
        "digest": PBKDF2[algorithm],
        "iterations": int(data.get("hashIterations") or 0),
        "salt": base64.b64decode(str(secret.get("salt") or "")),
        "hash": base64.b64decode(str(secret.get("value") or "")),
    }


def _argon2(secret: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """An argon2 credential: Keycloak's `additionalParameters` hold each setting as a one-element list."""
    try:
        import argon2.low_level  # noqa: F401  (the optional extra)
    except ImportError:
        raise UnsupportedCredential(
            f"password hashed with 'argon2', which the sandbox verifies only with the argon2 extra ({ARGON2_EXTRA})"
        ) from None
    params = {
        k: (v[0] if isinstance(v, list) and v else v) for k, v in (data.get("additionalParameters") or {}).items()
    }
    kind, version = str(params.get("type") or "id"), str(params.get("version") or "1.3")
    if kind not in ("id", "i", "d") or version not in ARGON2_VERSIONS:
        raise UnsupportedCredential(f"password hashed with argon2 type {kind!r} version {version!r}")
    return {
        "digest": "argon2",
        "type": kind,
        "version": ARGON2_VERSIONS[version],
        "iterations": int(data.get("hashIterations") or 0),
        "memory": int(params.get("memory") or 7168),
        "parallelism": int(params.get("parallelism") or 1),
        "salt": base64.b64decode(str(secret.get("salt") or "")),
        "hash": base64.b64decode(str(secret.get("value") or "")),
    }


def matches(stored: dict[str, Any], password: str) -> bool:
    """Whether `password` derives the stored hash (constant-time comparison)."""
    if stored["digest"] == "argon2":
        from argon2.low_level import Type, hash_secret_raw

        derived = hash_secret_raw(
            password.encode(),
            stored["salt"],
            time_cost=stored["iterations"],
            memory_cost=stored["memory"],
            parallelism=stored["parallelism"],
            hash_len=len(stored["hash"]),
            type={"id": Type.ID, "i": Type.I, "d": Type.D}[stored["type"]],
            version=stored["version"],
        )
        return hmac.compare_digest(derived, stored["hash"])
    derived = hashlib.pbkdf2_hmac(
        stored["digest"], password.encode(), stored["salt"], stored["iterations"], dklen=len(stored["hash"])
    )
    return hmac.compare_digest(derived, stored["hash"])
