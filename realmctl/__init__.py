"""realmctl: plan and apply Keycloak realm configuration as code, and prove that it works."""

__version__ = "0.1.0"
