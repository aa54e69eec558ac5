"""Salted fingerprints of secrets that the server masks on read (`**********`).

realmctl cannot compare an IdP's client secret with the server's, since Keycloak never returns it.
Instead it stores a salted, slow hash of the value it sent beside the object, and sends the secret
again only when the declared value no longer matches that fingerprint. The hash is PBKDF2 with a
random salt, so the stored value reveals nothing usable about the secret.
"""

import hashlib
import hmac
import secrets

ITERATIONS = 20_000
PREFIX = "pbkdf2-sha256"


def fingerprint(value: str, salt: str | None = None) -> str:
    """`pbkdf2-sha256$<iterations>$<salt>$<hex digest>`; a new random salt unless one is given."""
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", value.encode(), salt.encode(), ITERATIONS).hex()
    return f"{PREFIX}${ITERATIONS}${salt}${digest}"


def matches(value: str, stored: str | None) -> bool:
    """Whether `value` is the secret that produced the stored fingerprint."""
    if not stored or stored.count("$") != 3:
        return False
    prefix, iterations, salt, digest = stored.split("$")
    if prefix != PREFIX or not iterations.isdigit():
        return False
    mine = hashlib.pbkdf2_hmac("sha256", value.encode(), salt.encode(), int(iterations)).hex()
    return hmac.compare_digest(mine, digest)
