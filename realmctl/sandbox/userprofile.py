"""The declarative user profile (Keycloak 24+) as 26.7.3 applies it to the admin API.

A realm's profile is kept where Keycloak keeps it, in the realm's
`org.keycloak.userprofile.UserProfileProvider` component (config `kc.user.profile.config`, the
profile as one JSON string), so partial export and import carry it; a realm without that component
has the default profile. What 26.7.3 does with it, measured on the real server:

* An attribute the profile declares is stored and shown to an admin only when its permissions
  name `admin` (edit, or view for read-only); `username`, `email`, `firstName`, `lastName` are
  the representation's own fields.
* An undeclared ("unmanaged") attribute depends on `unmanagedAttributePolicy`: unset (a new
  realm) - dropped on create, left as stored on update, never shown; `ADMIN_VIEW` - shown, never
  written; `ENABLED` and `ADMIN_EDIT` - written and shown.
* An update carrying `attributes` replaces every attribute an admin may edit, the
  representation's `email`/`firstName`/`lastName` among them (absent means removed); one without
  `attributes` changes only the fields it names.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from realmctl.sandbox.errors import HttpError
from realmctl.sandbox.store import Realm, User, new_id

COMPONENT = "org.keycloak.userprofile.UserProfileProvider"
CONFIG_KEY = "kc.user.profile.config"
#: Attributes that are fields of UserRepresentation, not entries of its `attributes` map.
ROOT = ("username", "email", "firstName", "lastName")
POLICIES = ("ENABLED", "ADMIN_VIEW", "ADMIN_EDIT")
#: Policies under which an admin reads / writes undeclared attributes.
ADMIN_READS = POLICIES
ADMIN_WRITES = ("ENABLED", "ADMIN_EDIT")

_BOTH = {"view": ["admin", "user"], "edit": ["admin", "user"]}
_GROUPS = [
    {
        "name": "user-metadata",
        "displayHeader": "User metadata",
        "displayDescription": "Attributes, which refer to user metadata",
    }
]


def _default(required: bool) -> dict[str, Any]:
    """26.7.3's default profile; master's (`required` False) asks nothing of users who log in."""
    needed = {"required": {"roles": ["user"]}} if required else {}
    return {
        "attributes": [
            {
                "name": "username",
                "displayName": "${username}",
                "validations": {
                    "length": {"min": 3, "max": 255},
                    "username-prohibited-characters": {},
                    "up-username-not-idn-homograph": {},
                },
                "permissions": _BOTH,
                "multivalued": False,
            },
            {
                "name": "email",
                "displayName": "${email}",
                "validations": {"email": {}, "length": {"max": 255}},
                **needed,
                "permissions": _BOTH,
                "multivalued": False,
            },
            *(
                {
                    "name": name,
                    "displayName": "${" + name + "}",
                    "validations": {"length": {"max": 255}, "person-name-prohibited-characters": {}},
                    **needed,
                    "permissions": _BOTH,
                    "multivalued": False,
                }
                for name in ("firstName", "lastName")
            ),
        ],
        "groups": _GROUPS,
    }


DEFAULT = _default(required=True)
MASTER = _default(required=False)


def master_component() -> dict[str, Any]:
    """The component 26.7.3 writes for the master realm at bootstrap (its names are not required)."""
    return {
        "id": new_id(),
        "providerId": "declarative-user-profile",
        "subComponents": {},
        "config": {CONFIG_KEY: [json.dumps(MASTER, separators=(",", ":"))]},
    }


def config(realm: Realm) -> dict[str, Any]:
    """The realm's profile: its component's config, or the default profile."""
    for component in (realm.kept.get("components") or {}).get(COMPONENT) or []:
        raw = ((component.get("config") or {}).get(CONFIG_KEY) or [None])[0]
        if isinstance(raw, str):
            try:
                parsed = json.loads(raw)
            except ValueError:
                break
            if isinstance(parsed, dict):
                return parsed
    return copy.deepcopy(MASTER if realm.name == "master" else DEFAULT)


def save(realm: Realm, profile: dict[str, Any]) -> None:
    """Stores the profile in the realm's component (made on the first update, as Keycloak does)."""
    components = realm.kept.setdefault("components", {})
    items = components.setdefault(COMPONENT, [])
    if not items:
        items.append({"id": new_id(), "providerId": "declarative-user-profile", "subComponents": {}, "config": {}})
    items[0].setdefault("config", {})[CONFIG_KEY] = [json.dumps(profile, separators=(",", ":"))]


def normalised(profile: dict[str, Any]) -> dict[str, Any]:
    """The profile as 26.7.3 writes it back: `multivalued` false when unset, `groups` [] when unset."""
    out: dict[str, Any] = {}
    if profile.get("attributes") is not None:
        out["attributes"] = [{**a, "multivalued": bool(a.get("multivalued"))} for a in profile["attributes"]]
    out["groups"] = copy.deepcopy(profile.get("groups") or [])
    if profile.get("unmanagedAttributePolicy") is not None:
        out["unmanagedAttributePolicy"] = profile["unmanagedAttributePolicy"]
    return out


FIELDS = ("attributes", "groups", "unmanagedAttributePolicy")


def check(profile: dict[str, Any], raw: bytes) -> None:
    """400 for a profile 26.7.3 refuses, with its message."""
    for key in profile:
        if key not in FIELDS:
            column = _column_after_value(raw, key)
            where = f'Unrecognized field "{key}" at line 1 column {column}.'
            raise HttpError(400, {"error": f"Invalid json representation for UPConfig. {where}"})
    policy = profile.get("unmanagedAttributePolicy")
    attributes = profile.get("attributes")
    if (policy is not None and policy not in POLICIES) or not isinstance(attributes, list | None):
        raise HttpError(400, {"error": "unknown_error", "error_description": "Cannot parse the JSON"})
    if attributes is None:
        return
    errors: list[str] = []
    seen: set[str] = set()
    groups = {g.get("name") for g in profile.get("groups") or [] if isinstance(g, dict)}
    for attribute in attributes:
        name = attribute.get("name") if isinstance(attribute, dict) else None
        if not name:
            errors.append("Attribute configuration without 'name' is not allowed")
            continue
        if name in seen:
            errors.append(f"Attribute configuration already exists with 'name':'{name}'")
        seen.add(name)
        group = attribute.get("group")
        if group is not None and group not in groups:
            errors.append(f"Attribute '{name}' references unknown group '{group}'")
    errors += [f"The attribute '{name}' can not be removed" for name in ("username", "email") if name not in seen]
    if errors:
        raise HttpError(400, {"errorMessage": f"[{', '.join(errors)}]"})


def _column_after_value(raw: bytes, key: str) -> int:
    """The 1-based column Jackson names for an unrecognised field: just past the field's value
    (one-line JSON, as clients send it)."""
    text = raw.decode("utf-8", "replace")
    at = text.find(json.dumps(key))
    if at < 0:
        return 1
    colon = text.index(":", at + len(json.dumps(key)))
    start = len(text) - len(text[colon + 1 :].lstrip())
    try:
        _, end = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return start + 1
    return end + 1


def _declared(profile: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in profile.get("attributes") or [] if isinstance(a, dict) and a.get("name")}


def _admin_may(attribute: dict[str, Any], action: str) -> bool:
    perms = attribute.get("permissions") or {}
    allowed = set(perms.get("edit") or [])
    if action == "view":
        allowed |= set(perms.get("view") or [])
    return "admin" in allowed


def _admin_required(attribute: dict[str, Any]) -> bool:
    required = attribute.get("required")
    if not isinstance(required, dict):
        return False
    roles = required.get("roles")
    return not required.get("scopes") and (not roles or "admin" in roles)


def policy(realm: Realm) -> str | None:
    value = config(realm).get("unmanagedAttributePolicy")
    return value if value in POLICIES else None


def user_required(realm: Realm) -> list[str]:
    """Attributes a user must have before logging in (required for the `user` role, or for all)."""
    out = []
    for name, attribute in _declared(config(realm)).items():
        required = attribute.get("required")
        if isinstance(required, dict) and not required.get("scopes"):
            roles = required.get("roles")
            if not roles or "user" in roles:
                out.append(name)
    return out


def admin_view(realm: Realm, stored: dict[str, list[str]] | None) -> dict[str, list[str]]:
    """The `attributes` an admin reads: declared ones it may view, undeclared ones by the policy."""
    profile = config(realm)
    declared = _declared(profile)
    show_unmanaged = profile.get("unmanagedAttributePolicy") in ADMIN_READS
    out = {}
    for name, values in (stored or {}).items():
        attribute = declared.get(name)
        if name in ROOT:
            continue
        if (attribute is not None and _admin_may(attribute, "view")) or (attribute is None and show_unmanaged):
            out[name] = copy.deepcopy(values)
    return out


def unmanaged(realm: Realm, stored: dict[str, list[str]] | None) -> dict[str, list[str]]:
    """`GET /users/{id}/unmanagedAttributes`: the undeclared attributes, none when the policy is unset."""
    profile = config(realm)
    if profile.get("unmanagedAttributePolicy") not in ADMIN_READS:
        return {}
    declared = _declared(profile)
    return {k: copy.deepcopy(v) for k, v in (stored or {}).items() if k not in declared and k not in ROOT}


def values_of(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def written(
    realm: Realm,
    stored: dict[str, list[str]] | None,
    given: dict[str, Any] | None,
    *,
    replace: bool,
    problems: list[dict[str, Any]],
    update: bool = False,
) -> dict[str, list[str]]:
    """The stored attributes after an admin writes `given`: what the admin may not edit stays as it
    was; with `replace` (an update carrying `attributes`, or a create) what it may edit and did not
    send is removed. What the profile refuses of the result is appended to `problems`.

    A declared attribute the admin may not edit is dropped silently on create, but an `update`
    sending it with another (non-blank) first value is refused, as 26.7.3 does:
    400 `{"field":"ro","errorMessage":"error-user-attribute-read-only","params":["ro"]}`."""
    profile = config(realm)
    declared = _declared(profile)
    edit_unmanaged = profile.get("unmanagedAttributePolicy") in ADMIN_WRITES
    out = copy.deepcopy(stored or {})
    given = {k: values_of(v) for k, v in (given or {}).items() if k not in ROOT}
    for name, attribute in declared.items():
        if name in ROOT:
            continue
        if not _admin_may(attribute, "edit"):
            sent = next(iter(given.get(name) or []), "")
            if update and name in given and sent != "" and sent != next(iter(out.get(name) or []), None):
                problems.append({"field": name, "errorMessage": "error-user-attribute-read-only", "params": [name]})
            continue
        if name in given:
            values = [v for v in given[name] if v != ""]
            if values:
                out[name] = values
            else:
                out.pop(name, None)
        elif replace:
            out.pop(name, None)
        values = out.get(name) or []
        if _admin_required(attribute) and not values:
            problems.append({"field": name, "errorMessage": "error-user-attribute-required", "params": [name]})
        if len(values) > 1 and not attribute.get("multivalued"):
            problems.append({"field": name, "errorMessage": "error-invalid-multivalued-size", "params": [name, 0, 1]})
    if edit_unmanaged:
        undeclared = {k for k in out if k not in declared}
        for name in undeclared if replace else ():
            out.pop(name, None)
        out.update({k: v for k, v in given.items() if k not in declared})
    return out


def refuse(problems: list[dict[str, Any]]) -> None:
    """400 as the user profile answers: one problem as is, several as `{"errors": [...]}`."""
    if len(problems) == 1:
        raise HttpError(400, problems[0])
    if problems:
        raise HttpError(400, {"errors": problems})


def metadata(realm: Realm, user: User | None = None) -> dict[str, Any]:
    """`GET /users/profile/metadata`, and `userProfileMetadata` of a user (`user` given): the
    attributes an admin may view, as the admin console's form reads them."""
    profile = config(realm)
    email_as_username = bool(realm.settings.get("registrationEmailAsUsername"))
    attributes = []
    for name, attribute in _declared(profile).items():
        if not _admin_may(attribute, "view"):
            continue
        multivalued = bool(attribute.get("multivalued"))
        validators = {
            k: {**(v or {}), "ignore.empty.value": True} for k, v in (attribute.get("validations") or {}).items()
        }
        if not multivalued:
            validators["multivalued"] = {"max": "1"}
        required = _admin_required(attribute)
        read_only = not _admin_may(attribute, "edit")
        if name == "username":
            required = not email_as_username
            can_rename = bool(realm.settings.get("editUsernameAllowed")) or user is None
            read_only = read_only or email_as_username or not can_rename
        if name == "email" and email_as_username:
            required = True
        meta: dict[str, Any] = {
            "name": name,
            "displayName": attribute.get("displayName") or name,
            "required": required,
            "readOnly": read_only,
        }
        if attribute.get("annotations"):
            meta["annotations"] = copy.deepcopy(attribute["annotations"])
        meta["validators"] = validators
        if attribute.get("group") is not None:
            meta["group"] = attribute["group"]
        meta["multivalued"] = multivalued
        attributes.append(meta)
    return {"attributes": attributes, "groups": copy.deepcopy(profile.get("groups") or [])}
