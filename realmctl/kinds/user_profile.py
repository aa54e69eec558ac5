"""The realm's user profile (Keycloak 24+): its `unmanagedAttributePolicy`, and the plan error for
user attributes Keycloak would drop.

Keycloak 26.x keeps a user attribute only when the realm's user profile declares it (with admin
edit permission) or its `unmanagedAttributePolicy` is `ENABLED` or `ADMIN_EDIT`; unset (a new
realm's default) it discards undeclared attributes silently, so a spec user's `attributes` would be
"applied" and planned again on every run. This kind sets the policy (`userProfile:
{unmanagedAttributePolicy: ADMIN_EDIT}`) before users are written, and makes `plan` refuse, before
anything is written, a user attribute the live or planned profile would drop.

The profile is read (`GET /users/profile`, once per realm) only for a realm whose spec has
`userProfile` or declares user attributes: other specs send no extra request. The update is a
read-modify-write of the whole profile from the snapshot (declared attributes and groups kept);
for a realm this run creates, the profile is read right after the realm exists and written back
with the policy. The policy is a realm setting: leaving the spec changes nothing on the server.
"""

from __future__ import annotations

from typing import Any

from realmctl.calls import Call, Ref
from realmctl.kinds.base import Build, Context, Kind
from realmctl.kinds.inverse import RealmExport
from realmctl.plan import Change, Key, Live, Resource
from realmctl.spec.model import Spec

#: Policies under which an admin's writes of undeclared attributes are kept.
KEEPS_UNMANAGED = ("ENABLED", "ADMIN_EDIT")
#: Attributes that are fields of the user representation, not profile-governed `attributes` entries.
ROOT = ("username", "email", "firstName", "lastName")
FIX = "userProfile: {unmanagedAttributePolicy: ADMIN_EDIT}"


def reads_profile(realm_spec: dict[str, Any]) -> bool:
    """Whether the realm's plan needs its user profile: only specs that set it or give users attributes."""
    users = realm_spec.get("users") or {}
    return "userProfile" in realm_spec or any(isinstance(u, dict) and u.get("attributes") for u in users.values())


def live_profile(ctx: Context | RealmExport) -> dict[str, Any] | None:
    """The realm's user profile, read once per run; None for a realm that does not exist yet (or
    a server without the declarative user profile, which keeps every attribute)."""
    state = ctx.state
    if state.realm_rep() is None:
        return None
    path = f"{state.base}/users/profile"
    found: dict[str, Any] | None = state._once("user-profile", lambda: state.api.get_or_none(path))
    return found


def _admin_edits(attribute: dict[str, Any]) -> bool:
    return "admin" in ((attribute.get("permissions") or {}).get("edit") or [])


def dropped(
    realm: str, users: dict[str, Any], profile: dict[str, Any], policy: str | None, spec: Spec | None = None
) -> list[str]:
    """Plan errors, one per user, for declared attributes Keycloak would not store under `profile`
    with `policy` (the planned one): why, and the fix to paste."""
    declared = {a["name"]: a for a in profile.get("attributes") or [] if isinstance(a, dict) and a.get("name")}
    out = []
    for username, user in users.items():
        if not isinstance(user, dict):
            continue
        unmanaged, readonly = [], []
        for name in user.get("attributes") or {}:
            if name in ROOT:
                continue
            attribute = declared.get(name)
            if attribute is None and policy not in KEEPS_UNMANAGED:
                unmanaged.append(name)
            elif attribute is not None and not _admin_edits(attribute):
                readonly.append(name)
        where = ""
        if spec is not None and (at := spec.where("realms", realm, "users", username, "attributes")) is not None:
            where = f"{at}: "
        if unmanaged:
            why = "is unset" if policy is None else f"is {policy}"
            out.append(
                f"{where}user {username} in realm {realm}: attribute(s) {', '.join(sorted(unmanaged))} would be "
                f"dropped by Keycloak: the realm's user profile does not declare them and its "
                f"unmanagedAttributePolicy {why}, so Keycloak discards them without an error and every "
                f"later plan would show them again; add `{FIX}` to realm {realm} (or declare the "
                f"attribute(s) in the realm's user profile, with admin edit permission)"
            )
        if readonly:
            out.append(
                f"{where}user {username} in realm {realm}: attribute(s) {', '.join(sorted(readonly))} would be "
                f"refused by Keycloak: the realm's user profile declares them without `admin` in "
                f"permissions.edit, so Keycloak drops them when it creates the user and refuses an update "
                f"(400 error-user-attribute-read-only); give admins edit permission on them in the realm's "
                f"user profile"
            )
    return out


class UserProfileKind(Kind):
    name = "user-profile"
    title = "user profile"
    depends_on = ("realm",)
    export_as = "realm"
    export_section = "userProfile"

    def describe(self, key: Key) -> str:
        return f"user profile of realm {key[0]}"

    def export(self, ex: RealmExport) -> None:
        """`userProfile` when the realm's unmanagedAttributePolicy is set (declared attributes are
        Keycloak's own configuration, not exported)."""
        if "realm" not in ex.kinds:
            return
        policy = (live_profile(ex) or {}).get("unmanagedAttributePolicy")
        if policy:
            ex.spec["userProfile"] = {"unmanagedAttributePolicy": policy}

    def desired(self, ctx: Context) -> list[Resource]:
        policy = (ctx.realm_spec.get("userProfile") or {}).get("unmanagedAttributePolicy")
        if policy is None:
            return []
        fields = {"unmanagedAttributePolicy": policy}
        return [ctx.resource(self.name, (ctx.realm,), fields, "userProfile")]

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        if not reads_profile(ctx.realm_spec):
            return []
        profile = live_profile(ctx)
        exists = ctx.state.realm_rep() is not None
        if exists and profile is None:
            return []  # no declarative user profile on this server: attributes are kept as sent
        # A realm this run creates gets Keycloak's default profile: no attribute of its own, policy unset.
        current = profile or {}
        planned = wanted[0].fields["unmanagedAttributePolicy"] if wanted else current.get("unmanagedAttributePolicy")
        ctx.errors.extend(dropped(ctx.realm, ctx.realm_spec.get("users") or {}, current, planned, ctx.spec))
        if profile is None or not wanted:
            return []
        fields = {"unmanagedAttributePolicy": profile.get("unmanagedAttributePolicy")}
        return [Live((ctx.realm,), fields, raw=profile)]

    def calls(self, change: Change, b: Build) -> list[Call]:
        """PUT of the whole profile with the policy: the live one from the snapshot, or, for a realm
        this run creates, the one Keycloak gave it, read once it exists (a PUT replaces the profile:
        sending only the policy would remove every declared attribute)."""
        assert change.action != "delete", "the user profile is a realm setting, never deleted"
        assert change.resource
        path = (b.base(change.realm), "users", "profile")
        policy = change.resource.fields["unmanagedAttributePolicy"]
        if change.live is not None:
            return [Call("PUT", path, {**change.live.raw, "unmanagedAttributePolicy": policy})]
        answer = ("user-profile", change.realm)
        body = {"attributes": Ref(answer, ("attributes",)), "groups": Ref(answer, ("groups",))}
        return [Call("GET", path, sets=answer), Call("PUT", path, {**body, "unmanagedAttributePolicy": policy})]

    def builtin(self, realm: str, key: Key) -> bool:
        """Every realm has a user profile: realmctl never deletes it."""
        return True
