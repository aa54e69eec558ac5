"""Authorization services of a client (resource server): resources, scopes, policies, permissions."""

from __future__ import annotations

from realmctl.sandbox.store import Client, Realm, ResourceServer


def ensure_resource_server(realm: Realm, client: Client, *, default_objects: bool = False) -> ResourceServer:
    """The client's resource server, created on first use with Keycloak's default settings."""
    server = realm.resource_servers.get(client.id)
    if server is None:
        server = ResourceServer(
            client_id=client.id,
            settings={
                "allowRemoteResourceManagement": False,
                "policyEnforcementMode": "ENFORCING",
                "decisionStrategy": "UNANIMOUS",
            },
        )
        realm.resource_servers[client.id] = server
    return server
