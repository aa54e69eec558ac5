"""Salted fingerprints of secrets that the server masks on read (`**********`).

realmctl cannot compare an IdP's client secret with the server's, since Keycloak never returns it.
Instead it stores a salted, slow hash of the value it sent beside the object, and sends the secret
again only when the declared value no longer matches that fingerprint.

Anyone who may view identity providers can read the fingerprint, so it must make an offline guess
expensive: it is scrypt (memory-hard, in the standard library) at N=2^14, r=8, p=1, 16 MiB and
about 100 ms per guess on a small machine, so a GPU cannot try billions. Fingerprints written by
earlier versions (PBKDF2-SHA256, 20k iterations, cheap to guess) still verify, so nothing is
re-sent on upgrade; they are replaced whenever the secret is sent again, which
`apply --resend-secrets` forces once.

One check per secret was the largest part of a large plan (100 IdPs: 5 s of CPU), so realmctl
also keeps, per realm, one digest of all of them (realmctl/secrets_digest.py): when it matches,
it proves every per-secret check at once (`prove`), and the plan costs one scrypt per realm.
"""

import functools
import hashlib
import hmac
import secrets

#: The current format: `scrypt$<log2 N>$<r>$<p>$<salt>$<hex digest>`.
PREFIX = "scrypt"
LOG2_N, R, P = 14, 8, 1
#: Bounds for reading a stored fingerprint: anyone who may edit the IdP may write one, and must not
#: make realmctl spend gigabytes on it (beyond these it does not match, so the secret is re-sent).
MAX_LOG2_N, MAX_R, MAX_P = 16, 16, 4
MAX_MEM = 256 * 1024 * 1024

#: Earlier versions' format: `pbkdf2-sha256$<iterations>$<salt>$<hex digest>`, verified only.
LEGACY_PREFIX = "pbkdf2-sha256"
LEGACY_MAX_ITERATIONS = 1_000_000


@functools.lru_cache(maxsize=1024)
def _scrypt(value: str, salt: str, log2_n: int, r: int, p: int) -> str:
    """Remembered for the process (a pure function; `matches` already keeps values the same way):
    apply fingerprints the secret it sends, then verifies convergence by matching that fingerprint,
    which was a second ~0.1 s scrypt of the same value and salt."""
    return hashlib.scrypt(value.encode(), salt=salt.encode(), n=2**log2_n, r=r, p=p, maxmem=MAX_MEM, dklen=32).hex()


def fingerprint(value: str, salt: str | None = None) -> str:
    """`scrypt$14$8$1$<salt>$<hex digest>`; a new random salt unless one is given."""
    salt = salt or secrets.token_hex(16)
    return f"{PREFIX}${LOG2_N}${R}${P}${salt}${_scrypt(value, salt, LOG2_N, R, P)}"


def is_legacy(stored: str | None) -> bool:
    """Whether `stored` is a fingerprint of an earlier version (replace it when sending the secret)."""
    return bool(stored) and str(stored).startswith(LEGACY_PREFIX + "$")


#: (value, stored fingerprint) pairs known to match without computing them: a realm's secrets
#: digest proved them (`prove`). Only true facts enter, so it is a cache like `matches`' own.
_PROVEN: set[tuple[str, str]] = set()


def prove(pairs: list[tuple[str, str]]) -> None:
    """Records that each `value` matches its `stored` fingerprint: the caller verified one digest
    binding all of them (realmctl.secrets_digest), which no one can forge without the values."""
    _PROVEN.update((str(value), str(stored)) for value, stored in pairs)


def forget() -> None:
    """Forgets every remembered answer (tests counting scrypt computations start from here)."""
    _PROVEN.clear()
    _matches.cache_clear()
    _scrypt.cache_clear()


def matches(value: str, stored: str | None) -> bool:
    """Whether `value` is the secret that produced the stored fingerprint (either format).

    Remembered for the process: apply plans twice (before, and to verify convergence), and each
    comparison costs ~0.1 s by design; a pair a realm's digest proved costs nothing."""
    if stored is not None and (str(value), str(stored)) in _PROVEN:
        return True
    return _matches(value, stored)


@functools.lru_cache(maxsize=1024)
def _matches(value: str, stored: str | None) -> bool:
    parts = (stored or "").split("$")
    if parts[0] == PREFIX and len(parts) == 6 and all(p.isdigit() for p in parts[1:4]):
        log2_n, r, p = (int(x) for x in parts[1:4])
        if not (1 <= log2_n <= MAX_LOG2_N and 1 <= r <= MAX_R and 1 <= p <= MAX_P):
            return False
        return hmac.compare_digest(_scrypt(value, parts[4], log2_n, r, p), parts[5])
    if parts[0] == LEGACY_PREFIX and len(parts) == 4 and parts[1].isdigit():
        iterations = int(parts[1])
        if not 1 <= iterations <= LEGACY_MAX_ITERATIONS:
            return False
        mine = hashlib.pbkdf2_hmac("sha256", value.encode(), parts[2].encode(), iterations).hex()
        return hmac.compare_digest(mine, parts[3])
    return False


class Sealed(str):
    """A live secret as a saved snapshot holds it (`realmctl plan --save-snapshot`): never its
    value, only what planning compares it with — a fingerprint of it (`own`, for a secret the spec
    declares) and the stored fingerprints it matched when saved (`matching`, the identity providers
    that take it: an exchange IdP holds its source client's secret). Its text is a placeholder."""

    own: str
    matching: frozenset[str]

    def __new__(cls, own: str = "", matching: frozenset[str] = frozenset()) -> "Sealed":
        sealed = super().__new__(cls, "(sealed)")
        sealed.own, sealed.matching = own, frozenset(matching)
        return sealed

    def same(self, declared: str) -> bool:
        """Whether the declared secret is the one sealed."""
        return bool(self.own) and matches(str(declared), self.own)


def same_secret(live: object, declared: object) -> bool:
    """A live secret (clear, or `Sealed`) against a declared one."""
    return live.same(str(declared)) if isinstance(live, Sealed) else live == declared


def secret_matches(value: str, stored: str | None) -> bool:
    """`matches`, for a value that may be a `Sealed` live secret (copied from a source client)."""
    if isinstance(value, Sealed):
        return stored is not None and stored in value.matching
    return matches(value, stored)
