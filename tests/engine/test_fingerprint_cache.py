"""realmctl.fingerprint remembers scrypt results for the process (a pure speed-up): matching the
fingerprint just made costs no second scrypt, and every answer is the uncached one."""

import hashlib
import uuid

import pytest

from realmctl import fingerprint as fp


def test_matching_a_fresh_fingerprint_costs_no_second_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    real = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda password, **kw: calls.append(password) or real(password, **kw))
    secret = f"s-{uuid.uuid4().hex}"  # values no other test fingerprinted: nothing remembered yet
    made = fp.fingerprint(secret)
    assert fp.matches(secret, made)
    assert calls == [secret.encode()]
    assert not fp.matches(f"other-{secret}", made)
    assert len(calls) == 2


def test_remembered_answers_are_the_computed_ones() -> None:
    secret, salt = f"s-{uuid.uuid4().hex}", uuid.uuid4().hex
    made = fp.fingerprint(secret, salt)
    _, log2_n, r, p, got_salt, digest = made.split("$")
    assert got_salt == salt
    assert digest == fp._scrypt.__wrapped__(secret, salt, int(log2_n), int(r), int(p))
    assert (
        digest
        == hashlib.scrypt(secret.encode(), salt=salt.encode(), n=2**14, r=8, p=1, maxmem=fp.MAX_MEM, dklen=32).hex()
    )
