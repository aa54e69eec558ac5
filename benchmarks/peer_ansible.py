"""The peer in the real-server benchmark: Ansible's community.general keycloak modules.

`ensure(venv)` builds a virtual environment of its own (Python 3.12, which ansible-core 2.21
needs; realmctl runs on 3.11 and never depends on Ansible) with ansible-core from PyPI, and takes
the community.general collection out of the `ansible` package's wheel (`ansible-galaxy` cannot
reach its server here; the wheel holds every collection, and only community.general is unpacked).

`playbook(documents, url)` writes a playbook that configures what benchmarks/specgen.py declares,
as close as the modules allow, one module call per object or link (Ansible's `loop`):

| spec | module |
|---|---|
| realm (`displayName`, `enabled`) | `keycloak_realm` |
| realm roles, client roles | `keycloak_role` |
| groups | `keycloak_group` |
| IdPs (`storeToken`, `storedTokensReadable`, `config`, mappers) | `keycloak_identity_provider` |
| client scope with its mapper | `keycloak_clientscope` |
| the client scope's role scope | `keycloak_clientscope_rolemappings` |
| clients (secret, flows, redirect URIs, default scopes, `fullScopeAllowed`) | `keycloak_client` |
| a client's role scope (realm role, broker role) | `keycloak_client_rolescope`, one call per container |
| users (email, names, password, group `staff`) | `keycloak_user` |
| user role grants | `keycloak_user_rolemapping`, one call per user and role container |
| group role grants | `keycloak_realm_rolemapping`, `keycloak_client_rolemapping` |

What the modules cannot express (listed in docs/benchmarks.md): `grantReadTokenToLinkedUsers`
(realmctl grants `broker/read-token` to users already linked to the IdP; with no linked users it
changes nothing here); "attached, others left alone" for a client's default scopes
(`keycloak_client` sets the exact list, so the playbook lists Keycloak's own defaults beside
`broker_read_token`, which gives the same end state); a password set only on create
(`keycloak_user` has no such switch, so every run sends the credential again). Ansible also keeps
no record of what it created, so it never deletes anything that is not listed as `state: absent`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import yaml

ANSIBLE_CORE = "ansible-core==2.21.5"
ANSIBLE = "ansible==14.5.0"  # carries community.general 13.5.0
PYTHON = "3.12"
#: Keycloak 26's default client scopes of a new OIDC client, kept beside the spec's own.
KEYCLOAK_DEFAULT_SCOPES = ["acr", "basic", "email", "profile", "roles", "web-origins"]


def find_python() -> str:
    """A Python 3.12 interpreter: `REALMCTL_BENCH_PY312`, pyenv's, or `python3.12` on PATH."""
    forced = os.environ.get("REALMCTL_BENCH_PY312")
    if forced:
        return forced
    pyenv = sorted((Path.home() / ".pyenv" / "versions").glob(f"{PYTHON}*/bin/python"))
    if pyenv:
        return str(pyenv[-1])
    return f"python{PYTHON}"


def ensure(venv: Path) -> dict[str, str]:
    """Creates the peer's virtual environment if it is not there yet; returns the run environment."""
    python = venv / "bin" / "python"
    collections = venv / "collections"
    if not python.exists():
        subprocess.run([find_python(), "-m", "venv", str(venv)], check=True)
    if not (venv / "bin" / "ansible-playbook").exists():
        subprocess.run([str(python), "-m", "pip", "install", "-q", ANSIBLE_CORE], check=True)
    if not (collections / "ansible_collections" / "community" / "general").is_dir():
        wheels = venv / "wheels"
        subprocess.run(
            [str(python), "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels), ANSIBLE], check=True
        )
        wheel = next(wheels.glob("ansible-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            members = [n for n in archive.namelist() if n.startswith("ansible_collections/community/general/")]
            archive.extractall(collections, members=members)
        wheel.unlink()
    return {
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_PYTHON_INTERPRETER": str(python),
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_HOME": str(venv / "home"),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _env(value: str) -> str:
    """The default of a `${env:NAME:-default}` reference, the value the benchmark's realmctl uses."""
    match = re.fullmatch(r"\$\{env:(\w+):-(.*)\}", value)
    if match:
        return os.environ.get(match.group(1), match.group(2))
    return value


def _mapper_config(mapper: dict[str, Any]) -> dict[str, Any]:
    """The user-client-role mapper's config as realmctl writes it (realmctl/kinds/mapper.py)."""
    return {
        "usermodel.clientRoleMapping.clientId": mapper["client"],
        "claim.name": "resource_access.${client_id}.roles",
        "jsonType.label": "String",
        "multivalued": "true",
        "access.token.claim": "true",
        "id.token.claim": "true",
        "userinfo.token.claim": "true",
        "introspection.token.claim": "true",
    }


def tasks_for(name: str, realm: dict[str, Any]) -> list[dict[str, Any]]:
    """The tasks for one realm of the spec."""
    g = "community.general."
    tasks: list[dict[str, Any]] = [
        {
            "name": f"realm {name}",
            g + "keycloak_realm": {
                "realm": name,
                "id": name,
                "enabled": realm.get("enabled", True),
                "display_name": realm.get("displayName"),
            },
        },
        {
            "name": "realm roles",
            g + "keycloak_role": {
                "realm": name,
                "name": "{{ item.name }}",
                "description": "{{ item.description }}",
            },
            "loop": [{"name": role, "description": r.get("description")} for role, r in realm["roles"].items()],
        },
        {"name": "groups", g + "keycloak_group": {"realm": name, "name": "{{ item }}"}, "loop": realm["groups"]},
    ]
    idps = []
    for alias, idp in realm["identityProviders"].items():
        config = {k: _env(v) if isinstance(v, str) else v for k, v in idp["config"].items()}
        mappers = [
            {
                "name": mname,
                "identityProviderMapper": m["identityProviderMapper"],
                "config": {"syncMode": m["syncMode"], **m["config"]},
            }
            for mname, m in (idp.get("mappers") or {}).items()
        ]
        item: dict[str, Any] = {
            "alias": alias,
            "provider_id": idp["providerId"],
            "display_name": idp["displayName"],
            "store_token": idp["storeToken"],
            "add_read_token_role_on_create": idp["storedTokensReadable"],
            "config": config,
        }
        if mappers:
            item["mappers"] = mappers
        idps.append(item)
    tasks.append(
        {
            "name": "identity providers",
            g + "keycloak_identity_provider": {
                "realm": name,
                "alias": "{{ item.alias }}",
                "provider_id": "{{ item.provider_id }}",
                "display_name": "{{ item.display_name }}",
                "store_token": "{{ item.store_token }}",
                "add_read_token_role_on_create": "{{ item.add_read_token_role_on_create }}",
                "config": "{{ item.config }}",
                "mappers": "{{ item.mappers | default(omit) }}",
            },
            "loop": idps,
            "loop_control": {"label": "{{ item.alias }}"},
            "no_log": True,
        }
    )
    for sname, scope in realm["clientScopes"].items():
        tasks.append(
            {
                "name": f"client scope {sname}",
                g + "keycloak_clientscope": {
                    "realm": name,
                    "name": sname,
                    "description": scope["description"],
                    "protocol": "openid-connect",
                    "attributes": {"include.in.token.scope": str(scope["includeInTokenScope"]).lower()},
                    "protocol_mappers": [
                        {
                            "name": mname,
                            "protocol": "openid-connect",
                            "protocolMapper": "oidc-usermodel-client-role-mapper",
                            "config": _mapper_config(m),
                        }
                        for mname, m in scope["mappers"].items()
                    ],
                },
            }
        )
        for container, roles in scope["roleScope"]["clients"].items():
            tasks.append(
                {
                    "name": f"client scope {sname} role scope",
                    g + "keycloak_clientscope_rolemappings": {
                        "realm": name,
                        "clientscope_id": sname,
                        "client_id": container,
                        "role_names": roles,
                    },
                }
            )
    clients = []
    client_roles = []
    rolescopes = []
    for cid, c in realm["clients"].items():
        clients.append(
            {
                "client_id": cid,
                "name": c["name"],
                "secret": _env(c["secret"]),
                "redirect_uris": c["redirectUris"],
                "full_scope_allowed": c.get("fullScopeAllowed", True),
                "default_client_scopes": KEYCLOAK_DEFAULT_SCOPES + c["defaultClientScopes"],
            }
        )
        client_roles += [{"client": cid, "role": r} for r in c.get("roles", [])]
        if "roleScope" in c:
            rolescopes.append({"client": cid, "scope": None, "roles": c["roleScope"]["realm"]})
            rolescopes += [{"client": cid, "scope": k, "roles": v} for k, v in c["roleScope"]["clients"].items()]
    tasks += [
        {
            "name": "clients",
            g + "keycloak_client": {
                "realm": name,
                "client_id": "{{ item.client_id }}",
                "name": "{{ item.name }}",
                "protocol": "openid-connect",
                "public_client": False,
                "secret": "{{ item.secret }}",
                "direct_access_grants_enabled": True,
                "standard_flow_enabled": True,
                "redirect_uris": "{{ item.redirect_uris }}",
                "full_scope_allowed": "{{ item.full_scope_allowed }}",
                "default_client_scopes": "{{ item.default_client_scopes }}",
            },
            "loop": clients,
            "loop_control": {"label": "{{ item.client_id }}"},
            "no_log": True,
        },
        {
            "name": "client roles",
            g + "keycloak_role": {"realm": name, "client_id": "{{ item.client }}", "name": "{{ item.role }}"},
            "loop": client_roles,
        },
        {
            "name": "client role scopes",
            g + "keycloak_client_rolescope": {
                "realm": name,
                "client_id": "{{ item.client }}",
                "client_scope_id": "{{ item.scope | default(omit, true) }}",
                "role_names": "{{ item.roles }}",
            },
            "loop": rolescopes,
        },
    ]
    users = []
    for username, u in realm["users"].items():
        users.append(
            {
                "username": username,
                "email": u["email"],
                "first_name": u["firstName"],
                "last_name": u["lastName"],
                "password": _env(u["initialPassword"]),
                "groups": [{"name": gname, "state": "present"} for gname in u.get("groups", [])],
            }
        )
    user_grants = []
    group_grants = []
    for grant in realm["roleGrants"]:
        for member in grant.get("users", []):
            if grant.get("realmRoles"):
                user_grants.append({"user": member, "client": None, "roles": grant["realmRoles"]})
            for container, roles in (grant.get("clientRoles") or {}).items():
                user_grants.append({"user": member, "client": container, "roles": roles})
        for group in grant.get("groups", []):
            if grant.get("realmRoles"):
                group_grants.append({"group": group, "client": None, "roles": grant["realmRoles"]})
            for container, roles in (grant.get("clientRoles") or {}).items():
                group_grants.append({"group": group, "client": container, "roles": roles})
    tasks += [
        {
            "name": "users",
            g + "keycloak_user": {
                "realm": name,
                "username": "{{ item.username }}",
                "email": "{{ item.email }}",
                "first_name": "{{ item.first_name }}",
                "last_name": "{{ item.last_name }}",
                "enabled": True,
                "credentials": [{"type": "password", "value": "{{ item.password }}", "temporary": False}],
                "groups": "{{ item.groups }}",
            },
            "loop": users,
            "loop_control": {"label": "{{ item.username }}"},
            "no_log": True,
        },
        {
            "name": "user role grants",
            g + "keycloak_user_rolemapping": {
                "realm": name,
                "target_username": "{{ item.user }}",
                "client_id": "{{ item.client | default(omit, true) }}",
                "roles": "{{ item.roles | map('community.general.dict_kv', 'name') | list }}",
            },
            "loop": user_grants,
        },
    ]
    for grant in group_grants:
        module = "keycloak_client_rolemapping" if grant["client"] else "keycloak_realm_rolemapping"
        args: dict[str, Any] = {
            "realm": name,
            "group_name": grant["group"],
            "roles": [{"name": r} for r in grant["roles"]],
        }
        if grant["client"]:
            args["client_id"] = grant["client"]
        tasks.append({"name": f"group {grant['group']} grants", g + module: args})
    return tasks


def playbook(documents: dict[str, dict[str, Any]], url: str, path: Path) -> Path:
    """Writes the playbook for specgen's `documents` (realm name -> spec document) against `url`."""
    plays = []
    for document in documents.values():
        for name, realm in document["realms"].items():
            plays.append(
                {
                    "name": f"realm {name}",
                    "hosts": "localhost",
                    "connection": "local",
                    "gather_facts": False,
                    "module_defaults": {
                        "group/community.general.keycloak": {
                            "auth_keycloak_url": url,
                            "auth_realm": "master",
                            "auth_client_id": "admin-cli",
                            "auth_username": "admin",
                            "auth_password": "admin",
                            # realmctl's per-request limit is 30 s; the modules' default of 10 s
                            # fails single requests on this shared machine, so both get room.
                            "connection_timeout": 60,
                        }
                    },
                    "tasks": tasks_for(name, realm),
                }
            )
    path.write_text(yaml.safe_dump(plays, sort_keys=False, width=120), encoding="utf-8")
    return path


def recap(output: str) -> dict[str, int]:
    """`ok`, `changed`, `failed` ... of the PLAY RECAP line for localhost."""
    match = re.search(r"^localhost\s+:\s+(.*)$", output, re.M)
    if not match:
        return {}
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def changed_items(output: str) -> int:
    """Module calls that reported a change (the recap counts a loop task once, whatever its items)."""
    return sum(1 for line in output.splitlines() if line.startswith("changed: ["))


if __name__ == "__main__":  # print the playbook of a size: python -m benchmarks.peer_ansible S
    from benchmarks.specgen import SIZES, generate

    out = Path(sys.argv[2] if len(sys.argv) > 2 else "/dev/stdout")
    playbook(generate(SIZES[sys.argv[1]]), "http://127.0.0.1:8080", out)
