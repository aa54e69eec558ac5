"""The corpus runner's own rules that the modern profile relies on (no server needed)."""

from __future__ import annotations

import json

import jwt
import pytest

from tests.fidelity.runner import Run, claims, normalise, scenarios, tamper

TOKEN = jwt.encode({"iss": "https://kc.example/realms/b", "sub": "bob"}, "k" * 32, algorithm="HS256")


def test_profiles_select_scenarios() -> None:
    modern = {name for name, _ in scenarios("modern")}
    default = {name for name, _ in scenarios("default")}
    assert {"broker-v2-modern", "jwt-grant-modern", "serverinfo-modern", "users-basic"} <= modern
    assert "fgap-legacy" not in modern and "fgap-default" not in modern
    assert not {n for n in default if n.endswith("-modern")}


def test_alg_none_keeps_the_claims_and_drops_the_signature() -> None:
    spoiled = tamper(TOKEN, "alg-none")
    signature = spoiled.split(".")[2]
    assert jwt.get_unverified_header(spoiled)["alg"] == "none" and signature == ""
    assert claims(spoiled) == claims(TOKEN)


def test_bad_signature_keeps_header_and_claims() -> None:
    spoiled = tamper(TOKEN, "bad-signature")
    assert spoiled.split(".")[:2] == TOKEN.split(".")[:2] and spoiled != TOKEN
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(spoiled, "k" * 32, algorithms=["HS256"])


def test_capture_spoils_a_token_and_tolerates_a_missing_element() -> None:
    body = {"access_token": TOKEN}
    assert Run.capture("body.access_token|alg-none", None, body) == tamper(TOKEN, "alg-none")
    assert Run.capture("body.0.id", None, json.loads("[]")) == "None"  # no broker client on modern


def test_policy_relations_in_a_json_string_compare_as_sets() -> None:
    """`applyPolicies` and the like are JSON lists inside a string, in the order of a Java set:
    two orders are the same answer, spacing is not."""
    a = normalise({"applyPolicies": '["only-rs","admins"]'}, "http://x", {})
    b = normalise({"applyPolicies": '["admins","only-rs"]'}, "http://x", {})
    spaced = normalise({"applyPolicies": '["admins", "only-rs"]'}, "http://x", {})
    assert a == b and a != spaced
