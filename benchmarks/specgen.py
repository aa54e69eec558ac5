"""Deterministic benchmark specs for realmctl at four sizes (S, M, L, and XL = 5× L).

Run: `.venv/bin/python benchmarks/specgen.py --size M --out DIR` writes one YAML file per realm
(`DIR/<realm>.yaml`), which `realmctl plan DIR` and `load_spec([DIR])` read as one spec.

Why generated rather than checked in: the L spec is ~20k lines; generating it from a seed keeps
the benchmark reviewable and lets every run (and `tests/test_request_budget.py`) use exactly the
same objects.

Sizes are TOTALS over the realms of a size, dealt out round-robin (so M has 25 clients per realm):

| size | realms | clients | IdPs | users | user grants |
|---|---|---|---|---|---|
| S | 1 | 5 | 2 | 20 | 40 |
| M | 2 | 50 | 10 | 500 | 1,000 |
| L | 3 | 200 | 20 | 2,500 | 5,000 |
| XL (5× L) | 3 | 1,000 | 100 | 12,500 | 25,000 |

Every realm is a complete stored-token chain, as in examples/stored-tokens.yaml:

* realm roles `reader`, `writer`, `auditor`; groups `staff` and `admins`;
* identity providers with `storeToken` and `storedTokensReadable` (the first of each realm also
  `grantReadTokenToLinkedUsers`), a secret from `${env:BENCH_IDP_SECRET:-...}`, and a
  `hardcoded-attribute-idp-mapper` on every other one;
* client scope `broker_read_token` with a user-client-role mapper for `broker` and a role scope of
  `broker/read-token`;
* confidential clients with `directAccessGrants` and `defaultClientScopes: [broker_read_token]`;
  every 4th declares roles `viewer`/`editor`; every 3rd has `fullScopeAllowed: false` and a role
  scope (`reader` and `broker/read-token`);
* users with an email, an `initialPassword` of `${env:BENCH_PASSWORD:-bench}`, every 10th in group
  `staff`;
* role grants: every user gets `broker/read-token` and one realm role (drawn with the seed): two user
  grants per user; plus group grants (`staff` → `reader`, `admins` → the first role-bearing
  client's `editor`).
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REALM_ROLES = ("reader", "writer", "auditor")
CLIENT_ROLES = ("viewer", "editor")
SCOPE = "broker_read_token"


@dataclass(frozen=True)
class Size:
    """Totals of one benchmark size (spread over `realms`)."""

    name: str
    realms: int
    clients: int
    idps: int
    users: int

    @property
    def user_grants(self) -> int:
        """Two per user: broker/read-token and one realm role."""
        return 2 * self.users


SIZES: dict[str, Size] = {
    "S": Size("S", realms=1, clients=5, idps=2, users=20),
    "M": Size("M", realms=2, clients=50, idps=10, users=500),
    "L": Size("L", realms=3, clients=200, idps=20, users=2500),
    # 5x L in the same three realms (issue #19's scale target): realms five times as large.
    "XL": Size("XL", realms=3, clients=1000, idps=100, users=12500),
}


def share(total: int, parts: int, index: int) -> int:
    """Index `index`'s share of `total` dealt round-robin over `parts` (the first get the remainder)."""
    return total // parts + (1 if index < total % parts else 0)


def realm_name(size: Size, index: int, prefix: str = "bench") -> str:
    return f"{prefix}-{size.name.lower()}-{index + 1}"


def idp(index: int, alias: str) -> dict[str, Any]:
    base = f"https://{alias}.example.com"
    spec: dict[str, Any] = {
        "providerId": "oidc",
        "displayName": f"Upstream {alias}",
        "storeToken": True,
        "storedTokensReadable": True,
        "config": {
            "clientId": f"broker-of-{alias}",
            "clientSecret": "${env:BENCH_IDP_SECRET:-bench-idp-secret}",
            "issuer": base,
            "authorizationUrl": f"{base}/authorize",
            "tokenUrl": f"{base}/token",
            "defaultScope": "openid profile email offline_access",
            "syncMode": "IMPORT",
        },
    }
    if index == 0:
        spec["grantReadTokenToLinkedUsers"] = True
    if index % 2 == 1:
        spec["mappers"] = {
            "tenant": {
                "identityProviderMapper": "hardcoded-attribute-idp-mapper",
                "syncMode": "INHERIT",
                "config": {"attribute": "tenant", "attribute.value": alias},
            }
        }
    return spec


def client(index: int) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": f"Application {index + 1}",
        "publicClient": False,
        "secret": "${env:BENCH_CLIENT_SECRET:-bench-client-secret}",
        "directAccessGrants": True,
        "standardFlow": True,
        "redirectUris": [f"https://app-{index + 1:04d}.example.com/*"],
        "defaultClientScopes": [SCOPE],
    }
    if index % 4 == 0:
        spec["roles"] = list(CLIENT_ROLES)
    if index % 3 == 0:
        spec["fullScopeAllowed"] = False
        spec["roleScope"] = {"realm": ["reader"], "clients": {"broker": ["read-token"]}}
    return spec


def realm(size: Size, index: int, rng: random.Random) -> dict[str, Any]:
    """One realm's declarations; objects are numbered globally so names never repeat across realms."""
    n_idps, n_clients, n_users = (share(total, size.realms, index) for total in (size.idps, size.clients, size.users))
    idp_start = sum(share(size.idps, size.realms, i) for i in range(index))
    client_start = sum(share(size.clients, size.realms, i) for i in range(index))
    user_start = sum(share(size.users, size.realms, i) for i in range(index))
    idps = {}
    for i in range(n_idps):
        alias = f"idp-{idp_start + i + 1:03d}"
        idps[alias] = idp(i, alias)
    clients = {f"app-{client_start + i + 1:04d}": client(i) for i in range(n_clients)}
    users: dict[str, dict[str, Any]] = {}
    by_role: dict[str, list[str]] = {role: [] for role in REALM_ROLES}
    for i in range(n_users):
        username = f"user-{user_start + i + 1:05d}"
        user: dict[str, Any] = {
            "email": f"{username}@example.com",
            "firstName": "Bench",
            "lastName": f"User {user_start + i + 1}",
            "initialPassword": "${env:BENCH_PASSWORD:-bench}",
        }
        if i % 10 == 0:
            user["groups"] = ["staff"]
        users[username] = user
        by_role[rng.choice(REALM_ROLES)].append(username)
    role_client = next(iter(clients))  # index 0 declares roles
    grants: list[dict[str, Any]] = [{"users": list(users), "clientRoles": {"broker": ["read-token"]}}]
    grants += [{"users": names, "realmRoles": [role]} for role, names in by_role.items() if names]
    grants += [
        {"groups": ["staff"], "realmRoles": ["reader"]},
        {"groups": ["admins"], "clientRoles": {role_client: ["editor"]}},
    ]
    return {
        "displayName": f"Benchmark {size.name} realm {index + 1}",
        "enabled": True,
        "roles": {role: {"description": f"{role} of the benchmark"} for role in REALM_ROLES},
        "groups": ["staff", "admins"],
        "identityProviders": idps,
        "clientScopes": {
            SCOPE: {
                "description": "Puts broker/read-token into resource_access.broker.roles",
                "includeInTokenScope": True,
                "mappers": {"broker roles": {"type": "user-client-role", "client": "broker"}},
                "roleScope": {"clients": {"broker": ["read-token"]}},
            }
        },
        "clients": clients,
        "users": users,
        "roleGrants": grants,
    }


def generate(size: Size, seed: int = 8, prefix: str = "bench") -> dict[str, dict[str, Any]]:
    """realm name -> its spec document (`{"version": 1, "realms": {name: ...}}`), deterministic for a seed.

    `prefix` names the realms (`<prefix>-<size>-<n>`) and changes nothing else: a run against a
    shared server takes a prefix of its own, so that it never deletes another run's realms."""
    rng = random.Random(f"{seed}-{size.name}")
    return {
        realm_name(size, i, prefix): {"version": 1, "realms": {realm_name(size, i, prefix): realm(size, i, rng)}}
        for i in range(size.realms)
    }


def write(size: Size, out: Path, seed: int = 8, prefix: str = "bench") -> list[Path]:
    """Writes one `<realm>.yaml` per realm into `out` (created if needed); returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, document in generate(size, seed, prefix).items():
        path = out / f"{name}.yaml"
        header = "# yaml-language-server: $schema=../../schemas/realmctl.schema.json\n"
        header += f"# Generated by benchmarks/specgen.py --size {size.name} --seed {seed}; do not edit.\n"
        body = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=120)
        path.write_text(header + body, encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), required=True)
    parser.add_argument("--out", type=Path, required=True, help="directory for the YAML files (created)")
    parser.add_argument("--seed", type=int, default=8, help="random seed (default 8)")
    args = parser.parse_args()
    for path in write(SIZES[args.size], args.out, args.seed):
        print(path)


if __name__ == "__main__":
    main()
