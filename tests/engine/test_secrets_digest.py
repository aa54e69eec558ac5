"""The realm's IdP secrets digest (realmctl/secrets_digest.py, issue #19): a plan where no IdP
secret changed costs one scrypt per realm, however many IdPs and however different their secrets,
and finds exactly what the per-IdP fingerprints find; where the digest cannot prove it (a secret
changed, an IdP added or removed, a fingerprint or the digest edited by hand, a realm applied by an
earlier version), the per-IdP checks run and the plan is the same.

Scrypt computations are counted at `hashlib.scrypt`, with realmctl's remembered answers forgotten
before each plan (the plans run in this process). Runs against the sandbox by default and against a
real Keycloak when REALMCTL_TEST_URL is set.
"""

import copy
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from realmctl import fingerprint as fp
from realmctl.diff import Safety
from realmctl.engine import Run, apply_plan, make_plan
from realmctl.keycloak.session import Api, ApiError, Settings
from realmctl.render import as_json, markdown, text
from realmctl.saved import SnapshotApi, recording, save
from realmctl.secrets_digest import ATTRIBUTE
from realmctl.spec.loader import load_spec
from realmctl.spec.model import Spec
from realmctl.workflow import replan_from_file, write_plan_file
from tests.core.record import load
from tests.helpers import NotingApi, unique

IDPS = 4
FP_KEY = "realmctl.fingerprint.clientSecret"


def secret(realm: str, i: int, generation: int = 0) -> str:
    return f"canary-{realm}-{i}-{generation}-5f0c2e"


class World:
    """Two realms of IdPs whose secrets all differ on the test server, and the spec declaring them."""

    def __init__(self, kc: Any, scrypts: list[int], names: tuple[str, ...] | None = None) -> None:
        self.api = NotingApi(Settings(url=kc.url, user=kc.admin_user, password=kc.admin_password))
        self.api.login()
        self.scrypts = scrypts
        self.names = names or (unique("dg-one"), unique("dg-two"))
        self.realms: dict[str, Any] = {
            realm: {
                "identityProviders": {
                    f"up{i}": {
                        "providerId": "oidc",
                        "config": {
                            "clientId": f"app{i}",
                            "clientSecret": f"${{env:S_{n}_{i}}}",
                            "tokenUrl": "https://up.example.com/token",
                            "authorizationUrl": "https://up.example.com/auth",
                        },
                    }
                    for i in range(IDPS)
                }
            }
            for n, realm in enumerate(self.names)
        }
        self.env = {f"S_{n}_{i}": secret(realm, i) for n, realm in enumerate(self.names) for i in range(IDPS)}
        self.owner: str | None = None

    def spec(self) -> Spec:
        body: dict[str, Any] = {"version": 1, "realms": self.realms}
        if self.owner:
            body["owner"] = self.owner
        return load(yaml.safe_dump(body, sort_keys=False), self.env)

    def plan(self, api: Api | None = None, **safety: Any) -> Run:
        """A plan, counting the scrypt computations it makes from a cold start."""
        fp.forget()
        self.scrypts.clear()
        run = make_plan(self.spec(), api or self.api, Safety(**safety))
        assert not run.plan.errors, run.plan.errors
        self.made = len(self.scrypts)
        return run

    def apply(self, **safety: Any) -> Run:
        run = self.plan(**safety)
        self.api.sent.clear()
        result = apply_plan(run)
        assert not result.failed, result.failed
        return run

    def idp(self, realm: str, alias: str) -> dict[str, Any]:
        found: dict[str, Any] = self.api.get(f"admin/realms/{realm}/identity-provider/instances/{alias}")
        return found

    def put_idp(self, realm: str, alias: str, idp: dict[str, Any]) -> None:
        self.api.put(f"admin/realms/{realm}/identity-provider/instances/{alias}", idp)

    def attributes(self, realm: str) -> dict[str, str]:
        found: dict[str, str] = self.api.get(f"admin/realms/{realm}")["attributes"]
        return found

    def set_attributes(self, realm: str, attributes: dict[str, str]) -> None:
        self.api.put(f"admin/realms/{realm}", {"realm": realm, "attributes": attributes})

    def delete(self) -> None:
        """The realms go (the servers are shared)."""
        for realm in self.names:
            self.api.delete(f"admin/realms/{realm}")


def changes(run: Run) -> list[tuple[str, str, str, list[str]]]:
    return [(c.realm, c.kind, c.label, [f.path for f in c.fields]) for c in run.plan.changes]


def digest_write(realm: str) -> tuple[str, str, str, list[str]]:
    return (realm, "ownership-record", realm, [ATTRIBUTE])


@pytest.fixture
def scrypts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    made: list[int] = []
    real = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda password, **kw: made.append(1) or real(password, **kw))
    return made


@pytest.fixture
def world(keycloak: Any, scrypts: list[int]) -> Iterator[World]:
    made = World(keycloak, scrypts)
    try:
        made.apply()
        yield made
    finally:
        made.delete()


def test_a_no_change_plan_costs_one_scrypt_per_realm_whatever_the_idps(world: World) -> None:
    run = world.plan()
    assert changes(run) == []
    assert world.made <= len(world.names), f"{world.made} scrypt computations for {len(world.names)} realms"
    for realm in world.names:  # the digest is stored, never a secret
        stored = world.attributes(realm)[ATTRIBUTE]
        assert stored.startswith("scrypt$14$8$1$")
        assert not any(value in stored for value in world.env.values())


def test_one_changed_secret_is_found_and_only_it_is_sent(world: World) -> None:
    realm = world.names[0]
    world.env["S_0_2"] = secret(realm, 2, generation=1)
    run = world.plan()
    assert changes(run) == [(realm, "identity-provider", "up2", ["config.clientSecret"]), digest_write(realm)]
    world.apply()
    idp_writes = [(m, p) for m, p in world.api.writes() if "identity-provider" in p]
    assert idp_writes == [("PUT", f"admin/realms/{realm}/identity-provider/instances/up2")]
    assert changes(world.plan()) == []
    assert world.made <= len(world.names)
    # A second apply writes nothing.
    world.apply()
    assert world.api.writes() == []


def test_a_fingerprint_edited_by_hand_is_still_checked_one_by_one(world: World) -> None:
    realm = world.names[1]
    # up1 gets up0's fingerprint: a valid one, of another secret.
    up0, up1 = world.idp(realm, "up0"), world.idp(realm, "up1")
    up1["config"][FP_KEY] = up0["config"][FP_KEY]
    world.put_idp(realm, "up1", up1)
    # up3 gets an earlier version's fingerprint of its own secret: it still matches.
    up3 = world.idp(realm, "up3")
    legacy = hashlib.pbkdf2_hmac("sha256", secret(realm, 3).encode(), b"salt", 20000).hex()
    up3["config"][FP_KEY] = f"pbkdf2-sha256$20000$salt${legacy}"
    world.put_idp(realm, "up3", up3)
    run = world.plan()
    assert changes(run) == [(realm, "identity-provider", "up1", ["config.clientSecret"]), digest_write(realm)]
    assert world.made > len(world.names)  # the other realm's digest, and this one's per-IdP checks
    world.apply()
    assert changes(world.plan()) == [] and world.made <= len(world.names)


@pytest.mark.parametrize(
    "edit",
    ["removed", "garbage", "other-realm", "costly"],
)
def test_a_digest_missing_or_edited_by_hand_proves_nothing_and_the_plan_is_the_same(world: World, edit: str) -> None:
    """A realm applied by an earlier version has no digest: its plans check per IdP and show no
    change; the digest is written with the next apply that sends a secret there."""
    realm = world.names[0]
    attributes = world.attributes(realm)
    if edit == "removed":
        attributes.pop(ATTRIBUTE)
    elif edit == "garbage":
        attributes[ATTRIBUTE] = "scrypt$14$8$1$00$00"
    elif edit == "other-realm":
        attributes[ATTRIBUTE] = world.attributes(world.names[1])[ATTRIBUTE]
    else:  # beyond the bounds a stored fingerprint may ask for
        attributes[ATTRIBUTE] = "scrypt$30$8$1$00$00"
    world.set_attributes(realm, attributes)
    run = world.plan()
    assert changes(run) == []
    assert world.made >= IDPS + 1, world.made  # this realm: each IdP (and the digest); the other: one
    world.env["S_0_1"] = secret(realm, 1, generation=1)
    assert changes(world.plan()) == [(realm, "identity-provider", "up1", ["config.clientSecret"]), digest_write(realm)]
    world.apply()
    assert changes(world.plan()) == [] and world.made <= len(world.names)


def test_added_and_removed_idps_rewrite_the_digest(world: World) -> None:
    realm = world.names[0]
    idps = world.realms[realm]["identityProviders"]
    idps["up9"] = copy.deepcopy(idps["up0"])
    idps["up9"]["config"]["clientSecret"] = "${env:S_NEW}"
    world.env["S_NEW"] = secret(realm, 9)
    run = world.plan()
    assert [(c[1], c[2]) for c in changes(run)] == [("identity-provider", "up9"), ("ownership-record", realm)]
    assert ATTRIBUTE in changes(run)[1][3]
    world.apply()
    assert changes(world.plan()) == [] and world.made <= len(world.names)
    idps.pop("up1")
    run = world.plan()
    assert changes(run) == [(realm, "identity-provider", "up1", []), digest_write(realm)]
    assert run.plan.changes[0].action == "delete"
    world.apply()
    assert changes(world.plan()) == [] and world.made <= len(world.names)
    world.apply()
    assert world.api.writes() == []


def test_a_realm_left_without_idp_secrets_loses_its_digest(world: World) -> None:
    realm = world.names[1]
    world.realms[realm] = {"displayName": "no IdPs any more"}
    run = world.plan()
    assert [c[1] for c in changes(run) if c[0] == realm] == ["identity-provider"] * IDPS + ["realm", "ownership-record"]
    world.apply()
    assert ATTRIBUTE not in world.attributes(realm)
    assert changes(world.plan()) == []
    world.apply()
    assert world.api.writes() == []


def test_resend_secrets_rewrites_the_digest_and_a_plan_file_applies_it(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {realm: world.attributes(realm)[ATTRIBUTE] for realm in world.names}
    run = world.plan(resend_secrets=True)
    assert len([c for c in run.plan.changes if c.kind == "identity-provider"]) == IDPS * len(world.names)
    assert [c.realm for c in run.plan.changes if c.kind == "ownership-record"] == sorted(world.names)
    # `realmctl plan SPEC --resend-secrets --out FILE`, then `realmctl apply FILE`.
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump({"version": 1, "realms": world.realms}))
    for name, value in world.env.items():
        monkeypatch.setenv(name, value)
    plan_file = tmp_path / "plan.json"
    write_plan_file(run, str(plan_file), load_spec([str(spec_file)]))
    saved = json.loads(plan_file.read_text())
    # Made again from the spec and the server, as `realmctl apply FILE` does: the same plan.
    again = replan_from_file(saved, world.api, Safety())
    assert again.plan.digest() == saved["digests"]["plan"]
    world.api.sent.clear()
    assert not apply_plan(again).failed
    for realm in world.names:
        assert world.attributes(realm)[ATTRIBUTE] != before[realm]  # written with the secrets, new salt
    assert changes(world.plan()) == [] and world.made <= len(world.names)
    shown = plan_file.read_text() + text(run.plan, colour=False) + markdown(run.plan) + as_json(run.plan)
    for value in world.env.values():
        assert value not in shown


def test_a_failed_secret_write_leaves_the_digest_unproven(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A change sending a secret that fails: the digest is not written over its fingerprint, and the
    next plan still finds the secret changed."""
    realm = world.names[0]
    before = world.attributes(realm)[ATTRIBUTE]
    world.env["S_0_0"] = secret(realm, 0, generation=1)
    world.env["S_0_3"] = secret(realm, 3, generation=1)
    run = world.plan()
    real_put = world.api.put

    def failing(path: str, body: Any = None) -> Any:
        if path.endswith("/instances/up3"):
            raise ApiError("PUT", path, 400, None)
        return real_put(path, body)

    monkeypatch.setattr(world.api, "put", failing)
    result = apply_plan(run)
    assert [c.label for c, _ in result.failed] == ["up3"]
    monkeypatch.undo()
    assert world.attributes(realm)[ATTRIBUTE] == before
    assert "up3" in [c[2] for c in changes(world.plan()) if c[1] == "identity-provider"]
    world.apply()
    assert changes(world.plan()) == [] and world.made <= len(world.names)


def test_an_offline_plan_from_a_saved_snapshot_uses_the_digest(world: World, tmp_path: Path) -> None:
    snapshot = str(tmp_path / "snapshot.json")
    with recording(world.api) as reads:
        online = world.plan()
    assert online.snapshot is not None
    save(snapshot, reads, online.snapshot, world.api.settings.url)
    saved = Path(snapshot).read_text()
    assert not any(value in saved for value in world.env.values())
    offline = world.plan(api=SnapshotApi(snapshot))
    assert changes(offline) == [] and world.made <= len(world.names)
    world.env["S_1_0"] = secret(world.names[1], 0, generation=1)  # the spec moves on, the snapshot does not
    offline = world.plan(api=SnapshotApi(snapshot))
    live = world.plan()
    assert (
        changes(offline)
        == changes(live)
        == [
            (world.names[1], "identity-provider", "up0", ["config.clientSecret"]),
            digest_write(world.names[1]),
        ]
    )
    assert offline.plan.digest() == live.plan.digest()


def test_two_owners_of_one_realm_keep_a_digest_each(keycloak: Any, scrypts: list[int]) -> None:
    a = World(keycloak, scrypts)
    realm = a.names[0]
    b = World(keycloak, scrypts, a.names)
    idps = a.realms[realm]["identityProviders"]
    a.realms = {realm: {"identityProviders": {k: v for k, v in idps.items() if k in ("up0", "up1")}}}
    b.realms = {realm: {"identityProviders": {k: v for k, v in idps.items() if k in ("up2", "up3")}}}
    a.owner, b.owner = "team-a", "team-b"
    try:
        a.apply()
        b.apply()
        attributes = a.attributes(realm)
        assert {f"{ATTRIBUTE}.team-a", f"{ATTRIBUTE}.team-b"} <= set(attributes) and ATTRIBUTE not in attributes
        for world in (a, b):
            assert changes(world.plan()) == [] and world.made == 1
    finally:
        a.api.delete(f"admin/realms/{realm}")


def test_an_exchange_idp_holding_its_source_clients_secret(
    legacy_keycloak: Any, scrypts: list[int], tmp_path: Path
) -> None:
    """The secret Keycloak generated for a source client, taken by the exchange IdP: online the
    digest binds it; from a saved snapshot (where it is sealed) the plan checks per IdP, the same."""
    a, b = unique("dg-a"), unique("dg-b")
    example = (Path(__file__).parents[2] / "examples" / "cross-realm-exchange.yaml").read_text()
    spec: dict[str, Any] = yaml.safe_load(example.replace("realm-a", a).replace("realm-b", b))
    spec["realms"][b]["clients"][f"{b}-client"].pop("secret")  # generated by Keycloak
    kc = legacy_keycloak
    api = NotingApi(Settings(url=kc.url, user=kc.admin_user, password=kc.admin_password))
    api.login()

    def plan(on: Api) -> Run:
        fp.forget()
        scrypts.clear()
        return make_plan(load(yaml.safe_dump(spec), {}), on)

    try:
        assert not apply_plan(plan(api)).failed
        assert ATTRIBUTE in api.get(f"admin/realms/{a}")["attributes"]
        snapshot = str(tmp_path / "snapshot.json")
        fresh = Api(api.settings)  # serverinfo not remembered yet: the snapshot must hold it
        fresh.login()
        with recording(fresh) as reads:
            online = plan(fresh)
        assert online.plan.empty and len(scrypts) <= 1
        assert online.snapshot is not None
        save(snapshot, reads, online.snapshot, api.settings.url)
        client = api.get(f"admin/realms/{b}/clients", clientId=f"{b}-client")[0]
        generated = api.get(f"admin/realms/{b}/clients/{client['id']}/client-secret")["value"]
        assert generated not in Path(snapshot).read_text()
        assert plan(SnapshotApi(snapshot)).plan.empty
    finally:
        for realm in (a, b):
            api.delete(f"admin/realms/{realm}")
