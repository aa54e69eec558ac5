"""Identity providers: storeToken, stored tokens readable, config, with masked secrets handled.

`config.clientSecret` (and any config key that holds a secret) is read back as `**********`, so it
is compared through a fingerprint stored in the IdP's config (`realmctl.fingerprint.<key>`), sent
only when the declared value changed (or on request, `--resend-secrets`: a secret changed by hand
in the console is invisible behind the mask), and never shown. PUT bodies keep the mask for secrets that
did not change, which Keycloak reads as "keep the stored secret" (SEMANTICS §3.4). One digest per
realm over all of them (realmctl/secrets_digest.py) spares a plan where none changed the per-IdP
scrypt checks; the fingerprints sent are filed (`Fingerprint.sets`) for the digest written after.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from realmctl.calls import Call, Find, Fingerprint, Ref
from realmctl.fingerprint import fingerprint, secret_matches
from realmctl.keycloak.session import seg
from realmctl.kinds.base import Build, Context, Kind, is_owned
from realmctl.kinds.convert import kc_map, pick
from realmctl.kinds.inverse import EnvRef, RealmExport, clean_map, env_name
from realmctl.live import FINGERPRINT, OWNED_MARKER, Reader
from realmctl.plan import Change, FieldChange, Live, Resource
from realmctl.planned import PlannedView, merge
from realmctl.secrets_digest import fingerprint_name

if TYPE_CHECKING:
    pass

FIELDS = {
    "providerId": "providerId",
    "displayName": "displayName",
    "enabled": "enabled",
    "trustEmail": "trustEmail",
    "storeToken": "storeToken",
    "storedTokensReadable": "addReadTokenRoleOnCreate",
    "linkOnly": "linkOnly",
    "hideOnLogin": "hideOnLogin",
    "firstBrokerLoginFlowAlias": "firstBrokerLoginFlowAlias",
    "postBrokerLoginFlowAlias": "postBrokerLoginFlowAlias",
}


def is_secret_key(key: str) -> bool:
    return "secret" in key.lower() or "password" in key.lower()


class IdpReads(Reader):
    """The realm's identity providers (one listing) and one by alias."""

    def idps(self) -> list[dict[str, Any]]:
        if self.realm_rep() is None:
            return []
        return self._once("idps", lambda: self.api.get_all(f"{self.base}/identity-provider/instances"))

    def idp(self, alias: str) -> dict[str, Any] | None:
        return next((i for i in self.idps() if i.get("alias") == alias), None)


_SYNC_MODES = ("INHERIT", "LEGACY", "IMPORT", "FORCE")
_MASK = "**********"


def idp_secret(ex: RealmExport, alias: str, key: str, live: Any, fingerprinted: bool) -> EnvRef:
    """An IdP secret: written as an environment reference, its name reported, with what the
    first plan will say (realmctl can only compare a secret it has a fingerprint of)."""
    name = env_name(ex.realm, alias, key)
    while name in ex.out.secrets:
        name += "_"
    ex.out.secrets.append(name)
    why = "Keycloak returns it masked" if live == _MASK else "realmctl never exports a secret value"
    text = f"identity provider {alias}: config.{key} is written as ${{env:{name}}} ({why}); set {name} "
    if fingerprinted:
        text += "to the secret; plan compares it with the fingerprint realmctl stored when it set it."
    else:
        text += (
            "to the secret. realmctl keeps no fingerprint of a secret it did not set, so the first plan "
            f"shows config.{key} as a (sensitive) change; the first apply sends it once, and later "
            "plans are empty."
        )
    ex.note(text)
    return EnvRef(f"${{env:{name}}}")


class IdpKind(Kind):
    name = "identity-provider"
    title = "identity provider"
    reads = IdpReads
    depends_on = ("client",)  # an exchange IdP reads the secret of a source client made in this run
    export_as = "identityProviders"
    export_section = "identityProviders"

    def export(self, ex: RealmExport) -> None:
        """The identity providers with their config and mappers; secrets as environment references."""
        if "identityProviders" not in ex.kinds:
            return
        out: dict[str, Any] = {}
        for idp in sorted(ex.state.idps(), key=lambda i: i["alias"]):
            alias = idp["alias"]
            entry: dict[str, Any] = {}
            for friendly, kc in FIELDS.items():
                if idp.get(kc) not in (None, ""):
                    entry[friendly] = idp[kc]
            config: dict[str, Any] = {}
            for key, value in sorted(clean_map(idp.get("config")).items()):
                if is_secret_key(key):
                    known = FINGERPRINT + key in (idp.get("config") or {})
                    config[key] = idp_secret(ex, alias, key, value, known)
                else:
                    config[key] = value
            if config:
                entry["config"] = config
            mappers = {}
            for mapper in sorted(ex.state.idp_mappers(alias), key=lambda m: m["name"]):
                m: dict[str, Any] = {"identityProviderMapper": mapper.get("identityProviderMapper", "")}
                mconfig = clean_map(mapper.get("config"))
                if mconfig.get("syncMode") in _SYNC_MODES:
                    m["syncMode"] = mconfig.pop("syncMode")
                if mconfig:
                    m["config"] = dict(sorted(mconfig.items()))
                mappers[mapper["name"]] = m
            if mappers:
                entry["mappers"] = mappers
            out[alias] = entry
        if out:
            ex.spec["identityProviders"] = out

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        for alias, spec in (ctx.realm_spec.get("identityProviders") or {}).items():
            extra = dict(spec.get("extra") or {})
            # `extra.config` adds to `config` (which wins on a key written in both); it used to be
            # overwritten by it, silently.
            raw = extra.pop("config", None)
            config = kc_map(raw if isinstance(raw, dict) else None) | kc_map(spec.get("config"))
            secrets = {k: v for k, v in config.items() if is_secret_key(k)}
            fields = pick(spec, FIELDS) | extra
            fields["config"] = {k: v for k, v in config.items() if k not in secrets}
            if "_intent" in spec:  # compiled from a tokenExchange entry
                resource = ctx.resource(self.name, (alias,), fields, "tokenExchange")
                resource.data = {"intent": spec["_intent"], "secret_from": spec["_secretFrom"]}
            else:
                resource = ctx.resource(self.name, (alias,), fields, "identityProviders", alias)
            resource.secrets = secrets
            resource.data = {**resource.data, "resend": ctx.resend_secrets}
            out.append(resource)
        return out

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        aliases = {r.key[0] for r in wanted}
        out = []
        for idp in ctx.state.idps():
            config = idp.get("config") or {}
            if idp["alias"] in aliases or is_owned(config):
                stored = {k[len(FINGERPRINT) :]: v for k, v in config.items() if k.startswith(FINGERPRINT)}
                owned = is_owned(config)
                out.append(Live((idp["alias"],), idp, id=idp.get("internalId"), owned=owned, secrets=stored, raw=idp))
        return out

    def secret_path(self, name: str) -> str:
        return f"config.{name}"

    def compare(self, resource: Resource, live: Live) -> list[FieldChange]:
        changes = super().compare(resource, Live(live.key, live.fields))  # fields only
        changes = [c for c in changes if not c.sensitive]
        for key, value in resource.secrets.items():
            if not secret_matches(value, live.secrets.get(key)):
                changes.append(FieldChange(self.secret_path(key), None, None, sensitive=True))
            elif resource.data.get("resend"):  # a change made in the console hides behind the mask
                changes.append(FieldChange(self.secret_path(key), None, None, sensitive=True, resent=True))
        return changes

    def _body(
        self, change: Change, base: Mapping[str, Any], secrets: dict[str, Any], rotate: set[str]
    ) -> dict[str, Any]:
        """The representation sent: `base` with the declared fields; the secrets in `rotate` sent
        with their fingerprints (computed when sent, and filed for the realm's secrets digest,
        realmctl.secrets_digest); the others keep the server's mask."""
        assert change.resource
        fields = change.resource.fields
        config = {**(base.get("config") or {}), **fields.get("config", {})}
        for key in rotate:
            config[key] = secrets[key]
            config[FINGERPRINT + key] = Fingerprint(secrets[key], fingerprint_name(change.realm, change.key[0], key))
        return {**base, **fields, "alias": change.key[0], "config": config}

    def calls(self, change: Change, b: Build) -> list[Call]:
        base, alias = b.base(change.realm), change.key[0]
        path = (base, "identity-provider", "instances")
        if change.action == "delete":
            return [Call("DELETE", (*path, seg(alias)))]
        assert change.resource
        secrets: dict[str, Any] = dict(change.resource.secrets)
        out: list[Call] = []
        if change.action == "create":
            if "clientSecret" not in secrets and change.resource.data.get("secret_from"):
                # The source client is created in this run and Keycloak generates its secret: read it.
                realm, client_id = change.resource.data["secret_from"]
                uuid = b.client(realm, client_id)
                name = ("client-secret", realm, client_id)
                out.append(Call("GET", (b.base(realm), "clients", uuid, "client-secret"), sets=name))
                secrets["clientSecret"] = Ref(name, ("value",))
            body = self._body(change, {"config": {OWNED_MARKER: "true"}}, secrets, set(secrets))
            find = Find((*path, seg(alias)), field=None, id="alias")
            return [*out, Call("POST", path, body, find=find)]
        assert change.live
        rotate = {f.path.removeprefix("config.") for f in change.fields if f.sensitive}
        return [Call("PUT", (*path, seg(alias)), self._body(change, change.live.raw, secrets, rotate))]

    def simulate(self, view: PlannedView, change: Change) -> None:
        table = view.idps
        name = change.key[0]
        if change.action == "delete":
            table.pop(name, None)
        elif change.resource is not None:
            table[name] = merge(table.get(name) or {"alias": name, "config": {}}, change.resource.fields)
        view.touched = True

    def assume(self, change: Change) -> Live | None:
        """As the base, with sent secrets kept as the fingerprints `_body` stores beside them."""
        after = super().assume(change)
        if after is not None and change.resource is not None:
            sent = {f.path.removeprefix("config.") for f in change.fields if f.sensitive}
            kept = change.live.secrets if change.live else {}
            after.secrets = {
                k: fingerprint(v) if k in sent or k not in kept else kept[k] for k, v in change.resource.secrets.items()
            }
        return after
